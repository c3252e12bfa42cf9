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


# 8x8 glyphs with strokes 2 pixels wide: a filled square (64 pixels), a plus (28), a ring (48)
_GLYPHS = np.zeros((3, 8, 8), dtype=bool)
_GLYPHS[0] = True
_GLYPHS[1, 3:5, :] = _GLYPHS[1, :, 3:5] = True
_GLYPHS[2] = True
_GLYPHS[2, 2:6, 2:6] = False


class Glyphs(FactorDataset):
    """One of three 8x8 glyphs on a 16x16 black canvas: a toy whose main variation is a discrete factor.

    Factors: shape 3 (filled square, plus, ring), posX 5, posY 5 (one pixel per step, glyph corner at
    2..6).  75 images.  The shape factor is what an InfoGAN categorical code should find.
    """

    name = "glyphs"
    factor_names = ("shape", "posX", "posY")
    factor_sizes = (3, 5, 5)
    observation_shape = (1, 16, 16)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        shape, pos_x, pos_y = factors.T                     # (n,) each
        img = np.zeros((len(factors), 16, 16), dtype=np.float32)
        for i, (s, x, y) in enumerate(zip(shape, pos_x, pos_y)):
            img[i, 2 + y:10 + y, 2 + x:10 + x] = _GLYPHS[s]
        # soften the edges with a [1, 2, 1] / 4 blur along each axis: smooth images a small GAN fits fast
        pad = np.pad(img, ((0, 0), (1, 1), (1, 1)))
        img = (pad[:, :-2] + 2 * pad[:, 1:-1] + pad[:, 2:])[:, :, 1:-1] / 4
        pad = np.pad(img, ((0, 0), (1, 1), (1, 1)))
        img = (pad[:, 1:-1, :-2] + 2 * pad[:, 1:-1, 1:-1] + pad[:, 1:-1, 2:]) / 4
        return img[:, None].astype(np.float32)              # (n, 1, 16, 16)


class Shadows(FactorDataset):
    """A toy with causally related concepts (for CausalVAE tests): a post of some height on a 16x16 floor,
    lit by a lamp at some position; the post's shadow on the floor follows from both.

    Factors: lamp position 6 (columns 1..11 in steps of 2, on the top row) and post height 4 (3..6 pixels,
    at column 12).  Concepts: lamp position, post height, shadow length = round(height * (12 - lamp) / 12)
    + 1 pixels to the right of the post — graph lamp -> shadow <- height.  24 images.
    """

    name = "shadows"
    factor_names = ("lamp", "height")
    factor_sizes = (6, 4)
    observation_shape = (1, 16, 16)
    concept_names = ("lamp", "height", "shadow")
    adjacency = np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]])

    def concepts(self, factors) -> np.ndarray:
        """(n, 2) factor classes -> (n, 3) concept values: lamp column, post height, shadow length (pixels)."""
        lamp, height = self._check_factors(factors).T
        column, tall = 1 + 2 * lamp, 3 + height
        return np.stack([column, tall, np.round(tall * (12 - column) / 12) + 1], 1).astype(np.float64)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        return self.render_concepts(self.concepts(factors))

    def render_concepts(self, values) -> np.ndarray:
        """(n, 3) lamp column, post height, shadow length (any reals: rounded to whole pixels and kept on the
        canvas) -> (n, 1, 16, 16)."""
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"concept values must have shape (n, 3) for lamp, height, shadow; got {v.shape}")
        img = np.zeros((len(v), 16, 16), dtype=np.float32)
        for i, (column, tall, shadow) in enumerate(np.rint(v).astype(int)):
            column, tall, shadow = min(max(column, 0), 14), min(max(tall, 0), 15), max(shadow, 0)
            img[i, 0:2, column:column + 2] = 1.0                 # the lamp
            img[i, 15 - tall:15, 12] = 1.0                       # the post, standing on row 15
            img[i, 15, 12:min(16, 12 + shadow + 1)] = 0.5        # its shadow along the floor
        return img[:, None]

    def do(self, values, concept: int, value: float) -> np.ndarray:
        """do(concept = value): the lamp and the height are exogenous, the shadow round(height (12 - lamp) / 12) + 1."""
        out = np.array(values, dtype=np.float64, copy=True)
        out[:, concept] = value
        if concept in (0, 1):
            out[:, 2] = np.round(out[:, 1] * (12 - out[:, 0]) / 12) + 1
        return out
