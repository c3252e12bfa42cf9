"""MPI3D (Gondal et al. 2019, "On the Transfer of Inductive Bias from Simulation to the Real World: a New
Disentanglement Dataset", NeurIPS), read from the user's ``.npz`` file.

The file holds ``images`` (N, 64, 64, 3) uint8, row-major over 7 factors (last fastest): object_color,
object_shape, object_size 2, camera_height 3, background_color 3, horizontal_axis 40, vertical_axis 40.  The
factor sizes follow from N (``sizes_for``):

    N = 1,036,800   mpi3d_toy / mpi3d_realistic / mpi3d_real   [6, 6, 2, 3, 3, 40, 40]
    N =   460,800   mpi3d_real_complex                         [4, 4, 2, 3, 3, 40, 40]

disentanglement_lib's loader hard-codes [4, 4, 2, 3, 3, 40, 40] for toy and realistic (and [6, 6, ...] for
real), but 4*4*2*3*3*40*40 = 460,800, not the 1,036,800 images of the published toy and realistic files,
which have 6 colours and 6 shapes like the real one: we trust N.  ``MPI3D(path, factor_sizes=...)`` overrides
the inference, for a file of another size (the tests write a miniature one).

When ``images`` is stored uncompressed in the archive (``numpy.savez``) it is memory-mapped and a batch reads
only its rows (the pages read count in the process's resident memory, but belong to the page cache, which the
system drops under pressure); a compressed member (``numpy.savez_compressed``) cannot be mapped and is
decompressed into memory once (12.7 GB for N = 1,036,800).  Which one a file is, is read from the archive.
Sampling draws the factors as the reference does (all latent, nothing drawn while rendering).
"""
from __future__ import annotations

import os
import zipfile
from typing import Optional, Sequence

import numpy as np

from ..errors import UserError
from .base import TO_UNIT, FactorDataset, user_path

URL = "https://github.com/rr-learning/disentanglement_dataset"
IMAGE = 64
PUBLISHED = {1036800: (6, 6, 2, 3, 3, 40, 40), 460800: (4, 4, 2, 3, 3, 40, 40)}


def sizes_for(n: int) -> tuple[int, ...]:
    """The published factor sizes of an MPI3D file of ``n`` images."""
    if n not in PUBLISHED:
        raise ValueError(f"an MPI3D file of {n} images: expected 1,036,800 (toy, realistic, real: sizes "
                         f"{list(PUBLISHED[1036800])}) or 460,800 (real_complex: {list(PUBLISHED[460800])})")
    return PUBLISHED[n]


class MPI3D(FactorDataset):
    """MPI3D from ``mpi3d_*.npz``: ``MPI3D.open(path).images(factors)`` -> (n, 3, 64, 64) float32 in [0, 1]."""

    name = "mpi3d"
    factor_names = ("object_color", "object_shape", "object_size", "camera_height", "background_color",
                    "horizontal_axis", "vertical_axis")
    factor_sizes = PUBLISHED[1036800]          # the instance's: inferred from the file
    observation_shape = (3, IMAGE, IMAGE)
    source = f"a file mpi3d_toy.npz / mpi3d_realistic.npz / mpi3d_real.npz / mpi3d_real_complex.npz from {URL}"

    def __init__(self, path: Optional[str] = None, factor_sizes: Optional[Sequence[int]] = None):
        self.path = user_path(path, "mpi3d", f"file mpi3d_toy.npz, mpi3d_realistic.npz, mpi3d_real.npz or "
                                                 f"mpi3d_real_complex.npz (download it from {URL})")
        self._images = load_images(self.path)                              # (N, 64, 64, 3) uint8
        n = len(self._images)
        if factor_sizes is None:
            try:
                factor_sizes = sizes_for(n)
            except ValueError as err:
                raise UserError(f"{self.path}: {err}; is this an MPI3D file from {URL}?") from None
        if len(factor_sizes) != 7 or int(np.prod(factor_sizes)) != n:
            raise UserError(f"{self.path}: factor_sizes {list(factor_sizes)} must be 7 sizes whose product is the "
                            f"file's {n} images")
        self.factor_sizes = tuple(int(s) for s in factor_sizes)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_images": None}     # a pickled memmap would copy all the images: map again

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._images = load_images(self.path)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        raw = self._images[self.factors_to_index(factors)]                 # (n, 64, 64, 3) uint8
        return TO_UNIT[raw].transpose(0, 3, 1, 2)                          # (n, 3, 64, 64) float32


def load_images(path: str) -> np.ndarray:
    """The ``images`` member of the npz at ``path``: memory-mapped if stored, else decompressed into memory."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("images.npy") if "images.npy" in archive.namelist() else None
            if info is None:
                raise UserError(f"{path} has no array 'images' (found {[n[:-4] for n in archive.namelist()]}); "
                                f"expected an MPI3D .npz from {URL}")
            if info.compress_type != zipfile.ZIP_STORED:
                with archive.open(info) as member:
                    images = np.lib.format.read_array(member)
            else:
                images = _map_stored(path, archive, info)
    except (zipfile.BadZipFile, EOFError, ValueError, OSError) as err:
        why = " ".join(str(err).split())
        raise UserError(f"{path} is not a readable .npz ({why}); it may be truncated: download it again "
                        f"from {URL}") from None
    _check_shape(path, images)
    return images


def _map_stored(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """Memory-map an uncompressed npz member: skip its zip local header, then its .npy header."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        local = f.read(30)                                        # the zip local file header
        if local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header for images.npy")
        name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
        f.seek(info.header_offset + 30 + name_len + extra_len)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(np.lib.format.read_magic(f),
                                                                         np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
        offset = f.tell()
    need = offset + int(np.prod(shape)) * dtype.itemsize
    if os.path.getsize(path) < need:
        raise ValueError(f"images {shape} need {need} bytes, the file has {os.path.getsize(path)}")
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")


def _check_shape(path: str, images: np.ndarray) -> None:
    if images.ndim != 4 or images.shape[1:] != (IMAGE, IMAGE, 3) or images.dtype != np.uint8:
        raise UserError(f"{path}: 'images' is {images.shape} {images.dtype}, expected (N, 64, 64, 3) uint8 with "
                        f"N = 1,036,800 or 460,800 (an MPI3D .npz from {URL})")


