"""Traversals (Higgins et al. 2017, Fig. 7): decode one anchor with a single axis turned, the others held.

What can be turned is what the model declares (``models/base.py``): its ``axes``, most informative first
(a VAE's latents ordered by KL and swept in aggregate-posterior standard deviations, an InfoGAN's codes
through their categories and their prior's range), around ``anchors`` (a VAE's encoded images, a GAN's
prior draws).  Nothing here asks which model it draws.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..models.base import Axis

QUICK_CALLS = 10   # a quick look (the report, TensorBoard): at most this many network calls per decoded image


@torch.no_grad()
def traversal_sweeps(model, anchors: torch.Tensor, axes: Sequence[Axis]) -> list[np.ndarray]:
    """anchors (N, P) -> one array (N, S_r, C, H, W) per axis: every decode the grids and the animation show,
    made once (a diffusion decoder spends ``ddim_steps`` network calls on each)."""
    return [model.traverse(anchors, axis).cpu().numpy() for axis in axes]


@torch.no_grad()
def traversal_grid(model, anchor: torch.Tensor, axes: Sequence[Axis], *,
                   rows: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """One anchor point (1, P) -> (R, S, C, H, W) in [0, 1]: row r turns axes[r]; S is the longest sweep and
    a shorter row (a 3-way categorical code among 9-step sweeps) is white past its end.  ``rows``: the anchor's
    decoded sweeps (S_r, C, H, W), one per axis, if already made (``traversal_sweeps``)."""
    if rows is None:
        rows = [model.traverse(anchor, axis)[0].cpu().numpy() for axis in axes]     # (S_r, C, H, W) each
    width = max(len(r) for r in rows)
    grid = np.ones((len(rows), width, *rows[0].shape[1:]), dtype=np.float32)
    for i, row in enumerate(rows):
        grid[i, :len(row)] = row
    return grid


def column_labels(axes: Sequence[Axis]) -> list[str]:
    """The column labels of a traversal grid: those of the longest sweep (the first of that length)."""
    longest = max(axes, key=lambda a: a.steps)
    return list(longest.labels)


def _font(size: int = 12):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def grid_image(grid: np.ndarray, row_labels: list[str] | None = None, cell: int = 64, pad: int = 2,
               col_labels: list[str] | None = None, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """(R, S, C, H, W) in [0, 1] -> a PIL image, with optional row labels (left) and column labels (top); the
    ``background`` shows between cells (grey for scenes that are white to their edges)."""
    rows, cols, channels = grid.shape[:3]
    font = _font()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([40] + [int(measure.textlength(t, font=font)) + 10 for t in row_labels]) if row_labels else 0
    top = 18 if col_labels else 0
    canvas = Image.new("RGB", (label_w + cols * (cell + pad) + pad, top + rows * (cell + pad) + pad), background)
    draw = ImageDraw.Draw(canvas)
    for r in range(rows):
        for c in range(cols):
            img = np.clip(grid[r, c], 0, 1)
            img = np.repeat(img, 3, 0) if channels == 1 else img[:3]
            tile = Image.fromarray((img.transpose(1, 2, 0) * 255).round().astype(np.uint8))
            canvas.paste(tile.resize((cell, cell), Image.NEAREST), (label_w + pad + c * (cell + pad), top + pad + r * (cell + pad)))
        if row_labels:
            draw.text((4, top + pad + r * (cell + pad) + cell // 2 - 7), row_labels[r], fill=(0, 0, 0), font=font)
    for c, text in enumerate(col_labels or []):
        x = label_w + pad + c * (cell + pad) + (cell - measure.textlength(text, font=font)) / 2
        draw.text((x, 2), text, fill=(0, 0, 0), font=font)
    return canvas


def save_traversal(model, anchor: torch.Tensor, axes: Sequence[Axis], path: str | Path, *,
                   rows: Sequence[np.ndarray] | None = None) -> Path:
    """Write the traversal PNG of one anchor point (1, P): one row per axis (its title), one column per step
    (``rows``: its decoded sweeps, if already made)."""
    grid = traversal_grid(model, anchor, axes, rows=rows)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(grid, [a.title for a in axes], col_labels=column_labels(axes)).save(path)
    return path


@torch.no_grad()
def traversal_grid_array(model, images: torch.Tensor, *, steps: int = 9) -> np.ndarray:
    """(H, W, 3) uint8 traversal grid around the first of ``images`` (the rest give the axes' statistics) —
    e.g. for TensorBoard's add_image."""
    axes = model.axes(images, steps=steps)
    grid = traversal_grid(model, model.anchors(images[:1], torch.Generator().manual_seed(0)), axes)
    return np.asarray(grid_image(grid, [a.name for a in axes], cell=32))


def tensorboard_traversal(model, dataset, step: int, writer, *, n: int = 256) -> None:
    """A training hook (``train(hooks=...)``): the traversal grid of a fixed draw of ``n`` images, as a
    TensorBoard image at ``step``.  Draws from its own generator, so training's numbers do not change."""
    if writer is None:
        return
    device = next(model.parameters()).device
    images = torch.from_numpy(dataset.sample(n, np.random.default_rng(0))[0]).to(device)
    with model.quick_decoding(QUICK_CALLS):              # a diffusion model: fewer DDIM steps for a glance
        grid = traversal_grid_array(model, images)
    writer.add_image("traversal", grid, step, dataformats="HWC")
