"""The FactorDataset contract: a dataset whose generative factors are known.

A dataset is a grid of factor values (``factor_sizes``, row-major, last factor
varies fastest) and a renderer ``images(factors, rng)``.  Sampling follows
disentanglement_lib (Locatello et al. 2019): given a legacy
``numpy.random.RandomState`` the columns are filled in factor order with
``randint(size_k, size=n)``, so the same seed draws the same factors as the
reference implementation.

Most datasets render deterministically and ignore ``rng``.  A ``stochastic``
dataset draws random numbers while rendering (noisy / colour / scream dSprites,
SmallNORB's nuisance instance), exactly where the reference's
``sample_observations_from_factors(factors, random_state)`` draws them: it needs
the generator, and a caller that wants the reference's numbers passes the same
``RandomState`` to ``sample_factors`` and ``images`` in the reference's order.

A dataset is either generated here (``source`` None) or read from the user's
file (``source`` says which file and where to get it); ``open(path)`` makes one.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
import torch

from ..errors import UserError


TO_UNIT = (np.arange(256) / 255.0).astype(np.float32)   # uint8 -> [0, 1] float32, as the reference's x / 255.


def user_path(path: Optional[str], name: str, expected: str, *, folder: bool = False) -> str:
    """``path`` when it is an existing file (``folder``: a directory); else a one-line error saying what
    dataset ``name`` expects there (``expected``: which file(s), and where to get them)."""
    if path is None:
        raise UserError(f"dataset {name} reads the user's {expected}; pass --dataset-path {'FOLDER' if folder else 'FILE'}")
    if folder and not os.path.isdir(path):
        raise UserError(f"dataset {name}: {path} is not a folder; pass the folder holding {expected}")
    if not folder and not os.path.isfile(path):
        raise UserError(f"dataset {name}: no file {path}; expected {expected}")
    return str(path)


def randint(rng, low: int, high: int, size=None):
    """Integers in [low, high) from a legacy ``RandomState`` (the reference's ``randint``) or a ``Generator``."""
    if isinstance(rng, np.random.RandomState):
        return rng.randint(low, high, size=size)
    return rng.integers(low, high, size=size)


class FactorDataset:
    """Base class: subclasses set the three class attributes and ``_render``."""

    name: str = ""
    factor_names: tuple[str, ...] = ()
    factor_sizes: tuple[int, ...] = ()
    observation_shape: tuple[int, int, int] = (1, 64, 64)  # (C, H, W)
    stochastic: bool = False          # True: ``images`` draws random numbers and needs ``rng``
    source: Optional[str] = None      # None: generated here; else the user's file it is read from, and where to get it
    source_optional: bool = False     # True: generated without the file, read from it when given (dSprites)
    test_every: int = 5               # held-out scenes for label-supervised models (data/split.py): one in test_every
    test_rule: str = "random"         # random: a fixed random choice of them; stride: the authors' rule (Pendulum, Flow)
    test_first: int = 4               # stride: k >= test_first with (k - test_first) % test_every == 0
    has_factors: bool = True          # False: a folder of images without attributes (the one "factor" is the index)
    complete: bool = True             # every combination of the factors has an image (one factor can be turned)
    resizable: bool = False           # renders at the run's image_size (a folder of images); else its own size
    fingerprint: str = ""             # what tells two instances apart where the name does not (a user's folder)
    notes: tuple[str, ...] = ()       # one-line notes on what was read (skipped files), said when training starts

    @classmethod
    def open(cls, path: Optional[str] = None, image_size: int = 64) -> "FactorDataset":
        """The dataset: ``cls()`` when generated, ``cls(path)`` when read from the user's file (or folder);
        ``image_size`` reaches a ``resizable`` one."""
        if cls.resizable:
            return cls(path, image_size)
        if cls.source is not None:
            return cls(path)
        if path is not None:
            raise UserError(f"dataset {cls.name!r} is generated and reads no file; drop dataset_path={path}")
        return cls()

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def __len__(self) -> int:
        """The number of factor combinations (the grid's flat index runs over them)."""
        return int(np.prod(self.factor_sizes))

    @property
    def present(self) -> int:
        """How many factor combinations have an image (all of them, unless ``complete`` is False)."""
        return len(self)

    def describe(self) -> str:
        """One line: what the metrics are scored on."""
        return f"all {len(self)} factor combinations"

    @property
    def num_images(self) -> int:
        """N, the distinct observations (for estimators of the aggregate posterior): the grid's size here."""
        return len(self)

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
        """(images (n, C, H, W) float32, factors (n, K) int64): factors drawn, then rendered, from ``rng``."""
        factors = self.sample_factors(n, rng)
        return self.images(factors, rng), factors

    # ---- rendering -------------------------------------------------------
    def images(self, factors, rng=None) -> np.ndarray:
        """Observations (n, C, H, W) float32 in [0, 1] for (n, K) factor classes.

        ``rng`` (a numpy ``Generator`` or ``RandomState``) is needed by a ``stochastic`` dataset, which
        draws from it as the reference does from its ``random_state``; a deterministic one ignores it.
        """
        f = self._check_factors(factors)
        if not self.stochastic:
            return self._render(f)
        if not isinstance(rng, (np.random.Generator, np.random.RandomState)):
            raise ValueError(f"{self.name} draws random numbers while rendering (stochastic); pass images(factors, rng) "
                             f"a numpy Generator or RandomState, got {type(rng).__name__}")
        return self._render(f, rng)

    def torch_renderer(self, device: torch.device):
        """A function from (n, K) int64 factor classes on ``device`` to the very images ``images`` gives
        ((n, C, H, W) float32, on ``device``), for a dataset that can render there (deterministic, a gather);
        None for the rest (``data_on_device`` is refused for them)."""
        return None

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:  # pragma: no cover - abstract
        """(n, C, H, W) float32 for checked factors; ``rng`` only for a stochastic dataset."""
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
        rng = np.random.default_rng(i) if self.dataset.stochastic else None   # a stochastic item: fixed per index
        return torch.from_numpy(self.dataset.images(factors, rng)[0]), torch.from_numpy(factors[0])
