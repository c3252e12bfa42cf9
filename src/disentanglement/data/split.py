"""Train / held-out splits of a dataset's scenes, for models supervised by labels.

A model that reads the batch's labels (CausalVAE's concepts) must be scored on scenes whose labels it never
saw.  CausalVAE's authors split their generated scenes as they wrote them (huawei-noah/trustworthyAI,
``research/CausalVAE/causal_data/pendulum.py`` and ``flow.py``; facts only): scenes in grid order, a counter
sends one to ``test/`` and the rest to ``train/``:

- Pendulum: scene k (0-based, pendulum angle outer, light angle inner) is held out when k >= 4 and k % 4 == 0
  — 1,826 held out, 5,482 for training;
- Flow: held out when k % 5 == 4 — 1,620 held out, 6,480 for training.

Every other dataset holds out a fixed random fifth of its scenes (``FactorDataset.test_every``; numpy
``default_rng(seed)``, the first seed from 0 whose draw holds out every value of every factor): a stride in flat
index order would alias with the innermost factor wherever its size is a multiple of the stride (the 16x16
glyphs' posY of 5 values, 3D Shapes' orientation of 15) and hold out one value of it only.

``Split(dataset, "train" | "test")`` is the dataset seen through one part: ``sample_factors`` draws uniformly
from that part's scenes; everything else (rendering, concepts, indexing over the full grid) is the dataset's.
"""
from __future__ import annotations

import numpy as np

from .base import FactorDataset, randint

PARTS = ("train", "test")
SEEDS = 100                 # draws tried for a held-out part that covers every factor value


def held_out(dataset) -> np.ndarray:
    """(n_test,) sorted int64 flat indices of ``dataset``'s held-out scenes: ``test_rule`` "stride" (the authors'
    Pendulum and Flow) k >= test_first with (k - test_first) % test_every == 0; "random" len // test_every scenes
    drawn without replacement by numpy default_rng(seed), the first seed whose draw holds out every value of
    every factor (seed 0 on any dataset of more than a few hundred scenes; on a toy too small for that, the
    draw of the first 100 seeds that holds out the most values)."""
    first, every, n = int(dataset.test_first), int(dataset.test_every), len(dataset)
    rule = getattr(dataset, "test_rule", "random")
    if rule == "stride":
        return np.arange(first, n, every, dtype=np.int64)
    if rule != "random":
        raise ValueError(f"unknown test_rule {rule!r} of {dataset.name}; choose stride or random")
    best, best_seen = None, -1
    for seed in range(SEEDS):
        chosen = np.sort(np.random.default_rng(seed).choice(n, size=n // every, replace=False)).astype(np.int64)
        f = dataset.index_to_factors(chosen)                                      # (n_test, K)
        seen = sum(len(np.unique(f[:, k])) for k in range(f.shape[1]))           # factor values held out
        if seen == sum(min(int(size), len(chosen)) for size in dataset.factor_sizes):
            return chosen
        if seen > best_seen:
            best, best_seen = chosen, seen
    return best                       # a toy too small to hold out every value: the draw that holds out most


def part_index(dataset, part: str) -> np.ndarray:
    """Sorted flat indices of the scenes in ``part`` ("train" or "test")."""
    if part not in PARTS:
        raise ValueError(f"unknown split part {part!r}; choose one of: {', '.join(PARTS)}")
    test = held_out(dataset)
    if part == "test":
        return test
    keep = np.ones(len(dataset), dtype=bool)
    keep[test] = False
    return np.flatnonzero(keep).astype(np.int64)


class Split(FactorDataset):
    """``dataset`` restricted to one part of its train / held-out split (for sampling only)."""

    def __init__(self, dataset: FactorDataset, part: str):
        self.dataset, self.part = dataset, part
        self.index = part_index(dataset, part)                            # (n_part,) sorted flat indices
        if not len(self.index):
            raise ValueError(f"{dataset.name}'s {part} split is empty ({len(dataset)} scenes)")
        self.name = dataset.name
        self.factor_names, self.factor_sizes = dataset.factor_names, dataset.factor_sizes
        self.observation_shape, self.stochastic = dataset.observation_shape, dataset.stochastic

    def __getattr__(self, attr):                                          # concepts, geometry, adjacency, ...
        if attr == "dataset":
            raise AttributeError(attr)
        return getattr(self.dataset, attr)

    def sample_factors(self, n: int, rng) -> np.ndarray:
        """(n, K) factor classes of scenes drawn uniformly, with replacement, from this part."""
        if not isinstance(rng, (np.random.RandomState, np.random.Generator)):
            raise TypeError(f"rng must be a numpy Generator or RandomState, got {type(rng).__name__}")
        return self.dataset.index_to_factors(self.index[randint(rng, 0, len(self.index), size=n)])

    def images(self, factors, rng=None) -> np.ndarray:
        return self.dataset.images(factors, rng)

    def torch_renderer(self, device):
        return self.dataset.torch_renderer(device)

    def __repr__(self) -> str:
        return f"Split({self.dataset!r}, {self.part!r}: {len(self.index)} of {len(self.dataset)} scenes)"
