"""The compiled loops of DCI's gradient boosting (``metrics/_gbt.py``): numba, float64, in the order of the numpy
code they replaced, so the same bits.

``level_proxies`` scores every threshold of every feature for the nodes of one tree level, ``partition`` splits
each node's per-feature sort orders stably into its children's, ``grow_common`` grows a whole depth-3 tree
with them where no node needs sklearn's exact rounding (``_gbt._grow`` does the rest, and is the reference
this one is tested against), and ``add_tree`` adds a tree's leaf values to raw predictions.
"""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def level_proxies(r, perm, xt, dense_ties, tie, starts, ends, search, proxy, fmax, argbest, base, total, shift,
                  weight, store):
    """Friedman's split score of every threshold of every feature, for the nodes of one level.

    r (N,) residuals; perm (D, N) each node's samples perm[:, s:e] sorted per feature; nodes [starts[j], ends[j])
    in order, scored where search[j].  Writes fmax[j, d] (the best score of feature d in node j), argbest[j, d]
    (the first position i where it is reached), base[j, d] (running sum of the row before the node), total[j]
    (the node's sum) and, if store, proxy[d, i] (the score of the samples up to position i going left; ``_grow``
    reads them, ``grow_common`` recomputes the few it needs: ``count_near``); shift, weight (N,) are scratch.
    The running sum spans the whole row, nodes one after another, and each score is
    ((cs - n_L * (T / n)) - base)^2 * (n^2 / (n_L * (n - n_L))) in this order of float64 operations: the bits of
    the numpy version this replaced (a cumulative sum of r.take(perm) and those array operations).  Positions
    between (near-)equal values of a dense-ties feature score -1 (no threshold there)."""
    n_features = perm.shape[0]
    n_nodes = len(starts)
    acc = 0.0  # row 0's running sum: each node's total (the node's sum in row 0's order, as before)
    for j in range(n_nodes):
        before = acc
        for i in range(starts[j], ends[j]):
            acc += r[perm[0, i]]
        total[j] = acc - before  # the first node: acc - 0.0, the same bits as acc
    for j in range(n_nodes):  # per position, the same for every feature: n_L * (T / n) and n^2 / (n_L * (n - n_L))
        if search[j]:
            s, e = starts[j], ends[j]
            nf = float(e - s)
            t = total[j] / nf
            nn = float((e - s) * (e - s))
            for i in range(s, e - 1):
                nl = float(i - s + 1)
                shift[i] = nl * t
                weight[i] = nn / (nl * (nf - nl))
    for d in range(n_features):
        row, x, dense = perm[d], xt[d], dense_ties[d]
        acc = 0.0
        for j in range(n_nodes):
            s, e = starts[j], ends[j]
            before = acc
            base[j, d] = before
            if not search[j]:
                for i in range(s, e):
                    acc += r[row[i]]
                continue
            best, at = -np.inf, s
            for i in range(s, e - 1):
                acc += r[row[i]]
                v = acc - shift[i]
                if s > 0:
                    v = v - before
                v = v * v
                v = v * weight[i]
                if dense and x[row[i + 1]] <= x[row[i]] + tie:
                    v = -1.0
                if store:
                    proxy[d, i] = v
                if v > best:
                    best, at = v, i
            acc += r[row[e - 1]]
            fmax[j, d], argbest[j, d] = best, at


@numba.njit(cache=True, nogil=True)
def count_near(r, perm, xt, dense_ties, tie, s, e, d, base, shift, weight, floor):
    """How many of feature d's split scores in node [s, e) are >= floor: ``level_proxies``' scores of that row
    recomputed (the running sum restarted from base, the row's sum before the node: the same bits)."""
    acc, count = base, 0
    for i in range(s, e - 1):
        acc += r[perm[d, i]]
        v = acc - shift[i]
        if s > 0:
            v = v - base
        v = v * v
        v = v * weight[i]
        if dense_ties[d] and xt[d, perm[d, i + 1]] <= xt[d, perm[d, i]] + tie:
            v = -1.0
        count += v >= floor
    return count


@numba.njit(cache=True, nogil=True)
def partition(perm, side, starts, ends, out):
    """Each node's samples, per feature, split stably: those going left (side False) to [s, cut), the rest to
    [cut, e) — the children's sorted orders.  perm, out (D, N); side (N,) bool.  Without branches (a branch on
    a random side is mispredicted half the time): every sample is written at the left end, which only a left
    one advances (a right one there is overwritten by the next left one, or by the right part copied after),
    and to a buffer of the right part."""
    n_features, n_samples = perm.shape
    rights = np.empty(n_samples, perm.dtype)
    for d in range(n_features):
        row, dest = perm[d], out[d]
        for j in range(len(starts)):
            s, e = starts[j], ends[j]
            left, n_r = s, 0
            for i in range(s, e):
                v = row[i]
                right = np.int64(side[v])
                dest[left] = v
                rights[n_r] = v
                left += 1 - right
                n_r += right
            for i in range(n_r):
                dest[left + i] = rights[i]


_XXPRIME_1, _XXPRIME_2 = np.uint64(11400714785074694791), np.uint64(14029467366897019727)
_XXPRIME_5 = np.uint64(2870177450012600261)


@numba.njit(cache=True, nogil=True)
def tuple_hash(a, b, c, d, e, f):
    """CPython's ``hash((a, b, c, d, e, f))`` of six non-negative ints below 2**61 (each its own hash): the
    xxHash-style tuple hash of CPython >= 3.8 (Objects/tupleobject.c), on 64-bit unsigned lanes.  The int64
    result, as Python's ``hash`` gives it."""
    acc = _XXPRIME_5
    for lane in (a, b, c, d, e, f):
        acc = acc + np.uint64(lane) * _XXPRIME_2
        acc = (acc << np.uint64(31)) | (acc >> np.uint64(33))
        acc = acc * _XXPRIME_1
    acc = acc + (np.uint64(6) ^ (_XXPRIME_5 ^ np.uint64(3527539)))
    if acc == np.uint64(0xFFFFFFFFFFFFFFFF):
        return np.int64(1546275796)
    return np.int64(acc)


@numba.njit(cache=True, nogil=True)
def grow_common(r, key, order, children, xt, dense_ties, any_ties, tie, near_pure, proxy, shift, weight,
                feats, thrs, leaf, imp):
    """``_gbt._grow`` on residuals r (N,) in one compiled call, for trees where no node is near pure and no
    best position ties up to rounding — the cases that need sklearn's own rounding.  Features that tie for the
    best split are picked from as ``_split_node`` does, by ``hash((*key, level, s, e))`` (``tuple_hash``;
    key (3,) = seed, stage, tree).  Returns False on meeting a node it cannot grow (the outputs are then
    garbage: the caller grows the tree in Python); otherwise True, with feats, thrs (3, 4) per level and node
    (node j of level L in column j < 2^L; 0 / inf: no split), leaf (N,) leaf ids and imp (D,) the weighted
    impurity decreases / N, all as ``_grow`` gives them: the same float64 operations in the same order.

    order (D, N) int32 per-feature sort order; children (2, D, N) the sort orders of levels 1 and 2 (scratch);
    shift, weight (N,) scratch of ``level_proxies``; proxy is not written.  Each level's nodes are contiguous
    runs [s, e) of every row of its order; a node that does not split leaves a dead left child [s, e) and an
    empty right one, as ``_grow`` does.
    """
    n_features, n_samples = order.shape
    r2 = r * r
    leaf[:] = 0
    imp[:] = 0.0
    feats[:] = 0
    thrs[:] = np.inf
    side = np.empty(n_samples, np.bool_)
    perm = order
    starts, ends, alive = np.zeros(1, np.int64), np.full(1, n_samples, np.int64), np.ones(1, np.bool_)
    for level in range(3):
        n_nodes = len(starts)
        side[:] = False
        search = np.empty(n_nodes, np.bool_)
        for j in range(n_nodes):
            search[j] = alive[j] and ends[j] - starts[j] >= 2
        fmax, base = np.empty((n_nodes, n_features)), np.empty((n_nodes, n_features))
        argbest, total = np.empty((n_nodes, n_features), np.int64), np.empty(n_nodes)
        level_proxies(r, perm, xt, dense_ties, tie, starts, ends, search, proxy, fmax, argbest, base, total, shift,
                      weight, False)
        sq = np.zeros(n_nodes)  # per node sum of squares, in sample order (np.bincount's)
        for i in range(n_samples):
            sq[leaf[i]] += r2[i]
        cuts = ends.copy()
        for j in range(n_nodes):
            if not search[j]:
                continue
            s, e = starts[j], ends[j]
            n = e - s
            mean = total[j] / n
            if sq[j] / n - mean * mean <= 1.5 * near_pure:  # near pure (with a margin for ``**`` vs *)
                return False
            best = -np.inf
            for d in range(n_features):
                best = max(best, fmax[j, d])
            if best < 0:
                continue  # no valid threshold: a leaf
            d, n_best = -1, 0
            for f in range(n_features):
                if fmax[j, f] >= best - 1e-12 * best:
                    n_best += 1
                    if d < 0:
                        d = f
            if n_best > 1:  # features tie: ``_split_node``'s pick
                pick = tuple_hash(key[0], key[1], key[2], level, s, e) % n_best
                pick += n_best if pick < 0 else 0  # Python's sign of %, whichever numba follows
                for f in range(n_features):
                    if fmax[j, f] >= best - 1e-12 * best:
                        if pick == 0:
                            d = f
                            break
                        pick -= 1
            p, value = argbest[j, d], fmax[j, d]
            a, b = perm[d, p], perm[d, p + 1]
            if any_ties[d] and not dense_ties[d] and not xt[d, b] > xt[d, a] + tie:
                return False  # a near-tie threshold that is not one
            tol = 1e-12 * (total[j] * total[j] + best * (1.0 + abs(base[j, d])))
            if count_near(r, perm, xt, dense_ties, tie, s, e, d, base[j, d], shift, weight, value - tol) > 1:
                return False  # positions tie up to rounding
            feats[level, j] = d
            thrs[level, j] = np.float64(xt[d, a]) / 2.0 + np.float64(xt[d, b]) / 2.0
            imp[d] += value / n / n_samples
            cuts[j] = p + 1
            for i in range(p + 1, e):
                side[perm[d, i]] = True
        for i in range(n_samples):
            leaf[i] = 2 * leaf[i] + side[i]
        if level == 2:
            break
        partition(perm, side, starts, ends, children[level])
        perm = children[level]
        new_starts, new_ends = np.empty(2 * n_nodes, np.int64), np.empty(2 * n_nodes, np.int64)
        new_alive = np.empty(2 * n_nodes, np.bool_)
        for j in range(n_nodes):
            ok = alive[j] and cuts[j] < ends[j]
            new_starts[2 * j], new_ends[2 * j], new_alive[2 * j] = starts[j], cuts[j], ok
            new_starts[2 * j + 1], new_ends[2 * j + 1], new_alive[2 * j + 1] = cuts[j], ends[j], ok
        starts, ends, alive = new_starts, new_ends, new_alive
    return True


@numba.njit(cache=True, nogil=True)
def add_tree(feats, thrs, xt_flat, value, out):
    """out[i] += value[leaf of sample i] for n = len(out) samples given as features transposed and flattened,
    xt_flat (D * n,) float32; feats, thrs (3, 4) per level and node (``grow_common``'s layout)."""
    n = len(out)
    for i in range(n):
        node = 0
        for level in range(feats.shape[0]):
            node = 2 * node + (1 if np.float64(xt_flat[feats[level, node] * n + i]) > thrs[level, node] else 0)
        out[i] += value[node]
