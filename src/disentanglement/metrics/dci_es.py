"""DCI-ES: explicitness (E) and size (S) (Eastwood et al. 2023, "DCI-ES: An Extended Disentanglement
Framework with Connections to Identifiability", ICLR, Sec. 4).

Explicitness is the ease of using a representation: probes of increasing capacity predict each factor,
and the loss-capacity curve (test loss of the best probe up to each capacity) is integrated:

    E_k = 1 - AULCC_k / Z_k,   Z_k = (c_max - c_min) * l_base,k,   E = mean_k E_k

with AULCC the trapezoid area under the running-minimum loss over capacities, the loss 0-1 error
(1 - accuracy, the optimum l* = 0 as in the paper), and l_base the error of the capacity-free
baseline (always the most frequent training class).  E is 1 when the smallest probe is already
perfect and 0 when no probe beats the baseline (slightly below 0 when probes do worse than it).
Size S = K / D: the number of factors over the number of code dimensions (1 for a representation as
small as the factors, lower for larger ones) — our reading of the paper's definition, which could not
be checked against its text when this was written: confirm it before publishing S.

The capacity sweep is CPU-cheap: random forests of 10 trees (the paper's tree probe) with
``max_depth`` 1, 2, 3, 4, 6, 8, 12, 16 on a linear depth axis, as the authors' random-forest sweep.
"""
from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from ._utils import as_random_state, check_pair, check_same_dims

DEPTHS = (1, 2, 3, 4, 6, 8, 12, 16)


def loss_capacity_curve(codes, y, codes_test, y_test, *, depths=DEPTHS, n_trees: int = 10, random_state=0):
    """(len(depths),) test 0-1 error of a forest of ``n_trees`` trees of each max depth."""
    rs = as_random_state(random_state)
    errors = []
    for depth in depths:
        probe = RandomForestClassifier(n_estimators=n_trees, max_depth=depth, n_jobs=1,
                                       random_state=rs.randint(2 ** 31 - 1))
        errors.append(1.0 - np.mean(probe.fit(codes, y).predict(codes_test) == y_test))
    return np.array(errors)


def explicitness_from_curve(capacity, loss, baseline_loss: float) -> float:
    """E = 1 - AULCC / ((c_max - c_min) * l_base) for losses (C,) at increasing capacities (C,)."""
    capacity, loss = np.asarray(capacity, dtype=np.float64), np.minimum.accumulate(np.asarray(loss, float))
    if baseline_loss <= 0:
        return 1.0  # a constant test factor: nothing to learn
    area = np.sum(0.5 * (loss[1:] + loss[:-1]) * np.diff(capacity))  # trapezoid
    return float(1.0 - area / ((capacity[-1] - capacity[0]) * baseline_loss))


def dci_es(codes, factors, codes_test, factors_test, *, depths=DEPTHS, n_trees: int = 10, random_state=0) -> dict:
    """Explicitness and size of codes (N, D) for factors (N, K), test arrays likewise.

    Returns ``dci_es.explicitness`` (mean over factors), ``dci_es.size`` (K / D),
    ``dci_es.explicitness_factor_{k}`` and ``dci_es.informativeness_test`` (mean over factors of the
    best test accuracy over the sweep).
    """
    codes, factors = check_pair(codes, factors)
    codes_test, factors_test = check_pair(codes_test, factors_test, varying=False, suffix="_test")
    check_same_dims(codes, codes_test)
    depths = [int(d) for d in depths]
    if len(depths) < 2 or any(d < 1 for d in depths) or np.any(np.diff(depths) <= 0):
        raise ValueError(f"depths must be at least 2 increasing positive integers, got {depths}")
    rs = as_random_state(random_state)
    out, best = {}, []
    for k in range(factors.shape[1]):
        values, counts = np.unique(factors[:, k], return_counts=True)
        baseline = 1.0 - np.mean(factors_test[:, k] == values[np.argmax(counts)])
        loss = loss_capacity_curve(codes, factors[:, k], codes_test, factors_test[:, k], depths=depths,
                                   n_trees=n_trees, random_state=rs)
        out[f"dci_es.explicitness_factor_{k}"] = explicitness_from_curve(depths, loss, baseline)
        best.append(1.0 - loss.min())
    e = float(np.mean([out[f"dci_es.explicitness_factor_{k}"] for k in range(factors.shape[1])]))
    return {"dci_es.explicitness": e, "dci_es.size": factors.shape[1] / codes.shape[1],
            "dci_es.informativeness_test": float(np.mean(best)), **out}
