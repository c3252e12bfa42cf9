"""Unsupervised Disentanglement Ranking (Duan et al. 2020, "Unsupervised Model
Selection for Variational Disentangled Representation Learning", ICLR; arXiv
1905.12614, Sec. 3), as disentanglement_lib's ``compute_udr_sklearn``
(``evaluation/udr/metrics/udr.py``) computes it."""
from __future__ import annotations

import warnings

import numpy as np
import scipy.stats
from sklearn import linear_model, preprocessing

from ._utils import check_codes

CORRELATIONS = ("lasso", "spearman")
# The reference zeroes latents with KL <= 0.01 before correlating, whatever kl_threshold is.
_ZERO_KL = 0.01


def gaussian_kl(mean, logvar) -> np.ndarray:
    """Mean over samples of KL(N(mean, exp(logvar)) || N(0, 1)) per dimension, (D,).

    What the reference's UDR evaluation passes as ``kl`` (its per-batch means,
    averaged over equal batches, equal this mean over all samples).
    """
    mean, logvar = np.asarray(mean, dtype=np.float64), np.asarray(logvar, dtype=np.float64)
    if mean.ndim != 2 or mean.shape != logvar.shape:
        raise ValueError(f"mean and logvar must be 2-D arrays of one shape (N, D), got {mean.shape} "
                         f"and {logvar.shape}")
    return np.mean(0.5 * (np.square(mean) + np.exp(logvar) - logvar - 1.0), axis=0)


def _spearman_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|Spearman ρ| of every column of a with every column of b, (D_a, D_b).

    Pearson correlation of average ranks, which is what ``scipy.stats.spearmanr``
    does per pair; a constant column gives NaN in its row / column.
    """
    def unit(x):
        r = scipy.stats.rankdata(x, axis=0)
        r -= r.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return r / np.sqrt(np.sum(r * r, axis=0))
    return np.abs(unit(a).T @ unit(b))


def _lasso_matrix(a: np.ndarray, b: np.ndarray, alpha: float, random_state) -> np.ndarray:
    """|coefficients| of one multi-output Lasso predicting b from a, (D_a, D_b)."""
    model = linear_model.Lasso(alpha=alpha, random_state=random_state)
    with warnings.catch_warnings():  # an all-zero target may warn about convergence
        warnings.simplefilter("ignore")
        model.fit(a, b)
    return np.abs(model.coef_).reshape(b.shape[1], a.shape[1]).T


def relative_strength(corr: np.ndarray) -> float:
    """The reference's pairwise score of a non-negative matrix R (D_a, D_b).

    ½ [mean_b (max_a R_ab)² / Σ_a R_ab + mean_a (max_b R_ab)² / Σ_b R_ab]; a NaN
    (or 0/0) ratio counts as 0 and takes part in the mean.  The paper writes
    the same terms summed over both sides and divided by d_a + d_b; the two
    agree when d_a == d_b.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        cols = np.nan_to_num(np.max(corr, axis=0) ** 2 / np.sum(corr, axis=0))
        rows = np.nan_to_num(np.max(corr, axis=1) ** 2 / np.sum(corr, axis=1))
    return float((np.mean(cols) + np.mean(rows)) / 2)


def _check_kl(kl, codes) -> list:
    if kl is None:
        return [np.full(z.shape[1], np.inf) for z in codes]
    if len(kl) != len(codes):
        raise ValueError(f"kl has {len(kl)} entries but there are {len(codes)} models; pass one (D,) "
                         "vector per model")
    out = []
    for m, (k, z) in enumerate(zip(kl, codes)):
        k = np.asarray(k, dtype=np.float64)
        if k.shape != (z.shape[1],):
            raise ValueError(f"kl[{m}] has shape {k.shape} but codes[{m}] has {z.shape[1]} dims; "
                             "pass the per-dimension KL of that model")
        if np.any(np.isnan(k)):
            raise ValueError(f"kl[{m}] contains NaN; pass the per-dimension mean KL of the encoder")
        out.append(k)
    return out


def udr(codes, *, kl=None, correlation: str = "lasso", kl_threshold: float = 0.01,
        filter_low_kl: bool = True, lasso_alpha: float = 0.1, include_raw_correlations: bool = True,
        random_state=0) -> dict:
    """UDR score of each of M models from their codes of the same N inputs.

    codes: M >= 2 arrays (N, D_m) (use the encoder means); kl: M arrays (D_m,)
    of each model's mean per-dimension KL to the prior (``gaussian_kl``), or
    None to treat every dimension as informative.  Steps (reference
    ``compute_udr_sklearn``; paper Sec. 3, Eq. for UDR_ij and UDR_i):

    1. Each model's codes are standardised (sklearn ``StandardScaler``) and
       dimensions with KL <= 0.01 are set to 0.
    2. For every ordered pair i != j a matrix R (D_i, D_j) relates dims of i
       (rows) to dims of j: ``"lasso"``: |coef| of ``Lasso(alpha=lasso_alpha)``
       fitted to predict all of j's codes from i's (not symmetric);
       ``"spearman"``: |Spearman ρ| of every pair of dims.
    3. With ``filter_low_kl`` the rows / columns of dims with KL <=
       ``kl_threshold`` are dropped, and UDR_ij = ``relative_strength(R)``.
    4. Model i scores UDR_i = median over j != i of UDR_ji.

    Defaults are the reference's (its only config, ``udr.gin``, also samples
    N = 1000 inputs in batches of 10 with ``RandomState(0)``: draw the factors
    once and encode them with every model).  ``random_state`` goes to the
    Lasso as in the reference, where the cyclic solver ignores it.

    Reference quirks replicated: R is not normalised, so a pair scores at
    most its largest entry (a perfect Lasso match, |coef| = 1 - alpha on
    standardised codes, scores 0.9); the zeroing in step 1 uses 0.01
    whatever ``kl_threshold`` is, and happens even without ``filter_low_kl``;
    for Spearman a zeroed or constant dim that is kept gives a NaN row (or
    column) of R, which turns every column's (row's) ratio into 0, i.e. half
    the pair score is lost (Spearman without filtering is 0 when both models
    have an inactive dim); NaN and 0/0 ratios count as 0 inside the means,
    not skipped; the pair score averages the two sides' means instead of the
    paper's 1 / (d_a + d_b) weighting; Lasso's R is not symmetric and model
    i's median is over UDR_ji (j's codes as inputs, i's as targets).
    Beyond the reference: models may differ in D (it asserts one D); a model
    with no dim left after filtering raises (the reference crashes there).

    Returns ``udr.scores`` (M floats, input order), ``udr.pairwise`` (M x M,
    entry [i][j] = UDR_ij, diagonal 0) and, with ``include_raw_correlations``,
    ``udr.raw_correlations`` ([i][j] = R as nested lists, before filtering;
    zeros on the diagonal).
    """
    if isinstance(codes, np.ndarray) and codes.ndim == 2:
        raise ValueError("codes must be a list of (N, D) arrays, one per model; got a single 2-D array")
    codes = [check_codes(z, f"codes[{m}]") for m, z in enumerate(codes)]
    if len(codes) < 2:
        raise ValueError(f"UDR compares models with each other; pass codes of at least 2 models, "
                         f"got {len(codes)}")
    n = codes[0].shape[0]
    for m, z in enumerate(codes):
        if z.shape[0] != n:
            raise ValueError(f"codes[{m}] has {z.shape[0]} samples but codes[0] has {n}; encode the same "
                             "inputs with every model")
    if correlation not in CORRELATIONS:
        raise ValueError(f"correlation must be one of {CORRELATIONS}, got {correlation!r}")
    if not lasso_alpha > 0:
        raise ValueError(f"lasso_alpha must be > 0, got {lasso_alpha}")
    kl = _check_kl(kl, codes)
    keep = [k > kl_threshold for k in kl]
    if filter_low_kl:
        for m, mask in enumerate(keep):
            if not mask.any():
                raise ValueError(f"model {m} has no dimension with KL > kl_threshold={kl_threshold}; "
                                 "drop that model (it encodes nothing) or set filter_low_kl=False")

    reps = []
    for z, k in zip(codes, kl):
        scaled = preprocessing.StandardScaler().fit_transform(np.asarray(z, dtype=np.float64))
        reps.append(scaled * np.greater(k, _ZERO_KL))

    num = len(codes)
    pairwise = np.zeros((num, num))
    raw = [[np.zeros((z.shape[1], w.shape[1])) for w in codes] for z in codes]
    for i in range(num):
        for j in range(num):
            if i == j:
                continue
            if correlation == "lasso":
                corr = _lasso_matrix(reps[i], reps[j], lasso_alpha, random_state)
            else:
                corr = _spearman_matrix(reps[i], reps[j])
            raw[i][j] = corr
            if filter_low_kl:
                corr = corr[keep[i]][:, keep[j]]
            pairwise[i, j] = relative_strength(corr)

    scores = [float(np.median(np.delete(pairwise[:, i], i))) for i in range(num)]
    out = {"udr.scores": scores, "udr.pairwise": pairwise.tolist()}
    if include_raw_correlations:
        out["udr.raw_correlations"] = [[r.tolist() for r in row] for row in raw]
    return out
