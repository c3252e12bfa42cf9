"""dSprites read from the original file (Matthey et al. 2017), and how the generated dSprites differs from it.

``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` holds ``imgs`` (737280, 64, 64) uint8 in {0, 1},
``latents_classes`` (737280, 6) int64 and ``latents_values`` (737280, 6) float64, rows in row-major order
of (colour 1, shape 3, scale 6, orientation 40, posX 32, posY 32).  We drop the constant colour and keep
the generated dSprites' factor names, order and value grids, so a model trained on either is evaluated
the same way (``--dataset dsprites --dataset-path FILE``).

Memory: the images are read member by member from the zip, a chunk at a time, and kept bit-packed —
737,280 x 64 x 8 bytes = 377 MB instead of the 3 GB the reference's ``np.load`` holds.  The pickled
``metadata`` is never unpickled: the grid is read from ``latents_classes``.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from .base import FactorDataset
from .dsprites import DSprites

MEMBERS = {"imgs": "imgs.npy", "latents_classes": "latents_classes.npy", "latents_values": "latents_values.npy"}


class DSpritesFile(FactorDataset):
    """dSprites from the user's npz: ``images(factors)`` -> (n, 1, 64, 64) float32 in {0, 1}."""

    name = DSprites.name
    factor_names = DSprites.factor_names
    factor_sizes = DSprites.factor_sizes
    observation_shape = DSprites.observation_shape
    source = ("dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz from https://github.com/deepmind/dsprites-dataset "
              "(optional: without it dSprites is generated)")
    source_optional = True   # registered as "dsprites": open() without a path gives the generated DSprites

    def __init__(self, path: str | Path, progress: bool = False):
        self.path = Path(path)
        self._packed, classes, values = _read(self.path, progress)          # (N, 64, 8) uint8, (N, 6), (N, 6)
        self.factor_sizes = tuple(int(s) for s in classes[:, 1:].max(axis=0) + 1)
        grid = len(classes) == len(self) and (classes[:, 0] == 0).all()
        if not grid or not np.array_equal(classes[:, 1:], self.index_to_factors(np.arange(len(classes)))):
            raise UserError(f"{self.path}: latents_classes are not the row-major grid of dSprites "
                            f"(colour, shape, scale, orientation, posX, posY); is this the original file?")
        self.factor_values = tuple(np.unique(values[:, k + 1]) for k in range(5))

    @classmethod
    def open(cls, path=None, image_size: int = 64) -> "FactorDataset":
        return DSprites() if path is None else cls(path)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        rows = np.unpackbits(self._packed[self.factors_to_index(factors)], axis=-1)   # (n, 64, 64) uint8
        return rows[:, None].astype(np.float32)


def _read(path: Path, progress: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bit-packed images (N, 64, 8), latents_classes (N, 6), latents_values (N, 6)); one-line errors."""
    if not path.is_file():
        raise UserError(f"no dSprites file at {path}; expected {DSpritesFile.source}")
    try:
        with zipfile.ZipFile(path) as archive:
            found = set(archive.namelist())
            missing = [key for key, member in MEMBERS.items() if member not in found]
            if missing:
                raise UserError(f"{path} has no {', '.join(missing)} (found {', '.join(sorted(found)) or 'nothing'}); "
                                f"expected the original {DSpritesFile.source.split(' ')[0]}")
            classes = _small(archive, "latents_classes", path)
            values = _small(archive, "latents_values", path)
            packed = _images(archive, path, len(classes), progress)
    except zipfile.BadZipFile:
        raise UserError(f"{path} is not an npz (zip) archive or is truncated; download it again") from None
    except (zlib.error, EOFError, ValueError) as err:     # numpy's header reader says "EOF: ..." as a ValueError
        raise UserError(f"{path} is truncated or corrupt ({err or 'too few bytes'}); download it again") from None
    return packed, classes, values


def _small(archive: zipfile.ZipFile, key: str, path: Path) -> np.ndarray:
    with archive.open(MEMBERS[key]) as fh:
        array = np.lib.format.read_array(fh, allow_pickle=False)
    if array.ndim != 2 or array.shape[1] != 6:
        raise UserError(f"{path}: {key} has shape {array.shape}; expected (N, 6) for "
                        "(colour, shape, scale, orientation, posX, posY)")
    return array


def _images(archive: zipfile.ZipFile, path: Path, n: int, progress: bool, chunk: int = 16384) -> np.ndarray:
    """``imgs`` read ``chunk`` rows at a time into (N, 64, 8) packed bits."""
    with archive.open(MEMBERS["imgs"]) as fh:
        version = np.lib.format.read_magic(fh)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(fh)
        if shape != (n, 64, 64) or dtype != np.uint8 or fortran:
            raise UserError(f"{path}: imgs is {dtype}{list(shape)}{' (Fortran order)' if fortran else ''}; "
                            f"expected uint8 ({n}, 64, 64) in C order")
        packed = np.empty((n, 64, 8), np.uint8)
        for start in tqdm(range(0, n, chunk), desc="reading dSprites", disable=not progress, leave=False):
            rows = min(chunk, n - start)
            raw = fh.read(rows * 64 * 64)
            if len(raw) != rows * 64 * 64:
                raise EOFError
            block = np.frombuffer(raw, np.uint8).reshape(rows, 64, 64)
            if block.max(initial=0) > 1:
                raise UserError(f"{path}: imgs holds values above 1; expected binary images in {{0, 1}}")
            packed[start:start + rows] = np.packbits(block, axis=-1)
    return packed


def compare(file: DSpritesFile, generated: DSprites, chunk: int = 8192, progress: bool = False) -> dict:
    """How the generated dSprites differs from the file, per factor combination of the file.

    Each of the file's images is paired with the generated image of the same factor values and scored by
    pixel agreement (fraction of the 4096 pixels equal) and sprite IoU; returns the means overall, per
    shape and per scale, the worst combination, the share of combinations with IoU >= 0.8, both datasets'
    pixel means, and the mean offset (pixels) of the generated sprite's centroid from the file's.
    """
    to_generated = [_class_map(file.factor_values[k], generated.factor_values[k], name)
                    for k, name in enumerate(file.factor_names)]
    agreement, iou = np.empty(len(file)), np.empty(len(file))
    mass, offset = np.zeros(2), np.zeros(2)
    grid = np.arange(64.0)
    for start in tqdm(range(0, len(file), chunk), desc="comparing", disable=not progress, leave=False):
        index = np.arange(start, min(start + chunk, len(file)))
        factors = file.index_to_factors(index)                                          # (n, 5) file classes
        mapped = np.stack([to_generated[k][factors[:, k]] for k in range(5)], axis=1)  # (n, 5) generated classes
        a, b = file.images(factors)[:, 0] > 0.5, generated.images(mapped)[:, 0] > 0.5   # (n, 64, 64) bool
        agreement[index] = (a == b).mean(axis=(1, 2))
        iou[index] = (a & b).sum((1, 2)) / np.maximum((a | b).sum((1, 2)), 1)
        mass += a.sum(), b.sum()
        for img, sign in ((a, -1.0), (b, 1.0)):                                         # centroid (x, y) difference
            weight = np.maximum(img.sum((1, 2)), 1)
            offset += sign * np.array([(img.sum(1) @ grid / weight).sum(), (img.sum(2) @ grid / weight).sum()])
    factors = file.index_to_factors(np.arange(len(file)))
    worst = int(np.argmin(iou))
    return {
        "combinations": len(file), "pixel_agreement": float(agreement.mean()), "sprite_iou": float(iou.mean()),
        "share_iou_at_least_0.8": float((iou >= 0.8).mean()),
        "iou_by_shape": {int(s): float(iou[factors[:, 0] == s].mean()) for s in range(file.factor_sizes[0])},
        "iou_by_scale": {int(s): float(iou[factors[:, 1] == s].mean()) for s in range(file.factor_sizes[1])},
        "worst": {"factors": dict(zip(file.factor_names, map(int, factors[worst]))), "iou": float(iou[worst])},
        "pixel_mean_file": float(mass[0] / (len(file) * 4096)), "pixel_mean_generated": float(mass[1] / (len(file) * 4096)),
        "centroid_offset_px": [float(v) for v in offset / len(file)],
    }


def _class_map(values: np.ndarray, grid: np.ndarray, name: str) -> np.ndarray:
    """(S_file,) generated class of each of the file's values of one factor; an error off the grid."""
    classes = np.argmin(np.abs(np.asarray(values)[:, None] - np.asarray(grid)[None, :]), axis=1)
    if not np.allclose(grid[classes], values, atol=1e-6):
        raise UserError(f"the file's {name} values {np.round(values, 4).tolist()} are not on dSprites' grid")
    return classes
