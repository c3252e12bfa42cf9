"""Modularity and explicitness (Ridgeway & Mozer 2018, "Learning Deep
Disentangled Embeddings With the F-Statistic Loss", Sec. 3), as
disentanglement_lib's ``compute_modularity_explicitness``."""
from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from sklearn import linear_model, preprocessing
from threadpoolctl import threadpool_limits

from ._utils import check_pair, check_same_dims, histogram_discretize, mutual_info_matrix


def _modularity(mi: np.ndarray) -> float:
    """mean_i 1 - δ_i, δ_i = Σ_k≠k* m_ik² / (θ_i² (K-1)), θ_i = max_k m_ik (Ridgeway & Mozer Eq. 2)."""
    sq = np.square(mi)  # (D, K)
    theta = np.max(sq, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 1.0 - (np.sum(sq, axis=1) - theta) / (theta * (sq.shape[1] - 1.0))
    score[theta == 0.0] = 0.0
    return float(np.mean(score))


def _auc(y, proba):
    """Macro one-vs-rest ROC-AUC of ``proba`` (N, C), as the reference's ``roc_auc_score(onehot, proba)``.

    Each class's AUC is computed as the Mann-Whitney statistic — (sum of the positives' ranks, ties averaged,
    − P (P + 1) / 2) / (P · N_neg) — which is the area under the ROC curve exactly; sklearn integrates the
    curve with the trapezoid rule, so the two agree to rounding (~1e-16), and this skips sklearn's per-class
    input validation, which was most of explicitness' time."""
    onehot = preprocessing.MultiLabelBinarizer().fit_transform(y[:, None])  # (N, C), refit per set
    if onehot.shape[1] != proba.shape[1]:
        raise ValueError(f"test labels take {onehot.shape[1]} values but training labels "
                         f"{proba.shape[1]}; every class must appear in both sets")
    positives = onehot.sum(axis=0).astype(np.float64)  # (C,)
    negatives = len(y) - positives
    ranks = stats.rankdata(proba, axis=0)  # (N, C) average ranks within each class's column
    u = (ranks * onehot).sum(axis=0) - positives * (positives + 1) / 2
    return float(np.mean(u / (positives * negatives)))


def modularity_explicitness(codes, factors, codes_test, factors_test, *, num_bins: int = 20) -> dict:
    """Modularity (Eq. 2) on train codes and explicitness (Sec. 3) on train and test.

    Modularity: MI (nats, not normalised) between histogram-discretised codes
    and raw factors; averaged over ALL codes, noise dimensions included (0 for a
    code with no information).  Explicitness: codes z-scored with the train
    mean/std (ddof 0), one ``LogisticRegression()`` with sklearn defaults per
    factor on all codes, macro one-vs-rest ROC-AUC of ``predict_proba``; mean
    over factors.  A constant code dimension makes the reference divide by a
    zero std and crash, so it raises here.  codes (N, D), factors (N, K).
    Returns ``modularity``, ``explicitness_train``, ``explicitness_test``.
    """
    codes, factors = check_pair(codes, factors)
    codes_test, factors_test = check_pair(codes_test, factors_test, varying=False, suffix="_test")
    check_same_dims(codes, codes_test)
    if factors.shape[1] < 2:
        raise ValueError("modularity needs at least 2 factors (it divides by K - 1); "
                         "pass all factors of the dataset")
    mean, std = codes.mean(axis=0), codes.std(axis=0)  # (D,)
    if np.any(std == 0):
        raise ValueError(f"code dims {np.flatnonzero(std == 0).tolist()} are constant, so "
                         "explicitness cannot z-score them; drop those dims first")
    mi = mutual_info_matrix(histogram_discretize(codes, num_bins), factors)  # (D, K)
    x, x_test = (codes - mean) / std, (codes_test - mean) / std
    train, test = [], []
    for k in range(factors.shape[1]):
        # One thread: sklearn >= 1.2 spreads the multinomial loss over OpenMP threads,
        # which made these small fits ~4x slower than sklearn 1.4's on a busy 2-core machine.
        with warnings.catch_warnings(), threadpool_limits(1):  # lbfgs ConvergenceWarning, as in the reference
            warnings.simplefilter("ignore")
            clf = linear_model.LogisticRegression().fit(x, factors[:, k])
        train.append(_auc(factors[:, k], clf.predict_proba(x)))
        test.append(_auc(factors_test[:, k], clf.predict_proba(x_test)))
    return {"modularity": _modularity(mi), "explicitness_train": float(np.mean(train)),
            "explicitness_test": float(np.mean(test))}
