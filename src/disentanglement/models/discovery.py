"""A causal graph discovered from concept labels by the independence of its exogenous noises.

Why not the label-reconstruction loss (CausalVAE's own way to learn A): on scenes whose effects are noiseless
functions of their causes (Pendulum's shadow of the two angles), several DAGs reconstruct the labels equally
well — the angles can be read back from the shadow and one angle (BENCHMARKS.md, issue 22) — so no
reconstruction score prefers the true graph.  What singles it out is that its exogenous noises are
independent: the two angles are drawn independently, the shadow adds nothing of its own.  That is the
additive-noise-model criterion of Peters, Mooij, Janzing & Schölkopf 2014 ("Causal discovery with continuous
additive noise models", JMLR 15; RESIT, Sec. 4), scored here over every DAG rather than greedily:

    for each concept i and each candidate parent set S:   r_{i|S} = u_i − E[u_i | u_S]     (k-NN regression
                                                           on every label vector, HSIC on ``samples`` of them)
    score(G) = Σ_{i<j} nHSIC(r_{i|pa_G(i)}, r_{j|pa_G(j)}) + penalty · |edges of G|

nHSIC is the normalised Hilbert–Schmidt independence criterion (Gretton et al. 2005; Gaussian kernels, median
bandwidth; 0 for independent variables, 1 for one a function of the other).  A residual whose standard
deviation is below ``deterministic`` (in units of the concept's) is a noiseless mechanism: zero noise,
independent of everything.  The graph with the smallest score wins; the edge penalty breaks the ties between
a graph and its supersets (an extra parent of a noiseless child changes nothing).  Every DAG on C ≤ 5 concepts
is enumerated (543 for 4).

What independence cannot decide: when two concepts are both noiseless functions of the same causes (Pendulum's
shadow length and position, of the two angles), a graph in which one is computed from the other (length →
position, with one angle) has independent noises too, and the same number of edges — the observational
distribution is identical.  Among graphs tied at the best score we take the one with the fewest edges *out of*
noiseless concepts: a noiseless effect is assumed to cause nothing (its mechanism is placed on the causes that
carry noise).  ``details["tied"]`` says how many graphs the data left, so a user sees when this assumption, not
the data, chose.
"""
from __future__ import annotations

import itertools

import numpy as np
from sklearn.neighbors import NearestNeighbors

MIN_LABELS = 110      # 10 x (k + 1) label vectors at the default k = 10: fewer give k-NN regressions of little meaning


def _standardise(x: np.ndarray) -> np.ndarray:
    std = x.std(0)
    return (x - x.mean(0)) / np.where(std > 0, std, 1.0)


def knn_residual(target: np.ndarray, parents: np.ndarray, k: int = 10) -> np.ndarray:
    """target (n,) − the mean of its k nearest neighbours' targets in parent space (n, p), each point left out."""
    if parents.shape[1] == 0:
        return target - target.mean()
    nn = NearestNeighbors(n_neighbors=k + 1).fit(parents)
    _, idx = nn.kneighbors(parents)                              # (n, k + 1); column 0 is (almost always) the point
    return target - target[idx[:, 1:]].mean(1)


def _centred_gram(x: np.ndarray) -> np.ndarray:
    """H K H of a Gaussian kernel with the median-distance bandwidth, for x (n,)."""
    d2 = (x[:, None] - x[None, :]) ** 2                          # (n, n)
    med = np.median(d2[np.triu_indices(len(x), 1)])
    k = np.exp(-d2 / (med if med > 0 else 1.0))
    return k - k.mean(0, keepdims=True) - k.mean(1, keepdims=True) + k.mean()


def nhsic(kc: np.ndarray | None, lc: np.ndarray | None) -> float:
    """Normalised HSIC of two centred Gram matrices; None is a noiseless (zero) residual: 0."""
    if kc is None or lc is None:
        return 0.0
    return float((kc * lc).sum() / np.sqrt((kc * kc).sum() * (lc * lc).sum()))


def dags(c: int):
    """Every DAG on c nodes as a (c, c) 0/1 array, A[j, i] = 1 for j → i, each once."""
    seen = set()
    for order in itertools.permutations(range(c)):
        pairs = [(order[a], order[b]) for a in range(c) for b in range(a + 1, c)]
        for chosen in itertools.product((0, 1), repeat=len(pairs)):
            edges = frozenset(p for p, on in zip(pairs, chosen) if on)
            if edges not in seen:
                seen.add(edges)
                a = np.zeros((c, c), dtype=np.int64)
                for j, i in edges:
                    a[j, i] = 1
                yield a


def discover_graph(labels: np.ndarray, *, samples: int = 800, k: int = 10, deterministic: float = 0.05,
                   penalty: float = 0.01, tie: float = 1e-6, seed: int = 0) -> tuple[np.ndarray, dict]:
    """labels (N, C) -> (adjacency (C, C) 0/1 of the DAG whose exogenous noises are most independent, details).

    ``details``: ``score`` of the chosen graph; ``tied``: how many graphs share it (within ``tie``) and how many
    of those have no edge out of a noiseless concept; ``runner_up``: the best score above the tie; and
    ``noise_std``, the chosen graph's residual std per concept (in units of the concept's)."""
    u = np.asarray(labels, dtype=np.float64)
    if u.ndim != 2 or not 2 <= u.shape[1] <= 5:
        raise ValueError(f"graph discovery needs labels of shape (N, C) with 2 <= C <= 5, got {u.shape}")
    if len(u) < max(MIN_LABELS, 10 * (k + 1)):
        raise ValueError(f"graph discovery needs at least {max(MIN_LABELS, 10 * (k + 1))} label vectors, got {len(u)}")
    u = _standardise(u)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(u), size=min(samples, len(u)), replace=False)   # HSIC on these; regression on all
    c = u.shape[1]
    grams, stds = {}, {}
    for i in range(c):
        others = [j for j in range(c) if j != i]
        for size in range(c):
            for parents in itertools.combinations(others, size):
                r = knn_residual(u[:, i], u[:, list(parents)], k)[rows]
                stds[i, parents] = float(r.std())
                grams[i, parents] = None if r.std() < deterministic else _centred_gram(r)
    pair_cache: dict = {}

    def families(a: np.ndarray) -> list[tuple[int, tuple[int, ...]]]:   # (concept, its parents in a) per concept
        return [(i, tuple(int(j) for j in np.flatnonzero(a[:, i]))) for i in range(c)]

    def score(a: np.ndarray) -> float:
        total = 0.0
        for x, y in itertools.combinations(families(a), 2):
            if (x, y) not in pair_cache:
                pair_cache[x, y] = nhsic(grams[x], grams[y])
            total += pair_cache[x, y]
        return total + penalty * int(a.sum())

    def from_noiseless(a: np.ndarray) -> int:                    # edges out of a concept with no noise of its own
        return int(sum(a[i].sum() for i, family in enumerate(families(a)) if grams[family] is None))

    scored = sorted(((score(a), a) for a in dags(c)), key=lambda t: t[0])
    best_score = scored[0][0]
    tied = [a for s, a in scored if s <= best_score + tie]
    best = min(tied, key=from_noiseless)
    runner_up = next((s for s, a in scored if s > best_score + tie), float("nan"))
    return best, {"score": best_score, "runner_up": runner_up, "tied": len(tied),
                  "tied_without_edges_from_noiseless": sum(from_noiseless(a) == 0 for a in tied),
                  "noise_std": [stds[family] for family in families(best)]}
