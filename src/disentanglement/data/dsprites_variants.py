"""The dSprites variants of Locatello et al. 2019 (disentanglement_lib's ``dsprites.py``), on the generated dSprites.

Same five factors, 64x64 RGB, and a nuisance drawn while rendering — exactly as the reference draws it
from the ``random_state`` it is given, so a legacy ``RandomState`` reproduces the reference's images:

- ``color_dsprites``: the sprite takes a colour ``uniform(0.5, 1, (n, 1, 1, 3))`` per image (the whole
  image is multiplied, the black background stays black);
- ``noisy_dsprites``: the background is noise ``uniform(0, 1, (n, 64, 64, 3))``; image = min(sprite + noise, 1);
- ``scream_dsprites``: per image, a 64x64 patch of a user-supplied image at ``randint(0, H - 64)``,
  ``randint(0, W - 64)`` (rows, columns), averaged with a colour ``uniform(0, 1, 3)``; the sprite's pixels
  take the patch's inverse (1 - patch).  The reference used Munch's *The Scream*, shrunk with PIL's
  ``thumbnail((350, 274))``; any RGB image of at least 65x65 pixels (after that shrink) will do.

The draws are made in NHWC order, as the reference's arrays are, then transposed to our (n, C, H, W).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import UserError
from .base import randint
from .dsprites import IMAGE, DSprites


class ColorDSprites(DSprites):
    """dSprites with a random sprite colour per image: (n, 3, 64, 64) float32."""

    name = "color_dsprites"
    observation_shape = (3, IMAGE, IMAGE)
    stochastic = True

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        sprite = super()._render(factors)                                   # (n, 1, 64, 64) in {0, 1}
        colour = rng.uniform(0.5, 1, [len(factors), 1, 1, 3])               # (n, 1, 1, 3), the reference's draw
        return (sprite * colour.transpose(0, 3, 1, 2)).astype(np.float32)   # (n, 3, 64, 64)


class NoisyDSprites(DSprites):
    """dSprites on a uniform-noise background: (n, 3, 64, 64) float32."""

    name = "noisy_dsprites"
    observation_shape = (3, IMAGE, IMAGE)
    stochastic = True

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        sprite = super()._render(factors)                                   # (n, 1, 64, 64)
        noise = rng.uniform(0, 1, [len(factors), IMAGE, IMAGE, 3])          # (n, 64, 64, 3), the reference's draw
        return np.minimum(sprite + noise.transpose(0, 3, 1, 2), 1.0).astype(np.float32)


class ScreamDSprites(DSprites):
    """dSprites drawn as the inverse of a random patch of a user's image: (n, 3, 64, 64) float32."""

    name = "scream_dsprites"
    observation_shape = (3, IMAGE, IMAGE)
    stochastic = True
    source = ("an RGB image for the background patches (the reference used Munch's The Scream, "
              "https://upload.wikimedia.org/wikipedia/commons/f/f4/The_Scream.jpg)")

    def __init__(self, path: Optional[str] = None):
        super().__init__()
        self.background = load_background(path)                             # (H, W, 3) float64 in [0, 1]

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        sprite = super()._render(factors)[:, 0] == 1                        # (n, 64, 64) bool
        height, width = self.background.shape[:2]
        out = np.empty((len(factors), IMAGE, IMAGE, 3), np.float32)
        for i in range(len(factors)):                                       # per image: row, column, colour
            top, left = randint(rng, 0, height - IMAGE), randint(rng, 0, width - IMAGE)
            patch = (self.background[top:top + IMAGE, left:left + IMAGE] + rng.uniform(0, 1, size=3)) / 2.0
            patch[sprite[i]] = 1.0 - patch[sprite[i]]
            out[i] = patch
        return out.transpose(0, 3, 1, 2).copy()                             # (n, 3, 64, 64)


def load_background(path: Optional[str]) -> np.ndarray:
    """(H, W, 3) float64 in [0, 1]: the image at ``path`` shrunk as the reference does (``thumbnail((350, 274))``)."""
    if path is None:
        raise UserError(f"dataset scream_dsprites needs {ScreamDSprites.source}; pass --dataset-path IMAGE")
    file = Path(path)
    if not file.is_file():
        raise UserError(f"scream_dsprites: no image file at {path}; pass --dataset-path IMAGE "
                        f"({ScreamDSprites.source})")
    try:
        with Image.open(file) as image:
            image = image.convert("RGB")
            image.thumbnail((350, 274))
            pixels = np.asarray(image, dtype=np.float64) / 255.0
    except (UnidentifiedImageError, OSError) as err:
        raise UserError(f"scream_dsprites: {path} is not a readable image ({err}); pass a JPEG or PNG") from None
    if min(pixels.shape[:2]) <= IMAGE:
        raise UserError(f"scream_dsprites: {path} is {pixels.shape[1]}x{pixels.shape[0]} pixels after the "
                        f"reference's shrink to fit 350x274; a background needs more than {IMAGE} in each direction")
    return pixels
