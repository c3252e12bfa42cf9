"""The traversal animation: every axis sweeps at once, side by side, one column per axis."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..models.base import Axis
from .traversal import _font, grid_image


def frame_indices(steps: int) -> list[int]:
    """Ping-pong over the sweep: 0, 1, ..., S-1, S-2, ..., 1 (2S - 2 frames, then it loops)."""
    return list(range(steps)) + list(range(steps - 2, 0, -1))


def save_traversal_gif(model, anchors: torch.Tensor, axes: Sequence[Axis], path: str | Path, *,
                       cell: int = 64, duration_ms: int = 120, sweeps: Sequence[np.ndarray] | None = None) -> Path:
    """Write an animated GIF: rows are the ``anchors`` (N, P), columns the ``axes``.

    In frame f every column's axis sits at step s(f) of its sweep (a shorter sweep, such as a categorical
    code's, at the same fraction of its length), the others at the anchor.  A bar at the bottom shows where
    the sweep is.  ``sweeps``: the decoded sweeps (N, S_r, C, H, W) per axis if already made
    (``traversal_sweeps``).  Returns ``path``.
    """
    if sweeps is None:
        with torch.no_grad():
            sweeps = [model.traverse(anchors, axis).cpu().numpy() for axis in axes]    # (N, S_r, C, H, W) each
    steps = max(a.steps for a in axes)
    labels = [a.title for a in axes]
    font = _font()
    frames = []
    for s in frame_indices(steps):
        at = [round(s * (len(sw[0]) - 1) / max(steps - 1, 1)) for sw in sweeps]        # each column's step
        cells = np.stack([sw[:, a] for sw, a in zip(sweeps, at)], 1)                     # (N, R, C, H, W)
        frame = grid_image(cells, [f"seed {i}" for i in range(len(anchors))], cell=cell, col_labels=labels)
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
