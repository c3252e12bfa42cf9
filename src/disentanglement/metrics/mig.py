"""Mutual Information Gap (Chen et al. 2018, "Isolating Sources of
Disentanglement in VAEs", Eq. 4), as disentanglement_lib's ``discrete_mig``."""
from __future__ import annotations

import numpy as np

from ._utils import check_pair, discrete_entropy, histogram_discretize, mutual_info_matrix


def mig(codes, factors, *, num_bins: int = 20) -> dict:
    """MIG = mean_k (I(z_(1); y_k) - I(z_(2); y_k)) / H(y_k)  (Chen et al. Eq. 4).

    codes (N, D) are discretised per dimension into ``num_bins`` equal-width
    bins (the reference's histogram discretizer); factors (N, K) are used raw.
    MI and H are empirical, in nats; H(y_k) is estimated from the samples, not
    log of the number of values.  Needs D >= 2 and every factor non-constant
    (the reference divides by H = 0 there).  Returns ``{"mig": float}``.
    """
    codes, factors = check_pair(codes, factors, min_dims=2)
    mi = mutual_info_matrix(histogram_discretize(codes, num_bins), factors)  # (D, K)
    top = np.sort(mi, axis=0)[::-1]  # (D, K), descending over codes
    return {"mig": float(np.mean((top[0] - top[1]) / discrete_entropy(factors)))}
