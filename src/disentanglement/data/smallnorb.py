"""SmallNORB (LeCun, Huang & Bottou 2004, "Learning methods for generic object recognition with invariance to
pose and lighting", CVPR), read from the user's six ``.mat`` files.

The folder holds ``smallnorb-5x46789x9x18x6x2x96x96-training-{dat,cat,info}.mat`` and
``smallnorb-5x01235x9x18x6x2x96x96-testing-{dat,cat,info}.mat``; like disentanglement_lib we concatenate
training then testing: 48,600 stereo pairs covering every (category 5, instance 10, elevation 9, azimuth 18,
lighting 6) once.  Each file is a binary matrix: int32 magic, int32 ndim, max(3, ndim) int32 dims, then the
little-endian data — ``dat`` (24300, 2, 96, 96) uint8, ``cat`` (24300,) int32, ``info`` (24300, 4) int32 =
instance, elevation, azimuth (0, 2, ..., 34), lighting.

Factors (those of disentanglement_lib): category 5, elevation 9, azimuth 18 (stored value / 2), lighting 6.
The instance is a nuisance drawn while rendering, as the reference draws it: for a batch of n, after the
factors, ``randint(10, size=n)`` — so the dataset is ``stochastic``, and with one ``RandomState`` passed to
``sample_factors`` then ``images`` a seed gives the reference's images.

Images: the first of each stereo pair, resized 96 -> 64 with PIL's Lanczos (``ANTIALIAS``) filter, / 255.
The reference hands PIL the bytes as int8, which Pillow maps to its 32-bit mode "I", where Lanczos ringing is
not clipped: its images reach slightly outside [0, 1] at sharp edges.  We resize the uint8 image (mode "L",
clipped to 0..255 after each of Pillow's two passes) so every image lies in [0, 1].  The two agree within
1-2 grey levels on smooth images and differ where Lanczos overshoots (measured with Pillow 13: 1% of pixels
differ, by at most 2 levels, on a blurred test image; up to 16 levels on white noise).
All 48,600 resized images are kept in memory (200 MB of uint8), built once when the dataset is opened.
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
from PIL import Image

from ..errors import UserError
from .base import TO_UNIT, FactorDataset, randint, user_path

URL = "https://cs.nyu.edu/~ylclab/data/norb-v1.0-small/"
CHUNKS = ("smallnorb-5x46789x9x18x6x2x96x96-training", "smallnorb-5x01235x9x18x6x2x96x96-testing")
PAIRS, IMAGE, SMALL = 24300, 96, 64
MAGIC = {0x1E3D4C55: np.uint8, 0x1E3D4C54: np.int32, 0x1E3D4C51: np.float32, 0x1E3D4C53: np.float64}
ALL_SIZES = (5, 10, 9, 18, 6)          # category, instance (a nuisance, column 1), elevation, azimuth / 2, lighting


class SmallNORB(FactorDataset):
    """SmallNORB from its folder: ``images(factors, rng)`` -> (n, 1, 64, 64) float32 in [0, 1]."""

    name = "smallnorb"
    factor_names = ("category", "elevation", "azimuth", "lighting")
    factor_sizes = (5, 9, 18, 6)
    observation_shape = (1, SMALL, SMALL)
    stochastic = True
    source = f"the folder of the six SmallNORB files smallnorb-*-{{training,testing}}-{{dat,cat,info}}.mat, from {URL}"

    def __init__(self, path: Optional[str] = None):
        self.path = user_path(path, "smallnorb", f"six SmallNORB files {CHUNKS[0]}-{{dat,cat,info}}.mat and the "
                                                     f"testing ones (get them from {URL})", folder=True)
        pairs, features = zip(*(_read_chunk(self.path, chunk) for chunk in CHUNKS))   # every file checked first
        self._row = _lookup(np.concatenate(features), self.path)                      # (48600,) state -> row
        self._images = np.empty((len(CHUNKS) * PAIRS, SMALL, SMALL), np.uint8)      # (48600, 64, 64), filled in place
        for k, dat in enumerate(pairs):
            _first_images(dat, self._images[k * PAIRS:(k + 1) * PAIRS])

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        instance = randint(rng, 0, ALL_SIZES[1], size=len(factors))                   # (n,)
        full = np.insert(factors, 1, instance, axis=1)                                  # (n, 5)
        rows = self._row[np.ravel_multi_index(tuple(full.T), ALL_SIZES)]               # (n,)
        return TO_UNIT[self._images[rows]][:, None]                                     # (n, 1, 64, 64)


def read_matrix(filename: str) -> np.ndarray:
    """A NORB binary matrix, memory-mapped: int32 magic, int32 ndim, max(3, ndim) int32 dims, data."""
    size = os.path.getsize(filename)
    with open(filename, "rb") as f:
        head = _int32s(f.read(8))
        if len(head) < 2 or int(head[0]) not in MAGIC or not 0 < int(head[1]) < 8:
            raise UserError(f"{filename} is not a NORB binary matrix (bad header); download it again from {URL}")
        ndim = int(head[1])
        dims = _int32s(f.read(4 * max(3, ndim)))[:ndim]
    dtype, offset = np.dtype(MAGIC[int(head[0])]).newbyteorder("<"), 8 + 4 * max(3, ndim)
    shape = tuple(int(d) for d in dims)
    if len(shape) < ndim or size < offset + dtype.itemsize * int(np.prod(shape)):
        raise UserError(f"{filename} is truncated: {size} bytes, its header announces {shape} {dtype.name} "
                        f"({offset + dtype.itemsize * int(np.prod(shape))} bytes); download it again from {URL}")
    return np.memmap(filename, dtype=dtype, mode="r", offset=offset, shape=shape)


def _int32s(raw: bytes) -> np.ndarray:
    """Little-endian int32s of ``raw``, a short read's partial last one dropped."""
    return np.frombuffer(raw[:len(raw) // 4 * 4], "<i4")


def _read_chunk(folder: str, chunk: str) -> tuple[np.ndarray, np.ndarray]:
    """(pairs (24300, 2, 96, 96) uint8 memmap, features (24300, 5) int64: category, instance, elevation,
    azimuth / 2, lighting)."""
    dat, cat, info = (_read_expected(folder, chunk, part) for part in ("dat", "cat", "info"))
    features = np.column_stack([cat, info]).astype(np.int64)           # (24300, 5)
    features[:, 3] //= 2                                                # azimuth 0, 2, ..., 34 -> 0..17
    return dat, features


def _read_expected(folder: str, chunk: str, part: str) -> np.ndarray:
    """The ``part`` matrix of ``chunk``, checked against the published shape and dtype."""
    expected = {"dat": ((PAIRS, 2, IMAGE, IMAGE), np.uint8), "cat": ((PAIRS,), np.int32),
                "info": ((PAIRS, 4), np.int32)}[part]
    filename = os.path.join(folder, f"{chunk}-{part}.mat")
    if not os.path.isfile(filename):
        raise UserError(f"dataset smallnorb: no file {filename}; the folder must hold the six SmallNORB files "
                        f"{CHUNKS[0]}-{{dat,cat,info}}.mat and the testing ones (download and gunzip them from {URL})")
    matrix = read_matrix(filename)
    if matrix.shape != expected[0] or matrix.dtype != expected[1]:
        raise UserError(f"{filename} holds {matrix.shape} {matrix.dtype.name}, expected {expected[0]} "
                        f"{np.dtype(expected[1]).name}; download it again from {URL}")
    return matrix


def _first_images(dat: np.memmap, out: np.ndarray, block: int = 1000) -> None:
    """Fill ``out`` (24300, 64, 64) uint8 with image 0 of each stereo pair, resized; read block by block with
    plain reads, so the 448 MB file passes through the page cache instead of staying mapped in this process."""
    with open(dat.filename, "rb") as f:
        f.seek(dat.offset)
        for start in range(0, len(dat), block):
            n = min(block, len(dat) - start)
            pairs = np.frombuffer(f.read(n * 2 * IMAGE * IMAGE), np.uint8).reshape(n, 2, IMAGE, IMAGE)
            out[start:start + n] = _resize(pairs[:, 0])


def _resize(images: np.ndarray) -> np.ndarray:
    """(n, 96, 96) uint8 -> (n, 64, 64) uint8, PIL Lanczos (the reference's ``ANTIALIAS``)."""
    out = np.empty((len(images), SMALL, SMALL), np.uint8)
    for i, image in enumerate(images):
        out[i] = np.asarray(Image.fromarray(np.ascontiguousarray(image)).resize((SMALL, SMALL), Image.LANCZOS))
    return out


def _lookup(features: np.ndarray, folder: str) -> np.ndarray:
    """(N, 5) features -> (prod ALL_SIZES,) row of each state; every state must occur exactly once."""
    sizes = np.asarray(ALL_SIZES)
    if (features < 0).any() or (features >= sizes).any():
        bad = features[((features < 0) | (features >= sizes)).any(1)][0]
        raise UserError(f"{folder}: a row has factors {bad.tolist()} outside (category, instance, elevation, "
                        f"azimuth/2, lighting) sizes {list(ALL_SIZES)}; download the files again from {URL}")
    state = np.ravel_multi_index(tuple(features.T), ALL_SIZES)          # (N,)
    count = np.bincount(state, minlength=int(sizes.prod()))
    if (count != 1).any():
        example = np.flatnonzero(count == 0)[0] if (count == 0).any() else np.argmax(count)   # a missing one first
        first = np.unravel_index(int(example), ALL_SIZES)
        raise UserError(f"{folder}: the files do not cover every (category, instance, elevation, azimuth/2, lighting) "
                        f"exactly once: {int((count == 0).sum())} missing, {int((count > 1).sum())} repeated "
                        f"(e.g. {[int(m) for m in first]}); use both the training and testing files from {URL}")
    row = np.empty(int(sizes.prod()), np.int64)
    row[state] = np.arange(len(state))
    return row


