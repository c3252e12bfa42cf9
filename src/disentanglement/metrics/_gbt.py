"""Exact, vectorised re-implementation of ``sklearn.ensemble.GradientBoostingClassifier()``
with its defaults (log-loss, 100 stages, learning rate 0.1, depth-3 regression
trees on the negative gradient, best split over all features, one Newton step
per leaf; Friedman 2001, "Greedy Function Approximation", Alg. 6 and Eq. 32).

Same splits, leaf values, predictions and ``feature_importances_`` as sklearn
up to float rounding.  Splits that tie exactly between features (e.g. one
sample cut off by either of two features) are broken at random, as sklearn's
random feature order does (with a fixed seed here, so results repeat).  Fast
because each feature is sorted once, each node keeps its samples sorted by
stable partitioning, and the search over all thresholds of all features is
one cumulative sum (torch's, single-threaded: the same sequential float64 sums
as numpy's, about twice as fast).
"""
from __future__ import annotations

import numpy as np
import torch

_EPS = np.finfo(np.float64).eps
_TIE = np.float32(1e-7)  # sklearn's FEATURE_THRESHOLD, added in float32


class _Data:
    """Training features: float32 copy (N, D), per-feature sort order (D, N), tie info."""

    def __init__(self, x):
        self.x32 = np.ascontiguousarray(x, dtype=np.float32)
        self.xt = np.ascontiguousarray(self.x32.T)  # (D, N)
        self.order = np.argsort(self.xt, axis=1, kind="stable")  # (D, N)
        xs = np.take_along_axis(self.xt, self.order, axis=1)
        tied = xs[:, 1:] <= xs[:, :-1] + _TIE  # (D, N-1) near-equal neighbours
        self.dense_ties = tied.mean(axis=1) > 0.01  # check ties per node up front
        self.any_ties = tied.any(axis=1)


def _split_node(data, cs, perm, s, e, key):
    """Best split of samples perm[:, s:e]: (feature, position of last left sample, proxy) or None."""
    n = e - s
    base = cs[:, s - 1:s] if s > 0 else np.zeros((len(cs), 1))
    total = cs[0, e - 1] - base[0, 0]  # node sum of residuals
    nl = np.arange(1, n, dtype=np.float64)
    proxy = np.subtract(cs[:, s:e - 1], nl * (total / n))  # (D, n-1): s_L - n_L T / n
    if s > 0:
        proxy -= base
    np.square(proxy, out=proxy)
    proxy *= n * n / (nl * (n - nl))  # Friedman: (n_R s_L - n_L s_R)^2 / (n_L n_R)
    for d in np.flatnonzero(data.dense_ties):  # no threshold between (near-)equal values
        xv = data.xt[d].take(perm[d, s:e])
        proxy[d][xv[1:] <= xv[:-1] + _TIE] = -1.0
    fmax = proxy.max(axis=1)  # (D,)
    while True:
        best = fmax.max()
        if best < 0:
            return None
        cand = np.flatnonzero(fmax >= best - 1e-12 * best)  # equal up to rounding: pick one at random
        d = cand[0] if len(cand) == 1 else cand[hash((*key, s, e)) % len(cand)]
        p = int(np.argmax(proxy[d]))
        if not data.any_ties[d] or data.dense_ties[d]:
            return d, p, proxy[d, p]
        a, b = perm[d, s + p], perm[d, s + p + 1]
        if data.xt[d, b] > data.xt[d, a] + _TIE:
            return d, p, proxy[d, p]
        proxy[d, p] = -1.0  # a rare near-tie: not a valid threshold, look again
        fmax[d] = proxy[d].max()


def _grow(data, r, key):
    """Depth-3 tree on residuals r (N,): per-level (feature, threshold) arrays, leaf id (N,), importances (D,)."""
    n_features, n_samples = data.order.shape
    perm, segs = data.order, [(0, n_samples, True)]  # each node: contiguous, sorted per feature
    leaf, feats, thrs, imp = np.zeros(n_samples, np.int64), [], [], np.zeros(n_features)
    r2 = r * r
    for level in range(3):
        side = np.zeros(n_samples, dtype=bool)  # True: goes right
        f_lvl, t_lvl, cuts = np.zeros(len(segs), np.int64), np.full(len(segs), np.inf), []
        cs = r.take(perm)  # (D, N) residuals in node-sorted order ...
        torch.from_numpy(cs).cumsum_(1)  # ... and their prefix sums, in place
        sq = np.bincount(leaf, r2, len(segs))  # per node sum of squares
        for j, (s, e, alive) in enumerate(segs):
            cut, split = e, None
            mean = (cs[0, e - 1] - (cs[0, s - 1] if s > 0 else 0.0)) / max(e - s, 1)
            if alive and e - s >= 2 and sq[j] / (e - s) - mean ** 2 > _EPS:  # impurity > EPSILON
                split = _split_node(data, cs, perm, s, e, (*key, level))
            if split is not None:
                d, p, proxy = split
                a, b = perm[d, s + p], perm[d, s + p + 1]
                f_lvl[j] = d
                t_lvl[j] = np.float64(data.xt[d, a]) / 2.0 + np.float64(data.xt[d, b]) / 2.0
                imp[d] += proxy / (e - s) / n_samples  # weighted impurity decrease / N
                cut = s + p + 1
                side[perm[d, cut:e]] = True
            cuts.append(cut)
        feats.append(f_lvl)
        thrs.append(t_lvl)
        leaf = 2 * leaf + side
        if level == 2:
            break
        g = side.take(perm).ravel()  # (D*N,) per feature, node by node: goes right?
        flat = perm.ravel()  # each node's samples go the same way in every row, so
        left = flat.compress(~g).reshape(n_features, -1)  # (D, N_left) nodes' left parts
        right = flat.compress(g).reshape(n_features, -1)  # (D, N_right) nodes' right parts
        parts, new, at_l, at_r = [], [], 0, 0
        for (s, e, alive), cut in zip(segs, cuts):
            parts += [left[:, at_l:at_l + cut - s], right[:, at_r:at_r + e - cut]]
            at_l, at_r = at_l + cut - s, at_r + e - cut
            new += [(s, cut, alive and cut < e), (cut, e, alive and cut < e)]
        perm, segs = np.concatenate(parts, axis=1), new
    return feats, thrs, leaf, imp


def _apply(feats, thrs, xt_flat, n):
    """Leaf ids (n,) of n samples given as features transposed and flattened, xt_flat (D * n,)."""
    node, rows = np.zeros(n, dtype=np.int64), np.arange(n)
    for f, t in zip(feats, thrs):
        node = 2 * node + (xt_flat.take(f.take(node) * n + rows) > t.take(node))
    return node


def fit_predict(x, y, x_eval=(), *, n_estimators=100, learning_rate=0.1, seed=0):
    """Fit on x (N, D), labels y (N,); return importances (D,) and predicted labels [train, *x_eval]."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # rows of 10^4 values: threads only add overhead
    try:
        return _fit_predict(x, y, x_eval, n_estimators, learning_rate, seed)
    finally:
        torch.set_num_threads(threads)


def _fit_predict(x, y, x_eval, n_estimators, learning_rate, seed):
    classes, yi = np.unique(y, return_inverse=True)
    n_classes, (n_samples, n_features) = len(classes), x.shape
    data = _Data(x)
    evals32 = [np.asarray(xe, dtype=np.float32).T.ravel() for xe in x_eval]  # (D * M,) each
    prior = np.clip(np.bincount(yi, minlength=n_classes) / n_samples, _EPS, 1 - _EPS)
    onehot = np.eye(n_classes)[:, yi]  # (C, N)
    if n_classes == 2:  # one tree per stage on the logit
        init, y_fit, scale = np.log(prior[1:] / (1 - prior[1:])), onehot[1:], 1.0
    else:  # one tree per class per stage; sklearn's (K-1)/K factor on the Newton step
        init, y_fit, scale = np.log(prior) - np.mean(np.log(prior)), onehot, (n_classes - 1) / n_classes
    raw = np.repeat(init[:, None], n_samples, axis=1)  # (T, N) T trees per stage
    raw_eval = [np.repeat(init[:, None], len(xe) // n_features, axis=1) for xe in evals32]
    imps = []
    for stage in range(n_estimators):
        if n_classes == 2:
            prob = 1.0 / (1.0 + np.exp(-raw))
        else:
            prob = np.exp(raw - raw.max(axis=0))
            prob /= prob.sum(axis=0)
        neg_grad = y_fit - prob  # (T, N)
        for k in range(len(raw)):
            feats, thrs, leaf, imp = _grow(data, neg_grad[k], (seed, stage, k))
            if np.isfinite(thrs[0][0]):  # sklearn averages over trees with a root split
                imps.append(imp)
            cnt = np.maximum(np.bincount(leaf, minlength=8), 1)
            num = np.bincount(leaf, neg_grad[k], minlength=8) / cnt * scale
            den = np.bincount(leaf, prob[k] * (1 - prob[k]), minlength=8) / cnt
            value = learning_rate * np.where(np.abs(den) < 1e-150, 0.0, num / np.where(den == 0, 1.0, den))
            raw[k] += value[leaf]
            for xe, re in zip(evals32, raw_eval):
                re[k] += value[_apply(feats, thrs, xe, re.shape[1])]
    imp = np.mean(imps, axis=0) if imps else np.zeros(n_features)
    imp = imp / imp.sum() if imp.sum() > 0 else imp
    return imp, [classes[(re[0] >= 0).astype(int) if n_classes == 2 else np.argmax(re, axis=0)]
                 for re in [raw] + raw_eval]
