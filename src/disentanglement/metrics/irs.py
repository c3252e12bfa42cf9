"""Interventional Robustness Score (Suter et al. 2019, "Robustly Disentangled
Causal Mechanisms", Def. 5 / Eq. 9), as disentanglement_lib's ``compute_irs``."""
from __future__ import annotations

import numpy as np

from ._utils import check_pair, histogram_discretize


def _irs_matrix(factors: np.ndarray, z: np.ndarray, diff_quantile: float):
    """(D, K) 1 - E_v[q-quantile |z - E[z | y_k = v]|] / max|z - E z|, and max_dev (D,)."""
    max_dev = np.max(np.abs(z - z.mean(axis=0)), axis=0)  # (D,)
    dev = np.zeros((z.shape[1], factors.shape[1]))  # (D, K)
    for k in range(factors.shape[1]):
        values = np.unique(factors[:, k])
        for v in values:
            zk = z[factors[:, k] == v]  # (n_v, D)
            dev[:, k] += np.percentile(np.abs(zk - zk.mean(axis=0)), q=diff_quantile * 100, axis=0)
        dev[:, k] /= len(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1.0 - dev / max_dev[:, None], max_dev


def irs(codes, factors, *, num_bins: int = 20, diff_quantile: float = 0.99) -> dict:
    """IRS: per code the best 1 - (robust deviation / max deviation) over factors,
    averaged with weights max_dev (Suter et al. Eq. 9 with the 0.99 quantile of
    the reference instead of the paper's max; ``diff_quantile=1.0`` is the paper).

    Quirks kept from the reference: the FACTORS are histogram-discretised into
    ``num_bins`` bins (factors with more values get merged); code dims with zero
    variance are dropped; ``irs.num_active_dims`` is ``np.sum`` of the active
    code VALUES (a bug; can be negative or fractional) — the count of active
    dims is ``irs.num_active_dims_corrected``.  codes (N, D), factors (N, K).
    """
    codes, factors = check_pair(codes, factors, varying=False)
    active = codes.var(axis=0) > 0.0  # (D,)
    z = codes[:, active]  # (N, D_active)
    result = {"irs": 0.0, "irs.num_active_dims": float(np.sum(z)),
              "irs.num_active_dims_corrected": int(active.sum())}
    if not z.any():
        return result
    matrix, max_dev = _irs_matrix(histogram_discretize(factors, num_bins), z, diff_quantile)
    best = matrix.max(axis=1)  # (D_active,)
    result["irs"] = float(np.average(best, weights=max_dev) if max_dev.sum() > 0 else best.mean())
    return result
