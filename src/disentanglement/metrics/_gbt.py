"""Exact, vectorised re-implementation of ``sklearn.ensemble.GradientBoostingClassifier()``
with its defaults (log-loss, 100 stages, learning rate 0.1, depth-3 regression
trees on the negative gradient, best split over all features, one Newton step
per leaf; Friedman 2001, "Greedy Function Approximation", Alg. 6 and Eq. 32).

Same splits, leaf values, predictions and ``feature_importances_`` as sklearn.
Splits that tie exactly between features (e.g. one sample cut off by either of
two features) are broken at random, as sklearn's random feature order does
(with a fixed seed here, so results repeat).  Fast because each feature is
sorted once, each node keeps its samples sorted by stable partitioning, and
the search over all thresholds of all features of a level is one compiled pass
(numba, ``_gbt_kernels.level_proxies``): per feature a running float64 sum of the residuals
in sorted order — the same sequential sums as a cumulative sum — and each
position's split score from it, in the same floating-point operations as the
numpy expression it replaced, so the same bits; the stable partition of every
feature's order into the children is a second compiled pass (``partition``).  A whole tree is one
compiled call (``grow_common``, with the same seeded tie-break between features) unless one of its nodes
needs the exact rounding below; then it is grown here, in Python (``_grow``), as before.

Bit for bit where rounding decides.  Many nodes hold residuals that are all
equal (samples that shared every earlier leaf); sklearn splits such a node when
the impurity its parent's criterion computed for it (``children_impurity``:
sq_sum_total − sq_sum_left, a cancellation) is rounding above EPSILON, and then
rounding picks the position.  So, as sklearn: residuals are its loss's own
gradient (``sklearn._loss``, libm ``exp``; numpy's differs in the last bit),
leaf values are its ``np.average`` sums per leaf in sample order, and where a
node's impurity is near zero (``_NEAR_PURE``) or its best positions tie up to
rounding, its impurity, its children's and its split position are recomputed
with sklearn's sums, in sklearn's sample order: sample index order at the root;
in a child, the parent's samples sorted by the split feature, the left part as
is and the right part rotated by one (``partition_samples_final``'s swaps).
With one feature that order is exact.  With several, sklearn's samples are
sorted by the feature it visited last (random order), not necessarily the split
one used here; only such near-zero cases can then differ, by rounding.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn._loss.loss import HalfBinomialLoss, HalfMultinomialLoss

from ._gbt_kernels import add_tree, grow_common, level_proxies, partition

_EPS = np.finfo(np.float64).eps
_TIE = np.float32(1e-7)  # sklearn's FEATURE_THRESHOLD, added in float32


class _Data:
    """Training features: float32 copy (N, D), per-feature sort order (D, N), tie info."""

    def __init__(self, x):
        self.x32 = np.ascontiguousarray(x, dtype=np.float32)
        self.xt = np.ascontiguousarray(self.x32.T)  # (D, N)
        self.order = np.argsort(self.xt, axis=1, kind="stable").astype(np.int32)  # (D, N), int32: fits in cache
        xs = np.take_along_axis(self.xt, self.order, axis=1)
        tied = xs[:, 1:] <= xs[:, :-1] + _TIE  # (D, N-1) near-equal neighbours
        self.dense_ties = tied.mean(axis=1) > 0.01  # check ties per node up front
        self.any_ties = tied.any(axis=1)
        self.proxy = np.empty(self.xt.shape)  # (D, N) scratch: each level's split scores (``level_proxies``)
        self.shift, self.weight = np.empty(len(x)), np.empty(len(x))  # (N,) scratch of the same
        # (2, D, N): the sort orders of levels 1 and 2, reused by every tree (fresh ones cost page faults)
        self.levels = np.empty((2, *self.order.shape), self.order.dtype)


def _compiled():
    """Load (or, the first time on a machine, compile and cache) the numba kernels: ~0.4 s once a process
    (~4 s to compile them, beside two training jobs, 2026-12-04)."""
    if not grow_common.signatures:
        x = np.arange(8.0)[:, None]
        fit_predict(x, np.arange(8) % 2, [x], n_estimators=1)


def _split_node(data, proxy, fmax, base, total, perm, s, e, key):
    """Best split of samples perm[:, s:e] from the level's scores (``level_proxies``): (feature, position of
    last left sample, proxy, near-tie?) or None.  proxy (D, n - 1) is scratch: entries are set to -1 here."""
    fmax = fmax.copy()  # (D,)
    while True:
        best = fmax.max()
        if best < 0:
            return None
        cand = np.flatnonzero(fmax >= best - 1e-12 * best)  # equal up to rounding: pick one at random
        d = cand[0] if len(cand) == 1 else cand[hash((*key, s, e)) % len(cand)]
        p = int(np.argmax(proxy[d]))
        a, b = perm[d, s + p], perm[d, s + p + 1]
        if not data.any_ties[d] or data.dense_ties[d] or data.xt[d, b] > data.xt[d, a] + _TIE:
            # positions whose proxies may differ from the best by rounding only (ours or sklearn's): the
            # caller then takes sklearn's own rounding
            tol = 1e-12 * (total * total + best * (1.0 + abs(base[d])))
            near = np.count_nonzero(proxy[d] >= proxy[d, p] - tol) > 1
            return d, p, proxy[d, p], near
        proxy[d, p] = -1.0  # a rare near-tie: not a valid threshold, look again
        fmax[d] = proxy[d].max()


def _seq(v) -> float:
    """Sum of v (1-D, non-empty) added one after another from the first, as sklearn's C loops do."""
    return float(np.cumsum(v)[-1])


class _Node:
    """A node's samples perm[:, s:e] and what sklearn's exact impurities of it need (computed lazily).

    ``parent``/``right``: the node it came from and on which side; ``order``: once split, the node's
    samples sorted by the split feature (the parent's order for its children, see ``_init_order``);
    ``n_left``: samples sent left; ``sums``: (sum, sum of squares) over the init order; ``kids``: cached
    (impurity_left, impurity_right, improvement) of the split.
    """
    __slots__ = ("s", "e", "alive", "parent", "right", "order", "n_left", "sums", "kids")

    def __init__(self, s, e, alive, parent=None, right=False):
        self.s, self.e, self.alive, self.parent, self.right = s, e, alive, parent, right
        self.order = self.n_left = self.sums = self.kids = None


def _init_order(node):
    """sklearn's sample order in the node when its criterion is initialised (``Criterion.init``).

    Root: sample index order.  Otherwise the parent's samples after ``partition_samples_final``: sorted by the
    split feature (the feature sklearn visited last, taken to be the best one), the left part in place, the
    right part rotated by one (its first sample is swapped to the end, the rest keep their order).
    """
    p = node.parent
    if p is None:
        return None
    return np.roll(p.order[p.n_left:], -1) if node.right else p.order[:p.n_left]


def _sums(node, r, r2):
    """``Criterion.init``: sum_total and sq_sum_total, sequential over the init order."""
    if node.sums is None:
        o = _init_order(node)
        node.sums = (_seq(r), _seq(r2)) if o is None else (_seq(r.take(o)), _seq(r2.take(o)))
    return node.sums


def _impurity(node, r, r2) -> float:
    """The impurity sklearn stores for the node: the root's ``node_impurity()``; a child's is the one its
    parent's criterion gave it in ``children_impurity`` (not recomputed from the child's own samples)."""
    if node.parent is None:
        total, squares = _sums(node, r, r2)
        n = node.e - node.s
        return squares / n - (total / n) ** 2
    return _children(node.parent, r, r2)[node.right]


def _children(node, r, r2):
    """sklearn's ``reset(); update(pos); children_impurity(); impurity_improvement()`` after the split."""
    if node.kids is None:
        n, n_l = node.e - node.s, node.n_left
        n_r = n - n_l
        total, squares = _sums(node, r, r2)
        left, right = node.order[:n_l], np.roll(node.order[n_l:], -1)  # partitioned order
        sq_l = _seq(r2.take(left))
        if n_l <= n_r:  # update() walks the shorter way: forward from start ...
            sum_l = _seq(r.take(left))
        else:  # ... or back from sum_total, subtracting from the end
            sum_l = _seq(np.concatenate(([total], -r.take(right[::-1]))))
        sum_r, sq_r = total - sum_l, squares - sq_l
        imp_l = sq_l / n_l - (sum_l / n_l) ** 2
        imp_r = sq_r / n_r - (sum_r / n_r) ** 2
        parent = _impurity(node, r, r2)
        node.kids = (imp_l, imp_r, n / len(r) * (parent - n_r / n * imp_r - n_l / n * imp_l))
    return node.kids


def _sk_position(node, xv, r, r2):
    """sklearn's best split position (last left sample) among node.order, sorted by feature values xv,
    from its exact proxy sum_L²/n_L + sum_R²/n_R (first strictly greatest), or None.

    Used where the proxies are equal up to rounding (all residuals equal), so that rounding decides as
    in sklearn: sum_L as ``update()`` builds it, sum_R = sum_total − sum_L.
    """
    n = len(xv)
    ks = np.flatnonzero(xv[1:] > xv[:-1] + _TIE) + 1  # valid n_L (sklearn's next_p)
    if len(ks) == 0:
        return None
    total = _sums(node, r, r2)[0]
    vals = r.take(node.order)
    csum = np.cumsum(vals)
    sum_l = csum[ks - 1]
    back = np.diff(ks, prepend=0) > n - ks  # update() would go back from the end there (after skipped ties)
    if back.any():
        sum_l = sum_l.copy()
        acc, pos = 0.0, 0
        for i, k in enumerate(ks):
            if k - pos <= n - k:
                for v in vals[pos:k]:
                    acc += v
            else:
                acc = total
                for v in vals[k:][::-1]:
                    acc -= v
            sum_l[i], pos = acc, k
    n_l = ks.astype(np.float64)
    sum_r = total - sum_l
    proxy = sum_l * sum_l / n_l + sum_r * sum_r / (n - n_l)
    return int(ks[np.argmax(proxy)]) - 1


_RETRY = 4  # stages a class's trees are grown in Python after one needed it (``fit_predict``)
_NEAR_PURE = 1e-9  # nodes with a cheaper impurity below this get sklearn's exact one (rounding error << this)


def _grow(data, r, key):
    """Depth-3 tree on residuals r (N,): per-level (feature, threshold) arrays, leaf id (N,), importances (D,)."""
    n_features, n_samples = data.order.shape
    perm, nodes = data.order, [_Node(0, n_samples, True)]  # each node: contiguous, sorted per feature
    leaf, feats, thrs, imp = np.zeros(n_samples, np.int64), [], [], np.zeros(n_features)
    r2 = r * r
    for level in range(3):
        side = np.zeros(n_samples, dtype=bool)  # True: goes right
        f_lvl, t_lvl, cuts = np.zeros(len(nodes), np.int64), np.full(len(nodes), np.inf), []
        starts = np.array([node.s for node in nodes])
        ends = np.array([node.e for node in nodes])
        search = np.array([node.alive and node.e - node.s >= 2 for node in nodes])
        fmax, base = np.empty((len(nodes), n_features)), np.empty((len(nodes), n_features))
        total = np.empty(len(nodes))
        level_proxies(r, perm, data.xt, data.dense_ties, _TIE, starts, ends, search, data.proxy, fmax,
                      np.empty(fmax.shape, np.int64), base, total, data.shift, data.weight, True)
        sq = np.bincount(leaf, r2, len(nodes))  # per node sum of squares
        for j, node in enumerate(nodes):
            s, e = node.s, node.e
            n, cut, split = e - s, e, None
            if search[j]:
                exact = sq[j] / n - (total[j] / n) ** 2 <= _NEAR_PURE
                if not exact or _impurity(node, r, r2) > _EPS:  # sklearn: leaf if impurity <= EPSILON
                    split = _split_node(data, data.proxy[:, s:e - 1], fmax[j], base[j], total[j], perm, s, e,
                                        (*key, level))
            if split is not None:
                d, p, proxy, near = split
                node.order = perm[d, s:e]
                if exact or near:  # proxies equal up to rounding: sklearn's rounding picks the position
                    p = _sk_position(node, data.xt[d].take(node.order), r, r2)
                if p is not None:
                    node.n_left = p + 1
                    if exact:
                        imp_l, imp_r, improvement = _children(node, r, r2)
                        if improvement + _EPS < 0:  # sklearn's min_impurity_decrease check
                            p = None
                        else:
                            proxy = n * _impurity(node, r, r2) - (p + 1) * imp_l - (n - p - 1) * imp_r
                            proxy *= n  # as the fast path's proxy, n * weighted impurity decrease
            if split is not None and p is not None:
                a, b = perm[d, s + p], perm[d, s + p + 1]
                f_lvl[j] = d
                t_lvl[j] = np.float64(data.xt[d, a]) / 2.0 + np.float64(data.xt[d, b]) / 2.0
                imp[d] += proxy / n / n_samples  # weighted impurity decrease / N
                cut = s + p + 1
                side[perm[d, cut:e]] = True
            cuts.append(cut)
        feats.append(f_lvl)
        thrs.append(t_lvl)
        leaf = 2 * leaf + side
        if level == 2:
            break
        children = data.levels[level]  # not perm: the nodes' ``order`` views keep this level's perm
        partition(perm, side, starts, ends, children)
        new = []
        for node, cut in zip(nodes, cuts):
            ok = node.alive and cut < node.e
            parent = node if ok else None
            new += [_Node(node.s, cut, ok, parent, False), _Node(cut, node.e, ok, parent, True)]
        perm, nodes = children, new
    return feats, thrs, leaf, imp


def _tree(data, r, key, feats, thrs, leaf, imp, compiled=True) -> bool:
    """A depth-3 tree on residuals r (N,): compiled (if asked) where no node needs sklearn's rounding, else
    ``_grow`` — the same tree either way.  Fills feats, thrs (3, 4) per level and node, leaf (N,) and imp (D,)
    (the caller's buffers); returns whether the compiled path grew it."""
    if compiled and grow_common(r, np.array(key, np.int64), data.order, data.levels, data.xt, data.dense_ties,
                                data.any_ties, _TIE, _NEAR_PURE, data.proxy, data.shift, data.weight, feats, thrs,
                                leaf, imp):
        return True
    f_lvl, t_lvl, leaf[:], imp[:] = _grow(data, r, key)
    feats[:], thrs[:] = 0, np.inf
    for level, (f, t) in enumerate(zip(f_lvl, t_lvl)):
        feats[level, :len(f)], thrs[level, :len(t)] = f, t
    return False


def fit_predict_each(tasks, n_jobs: int | None = None) -> list:
    """``fit_predict(x, y, x_eval)`` of each task (x, y, x_eval), in ``n_jobs`` forked processes (None: every
    core this process may use; 1: in-process); the same numbers either way, returned in task order.  Tasks
    with more classes cost more and are submitted first (greedy balancing)."""
    tasks = list(tasks)
    if n_jobs is not None and n_jobs < 1:
        raise ValueError(f"n_jobs must be >= 1 (or None for every core), got {n_jobs}")
    if n_jobs is None:
        n_jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n_jobs = min(n_jobs, len(tasks))
    if (n_jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods()
            or multiprocessing.current_process().daemon):  # a pool worker may not fork its own
        return [fit_predict(x, y, x_eval) for x, y, x_eval in tasks]
    order = sorted(range(len(tasks)), key=lambda t: -len(np.unique(tasks[t][1])))
    _compiled()  # loaded here once, not in every forked worker
    with ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        jobs = {t: pool.submit(fit_predict, *tasks[t]) for t in order}
        return [jobs[t].result() for t in range(len(tasks))]


def _init_raw(yi, n_classes, loss):
    """sklearn's initial raw predictions (N, T): the prior of DummyClassifier(strategy="prior"), clipped
    to [eps, 1 - eps], through the loss's link — the same numpy/scipy calls, so the same bits."""
    n = len(yi)
    prior = np.bincount(yi, weights=np.ones(n), minlength=n_classes)
    proba = np.clip(np.tile(prior / prior.sum(), (n, 1)), _EPS, 1 - _EPS, dtype=np.float64)
    if n_classes == 2:
        return loss.link.link(proba[:, 1]).reshape(-1, 1)
    return loss.link.link(proba)


def _leaf_values(leaf, neg_g, y_k, factor):
    """sklearn's line search per leaf (``_update_terminal_regions``): np.average of the negative gradient
    (times (K-1)/K) over np.average of the hessian prob·(1 − prob), prob = y − neg_g recomputed, over each
    leaf's samples in index order; 0 where the hessian is below 1e-150.  Sums as numpy's (pairwise, one
    contiguous row per leaf), as np.average takes them."""
    leaf8 = leaf.astype(np.uint8)
    order = np.argsort(leaf8, kind="stable")  # radix sort: by leaf, then index
    bounds = np.bincount(leaf8, minlength=8).cumsum()
    both = np.empty((2, len(leaf)))
    g, hess = both
    neg_g.take(order, out=g)
    np.subtract(y_k.take(order), g, out=hess)  # prob
    hess *= 1 - hess
    value, a = np.zeros(8), 0
    for j, b in enumerate(bounds.tolist()):
        if b > a:
            num, den = np.add.reduce(both[:, a:b], axis=1) / (b - a)
            if factor is not None:
                num *= factor
            value[j] = 0.0 if abs(den) < 1e-150 else float(num) / float(den)
        a = b
    return value


def fit_predict(x, y, x_eval=(), *, n_estimators=100, learning_rate=0.1, seed=0):
    """Fit on x (N, D), labels y (N,); return importances (D,) and predicted labels [train, *x_eval]."""
    classes, yi = np.unique(y, return_inverse=True)
    yi = yi.ravel()
    n_classes, (n_samples, n_features) = len(classes), x.shape
    data = _Data(x)
    evals32 = [np.asarray(xe, dtype=np.float32).T.ravel() for xe in x_eval]  # (D * M,) each
    # sklearn's own loss objects: its gradient (C, libm exp) is what the trees must be fitted to, bit for bit
    loss = HalfBinomialLoss() if n_classes == 2 else HalfMultinomialLoss(n_classes=n_classes)
    y_true = yi.astype(np.float64)
    raw = np.ascontiguousarray(_init_raw(yi, n_classes, loss).T)  # (T, N) T trees per stage
    n_trees = len(raw)
    y_fit = y_true[None] if n_classes == 2 else (yi == np.arange(n_classes)[:, None]).astype(np.float64)
    factor = None if n_classes == 2 else (n_classes - 1) / n_classes  # sklearn's (K-1)/K on the Newton step
    raw_eval = [np.repeat(raw[:, :1], len(xe) // n_features, axis=1) for xe in evals32]
    imps = []
    feats, thrs = np.zeros((3, 4), np.int64), np.full((3, 4), np.inf)  # per level and node (node j < 2^level)
    leaf, imp = np.empty(n_samples, np.int64), np.empty(n_features)
    # a class whose tree needed Python (near-pure nodes: late stages of few classes) skips the compiled try for
    # the next _RETRY stages, which would likely fail too (the trees are the same either way)
    retry = np.zeros(n_trees, np.int64)
    for stage in range(n_estimators):
        grad = loss.gradient(y_true=y_true, raw_prediction=raw[0] if n_trees == 1 else raw.T, n_threads=1)
        neg_grad = np.ascontiguousarray(-grad.reshape(n_samples, n_trees).T)  # (T, N); no copy: grad is F-order
        for k in range(n_trees):
            compiled = stage >= retry[k]
            if not _tree(data, neg_grad[k], (seed, stage, k), feats, thrs, leaf, imp, compiled) and compiled:
                retry[k] = stage + _RETRY
            if np.isfinite(thrs[0, 0]):  # sklearn averages over trees with a root split
                imps.append(imp.copy())
            value = learning_rate * _leaf_values(leaf, neg_grad[k], y_fit[k], factor)
            raw[k] += value.take(leaf)
            for xe, re in zip(evals32, raw_eval):
                add_tree(feats, thrs, xe, value, re[k])
    imp = np.mean(imps, axis=0) if imps else np.zeros(n_features)
    imp = imp / imp.sum() if imp.sum() > 0 else imp
    return imp, [classes[(re[0] >= 0).astype(int) if n_classes == 2 else np.argmax(re, axis=0)]
                 for re in [raw] + raw_eval]
