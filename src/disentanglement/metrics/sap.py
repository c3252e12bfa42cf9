"""Separated Attribute Predictability (Kumar et al. 2018, "Variational
Inference of Disentangled Latent Concepts from Unlabeled Observations", Sec. 3),
as disentanglement_lib's ``compute_sap``."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn import svm

from ._utils import check_codes, check_pair, check_same_dims


def _score_matrix(codes, factors, codes_test, factors_test, continuous):
    d, k = codes.shape[1], factors.shape[1]
    score = np.zeros((d, k))  # (D, K)
    for i in range(d):
        for j in range(k):
            z, y = codes[:, i], factors[:, j]
            if continuous:
                cov = np.cov(z, y, ddof=1)
                score[i, j] = cov[0, 1] ** 2 / (cov[0, 0] * cov[1, 1]) if cov[0, 0] > 1e-12 else 0.0
                continue
            clf = svm.LinearSVC(C=0.01, class_weight="balanced", dual=True)
            with warnings.catch_warnings():  # liblinear's ConvergenceWarning, as in the reference
                warnings.simplefilter("ignore")
                clf.fit(z[:, None], y)
            score[i, j] = np.mean(clf.predict(codes_test[:, i:i + 1]) == factors_test[:, j])
    return score


def sap(codes, factors, codes_test, factors_test, *, continuous: bool = False) -> dict:
    """SAP = mean_k (S_(1)k - S_(2)k): gap between the two codes that best predict factor k.

    Discrete factors (the study's setting): S_ik is the test accuracy of
    ``LinearSVC(C=0.01, class_weight="balanced")`` trained on the single raw code
    column i (liblinear's dual solver, as sklearn ≤ 1.4 defaulted to).  Quirk kept
    from the reference: the intercept is penalised and C is tiny, so the score is
    NOT invariant to rescaling the codes.  Continuous factors: S_ik = R² =
    cov(z_i, y_k)² / (var z_i var y_k), ddof 1, 0 when var z_i ≤ 1e-12 (test set unused).
    codes (N, D), factors (N, K); test arrays likewise.  Returns ``{"sap": float}``.
    """
    if continuous:  # real-valued factors allowed; the test set is not used
        codes, factors = check_codes(codes, min_dims=2), check_codes(factors, "factors")
        if len(factors) != len(codes):
            raise ValueError(f"factors have {len(factors)} samples but codes {len(codes)}")
        codes_test, factors_test = codes, factors
    else:
        codes, factors = check_pair(codes, factors, min_dims=2)
        codes_test, factors_test = check_pair(codes_test, factors_test, min_dims=2,
                                              varying=False, suffix="_test")
    check_same_dims(codes, codes_test)
    score = np.sort(_score_matrix(codes, factors, codes_test, factors_test, continuous), axis=0)
    return {"sap": float(np.mean(score[-1] - score[-2]))}
