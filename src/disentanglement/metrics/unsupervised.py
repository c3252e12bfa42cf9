"""Unsupervised scores of disentanglement_lib (Locatello et al. 2019, Sec. 5):
Gaussian total correlation, Gaussian Wasserstein correlation, mean pairwise MI."""
from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ._utils import check_codes, histogram_discretize, mutual_info_matrix


def unsupervised(codes, *, num_bins: int = 20) -> dict:
    """Scores of the code covariance Σ = cov(z) (ddof 1) and of discretised codes.

    - ``gaussian_total_correlation`` = KL(N(0,Σ) || N(0,diag Σ))
      = ½ (Σ_i log Σ_ii − log|det Σ|) (the sign of det is ignored, as in the
      reference; a singular Σ gives inf or a large LAPACK-dependent number).
    - ``gaussian_wasserstein_correlation`` = 2 tr Σ − 2 tr sqrtm(Σ ⊙ diag(Σ)[:, None]),
      the reference's form (row i scaled by Σ_ii; real part of scipy's sqrtm).
    - ``gaussian_wasserstein_correlation_norm`` = that / tr Σ.
    - ``mutual_info_score`` = Σ_{i≠j} I(z_i; z_j) / (D² − D), histogram bins, nats.
    codes (N, D) with D ≥ 2.
    """
    codes = check_codes(codes, min_dims=2)
    cov = np.cov(codes.T)  # (D, D)
    with np.errstate(divide="ignore", invalid="ignore"):
        gtc = 0.5 * (np.sum(np.log(np.diag(cov))) - np.linalg.slogdet(cov)[1])
    with warnings.catch_warnings():  # sqrtm warns on singular input; the reference ignores it
        warnings.simplefilter("ignore")
        root = scipy.linalg.sqrtm(cov * np.diag(cov)[:, None])
    gwc = 2 * np.trace(cov) - 2 * np.trace(root)
    disc = histogram_discretize(codes, num_bins)
    mi = mutual_info_matrix(disc, disc)  # (D, D)
    np.fill_diagonal(mi, 0)
    d = codes.shape[1]
    return {"gaussian_total_correlation": float(gtc),
            "gaussian_wasserstein_correlation": float(np.real(gwc)),
            "gaussian_wasserstein_correlation_norm": float(np.real(gwc) / np.trace(cov)),
            "mutual_info_score": float(np.sum(mi) / (d * d - d))}
