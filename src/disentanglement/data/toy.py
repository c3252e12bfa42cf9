"""Tiny datasets for tests and demos: a model disentangles them in seconds on a CPU."""
from __future__ import annotations

import numpy as np

from .base import FactorDataset


class Squares(FactorDataset):
    """A white square on a 16x16 black canvas.

    Factors: posX 10, posY 10 (one pixel per step), size 3 (side 2, 3 or 4
    pixels).  300 images; the square never touches the border.
    """

    name = "squares"
    factor_names = ("posX", "posY", "size")
    factor_sizes = (10, 10, 3)
    observation_shape = (1, 16, 16)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        pos_x, pos_y, size = factors.T                      # (n,) each
        side = size + 2
        grid = np.arange(16)
        cols = (grid >= 1 + pos_x[:, None]) & (grid < 1 + pos_x[:, None] + side[:, None])  # (n, 16)
        rows = (grid >= 1 + pos_y[:, None]) & (grid < 1 + pos_y[:, None] + side[:, None])  # (n, 16)
        img = rows[:, :, None] & cols[:, None, :]           # (n, 16, 16)
        return img[:, None].astype(np.float32)              # (n, 1, 16, 16)
