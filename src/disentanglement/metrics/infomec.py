"""InfoMEC: InfoM(odularity), InfoE(xplicitness), InfoC(ompactness) (Hsu et al. 2023, "Disentanglement
via Latent Quantization", NeurIPS, Sec. 5 and App. B), computed as the authors' ``compute_infomec``
(kylehkhsu/latent_quantization, disentangle/metrics/infomec.py) does, on current scikit-learn.

NMI_ij = I(s_i; z_j) / H(s_i) for sources (factors) s_i and latents z_j: I from the empirical
contingency table for discrete latents, from the Kraskov k-NN estimator (Ross 2014, 10 neighbours;
sklearn's ``mutual_info_classif``) for continuous standardised latents; H(s_i) empirical.  Latents whose
range is below 1/20 of the largest range are pruned (discrete: constant ones).  With K sources and A
active latents:

    InfoM = (mean_j max_i NMI_ij / sum_i NMI_ij - 1/K) / (1 - 1/K)      (each latent captures one source)
    InfoC = (mean_i max_j NMI_ij / sum_j NMI_ij - 1/A) / (1 - 1/A)      (each source sits in one latent)
    InfoE = mean_i (H_null(s_i) - CE(s_i | z)) / H_null(s_i)             (linearly decodable information)

CE is the training cross-entropy of an unpenalised, class-balanced multinomial logistic regression
(lbfgs, 100 iterations) on the standardised (continuous) or one-hot (discrete) latents; H_null is the
same model's on all-zero inputs.

Checked against the authors' code itself, run on scikit-learn 1.4.2 (where its ``multi_class=`` still
exists) by tools/reference_values.py --infomec-src: equal within 1e-9 on the seven synthetic cases of
tests/test_metrics_reference.py, ours running on current scikit-learn.
"""
from __future__ import annotations

import inspect
import warnings

import numpy as np
from sklearn import feature_selection, linear_model, metrics, preprocessing

from ._utils import as_random_state, check_pair, discrete_entropy, mutual_info


def _labels(factors: np.ndarray) -> np.ndarray:
    """(N, K) factor values -> (N, K) labels 0..C_k-1 (sklearn's LabelEncoder)."""
    return np.stack([np.unique(f, return_inverse=True)[1].ravel() for f in factors.T], axis=1)


def nmi_matrix(codes, labels, *, discrete_latents: bool = False, n_neighbors: int = 10, random_state=0):
    """(K, D) I(s_i; z_j) / H(s_i), nats over nats; labels (N, K) from ``_labels``."""
    rs = as_random_state(random_state)
    num_factors, num_codes = labels.shape[1], codes.shape[1]
    out = np.empty((num_factors, num_codes))
    if discrete_latents:
        for j in range(num_codes):
            out[:, j] = [mutual_info(labels[:, i], codes[:, j]) for i in range(num_factors)]
    else:
        z = preprocessing.StandardScaler().fit_transform(codes.astype(np.float64))  # (N, D)
        for i in range(num_factors):
            for j in range(num_codes):
                out[i, j] = feature_selection.mutual_info_classif(
                    z[:, j:j + 1], labels[:, i], discrete_features=False, n_neighbors=n_neighbors,
                    random_state=rs)[0]
    return out / discrete_entropy(labels)[:, None]


def _unpenalised_multinomial():
    """``LogisticRegression(penalty=None, class_weight='balanced', lbfgs, multinomial)`` on any sklearn >= 1.2."""
    params = inspect.signature(linear_model.LogisticRegression).parameters
    kw = dict(tol=1e-4, fit_intercept=True, class_weight="balanced", solver="lbfgs", max_iter=100)
    if params["penalty"].default == "deprecated":  # sklearn >= 1.8: no penalty is C = inf
        kw["C"] = np.inf
    else:
        kw["penalty"] = None
    if "multi_class" in params:  # removed in 1.8, where lbfgs is multinomial (binary: the logistic loss)
        kw["multi_class"] = "multinomial"
    return linear_model.LogisticRegression(**kw)


def _cross_entropy(x: np.ndarray, y: np.ndarray) -> float:
    """Training log-loss of the unpenalised balanced logistic regression of y (N,) on x (N, P)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning / FutureWarning, as the authors ran it
        model = _unpenalised_multinomial().fit(x, y)
        return float(metrics.log_loss(y, model.predict_proba(x), labels=model.classes_))


def info_e(codes, labels, *, discrete_latents: bool = False) -> float:
    """InfoE: mean over sources of the logistic regression's normalised predictive information."""
    if discrete_latents:
        x = preprocessing.OneHotEncoder().fit_transform(codes)  # sparse (N, sum of values)
    else:
        x = preprocessing.StandardScaler().fit_transform(codes.astype(np.float64))  # (N, D)
    null = np.zeros(codes.shape)  # (N, D): the marginal model sees no information
    scores = []
    for i in range(labels.shape[1]):
        ce, ce_null = _cross_entropy(x, labels[:, i]), _cross_entropy(null, labels[:, i])
        scores.append((ce_null - ce) / ce_null)
    return float(np.mean(scores))


def _normalised_peak(nmi: np.ndarray, n: int) -> float:
    """(mean over rows of max / sum - 1/n) / (1 - 1/n); a row without information counts as 1/n."""
    if n == 1:
        return 1.0  # a single candidate: the information cannot be spread
    total = nmi.sum(axis=1)
    peak = np.where(total > 0, nmi.max(axis=1) / np.where(total > 0, total, 1.0), 1.0 / n)
    return float((np.mean(peak) - 1.0 / n) / (1.0 - 1.0 / n))


def infomec(codes, factors, *, discrete_latents: bool = False, n_neighbors: int = 10, random_state=0) -> dict:
    """InfoM, InfoE, InfoC of codes (N, D) against factors (N, K) (discrete labels).

    ``discrete_latents``: the codes are quantised labels (the authors' QLAE), else continuous (a VAE's
    means).  ``random_state`` seeds the k-NN estimator's 1e-10 jitter (sklearn's; the authors drew it
    from the global RNG), which only matters under tied code values.  Where the authors' code divides
    0 by 0 (a latent or source with no estimated information; a single active latent or source) the
    score counts it as spread evenly, contributing 0 (a single candidate scores 1).  Returns
    ``infomec.infom``, ``infomec.infoe``, ``infomec.infoc``, ``infomec.num_active_latents``.
    """
    codes, factors = check_pair(codes, factors)
    labels = _labels(factors)  # (N, K)
    nmi = nmi_matrix(codes, labels, discrete_latents=discrete_latents, n_neighbors=n_neighbors,
                     random_state=random_state)  # (K, D)
    ranges = codes.max(axis=0) - codes.min(axis=0)  # (D,)
    active = ranges > 0 if discrete_latents else ranges > ranges.max() / 20
    if not active.any():
        raise ValueError("infomec: every code dimension is constant; there is nothing to score")
    pruned = nmi[:, active]  # (K, A)
    return {"infomec.infom": _normalised_peak(pruned.T, labels.shape[1]),
            "infomec.infoe": info_e(codes, labels, discrete_latents=discrete_latents),
            "infomec.infoc": _normalised_peak(pruned, int(active.sum())),
            "infomec.num_active_latents": float(active.sum())}
