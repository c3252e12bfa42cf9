"""3D Shapes (Burgess & Kim 2018; used in Kim & Mnih 2018, "Disentangling by Factorising"), read from the user's file.

``3dshapes.h5`` holds ``images`` (480000, 64, 64, 3) uint8 and ``labels`` (480000, 6) float64, row-major over
the factors (last fastest):

    floor_hue   10   0.0, 0.1, ..., 0.9
    wall_hue    10   0.0, 0.1, ..., 0.9
    object_hue  10   0.0, 0.1, ..., 0.9
    scale        8   linspace(0.75, 1.25, 8)
    shape        4   0 cube, 1 cylinder, 2 sphere, 3 capsule
    orientation 15   linspace(-30, 30, 15)

The file is read lazily: the images take 5.9 GB decompressed, so a batch reads only its rows, one at a
time (``read_rows``).  The file stays open; a copy made by pickling or in a forked process reopens it.
Sampling draws the factors exactly as disentanglement_lib does (every factor latent, nothing drawn while
rendering).  Needs h5py (the ``files`` extra: ``pip install 'disentanglement[files]'``).
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from ..errors import UserError
from .base import TO_UNIT, FactorDataset, user_path

try:
    import h5py
except ImportError:  # optional: only this loader needs it
    h5py = None

FILE = "3dshapes.h5"
URL = "https://github.com/google-deepmind/3d-shapes"
ROWS, IMAGE = 480000, 64


class Shapes3D(FactorDataset):
    """3D Shapes from ``3dshapes.h5``: ``Shapes3D.open(path).images(factors)`` -> (n, 3, 64, 64) float32 in [0, 1]."""

    name = "shapes3d"
    factor_names = ("floor_hue", "wall_hue", "object_hue", "scale", "shape", "orientation")
    factor_sizes = (10, 10, 10, 8, 4, 15)
    observation_shape = (3, IMAGE, IMAGE)
    source = f"the file {FILE} (Burgess & Kim 2018), downloaded from {URL}"
    factor_values = (np.arange(10) / 10, np.arange(10) / 10, np.arange(10) / 10, np.linspace(0.75, 1.25, 8),
                     np.arange(4.0), np.linspace(-30.0, 30.0, 15))

    def __init__(self, path: Optional[str] = None):
        self.path = _checked_path(path)
        self._file, self._pid = None, None
        self._check_layout()

    # ---- file handle -------------------------------------------------------
    def _h5(self):
        """The open file; reopened in a forked child or an unpickled copy (an h5py handle is per process)."""
        if self._file is None or self._pid != os.getpid():
            try:
                self._file, self._pid = h5py.File(self.path, "r"), os.getpid()
            except OSError as err:
                why = " ".join(str(err).split())
                raise UserError(f"{self.path} is not a readable HDF5 file, truncated or damaged? ({why}); "
                                f"download {FILE} again from {URL}") from None
        return self._file

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_file": None, "_pid": None}

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None

    # ---- checks ------------------------------------------------------------
    def _check_layout(self) -> None:
        """Keys, shapes and dtypes as published, and the labels of a few rows matching their index."""
        f = self._h5()
        expected = {"images": ((ROWS, IMAGE, IMAGE, 3), np.uint8), "labels": ((ROWS, 6), np.float64)}
        for key, (shape, dtype) in expected.items():
            if key not in f:
                raise UserError(f"{self.path} has no dataset {key!r} (found {sorted(f.keys())}); expected {FILE} with "
                                f"'images' {shape} uint8 and 'labels' ({ROWS}, 6) float64 from {URL}")
            if f[key].shape != shape or f[key].dtype != dtype:
                raise UserError(f"{self.path}: {key!r} is {f[key].shape} {f[key].dtype}, expected {shape} "
                                f"{np.dtype(dtype)}; is this {FILE} from {URL}?")
        rows = self._probe_rows()                                           # (m,)
        want = self.values_of(self.index_to_factors(rows))                  # (m, 6)
        got = f["labels"][rows]                                             # (m, 6)
        if not np.allclose(got, want, atol=1e-3):
            bad = int(rows[np.flatnonzero(~np.isclose(got, want, atol=1e-3).all(1))[0]])
            raise UserError(f"{self.path}: labels of row {bad} are {np.round(f['labels'][bad], 3).tolist()}, expected "
                            f"{np.round(self.values_of(self.index_to_factors([bad]))[0], 3).tolist()} (row-major "
                            f"factors, last fastest); is this the unmodified {FILE} from {URL}?")

    def _probe_rows(self) -> np.ndarray:
        """(8,) sorted rows: the first, the last, and for each factor its last class with the others at 0."""
        last = np.diag(np.asarray(self.factor_sizes) - 1)                  # (6, 6)
        return np.unique(np.concatenate([[0, ROWS - 1], self.factors_to_index(last)]))

    def values_of(self, factors) -> np.ndarray:
        """(n, 6) factor classes -> (n, 6) label values, as stored in ``labels``."""
        f = self._check_factors(factors)
        return np.stack([values[f[:, k]] for k, values in enumerate(self.factor_values)], axis=1)

    # ---- rendering ---------------------------------------------------------
    def _render(self, factors: np.ndarray) -> np.ndarray:
        raw = read_rows(self._h5()["images"], self.factors_to_index(factors))   # (n, 64, 64, 3) uint8
        return TO_UNIT[raw].transpose(0, 3, 1, 2)                               # (n, 3, 64, 64) float32


def read_rows(dataset, rows: np.ndarray) -> np.ndarray:
    """``dataset[rows]`` for any (n,) rows, one row per read: h5py's fancy indexing (increasing unique rows)
    of scattered rows is some 30x slower than this loop (570 against 17,000-25,000 images/s, 64 rows from a
    gzip file with one chunk per image)."""
    out = np.empty((len(rows),) + dataset.shape[1:], dataset.dtype)   # (n, 64, 64, 3)
    for j, row in enumerate(rows):
        out[j] = dataset[int(row)]
    return out


def _checked_path(path: Optional[str]) -> str:
    """``path``, or ``path/3dshapes.h5`` when it is the folder holding it; one-line errors."""
    if h5py is None:
        raise UserError(f"dataset shapes3d reads {FILE} with h5py, which is not installed; "
                        "pip install 'disentanglement[files]' (or pip install h5py)")
    if path is not None and os.path.isdir(path) and os.path.isfile(os.path.join(path, FILE)):
        path = os.path.join(path, FILE)
    return user_path(path, "shapes3d", f"file {FILE} (download it from {URL})")
