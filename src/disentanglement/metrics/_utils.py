"""Shared maths of the metrics: input checks, discretisation, mutual information,
entropy and sampling codes from a dataset exactly as disentanglement_lib does.

Arrays are (samples, features): codes (N, D) float, factors (N, K) int.
"""
from __future__ import annotations

import math

import numpy as np

from ._cache import CachedEncoder


def as_random_state(random_state) -> np.random.RandomState:
    """An int seed or a legacy ``RandomState`` (the reference's generator)."""
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state))
    raise ValueError(
        f"random_state must be an int or numpy.random.RandomState, got {type(random_state).__name__}; "
        "the reference samples with the legacy RandomState, pass a seed such as 0")


def check_codes(codes, name: str = "codes", min_dims: int = 1) -> np.ndarray:
    """(N, D) finite floats; raise a one-line ValueError otherwise."""
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, D), got shape {codes.shape}; reshape it")
    if codes.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {codes.dtype}")
    if not np.all(np.isfinite(codes)):
        bad = int(np.sum(~np.isfinite(codes)))
        raise ValueError(f"{name} contains {bad} NaN/inf values; drop or fix those samples first")
    if codes.shape[1] < min_dims:
        raise ValueError(f"{name} has {codes.shape[1]} dimension(s); this metric needs at least "
                         f"{min_dims} code dimensions")
    if codes.shape[0] < 2:
        raise ValueError(f"{name} has {codes.shape[0]} sample(s); pass at least 2")
    return codes


def check_factors(factors, n: int, name: str = "factors", varying: bool = True) -> np.ndarray:
    """(N, K) integer labels with N == n; with ``varying`` every factor must take ≥ 2 values."""
    factors = np.asarray(factors)
    if factors.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (N, K), got shape {factors.shape}; reshape it")
    if factors.shape[0] != n:
        raise ValueError(f"{name} has {factors.shape[0]} samples but the codes have {n}; "
                         "pass codes and factors of the same samples")
    if factors.dtype.kind == "f":
        if not np.all(np.isfinite(factors)) or np.any(factors != np.round(factors)):
            raise ValueError(f"{name} must be integer class labels; got non-integer values "
                             "(discretise continuous factors first)")
    elif factors.dtype.kind not in "iub":
        raise ValueError(f"{name} must be integer class labels, got dtype {factors.dtype}")
    if varying:
        for k in range(factors.shape[1]):
            if np.all(factors[:, k] == factors[0, k]):
                raise ValueError(f"{name}[:, {k}] takes a single value; drop that factor "
                                 "(it cannot be predicted or have entropy)")
    return factors


def check_pair(codes, factors, *, min_dims: int = 1, varying: bool = True, suffix: str = ""):
    codes = check_codes(codes, "codes" + suffix, min_dims)
    return codes, check_factors(factors, codes.shape[0], "factors" + suffix, varying)


def check_same_dims(codes, codes_test):
    if codes.shape[1] != codes_test.shape[1]:
        raise ValueError(f"codes have {codes.shape[1]} dims but codes_test {codes_test.shape[1]}; "
                         "encode both sets with the same model")


def histogram_edges(x: np.ndarray, num_bins: int) -> np.ndarray:
    """Left edges of ``np.histogram(x, num_bins)`` as numpy 1.x computes them.

    numpy >= 2 (NEP 50) does float32 linspace arithmetic in float32; the reference
    ran numpy 1.x, which works in float64 and casts, so float32 codes on a bin
    edge landed elsewhere.  Constant input: range v ± 0.5.
    """
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    return np.linspace(lo, hi, num_bins + 1).astype(dtype)[:-1]


def histogram_discretize(x: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Per column: ``num_bins`` equal-width bins over that column's min..max.

    Labels 1..num_bins as ``np.digitize(x, np.histogram(x, num_bins)[1][:-1])``
    (the reference's histogram discretizer); output dtype equals input dtype.
    """
    out = np.zeros_like(x)  # (N, D)
    for j in range(x.shape[1]):
        out[:, j] = np.digitize(x[:, j], histogram_edges(x[:, j], num_bins))
    return out


def _labels(x: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inv = np.unique(x, return_inverse=True)
    return inv.ravel(), len(uniq)


def mutual_info(a, b) -> float:
    """Empirical mutual information in nats of two label vectors.

    Same formula as ``sklearn.metrics.mutual_info_score``: cell terms below
    machine eps set to 0, total clipped at 0, exactly 0 when a side is constant.
    """
    ia, na = _labels(a) if not isinstance(a, tuple) else a
    ib, nb = _labels(b) if not isinstance(b, tuple) else b
    if na == 1 or nb == 1:
        return 0.0
    n = ia.shape[0]
    table = np.bincount(ia * nb + ib, minlength=na * nb)
    nz = np.flatnonzero(table)
    nij = table[nz].astype(np.float64)
    pi = np.bincount(ia, minlength=na)[nz // nb].astype(np.int64)
    pj = np.bincount(ib, minlength=nb)[nz % nb].astype(np.int64)
    p = nij / n
    log_outer = -np.log(pi * pj) + math.log(n) + math.log(n)
    mi = p * (np.log(nij) - math.log(n)) + p * log_outer
    mi = np.where(np.abs(mi) < np.finfo(mi.dtype).eps, 0.0, mi)
    return float(np.clip(mi.sum(), 0.0, None))


def mutual_info_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(Da, Db) MI between every column of a (N, Da) and of b (N, Db), nats."""
    la = [_labels(a[:, i]) for i in range(a.shape[1])]
    lb = [_labels(b[:, j]) for j in range(b.shape[1])]
    return np.array([[mutual_info(x, y) for y in lb] for x in la]).reshape(a.shape[1], b.shape[1])


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """(K,) empirical entropy H(y_k) = I(y_k; y_k) in nats (not log #values)."""
    return np.array([mutual_info(_labels(f), _labels(f)) for f in factors.T])


def encode_factors(dataset, encode, factors: np.ndarray, chunk: int = 4096, rng=None) -> np.ndarray:
    """Codes (n, D) of ``dataset.images(factors, rng)``, rendered and encoded ``chunk`` rows at a time.

    One call stands for one of the reference's ``sample_observations_from_factors(factors, random_state)``:
    a stochastic dataset draws from ``rng`` here, in row order (chunking draws the same numbers as one
    call).  For a deterministic dataset ``rng`` is unused, and when ``encode`` is a ``CachedEncoder`` of
    ``dataset`` the codes come from its cache: each factor combination is encoded at most once (same
    numbers for a deterministic, row-wise ``encode``).
    """
    stochastic = dataset_is_stochastic(dataset)
    if not stochastic and isinstance(encode, CachedEncoder) and encode.dataset is dataset:
        return encode.codes_of(factors)
    render = (lambda f: dataset.images(f, rng)) if stochastic else dataset.images   # a duck-typed dataset: images(f)
    parts = [np.asarray(encode(render(factors[i:i + chunk]))) for i in range(0, len(factors), chunk)]
    return np.concatenate(parts, axis=0)


def dataset_is_stochastic(dataset) -> bool:
    """Whether ``dataset`` draws random numbers while rendering (``FactorDataset.stochastic``)."""
    return bool(getattr(dataset, "stochastic", False))


class Observations:
    """The reference's ``sample_observations_from_factors(f, random_state)`` calls of a metric, in order.

    ``add(f)`` stands for one call.  A deterministic dataset's factors are kept and encoded together at
    ``codes()`` (through the cache when there is one); a stochastic dataset renders at once, drawing from
    ``rng`` exactly where the reference draws, and its images are encoded ``chunk`` at a time, so memory
    holds codes, not images.  ``codes()`` -> (total rows, D), rows in the order added.
    """

    def __init__(self, dataset, encode, rng, chunk: int = 4096):
        self.dataset, self.encode, self.rng, self.chunk = dataset, encode, rng, chunk
        self.stochastic = dataset_is_stochastic(dataset)
        self._factors: list[np.ndarray] = []   # deterministic: (n, K) per call
        self._images: list[np.ndarray] = []    # stochastic: rendered, not yet encoded
        self._codes: list[np.ndarray] = []     # stochastic: encoded
        self._pending = 0

    def add(self, factors: np.ndarray) -> None:
        if not self.stochastic:
            self._factors.append(np.asarray(factors))
            return
        self._images.append(self.dataset.images(factors, self.rng))
        self._pending += len(factors)
        if self._pending >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        if self._images:
            self._codes.append(np.asarray(self.encode(np.concatenate(self._images, axis=0))))
        self._images, self._pending = [], 0

    def codes(self) -> np.ndarray:
        if not self.stochastic:
            return encode_factors(self.dataset, self.encode, np.concatenate(self._factors, axis=0))
        self._flush()
        return np.concatenate(self._codes, axis=0)


def sample_codes(dataset, encode, num: int, *, random_state=0, batch_size: int = 16):
    """Sample ``num`` (codes (num, D), factors (num, K)) as the reference does.

    ``generate_batch_factor_code``: each batch is ``sample(min(batch_size, left), rs)`` — factors drawn,
    then rendered (a stochastic dataset draws there too) — so the numbers depend on ``batch_size``;
    encoding is batched for speed (it consumes no randomness).  Calling it twice on one RandomState gives
    train then test, as the reference.
    """
    rs = as_random_state(random_state)
    observations, batches, left = Observations(dataset, encode, rs), [], num
    while left > 0:
        batches.append(np.asarray(dataset.sample_factors(min(left, batch_size), rs)))
        observations.add(batches[-1])
        left -= len(batches[-1])
    return observations.codes(), np.concatenate(batches, axis=0)  # (num, D), (num, K)
