"""Cars3D (Reed, Zhang, Zhang & Lee 2015, "Deep Visual Analogy-Making", NeurIPS), read from the user's files.

The folder (``data/cars`` of the download) holds one ``car_*_mesh.mat`` per car, each with ``im``
(128, 128, 3, 24, 4) uint8 = (H, W, RGB, azimuth, elevation): 183 cars x 24 azimuths x 4 elevations =
17,568 images.  Factors, in disentanglement_lib's order (row-major, last fastest): elevation 4, azimuth 24,
object (one per file: 183 for the published set; the count is the instance's, from the files found).

The object index is the file's position in the files sorted by name; disentanglement_lib takes the directory
listing's order, which the file system does not fix, so its object indices may differ from ours (the images
of one (elevation, azimuth, car) are the same).  Each image is shrunk 128 -> 64 as the reference does, with
PIL ``thumbnail((64, 64))`` and the Lanczos (``ANTIALIAS``) filter, then / 255.  All images are kept in
memory as uint8 (216 MB for 183 cars), built once when the dataset is opened (a few seconds).  Sampling
draws the factors as the reference does (all latent, nothing drawn while rendering).
"""
from __future__ import annotations

import glob
import os
from typing import Optional

import numpy as np
import scipy.io
from PIL import Image

from ..errors import UserError
from .base import TO_UNIT, FactorDataset, user_path

URL = "http://www.scottreed.info/files/nips2015-analogy-data.tar.gz"
PATTERN = "car_*_mesh.mat"
ELEVATIONS, AZIMUTHS, SOURCE_SIZE, IMAGE = 4, 24, 128, 64


class Cars3D(FactorDataset):
    """Cars3D from the folder of ``car_*_mesh.mat``: ``images(factors)`` -> (n, 3, 64, 64) float32 in [0, 1]."""

    name = "cars3d"
    factor_names = ("elevation", "azimuth", "object")
    factor_sizes = (ELEVATIONS, AZIMUTHS, 183)     # the instance's object count: the files found
    observation_shape = (3, IMAGE, IMAGE)
    source = f"the folder data/cars of {PATTERN} files (Reed et al. 2015), from {URL}"

    def __init__(self, path: Optional[str] = None):
        self.files = _mesh_files(path)
        self.factor_sizes = (ELEVATIONS, AZIMUTHS, len(self.files))
        images = np.empty((ELEVATIONS, AZIMUTHS, len(self.files), IMAGE, IMAGE, 3), np.uint8)
        for car, filename in enumerate(self.files):                        # filled in place: one copy in memory
            images[:, :, car] = load_car(filename)                         # (4, 24, 64, 64, 3)
        self._images = images.reshape(-1, IMAGE, IMAGE, 3)                 # (4 * 24 * cars, 64, 64, 3)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        raw = self._images[self.factors_to_index(factors)]               # (n, 64, 64, 3) uint8
        return TO_UNIT[raw].transpose(0, 3, 1, 2)                          # (n, 3, 64, 64) float32


def load_car(filename: str) -> np.ndarray:
    """(4, 24, 64, 64, 3) uint8: the car's images by (elevation, azimuth), shrunk to 64 x 64."""
    mesh = _read_mesh(filename)                                            # (128, 128, 3, 24, 4)
    out = np.empty((ELEVATIONS, AZIMUTHS, IMAGE, IMAGE, 3), np.uint8)
    for elevation in range(ELEVATIONS):
        for azimuth in range(AZIMUTHS):
            out[elevation, azimuth] = shrink(mesh[:, :, :, azimuth, elevation])
    return out


def shrink(image: np.ndarray) -> np.ndarray:
    """(128, 128, 3) uint8 -> (64, 64, 3) uint8, the reference's ``thumbnail`` with Lanczos."""
    picture = Image.fromarray(np.ascontiguousarray(image))
    picture.thumbnail((IMAGE, IMAGE), Image.LANCZOS)
    return np.asarray(picture)


def _read_mesh(filename: str) -> np.ndarray:
    try:
        mesh = scipy.io.loadmat(filename).get("im")
    except Exception as err:  # scipy raises ValueError, MatReadError, OSError... on a damaged file
        why = " ".join(str(err).split())
        raise UserError(f"{filename} is not a readable .mat file ({type(err).__name__}: {why}); it may be truncated: "
                        f"download the Cars3D data again from {URL}") from None
    expected = (SOURCE_SIZE, SOURCE_SIZE, 3, AZIMUTHS, ELEVATIONS)
    if mesh is None or mesh.shape != expected or mesh.dtype != np.uint8:
        found = "no key 'im'" if mesh is None else f"'im' {mesh.shape} {mesh.dtype}"
        raise UserError(f"{filename}: {found}, expected 'im' {expected} uint8 (a Cars3D mesh file from {URL})")
    return mesh


def _mesh_files(path: Optional[str]) -> list[str]:
    """The folder's ``car_*_mesh.mat`` files, sorted by name."""
    path = user_path(path, "cars3d", f"{PATTERN} files (the folder data/cars of {URL})", folder=True)
    files = sorted(glob.glob(os.path.join(glob.escape(str(path)), PATTERN)))
    if not files:
        raise UserError(f"dataset cars3d: no {PATTERN} file in {path}; pass the folder data/cars of the Cars3D "
                        f"download ({URL})")
    return files
