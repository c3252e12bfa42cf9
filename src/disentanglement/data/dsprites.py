"""Procedural dSprites (Matthey et al. 2017), generated here — no download.

Factors (row-major, last fastest), with the original value grids:

    shape        3   square, ellipse, heart
    scale        6   linspace(0.5, 1, 6)
    orientation 40   linspace(0, 2*pi, 40)   (index 0 and 39 are the same angle, as in the original)
    posX        32   linspace(0, 1, 32)
    posY        32   linspace(0, 1, 32)

737,280 binary 64x64 images.  The original outlines were never published, so
the sprites are re-drawn and calibrated to the known statistics: dataset pixel
mean 0.0425 (original: 0.0425), no sprite touches the border, and each posX /
posY step moves the sprite by exactly one pixel (sprite centres span pixels
16..47), so every position step changes the image.

Rendering is a table look-up: the 3 * 6 * 40 = 720 centred sprite masks
(31 x 31) are rasterised once (4 x 4 supersampling, coverage >= 1/2), and an
image is one mask pasted at its position — a whole batch in one scatter.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import FactorDataset

IMAGE = 64
HALF = 15                    # patch half-size: sprite pixels lie within +-15 of the centre
PATCH = 2 * HALF + 1         # 31
FIRST_CENTRE = 16            # posX/posY index 0 -> pixel 16, index 31 -> pixel 47

SCALES = np.linspace(0.5, 1.0, 6)
ORIENTATIONS = np.linspace(0.0, 2 * np.pi, 40)
POSITIONS = np.linspace(0.0, 1.0, 32)


def _heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Inside test of the heart (x^2 + y^2 - 1)^3 <= x^2 y^3, point downwards, fitted to the unit disk."""
    x, y = 1.25 * u, 1.25 * v + 0.25  # shift and shrink the curve into the unit disk (max radius 1.0)
    return (x * x + y * y - 1.0) ** 3 - x * x * y ** 3 <= 0.0


def _inside(shape: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unit-frame shapes, each within the unit disk at every rotation (y points up)."""
    if shape == 0:  # square, half side 1/sqrt(2): corners on the unit circle
        return np.maximum(np.abs(u), np.abs(v)) <= 2 ** -0.5
    if shape == 1:  # ellipse, semi-axes 1 and 1/2
        return u * u + 4.0 * v * v <= 1.0
    return _heart(u, v)


def render_sprite_bank(radius: float, supersample: int = 4) -> np.ndarray:
    """(3, 6, 40, PATCH, PATCH) uint8 masks of every (shape, scale, orientation), centred."""
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    grid = np.arange(-HALF, HALF + 1, dtype=np.float64)
    # sub-pixel sample positions: (PATCH*s,) along each axis
    fine = (grid[:, None] + offsets[None, :]).reshape(-1)
    dy, dx = np.meshgrid(fine, fine, indexing="ij")          # (P*s, P*s), rows go down
    bank = np.zeros((3, len(SCALES), len(ORIENTATIONS), PATCH, PATCH), np.uint8)
    for k, scale in enumerate(SCALES):
        for o, theta in enumerate(ORIENTATIONS):
            c, s = np.cos(theta), np.sin(theta)
            # rotate the pixel offsets by -theta into the sprite frame (y up), in units of radius*scale
            u = (c * dx - s * dy) / (radius * scale)
            v = (-s * dx - c * dy) / (radius * scale)
            for shape in range(3):
                cover = _inside(shape, u, v).reshape(PATCH, supersample, PATCH, supersample).mean((1, 3))
                bank[shape, k, o] = cover >= 0.5
    return bank


class DSprites(FactorDataset):
    """Procedural dSprites: ``DSprites().images(factors)`` -> (n, 1, 64, 64) float32 in {0, 1}."""

    name = "dsprites"
    factor_names = ("shape", "scale", "orientation", "posX", "posY")
    factor_sizes = (3, 6, 40, 32, 32)
    observation_shape = (1, IMAGE, IMAGE)
    factor_values = (np.arange(3.0) + 1, SCALES, ORIENTATIONS, POSITIONS, POSITIONS)
    radius = 12.15  # pixels per unit at scale 1; calibrated so the dataset pixel mean is 0.0425

    def __init__(self):
        bank = render_sprite_bank(self.radius)
        self._bank = bank.reshape(-1, PATCH * PATCH)  # (720, 961)
        rows, cols = np.meshgrid(np.arange(PATCH), np.arange(PATCH), indexing="ij")
        self._offsets = (rows * IMAGE + cols).reshape(-1)  # (961,) flat offsets inside a 64x64 image

    def _render(self, factors: np.ndarray) -> np.ndarray:
        n = len(factors)
        shape, scale, orient, pos_x, pos_y = factors.T
        sprite = (shape * len(SCALES) + scale) * len(ORIENTATIONS) + orient           # (n,)
        top, left = pos_y + FIRST_CENTRE - HALF, pos_x + FIRST_CENTRE - HALF            # (n,)
        corner = np.arange(n) * IMAGE * IMAGE + top * IMAGE + left                     # (n,)
        out = np.zeros(n * IMAGE * IMAGE, np.float32)
        out[(corner[:, None] + self._offsets[None, :]).reshape(-1)] = self._bank[sprite].reshape(-1)
        return out.reshape(n, 1, IMAGE, IMAGE)

    def torch_renderer(self, device):
        """``_render`` as one scatter on ``device`` (the sprite bank copied there once); None for a variant
        whose ``_render`` adds colour, noise or a background."""
        if type(self)._render is not DSprites._render:
            return None
        bank = torch.from_numpy(self._bank).to(device=device, dtype=torch.float32)     # (720, 961)
        offsets = torch.from_numpy(self._offsets).to(device)                            # (961,)

        def render(factors: torch.Tensor) -> torch.Tensor:                              # (n, 5) -> (n, 1, 64, 64)
            n = len(factors)
            shape, scale, orient, pos_x, pos_y = factors.unbind(1)
            sprite = (shape * len(SCALES) + scale) * len(ORIENTATIONS) + orient        # (n,)
            corner = (torch.arange(n, device=factors.device) * IMAGE * IMAGE
                      + (pos_y + FIRST_CENTRE - HALF) * IMAGE + pos_x + FIRST_CENTRE - HALF)  # (n,)
            out = torch.zeros(n * IMAGE * IMAGE, device=factors.device)
            out[(corner[:, None] + offsets[None, :]).reshape(-1)] = bank[sprite].reshape(-1)
            return out.view(n, 1, IMAGE, IMAGE)
        return render

    def pixel_mean(self) -> float:
        """Exact mean pixel over all 737,280 images (position never crops a sprite)."""
        return float(self._bank.sum(1).mean()) / (IMAGE * IMAGE)
