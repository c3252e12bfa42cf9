"""Train / held-out splits of a dataset's scenes, for models supervised by labels.

A model that reads the batch's labels (CausalVAE's concepts) must be scored on scenes whose labels it never
saw.  CausalVAE's authors split their generated scenes as they wrote them (huawei-noah/trustworthyAI,
``research/CausalVAE/causal_data/pendulum.py`` and ``flow.py``; facts only): scenes in grid order, a counter
sends one to ``test/`` and the rest to ``train/``:

- Pendulum: scene k (0-based, pendulum angle outer, light angle inner) is held out when k >= 4 and k % 4 == 0
  — 1,826 held out, 5,482 for training;
- Flow: held out when k % 5 == 4 — 1,620 held out, 6,480 for training.

Every other dataset takes Flow's rule (one scene in five, ``FactorDataset.test_every`` / ``test_first``).

``Split(dataset, "train" | "test")`` is the dataset seen through one part: ``sample_factors`` draws uniformly
from that part's scenes; everything else (rendering, concepts, indexing over the full grid) is the dataset's.
"""
from __future__ import annotations

import numpy as np

from .base import FactorDataset, randint

PARTS = ("train", "test")


def held_out(dataset) -> np.ndarray:
    """(n_test,) int64 flat indices of ``dataset``'s held-out scenes: k >= test_first, (k - test_first) % test_every == 0."""
    first, every = int(dataset.test_first), int(dataset.test_every)
    return np.arange(first, len(dataset), every, dtype=np.int64)


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

    def __repr__(self) -> str:
        return f"Split({self.dataset!r}, {self.part!r}: {len(self.index)} of {len(self.dataset)} scenes)"
