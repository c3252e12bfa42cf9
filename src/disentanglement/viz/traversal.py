"""Latent traversals: one row per latent, the decoded image as that latent sweeps, the others held."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw


@torch.no_grad()
def traverse(model, image: torch.Tensor, values: np.ndarray) -> np.ndarray:
    """Decode the mean code of ``image`` (C, H, W) with latent d shifted by each of ``values``.

    Returns (D, S, C, H, W) float32 in [0, 1]: row d is latent d at mu_d + values[s].
    """
    mu, _ = model.encode(image[None])                          # (1, D)
    d, s = mu.shape[1], len(values)
    codes = mu.repeat(d * s, 1).view(d, s, d)                  # (D, S, D)
    shift = torch.as_tensor(values, dtype=mu.dtype, device=mu.device)
    idx = torch.arange(d, device=mu.device)
    codes[idx, :, idx] += shift                                # latent d of row d sweeps
    out = model.decode(codes.view(d * s, d))                   # (D*S, C, H, W)
    return out.view(d, s, *out.shape[1:]).float().cpu().numpy()


def grid_image(grid: np.ndarray, row_labels: list[str] | None = None, cell: int = 64, pad: int = 2) -> Image.Image:
    """(R, S, C, H, W) in [0, 1] -> a PIL image with optional row labels on the left."""
    rows, cols, channels = grid.shape[:3]
    label_w = 40 if row_labels else 0
    canvas = Image.new("RGB", (label_w + cols * (cell + pad) + pad, rows * (cell + pad) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r in range(rows):
        for c in range(cols):
            img = np.clip(grid[r, c], 0, 1)
            img = np.repeat(img, 3, 0) if channels == 1 else img[:3]
            tile = Image.fromarray((img.transpose(1, 2, 0) * 255).round().astype(np.uint8))
            tile = tile.resize((cell, cell), Image.NEAREST)
            canvas.paste(tile, (label_w + pad + c * (cell + pad), pad + r * (cell + pad)))
        if row_labels:
            draw.text((4, pad + r * (cell + pad) + cell // 2 - 6), row_labels[r], fill=(0, 0, 0))
    return canvas


def save_traversal(model, image: torch.Tensor, path: str | Path, *, limit: float = 2.0, steps: int = 9) -> Path:
    """Write the traversal PNG of ``image``: latents as rows, ``steps`` values in [-limit, limit]."""
    grid = traverse(model, image, np.linspace(-limit, limit, steps))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(grid, [f"z{d}" for d in range(grid.shape[0])]).save(path)
    return path
