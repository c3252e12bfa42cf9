"""Unfairness of predictors trained on a representation (Locatello et al. 2019b, "On the Fairness of
Disentangled Representations", NeurIPS, Sec. 4), as disentanglement_lib's ``fairness.compute_fairness``.

For a target factor i and a sensitive factor j: a gradient-boosted classifier predicts i from the codes;
then ``num_test_points_per_class`` factor draws are intervened on, j set to each of its values c in
turn, and the unfairness is the total-variation distance between the predictions' distribution under
do(j = c) and their distribution pooled over all c (demographic parity, Eq. 2): its mean over c
(weighted by points) and its max over c.  The (K, K) matrices are aggregated over targets and
sensitive factors in every combination the reference reports.
"""
from __future__ import annotations

import numpy as np

from . import _gbt
from ._utils import Observations, as_random_state, sample_codes


def inter_group_fairness(counts: np.ndarray) -> tuple[float, float]:
    """(mean, max) over sensitive values c of TV(p(pred | do(j = c)), p(pred)).

    counts (C_i, C_j): predictions of each target class (rows) under each intervention (columns).
    Same dtypes as the reference: float32 distributions, float64 weighted mean.
    """
    overall = np.sum(counts, axis=1, dtype=np.float32)  # (C_i,)
    overall /= overall.sum()
    per_value = np.sum(counts, axis=0)  # (C_j,) points per intervention
    conditional = counts.astype(np.float32)
    conditional /= per_value[None, :]  # (C_i, C_j), each column a distribution
    tv = np.sum(np.abs(conditional - overall[:, None]), axis=0) / 2.0  # (C_j,) float32
    weighted = tv * per_value  # float64
    weighted /= per_value.sum()
    return float(np.sum(weighted)), float(np.amax(tv))


def scores_dict(matrix: np.ndarray, prefix: str, pairs) -> dict:
    """Per pair, per target (over sensitive), per sensitive (over targets) and overall mean / max.

    matrix (K, K): [target i, sensitive j]; ``pairs`` the (i, j) computed.  Keys as the reference's
    ``compute_scores_dict`` (``{prefix}:pred{i}:sens{j}``, ``{prefix}:mean_sens:max_pred``, ...).
    """
    pairs = list(pairs)
    out = {f"{prefix}:pred{i}:sens{j}": float(matrix[i, j]) for i, j in pairs}
    have = set(pairs)
    targets = sorted({i for i, _ in pairs})
    sensitive = sorted({j for _, j in pairs})
    rows = [[matrix[i, j] for j in sensitive if (i, j) in have] for i in targets]
    cols = [[matrix[i, j] for i in targets if (i, j) in have] for j in sensitive]
    row_mean, row_max = [np.mean(r) for r in rows], [np.amax(r) for r in rows]
    col_mean, col_max = [np.mean(c) for c in cols], [np.amax(c) for c in cols]
    for i, mean, top in zip(targets, row_mean, row_max):
        out[f"{prefix}:pred{i}:mean_sens"], out[f"{prefix}:pred{i}:max_sens"] = float(mean), float(top)
    for j, mean, top in zip(sensitive, col_mean, col_max):
        out[f"{prefix}:sens{j}:mean_pred"], out[f"{prefix}:sens{j}:max_pred"] = float(mean), float(top)
    # "a:b" reads: aggregate a of the per-b aggregates (the reference's naming).
    out.update({f"{prefix}:mean_sens:mean_pred": np.mean(col_mean), f"{prefix}:mean_sens:max_pred": np.mean(col_max),
                f"{prefix}:max_sens:mean_pred": np.amax(col_mean), f"{prefix}:max_sens:max_pred": np.amax(col_max),
                f"{prefix}:mean_pred:mean_sens": np.mean(row_mean), f"{prefix}:mean_pred:max_sens": np.mean(row_max),
                f"{prefix}:max_pred:mean_sens": np.amax(row_mean), f"{prefix}:max_pred:max_sens": np.amax(row_max)})
    return {k: float(v) for k, v in out.items()}


def _check(sizes, num_train, num_test_points_per_class, sensitive):
    num_factors = len(sizes)
    if num_factors < 2:
        raise ValueError(f"fairness needs at least 2 factors (a target and a sensitive one); the dataset has "
                         f"{num_factors}")
    if any(not float(s).is_integer() or s < 2 for s in sizes):
        raise ValueError(f"fairness needs discrete factors with at least 2 values each, got factor_sizes {list(sizes)} "
                         "(discretise continuous factors first)")
    if num_train < 2 or num_test_points_per_class < 1:
        raise ValueError(f"fairness needs num_train >= 2 and num_test_points_per_class >= 1, got {num_train} and "
                         f"{num_test_points_per_class}")
    chosen = list(range(num_factors)) if sensitive is None else [int(j) for j in sensitive]
    bad = [j for j in chosen if not 0 <= j < num_factors]
    if bad or not chosen:
        raise ValueError(f"sensitive factor index {bad[0] if bad else chosen} out of range: the dataset has "
                         f"{num_factors} factors, indices 0..{num_factors - 1}")
    return chosen


def fairness(dataset, encode, *, random_state=0, num_train: int = 10000, num_test_points_per_class: int = 100,
             batch_size: int = 16, sensitive=None, n_jobs: int | None = None) -> dict:
    """Unfairness of boosted-tree predictors of each factor from ``encode``'s codes (study settings).

    Draws as the reference: ``num_train`` codes in batches of ``batch_size`` (``generate_batch_factor_code``),
    then for each target i and sensitive j != i one ``sample_factors(num_test_points_per_class)`` and one
    rendering per value of j, all from one ``RandomState``.  The predictor is ``GradientBoostingClassifier()``
    (our re-implementation ``_gbt``; sklearn breaks exact feature ties at random, so under ties values move
    slightly, and see tests/test_gbt.py for where ``_gbt`` still departs from sklearn).
    ``sensitive``: indices of the sensitive factors (default all, the reference's numbers; a subset skips
    the other pairs' draws).  The K predictors are fitted in ``n_jobs`` processes (default: every core this
    process may use; 1: in-process), with identical results.
    Returns ``fairness.mean_fairness:...`` and ``fairness.max_fairness:...``.
    """
    chosen = _check(list(dataset.factor_sizes), num_train, num_test_points_per_class, sensitive)
    sizes = [int(s) for s in dataset.factor_sizes]
    rs = as_random_state(random_state)
    codes, factors = sample_codes(dataset, encode, num_train, random_state=rs, batch_size=batch_size)  # (N, D), (N, K)
    if factors.dtype.kind not in "iu":
        raise ValueError(f"fairness needs integer (discrete) factors, the dataset gave {factors.dtype}")
    pairs = [(i, j) for i in range(len(sizes)) for j in chosen if i != j]
    if not pairs:
        raise ValueError("fairness: the only sensitive factor is the only target; choose another sensitive factor")
    for i in sorted({i for i, _ in pairs}):
        if len(np.unique(factors[:, i])) < 2:
            raise ValueError(f"fairness: factor {i} takes a single value in the {num_train} training points; "
                             "raise num_train")
    observations = Observations(dataset, encode, rs)
    for i, j in pairs:  # the reference's order of draws (fitting consumes none)
        original = dataset.sample_factors(num_test_points_per_class, rs)  # (n, K)
        for c in range(sizes[j]):
            intervened = np.array(original, copy=True)
            intervened[:, j] = c
            observations.add(intervened)
    blocks = np.split(observations.codes(), np.cumsum([sizes[j] * num_test_points_per_class for _, j in pairs])[:-1])
    mean_fairness = np.zeros((len(sizes), len(sizes)))  # (K, K) [target, sensitive]
    max_fairness = np.zeros((len(sizes), len(sizes)))
    targets = sorted({i for i, _ in pairs})
    mine = {i: [(p, j) for p, (t, j) in enumerate(pairs) if t == i] for i in targets}
    fits = _gbt.fit_predict_each([(codes, factors[:, i], [blocks[p] for p, _ in mine[i]]) for i in targets], n_jobs)
    for i, (_, predictions) in zip(targets, fits):
        for (p, j), pred in zip(mine[i], predictions[1:]):
            counts = np.stack([np.bincount(part, minlength=sizes[i])
                               for part in np.split(pred, sizes[j])], axis=1)  # (C_i, C_j)
            mean_fairness[i, j], max_fairness[i, j] = inter_group_fairness(counts)
    out = scores_dict(mean_fairness, "mean_fairness", pairs)
    out.update(scores_dict(max_fairness, "max_fairness", pairs))
    return {"fairness." + k: v for k, v in out.items()}
