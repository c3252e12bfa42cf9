"""Pairs of observations a model trains on: either pairs that share all factors but k, the weak supervision of
Locatello et al. 2020 ("Weakly-Supervised Disentanglement Without Compromises", ICML, Sec. 4), or pairs one
step of a sequential dataset's own dynamics apart (``TransitionPairs``: Causal InfoGAN's (o, o')).

Each pair is (x1, x2): the factors of x1 drawn uniformly (``sample_factors``), then k of its factors chosen
without replacement among those with more than one value, each redrawn uniformly among its *other* values, so
the pair differs in exactly k factors.  ``k = -1`` draws k uniformly from 1..K'-1 per pair, K' the number of
factors that can change (the paper's "k = rnd").

disentanglement_lib (``methods/weak/train_weak_lib.py``, ``simple_dynamics``) differs in three details that
make its pairs share more than K - k factors: it changes ``choice([1, k])`` factors (so half the pairs
differ in one factor whatever k is), a redrawn value may equal the old one, and the new values come from
numpy's global, unseeded generator.  Ours differ in exactly k factors and draw every number from the
run's generator, so a seed repeats a run.
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np


class PairSampler:
    """Draw ``(factors1, factors2)`` (n, K) pairs differing in exactly k factors (k = -1: random per pair)."""

    def __init__(self, factor_sizes, k: int):
        sizes = np.asarray(factor_sizes, dtype=np.int64)
        self.sizes = sizes
        self.changeable = np.flatnonzero(sizes > 1)                         # factors a pair can differ in
        n = len(self.changeable)
        if n < 2:
            raise ValueError(f"pairs that share all factors but k need at least 2 factors with more than one value; "
                             f"this dataset has {n} ({list(map(int, sizes))}): train an unsupervised model instead")
        if not (k == -1 or 1 <= k <= n - 1):
            raise ValueError(f"k={k} is out of range for pairs on {n} varying factors: choose k in 1..{n - 1} "
                             f"(pairs must share at least one factor), or k=-1 for k random per pair")
        self.k = k

    def pair(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """factors (n, K) -> the second observations' factors (n, K), each row differing in exactly k factors."""
        n, m = len(factors), len(self.changeable)
        ks = rng.integers(1, m, size=n) if self.k == -1 else np.full(n, self.k)      # (n,) in 1..m-1
        order = np.argsort(rng.random((n, m)), axis=1)                               # a random permutation per row
        chosen = np.arange(m)[None] < ks[:, None]                                    # (n, m): the first k_i of it
        rows = np.nonzero(chosen)[0]
        cols = self.changeable[order[chosen]]                                        # the factors that change
        sizes = self.sizes[cols]
        shift = rng.integers(1, sizes)                                               # 1..size-1: never the same value
        out = np.array(factors, dtype=np.int64, copy=True)
        out[rows, cols] = (out[rows, cols] + shift) % sizes
        return out


class TransitionPairs:
    """Draw ``factors2`` one step of ``dataset.transition`` after ``factors``: pairs (o, o') of a sequential domain."""

    def __init__(self, dataset):
        if not callable(getattr(dataset, "transition", None)):
            raise ValueError(f"pairs one move apart need a dataset with dynamics; {dataset.name} has none: "
                             f"use --dataset rooms")
        self.dataset = dataset

    def pair(self, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """factors (n, K) -> the factors one step later (n, K)."""
        return self.dataset.transition(factors, rng)


def pair_sampler(dataset, pairs: Union[int, str, None]) -> Optional[Union[PairSampler, TransitionPairs]]:
    """What a model's ``pairs`` asks for: None, k (pairs sharing all factors but k) or "transition"."""
    if pairs is None:
        return None
    if pairs == "transition":
        return TransitionPairs(dataset)
    return PairSampler(dataset.factor_sizes, pairs)
