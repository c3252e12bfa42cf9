"""The FactorDataset contract: a dataset whose generative factors are known.

A dataset is a grid of factor values (``factor_sizes``, row-major, last factor
varies fastest) and a deterministic renderer ``images(factors)``.  Sampling
follows disentanglement_lib (Locatello et al. 2019): given a legacy
``numpy.random.RandomState`` the columns are filled in factor order with
``randint(size_k, size=n)``, so the same seed draws the same factors as the
reference implementation.
"""
from __future__ import annotations

import numpy as np
import torch


class FactorDataset:
    """Base class: subclasses set the three class attributes and ``_render``."""

    name: str = ""
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    observation_shape: tuple[int, int, int] = (1, 64, 64)  # (C, H, W)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def __len__(self) -> int:
        return int(np.prod(self.factor_sizes))

    # ---- sampling --------------------------------------------------------
    def sample_factors(self, n: int, rng) -> np.ndarray:
        """(n, K) int64 factor classes, drawn uniformly, column by column.

        ``rng`` is a ``numpy.random.Generator`` or a legacy ``RandomState``
        (then exactly the reference's draws: ``rng.randint(size_k, size=n)``).
        """
        if isinstance(rng, np.random.RandomState):
            cols = [rng.randint(size, size=n) for size in self.factor_sizes]
        elif isinstance(rng, np.random.Generator):
            cols = [rng.integers(size, size=n) for size in self.factor_sizes]
        else:
            raise TypeError(f"rng must be a numpy Generator or RandomState, got {type(rng).__name__}")
        return np.stack(cols, axis=1).astype(np.int64)  # (n, K)

    def sample(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """(images (n, C, H, W) float32, factors (n, K) int64)."""
        factors = self.sample_factors(n, rng)
        return self.images(factors), factors

    # ---- rendering -------------------------------------------------------
    def images(self, factors) -> np.ndarray:
        """Deterministic observations (n, C, H, W) float32 in [0, 1] for (n, K) factor classes."""
        return self._render(self._check_factors(factors))

    def _render(self, factors: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_factors(self, factors) -> np.ndarray:
        f = np.asarray(factors)
        if f.ndim != 2 or f.shape[1] != self.num_factors:
            raise ValueError(f"factors must have shape (n, {self.num_factors}) for {self.factor_names}, got {f.shape}")
        if not np.issubdtype(f.dtype, np.integer):
            raise ValueError(f"factors must be integer class indices, got dtype {f.dtype}")
        sizes = np.asarray(self.factor_sizes)
        if f.size and ((f < 0).any() or (f >= sizes).any()):
            raise ValueError(f"factor classes out of range: each column k must lie in [0, {list(self.factor_sizes)}[k])")
        return f.astype(np.int64, copy=False)

    # ---- indexing --------------------------------------------------------
    def factors_to_index(self, factors) -> np.ndarray:
        """(n, K) factor classes -> (n,) flat indices, row-major (last factor fastest)."""
        f = self._check_factors(factors)
        return np.ravel_multi_index(tuple(f.T), self.factor_sizes).astype(np.int64)

    def index_to_factors(self, index) -> np.ndarray:
        """(n,) flat indices -> (n, K) factor classes."""
        idx = np.asarray(index, dtype=np.int64)
        if idx.size and ((idx < 0).any() or (idx >= len(self)).any()):
            raise ValueError(f"index out of range [0, {len(self)})")
        return np.stack(np.unravel_index(idx, self.factor_sizes), axis=-1).astype(np.int64)

    def as_torch(self) -> "TorchView":
        """A ``torch.utils.data.Dataset`` over every factor combination."""
        return TorchView(self)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{n}={s}" for n, s in zip(self.factor_names, self.factor_sizes))
        return f"{type(self).__name__}({sizes}; obs {self.observation_shape})"


class TorchView(torch.utils.data.Dataset):
    """Map-style view: item i -> (image (C, H, W) float32 tensor, factors (K,) int64 tensor)."""

    def __init__(self, dataset: FactorDataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int):
        factors = self.dataset.index_to_factors(np.array([i]))
        return torch.from_numpy(self.dataset.images(factors)[0]), torch.from_numpy(factors[0])
