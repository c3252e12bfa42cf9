"""The traversal animation: every latent sweeps at once, side by side, one column per latent."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from .traversal import _font, grid_image, traverse


def frame_indices(steps: int) -> list[int]:
    """Ping-pong over the sweep: 0, 1, ..., S-1, S-2, ..., 1 (2S - 2 frames, then it loops)."""
    return list(range(steps)) + list(range(steps - 2, 0, -1))


def save_traversal_gif(model, images: torch.Tensor, path: str | Path, *, values: np.ndarray,
                       latents: Sequence[int], col_labels: list[str] | None = None,
                       cell: int = 64, duration_ms: int = 120) -> Path:
    """Write an animated GIF: rows are the seed ``images`` (N, C, H, W), columns the ``latents``.

    In frame f every column's latent sits at its shift ``values[d, s(f)]`` ((D, S) or (S,)), the others
    at the seed's mean code.  A bar at the bottom shows where the sweep is.  Returns ``path``.
    """
    grids = np.stack([traverse(model, img, values, latents) for img in images])  # (N, R, S, C, H, W)
    steps = grids.shape[2]
    labels = col_labels or [f"z{d}" for d in latents]
    font = _font()
    frames = []
    for s in frame_indices(steps):
        frame = grid_image(grids[:, :, s], [f"seed {i}" for i in range(len(images))], cell=cell, col_labels=labels)
        width, height = frame.size
        canvas = frame.crop((0, 0, width, height + 22))                 # room for the position bar
        draw = ImageDraw.Draw(canvas)
        draw.rectangle((0, height, width, height + 22), fill=(255, 255, 255))
        x0, x1 = 70, width - 70
        draw.line((x0, height + 11, x1, height + 11), fill=(180, 180, 180), width=3)
        x = x0 + (x1 - x0) * s / (steps - 1)
        draw.ellipse((x - 6, height + 5, x + 6, height + 17), fill=(200, 60, 40))
        draw.text((4, height + 4), f"{s + 1}/{steps}", fill=(0, 0, 0), font=font)
        frames.append(canvas.convert("P", palette=Image.Palette.ADAPTIVE, colors=256))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0, disposal=1)
    return path
