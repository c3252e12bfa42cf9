"""Training on correlated factors: the benchmark of Roth et al. 2023 (ICLR, "Disentanglement of Correlated
Factors via Hausdorff Factorized Support"), after Träuble et al. 2021 (ICML, "On Disentangled Representations
Learned from Correlated Data").

Each factor k is read on [0, 1] as c_k = class_k / (size_k - 1); a correlated pair (i, j) with strength σ weighs
a factor combination by

    w_ij(c) = exp(-(c_i - c_j)^2 / (2 σ^2))            ("inverse": exp(-(c_i - (1 - c_j))^2 / (2 σ^2)))

and the training distribution is p(c) ∝ Π_pairs w_ij(c) — smaller σ, stronger correlation; the benchmark uses
σ = 0.4, 0.1, 0.04, one to three pairs (facts from the facebookresearch/disentangling-correlated-factors
repository: ``datasets/utils.py``, ``constraints/avail_correlations.yaml``, where a weighted sampler over the
whole dataset does this).  Here only the factors that take part in a pair are drawn jointly (a table over their
classes, one per connected group of pairs); the others stay uniform.  The metrics are computed on the
uncorrelated dataset, as theirs are: ``evaluate`` opens the dataset itself, never this view.

A setting reads ``"posX:posY=0.1,shape:scale=0.1"`` (``correlations=`` of a config or study).

Held-out combinations (``HeldOut``, ``holdout=``), the benchmark's other axis: factor combinations never shown in
training — e.g. ``"shape==0&scale>=0.5"`` (big squares) — stated as their constraint files state them, conditions
on the factors' [0, 1] values joined by "and" ("&"), alternatives by ";"; the metrics again see every combination.
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError

MAX_TABLE = 10_000_000          # classes of a group of correlated factors drawn jointly


def parse_correlations(text: str, factor_names) -> tuple[tuple[int, int, float], ...]:
    """``"a:b=σ,c:d=σ"`` -> ((i, j, σ), ...) with factor indices; one-line errors for what cannot be."""
    names = list(factor_names)
    pairs: list[tuple[int, int, float]] = []
    for item in [p.strip() for p in str(text).split(",") if p.strip()]:
        pair, sep, sigma = item.partition("=")
        a, colon, b = pair.partition(":")
        if not sep or not colon:
            raise UserError(f"correlations: {item!r} is not FACTOR:FACTOR=SIGMA (e.g. posX:posY=0.1)")
        missing = [n for n in (a.strip(), b.strip()) if n not in names]
        if missing:
            raise UserError(f"correlations: no factor {missing[0]!r}; this dataset's factors are {', '.join(names)}")
        i, j = names.index(a.strip()), names.index(b.strip())
        if i == j:
            raise UserError(f"correlations: {item!r} pairs a factor with itself; name two different factors")
        try:
            s = float(sigma)
        except ValueError:
            raise UserError(f"correlations: {item!r}: the strength {sigma!r} is not a number") from None
        if not s > 0 or not np.isfinite(s):
            raise UserError(f"correlations: {item!r}: the strength σ must be a positive number (0.1 is strong, 0.4 mild)")
        if any({i, j} == {p, q} for p, q, _ in pairs):
            raise UserError(f"correlations: the pair {a.strip()}:{b.strip()} is given twice")
        pairs.append((i, j, s))
    return tuple(pairs)


class _View:
    """A factor dataset with its own ``sample_factors``; everything else (the renderer, sizes, names) is the
    dataset's own."""

    def __getattr__(self, name):
        if name == "dataset":             # not yet set (unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self) -> int:
        return len(self.dataset)

    def sample(self, n: int, rng):
        factors = self.sample_factors(n, rng)
        return self.dataset.images(factors, rng), factors


class Correlated(_View):
    """A factor dataset whose ``sample_factors`` draws from the correlated distribution."""

    def __init__(self, dataset, pairs: tuple[tuple[int, int, float], ...], inverse: bool = False):
        self.dataset, self.pairs, self.inverse = dataset, tuple(pairs), inverse
        sizes = list(dataset.factor_sizes)
        self.groups: list[tuple[list[int], np.ndarray]] = []       # (factors, probabilities of their flat classes)
        for group in _connected([(i, j) for i, j, _ in self.pairs], len(sizes)):
            shape = [sizes[k] for k in group]
            if int(np.prod(shape)) > MAX_TABLE:
                raise UserError(f"correlations: the factors {group} drawn jointly have {int(np.prod(shape)):,} "
                                f"combinations, more than {MAX_TABLE:,}; correlate fewer factors together")
            grids = np.meshgrid(*[np.arange(s) / max(s - 1, 1) for s in shape], indexing="ij")   # c_k on [0, 1]
            log_w = np.zeros(shape)
            for i, j, sigma in self.pairs:
                if i in group:
                    ci, cj = grids[group.index(i)], grids[group.index(j)]
                    log_w -= (ci - ((1 - cj) if inverse else cj)) ** 2 / (2 * sigma ** 2)
            p = np.exp(log_w - log_w.max()).ravel()
            self.groups.append((group, p / p.sum()))


    def sample_factors(self, n: int, rng) -> np.ndarray:
        """(n, K): the uncorrelated factors drawn as the dataset draws them, then each correlated group jointly."""
        f = self.dataset.sample_factors(n, rng)
        sizes = list(self.dataset.factor_sizes)
        for group, p in self.groups:
            flat = rng.choice(len(p), size=n, p=p)
            f[:, group] = np.stack(np.unravel_index(flat, [sizes[k] for k in group]), axis=1)
        return f


    def correlation(self, i: int, j: int) -> float:
        """The exact Pearson correlation of factors i and j (their classes) under the training distribution."""
        for group, p in self.groups:
            if i in group and j in group:
                sizes = [self.dataset.factor_sizes[k] for k in group]
                idx = np.unravel_index(np.arange(len(p)), sizes)
                a, b = idx[group.index(i)].astype(float), idx[group.index(j)].astype(float)
                ma, mb = p @ a, p @ b
                cov = p @ ((a - ma) * (b - mb))
                return float(cov / np.sqrt((p @ (a - ma) ** 2) * (p @ (b - mb) ** 2)))
        return 0.0


def _connected(edges: list[tuple[int, int]], n: int) -> list[list[int]]:
    """The connected groups (sorted factor indices) of the factors that take part in an edge."""
    parent = list(range(n))

    def root(k):
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k
    for i, j in edges:
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for k in sorted({k for e in edges for k in e}):
        groups.setdefault(root(k), []).append(k)
    return list(groups.values())


# ---- held-out factor combinations ----------------------------------------------------------------------------
OPS = {"==": lambda c, v: np.isclose(c, v, atol=1e-3), ">=": lambda c, v: c >= v - 1e-9,
       "<=": lambda c, v: c <= v + 1e-9, ">": lambda c, v: c > v + 1e-9, "<": lambda c, v: c < v - 1e-9}
MIN_KEPT = 0.01                # a hold-out must leave at least this share of the combinations to train on


def parse_holdout(text: str, factor_names) -> tuple[tuple[tuple[int, str, float], ...], ...]:
    """``"shape==0&scale>=0.5;posX<=0.2"`` -> alternatives (";") of conjunctions ("&") of (factor, op, value), the
    value on the factor's [0, 1] scale (class / (size - 1)), as Roth et al. 2023's constraint files state them."""
    names = list(factor_names)
    rules = []
    for alternative in [a.strip() for a in str(text).split(";") if a.strip()]:
        conj = []
        for cond in [c.strip() for c in alternative.split("&") if c.strip()]:
            op = next((o for o in ("==", ">=", "<=", ">", "<") if o in cond), None)
            if op is None:
                raise UserError(f"holdout: {cond!r} is not FACTOR OP VALUE with OP one of ==, >=, <=, >, < "
                                f"(e.g. shape==0&scale>=0.5)")
            name, value = (s.strip() for s in cond.split(op, 1))
            if name not in names:
                raise UserError(f"holdout: no factor {name!r}; this dataset's factors are {', '.join(names)}")
            try:
                v = float(value)
            except ValueError:
                raise UserError(f"holdout: {cond!r}: {value!r} is not a number on the factor's [0, 1] scale") from None
            if not 0 <= v <= 1:
                raise UserError(f"holdout: {cond!r}: values are on the factor's [0, 1] scale (class / (size - 1)), "
                                f"got {v}")
            conj.append((names.index(name), op, v))
        rules.append(tuple(conj))
    return tuple(rules)


class HeldOut(_View):
    """A factor dataset whose ``sample_factors`` never draws the held-out combinations (redrawing those rows).
    The metrics see the whole dataset."""

    def __init__(self, dataset, rules, *, probe: int = 100_000):
        self.dataset, self.rules = dataset, tuple(rules)
        f = dataset.sample_factors(probe, np.random.default_rng(0))
        self.held_out_share = float(self.held_out(f).mean())          # estimated on uniform draws
        if 1 - self.held_out_share < MIN_KEPT:
            raise UserError(f"holdout removes {self.held_out_share:.1%} of the factor combinations; leave at least "
                            f"{MIN_KEPT:.0%} to train on")


    def held_out(self, factors: np.ndarray) -> np.ndarray:
        """(n, K) factor classes -> (n,) True where a combination is held out of training."""
        c = factors / np.maximum(np.asarray(self.dataset.factor_sizes) - 1, 1)   # (n, K) on [0, 1]
        out = np.zeros(len(factors), dtype=bool)
        for conj in self.rules:
            hit = np.ones(len(factors), dtype=bool)
            for k, op, v in conj:
                hit &= OPS[op](c[:, k], v)
            out |= hit
        return out

    def sample_factors(self, n: int, rng) -> np.ndarray:
        f = self.dataset.sample_factors(n, rng)
        bad = self.held_out(f)
        while bad.any():                                   # redraw the held-out rows from the same generator
            f[bad] = self.dataset.sample_factors(int(bad.sum()), rng)
            bad = self.held_out(f)
        return f

