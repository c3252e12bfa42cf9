"""FDAE's "vector-wise" evaluation (Wu & Zheng 2024, "Factorized Diffusion Autoencoder", AAAI, Sec. 4.1):
a representation made of G groups of equal width (a concept's content code each) is scored group by group,
not dimension by dimension.  Opt-in; the study's per-dimension protocol (``mig``, ``dci``) is the default.

- MIG: each group is projected on its first ``dims`` principal components (PCA fitted on the codes
  scored), then turned into one discrete code — k-means with ``num_bins`` clusters when dims > 1, the
  reference's ``num_bins`` equal-width histogram bins when dims = 1 — and MIG (Chen et al. 2018, Eq. 4)
  is computed over the G discrete codes.
- DCI: each group is projected on its first ``dims`` principal components (fitted on the training codes,
  applied to both sets) and DCI is computed on the G · dims projected columns.

FDAE's code (facts, not code, taken from wuancong/FDAE) uses dims = 36 // (2N) (3 for N = 6 concepts),
20 clusters, and sklearn's k-means of its time (k-means++ with 10 restarts, fixed here: newer sklearn
defaults to one); it also scores the N mask codes as N further groups — pass them in ``codes`` to do so.
"""
from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans

from ._utils import check_codes, check_pair, discrete_entropy, histogram_discretize, mutual_info_matrix
from .dci import dci


def _split(codes: np.ndarray, groups) -> list[np.ndarray]:
    """(N, D) -> G blocks: ``groups`` an int G dividing D (equal widths), or the G widths (summing to D)."""
    if isinstance(groups, (int, np.integer)):
        if groups < 1 or codes.shape[1] % groups:
            raise ValueError(f"groups={groups} must be a positive integer dividing the code width {codes.shape[1]}")
        return np.split(codes, groups, axis=1)
    widths = [int(w) for w in groups]
    if not widths or min(widths) < 1 or sum(widths) != codes.shape[1]:
        raise ValueError(f"group widths {widths} must be positive and sum to the code width {codes.shape[1]}")
    return np.split(codes, np.cumsum(widths)[:-1], axis=1)


def _principal_axes(block: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """block (N, d) -> (mean (d,), axes (d, min(dims, d))): the leading eigenvectors of its covariance."""
    mean = block.mean(0)
    cov = np.cov(block - mean, rowvar=False).reshape(block.shape[1], block.shape[1])
    values, vectors = np.linalg.eigh(cov)                                    # ascending
    return mean, vectors[:, ::-1][:, :min(dims, block.shape[1])]


def _projected(codes, groups, dims: int, codes_test=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each group (of ``codes``, and with the same axes of ``codes_test``) on its first min(dims, width)
    principal components: (train blocks, test blocks)."""
    if dims < 1:
        raise ValueError(f"dims must be a positive integer, got {dims}")
    test_blocks = _split(check_codes(codes_test, "codes_test").astype(np.float64), groups) \
        if codes_test is not None else None
    train, test = [], []
    for g, block in enumerate(_split(check_codes(codes).astype(np.float64), groups)):
        mean, axes = _principal_axes(block, dims)
        train.append((block - mean) @ axes)
        if test_blocks is not None:
            test.append((test_blocks[g] - mean) @ axes)
    return train, test


def group_pca(codes, groups, *, dims: int = 3, codes_test=None):
    """codes (N, G·d) -> (N, G·dims') each group on its first dims' = min(dims, d) principal components;
    with ``codes_test`` (M, G·d), also those projected with the same axes: (train, test)."""
    train, test = _projected(codes, groups, dims, codes_test)
    out = np.concatenate(train, axis=1)
    return out if codes_test is None else (out, np.concatenate(test, axis=1))


def vector_wise_codes(codes, groups, *, dims: int = 3, num_bins: int = 20, random_state: int = 0) -> np.ndarray:
    """codes (N, D) -> (N, G) int: one discrete code per group (PCA to ``dims``, then k-means with
    ``num_bins`` clusters, or histogram bins when a group has one principal component).  ``groups``: G
    equal groups, or the G widths (FDAE's content codes then its mask codes)."""
    blocks, _ = _projected(codes, groups, dims)
    out = np.zeros((len(codes), len(blocks)), dtype=np.int64)
    for g, block in enumerate(blocks):
        if block.shape[1] == 1:
            out[:, g] = histogram_discretize(block, num_bins)[:, 0]
        else:
            out[:, g] = KMeans(n_clusters=num_bins, n_init=10, random_state=random_state).fit(block).labels_
    return out


def vector_wise_mig(codes, factors, *, groups, dims: int = 3, num_bins: int = 20, random_state: int = 0) -> dict:
    """MIG over the G discrete group codes of ``vector_wise_codes``; needs G >= 2.
    Returns ``{"vector_wise.mig": float}``."""
    codes, factors = check_pair(codes, factors)
    if len(_split(codes, groups)) < 2:
        raise ValueError(f"vector-wise MIG needs at least 2 groups, got groups={groups}")
    discrete = vector_wise_codes(codes, groups, dims=dims, num_bins=num_bins, random_state=random_state)
    top = np.sort(mutual_info_matrix(discrete, factors), axis=0)[::-1]       # (G, K), descending over groups
    return {"vector_wise.mig": float(np.mean((top[0] - top[1]) / discrete_entropy(factors)))}


def vector_wise_dci(codes, factors, codes_test, factors_test, *, groups, dims: int = 3,
                    n_jobs: int | None = None) -> dict:
    """DCI on each group's first ``dims`` principal components.  Returns ``vector_wise.dci.*``."""
    train, test = group_pca(codes, groups, dims=dims, codes_test=codes_test)
    return {f"vector_wise.{k}": v for k, v in dci(train, factors, test, factors_test, n_jobs=n_jobs).items()}


__all__ = ["group_pca", "vector_wise_codes", "vector_wise_dci", "vector_wise_mig"]
