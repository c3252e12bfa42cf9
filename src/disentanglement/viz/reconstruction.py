"""Reconstructions (the originals above the decoded posterior means) and samples beside the data."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .traversal import grid_image


@torch.no_grad()
def save_reconstructions(model, images: torch.Tensor, path: str | Path, *, cell: int = 64) -> Optional[Path]:
    """Write the PNG of ``images`` (top row) and ``model.reconstruct`` of them (bottom row); None (nothing
    written) for a model that does not reconstruct (a GAN)."""
    recon = model.reconstruct(images)
    if recon is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = torch.stack([images.float(), recon.float()]).cpu().numpy()            # (2, N, C, H, W)
    grid_image(grid, ["input", "recon."], cell=cell).save(path)
    return path


@torch.no_grad()
def save_samples(model, data: np.ndarray, path: str | Path, *, rows: int = 2, seed: int = 1, cell: int = 64) -> Path:
    """Write data images (N, C, H, W) above ``rows`` rows of N samples from the model's prior."""
    n = len(data)
    fake = model.sample(rows * n, torch.Generator().manual_seed(seed)).float().cpu().numpy()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(np.stack([data, *fake.reshape(rows, n, *data.shape[1:])]), ["data", *["model"] * rows],
               cell=cell).save(path)
    return path
