"""Reconstructions: the originals above the decoded posterior means."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .traversal import grid_image


@torch.no_grad()
def reconstruct(model, images: torch.Tensor) -> np.ndarray:
    """images (N, C, H, W) -> (2, N, C, H, W) float32: row 0 the originals, row 1 decode(mu(x))."""
    mu, _ = model.encode(images)                                  # (N, D)
    recon = model.decode(mu)                                      # (N, C, H, W)
    return torch.stack([images, recon]).float().cpu().numpy()


def save_reconstructions(model, images: torch.Tensor, path: str | Path, *, cell: int = 64) -> Path:
    """Write the PNG of ``images`` (top row) and their reconstructions (bottom row)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(reconstruct(model, images), ["input", "recon."], cell=cell).save(path)
    return path
