"""Maximal and total information coefficients (MIC, TIC) and the CausalVAE
disentanglement metric built on them.

MIC: Reshef et al. 2011, "Detecting Novel Associations in Large Data Sets",
Science 334:1518: the characteristic matrix M(D)_{x,y} = I*(D, x, y) / log min{x, y}
(I* the largest mutual information of the data D over grids of x columns and
y rows) and MIC(D) = max_{xy < B(n)} M(D)_{x,y}, B(n) = n**0.6, with I* found
by the ApproxMaxMI heuristic of the SOM (OptimizeXAxis, EquipartitionYAxis,
GetClumpsPartition, GetSuperclumpsPartition; minepy's Algorithms 2-5 comments).
TIC: Reshef et al. 2016, "Measuring dependence powerfully and equitably", JMLR
17(212): TIC(D) = sum_{xy <= B(n)} M(D)_{x,y}.
CausalVAE (Yang et al. 2021, CVPR, Table 1) reports both, between each
concept's latent block and the concept's label.

``mic_tic`` is a numpy port of minepy 1.2.6's ``mine_compute_score`` with
``est="mic_approx"`` (Albanese et al. 2013, Bioinformatics 29:407, the
library the ML literature calls through ``MINE(alpha=0.6, c=15)``): it gives
minepy's characteristic matrix to floating-point rounding (the tests compare
with numbers from the real minepy), so MIC and TIC equal ``mine.mic()`` and
``mine.tic(norm=...)``.
"""
from __future__ import annotations

import bisect
import math

import numpy as np

__all__ = ["characteristic_matrix", "mic", "mic_tic"]


def _grid_budget(n: int, alpha: float):
    """B(n) and the ragged shape of the characteristic matrix, as minepy's ``init_score``.

    ``alpha`` in (0, 1]: B = max(n**alpha, 4); ``alpha >= 4``: B = min(alpha, n).
    Row i is the grid with i+2 rows on y; it holds ``m[i] = floor(B/(i+2)) - 1``
    entries, entry j for j+2 columns on x, i.e. exactly the grids with xy <= B.
    """
    if 0.0 < alpha <= 1.0:
        budget = max(n ** alpha, 4.0)
    elif alpha >= 4.0:
        budget = min(float(alpha), float(n))
    else:
        raise ValueError(f"alpha must be in (0, 1] or >= 4, got {alpha}")
    rows = max(int(math.floor(budget / 2.0)), 2) - 1
    return budget, [int(math.floor(budget / (i + 2))) - 1 for i in range(rows)]


def _tie_groups(sorted_values):
    """Sizes of the runs of equal values in a sorted array, and each point's run index."""
    new = np.empty(len(sorted_values), dtype=bool)
    new[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    return np.diff(np.append(np.flatnonzero(new), len(sorted_values))), np.cumsum(new) - 1


def _equipartition(sizes, bins: int):
    """Reshef et al. SOM Algorithm 3 (EquipartitionYAxis) on runs of tied points.

    ``sizes``: consecutive groups of tied points (never split), in sorted order.
    Greedy, as minepy: a bin holding h points takes the next group of s points
    unless h > 0 and |h + s - r| >= |h - r| (i.e. 2h + s >= 2r), where the
    desired size r = (points left) / (bins left) is recomputed at each new bin.
    The condition is monotone along the groups, so each bin is one bisection.
    Returns (bin label per group, number of bins used <= ``bins``).
    """
    n = int(sizes.sum())
    ends = np.cumsum(sizes)
    twice_mid = (2 * ends - sizes).tolist()  # 2 * (points before the group) + its size
    ends = ends.tolist()
    labels = np.empty(len(sizes), dtype=np.int64)
    g, curr, start, rowsize = 0, 0, 0, n / bins
    while True:
        nxt = bisect.bisect_left(twice_mid, 2.0 * start + 2.0 * rowsize, g + 1)
        labels[g:nxt] = curr
        if nxt >= len(sizes):
            return labels, curr + 1
        curr, start, g = curr + 1, ends[nxt - 1], nxt
        rowsize = (n - start) / (bins - curr)  # >= 1 bin left: the last bin's r (all the rest) is never hit


def _superclumps(x_sorted, q_by_x, max_clumps: int):
    """SOM Algorithms 4-5 (GetClumpsPartition / GetSuperclumpsPartition), as minepy.

    Clumps: maximal runs (in x order) of points with the same y-bin, where a set
    of tied x values with more than one y-bin is a clump of its own.  When there
    are more than ``max_clumps`` clumps they are merged by ``_equipartition`` into
    at most ``max_clumps`` superclumps.  Returns (clump index per point, count).
    """
    _, gid = _tie_groups(x_sorted)
    starts = np.flatnonzero(np.diff(gid, prepend=-1))
    mixed = (np.minimum.reduceat(q_by_x, starts) != np.maximum.reduceat(q_by_x, starts))[gid]
    labels = np.where(mixed, -1 - gid, q_by_x)  # tied-x sets spanning several bins: unique labels
    clump = np.concatenate(([0], np.cumsum(labels[1:] != labels[:-1])))
    count = int(clump[-1]) + 1
    if count > max_clumps:
        merged, count = _equipartition(np.bincount(clump), max_clumps)
        clump = merged[clump]
    return clump, count


def _optimize_x_axis(q_by_x, q: int, clump, p: int, max_cols: int, xlogx):
    """SOM Algorithm 2 (OptimizeXAxis): for the fixed y-partition Q (q bins) and the
    clumps (p of them, in x order), the best mutual information over x-partitions
    into l = 2..max_cols columns whose edges fall between clumps, by dynamic
    programming over (last edge t, l); each normalised by log min(l, q)
    (M_{x,y} = I* / log min{x, y}).  Returns the scores for l = 2..max_cols.

    With L(a) = a log a and cumulative counts C_t (points in the first t clumps),
    cum_t (the same per y-bin), D = cum_t - cum_s: the first level is
    I(t, 2) = H(Q) + max_s [sum L(cum_s) + sum L(D) - L(C_s) - L(C_t - C_s)] / C_t
    and then I(t, l) = H(Q) + max_{s>=l-1} [C_s/C_t (I(s, l-1) - H(Q))
    - (L(C_t - C_s) - sum L(D)) / C_t], which are minepy's hp3/hp3q/hp2q terms.
    """
    if p == 1:
        return np.zeros(max_cols - 1)
    n = len(q_by_x)
    cum = np.zeros((q, p + 1), dtype=np.int64)
    cum[:, 1:] = np.cumsum(np.bincount(q_by_x * p + clump, minlength=q * p).reshape(q, p), axis=1)
    total = cum.sum(axis=0)  # C_t, t = 0..p
    row_counts = cum[:, p]
    hq = math.log(n) - xlogx[row_counts].sum() / n  # H(Q) over all points
    sum_ld = np.zeros((p + 1, p + 1))  # [s, t] = sum_i L(cum_i,t - cum_i,s), read for s <= t only
    for row in cum:
        sum_ld += xlogx[np.abs(row[None, :] - row[:, None])]
    above = np.tri(p + 1, k=-1, dtype=bool)  # s > t: not a partition
    c_t = total[None, :].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total[:, None] / c_t
        gap = np.abs(total[None, :] - total[:, None])
        first = (xlogx[cum].sum(axis=0)[:, None] + sum_ld - xlogx[total][:, None] - xlogx[gap]) / c_t
        cost = (xlogx[gap] - sum_ld) / c_t
    first[above] = -np.inf
    cost[above] = np.inf
    gain = np.full(p + 1, np.nan)  # gain[t] = I(t, l) - H(Q) at the current level l
    gain[2:] = first[1:, 2:].max(axis=0)
    best = [gain[p]]
    for cols in range(3, min(max_cols, p) + 1):  # rows s = cols-1..p (last-but-one edge), columns t = cols..p
        new = np.full(p + 1, np.nan)
        new[cols:] = (ratio[cols - 1:, cols:] * gain[cols - 1:, None] - cost[cols - 1:, cols:]).max(axis=0)
        gain = new
        best.append(gain[p])
    best += [best[-1]] * (max_cols - 1 - len(best))  # more columns than clumps: I(p, l) = I(p, p)
    cols = np.arange(2, max_cols + 1)
    return (hq + np.array(best)) / np.minimum(np.log(cols), math.log(q))


def characteristic_matrix(x, y, *, alpha: float = 0.6, c: float = 15) -> np.ndarray:
    """The characteristic matrix M of Reshef et al. 2011 by ApproxMaxMI.

    ``M[i, j]`` (grid of i+2 rows on y, j+2 columns on x, for (i+2)(j+2) <= B =
    n**alpha) is the largest mutual information found over such grids divided by
    log min(i+2, j+2) -- by minepy's actual bin count of the equipartitioned
    axis, so with ties it can be a smaller log.  As minepy's ``mic_approx``: for
    each row count one axis is equipartitioned (Algorithm 3), the other is
    optimised by dynamic programming over at most ``c * (columns + 1)`` clumps
    (Algorithms 2, 4, 5), once with y equipartitioned and once with x, and each
    cell keeps the larger.  Entries off the xy <= B region are NaN.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"mic_tic needs two 1-D arrays of the same length >= 2, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("mic_tic needs finite values")
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c}")
    n = len(x)
    _, widths = _grid_budget(n, alpha)
    xlogx = np.arange(n + 1, dtype=float)
    xlogx[1:] *= np.log(xlogx[1:])
    order = {"x": np.argsort(x, kind="stable"), "y": np.argsort(y, kind="stable")}
    values = {"x": x, "y": y}
    groups = {k: _tie_groups(values[k][order[k]]) for k in "xy"}
    mat = np.full((len(widths), widths[0]), np.nan)
    for fixed, free in (("y", "x"), ("x", "y")):  # equipartition `fixed`, optimise `free`
        sizes, gid = groups[fixed]
        free_sorted = values[free][order[free]]
        for i, width in enumerate(widths):
            labels, q = _equipartition(sizes, i + 2)
            bins = np.empty(n, dtype=np.int64)
            bins[order[fixed]] = labels[gid]
            q_by_free = bins[order[free]]
            clump, p = _superclumps(free_sorted, q_by_free, max(int(c * (width + 1)), 1))
            scores = _optimize_x_axis(q_by_free, q, clump, p, width + 1, xlogx)
            if fixed == "y":
                mat[i, :width] = scores
            else:  # rows of this pass are x bins: the transposed cells, keep the larger
                mat[:width, i] = np.fmax(mat[:width, i], scores)
    return mat


def mic_tic(x, y, *, alpha: float = 0.6, c: float = 15, normalize_tic: bool = True):
    """(MIC, TIC) of two 1-D samples, as minepy ``MINE(alpha, c, est="mic_approx")``.

    MIC = max_{xy <= B} M_{x,y} of the characteristic matrix (Reshef et al. 2011),
    TIC = sum_{xy <= B} M_{x,y} (Reshef et al. 2016), B = n**alpha (see
    ``characteristic_matrix``).  ``normalize_tic`` (default) divides TIC by the
    number of grids, i.e. minepy's ``tic(norm=True)``, in [0, 1]: the scale of
    CausalVAE's Table 1 (TIC as percentages, below MIC).  ``False`` gives
    minepy's default ``tic()``, a sum over ~50-150 grids at n = 300-1000.
    Both are symmetric in x, y and invariant to strictly increasing transforms
    of either (they only see ranks and ties), so codes need no standardising;
    decreasing transforms change them slightly (the greedy equipartition starts
    from the smallest value).
    """
    mat = characteristic_matrix(x, y, alpha=alpha, c=c)
    valid = ~np.isnan(mat)
    mic_value = max(float(mat[valid].max()), 0.0)
    tic_value = float(mat[valid].sum())
    return mic_value, float(tic_value / valid.sum()) if normalize_tic else tic_value


def mic(codes, concepts, *, blocks=None, alpha: float = 0.6, c: float = 15,
        normalize_tic: bool = True, reduce: str = "dims") -> dict:
    """CausalVAE's MIC / TIC (Yang et al. 2021, Table 1) between latent blocks and concepts.

    codes (N, D), concepts (N, C) (the true concept values).  ``blocks[i]`` are
    the code columns of concept i (default: D split evenly into C consecutive
    blocks, CausalVAE's z reshaped (N, C, D/C)).  With ``reduce="dims"`` (default)
    ``mic.<i>`` is the mean over the block's columns d of MIC(codes[:, d],
    concepts[:, i]); ``reduce="mean"`` instead takes MIC of the block's mean code
    (as a CausalVAE-derived evaluation script does, averaging z over each
    concept's dimensions before MIC).  Likewise ``tic.<i>``
    (normalised by default, see ``mic_tic``).  ``mic`` / ``tic`` are the means over
    concepts.  Returns ``{"mic", "tic", "mic.<i>", "tic.<i>"}``.
    """
    codes = np.asarray(codes, dtype=float)
    concepts = np.asarray(concepts, dtype=float)
    if codes.ndim != 2 or concepts.ndim != 2 or len(codes) != len(concepts):
        raise ValueError(f"mic needs codes (N, D) and concepts (N, C), got {codes.shape}, {concepts.shape}")
    num_dims, num_concepts = codes.shape[1], concepts.shape[1]
    if blocks is None:
        if num_concepts == 0 or num_dims % num_concepts:
            raise ValueError(f"{num_dims} dims do not split into {num_concepts} equal blocks; pass blocks")
        width = num_dims // num_concepts
        blocks = [list(range(i * width, (i + 1) * width)) for i in range(num_concepts)]
    blocks = [np.asarray(b, dtype=np.int64).reshape(-1) for b in blocks]
    if len(blocks) != num_concepts or any(b.size == 0 or b.min() < 0 or b.max() >= num_dims for b in blocks):
        raise ValueError(f"blocks must be {num_concepts} non-empty lists of code columns in [0, {num_dims})")
    if reduce not in ("dims", "mean"):
        raise ValueError(f"reduce must be 'dims' or 'mean', got {reduce!r}")
    per_concept = np.zeros((num_concepts, 2))  # (mic, tic) per concept
    for i, cols in enumerate(blocks):
        zs = [codes[:, cols].mean(axis=1)] if reduce == "mean" else [codes[:, d] for d in cols]
        per_concept[i] = np.mean([mic_tic(z, concepts[:, i], alpha=alpha, c=c, normalize_tic=normalize_tic)
                                  for z in zs], axis=0)
    out = {"mic": float(per_concept[:, 0].mean()), "tic": float(per_concept[:, 1].mean())}
    for i, (m, t) in enumerate(per_concept):
        out[f"mic.{i}"], out[f"tic.{i}"] = float(m), float(t)
    return out
