"""Latent traversals (Higgins et al. 2017, Fig. 7): decode one code with a single latent swept, the others held.

Latents are shown most informative first: ordered by their mean KL(q(z_d|x) || N(0, 1)) over the data
(Kingma & Welling 2014, Eq. 10, per dimension).  A sweep is ``steps`` shifts in [-limit, limit], either in
prior units (``scale="fixed"``) or in standard deviations of the aggregate posterior of each latent
(``scale="std"``: std_d^2 = Var_x[mu_d(x)] + E_x[sigma_d^2(x)]).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..errors import UserError
from ..penalties._math import gaussian_kl
from .code_traversal import base_codes, code_traversal, is_code_model

SCALES = ("fixed", "std")


@torch.no_grad()
def posterior_stats(model, images: torch.Tensor, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """images (N, C, H, W) -> (kl (D,) mean nats per latent, std (D,) of the aggregate posterior)."""
    mus, logvars = zip(*(model.encode(images[i:i + batch]) for i in range(0, len(images), batch)))
    mu, logvar = torch.cat(mus).double(), torch.cat(logvars).double()      # (N, D) each
    kl = gaussian_kl(mu, logvar).mean(0)                                   # (D,)
    std = (mu.var(0, unbiased=False) + logvar.exp().mean(0)).sqrt()        # (D,)
    return kl.cpu().numpy(), std.cpu().numpy()


def latent_order(kl: np.ndarray) -> np.ndarray:
    """(D,) KL -> latent indices, most informative first (ties keep index order)."""
    return np.argsort(-np.asarray(kl), kind="stable")


def sweep_values(dim: int, *, limit: float = 2.0, steps: int = 9, scale: str = "fixed",
                 std: np.ndarray | None = None) -> np.ndarray:
    """(D, S) shifts of each latent: linspace(-limit, limit, steps), times std_d when ``scale="std"``."""
    if scale not in SCALES:
        raise UserError(f"unknown traversal scale {scale!r}; choose one of: {', '.join(SCALES)}")
    if steps < 2 or not limit > 0:
        raise UserError(f"a traversal needs steps >= 2 and limit > 0, got steps={steps}, limit={limit}")
    base = np.linspace(-limit, limit, steps)[None].repeat(dim, 0)          # (D, S)
    if scale == "std":
        if std is None:
            raise UserError("scale='std' needs the posterior std of each latent (viz.posterior_stats)")
        base = base * np.asarray(std, dtype=np.float64)[:, None]
    return base


def check_latents(latents: Sequence[int], dim: int) -> list[int]:
    """The latent indices as ints; a UserError if one is outside [0, dim)."""
    bad = [int(d) for d in latents if not 0 <= int(d) < dim]
    if bad:
        raise UserError(f"latent index {bad[0]} is out of range: this model has {dim} latents (0..{dim - 1})")
    return [int(d) for d in latents]


@torch.no_grad()
def traverse(model, image: torch.Tensor, values: np.ndarray, latents: Sequence[int] | None = None) -> np.ndarray:
    """Decode the mean code of ``image`` (C, H, W) with one latent at a time shifted by ``values``.

    ``values`` is (S,) for all latents or (D, S) per latent; ``latents`` picks and orders the rows.
    Returns (R, S, C, H, W) float32 in [0, 1]: row r is latent latents[r] at mu + values[.., s].
    """
    mu, _ = model.encode(image[None])                                       # (1, D)
    d = mu.shape[1]
    rows = check_latents(range(d) if latents is None else latents, d)
    vals = np.asarray(values, dtype=np.float64)
    vals = vals[None].repeat(d, 0) if vals.ndim == 1 else vals              # (D, S)
    r, s = len(rows), vals.shape[1]
    idx = torch.as_tensor(rows, device=mu.device)
    codes = mu.repeat(r * s, 1).view(r, s, d)                               # (R, S, D)
    shift = torch.as_tensor(vals[rows], dtype=mu.dtype, device=mu.device)   # (R, S)
    codes[torch.arange(r, device=mu.device), :, idx] += shift               # latent rows[r] of row r sweeps
    out = model.decode(codes.view(r * s, d))                                # (R*S, C, H, W)
    return out.view(r, s, *out.shape[1:]).float().cpu().numpy()


def _font(size: int = 12):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the fixed bitmap font
        return ImageFont.load_default()


def grid_image(grid: np.ndarray, row_labels: list[str] | None = None, cell: int = 64, pad: int = 2,
               col_labels: list[str] | None = None) -> Image.Image:
    """(R, S, C, H, W) in [0, 1] -> a PIL image, with optional row labels (left) and column labels (top)."""
    rows, cols, channels = grid.shape[:3]
    font = _font()
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max([40] + [int(measure.textlength(t, font=font)) + 10 for t in row_labels]) if row_labels else 0
    top = 18 if col_labels else 0
    canvas = Image.new("RGB", (label_w + cols * (cell + pad) + pad, top + rows * (cell + pad) + pad), (255, 255, 255))
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


def traversal_grid_array(model, image: torch.Tensor, *, limit: float = 2.0, steps: int = 9) -> np.ndarray:
    """(H, W, 3) uint8 traversal grid of ``image`` (latents as rows) — e.g. for TensorBoard's add_image.

    For a code model (InfoGAN) ``image`` is not used: its codes are swept around a fixed noise (seed 0)."""
    if is_code_model(model):
        grid, rows, _ = code_traversal(model, base_codes(model, 1), steps=steps)
        return np.asarray(grid_image(grid, rows, cell=32))
    grid = traverse(model, image, np.linspace(-limit, limit, steps))
    return np.asarray(grid_image(grid, [f"z{d}" for d in range(grid.shape[0])], cell=32))


def save_traversal(model, image: torch.Tensor, path: str | Path, *, limit: float = 2.0, steps: int = 9,
                   latents: Sequence[int] | None = None, row_labels: list[str] | None = None,
                   values: np.ndarray | None = None, col_labels: list[str] | None = None) -> Path:
    """Write the traversal PNG of ``image``: latents as rows, ``steps`` values in [-limit, limit].

    ``values`` (S,) or (D, S) overrides the fixed sweep; ``latents`` picks and orders the rows.
    A code model (InfoGAN) sweeps each of its codes around a fixed noise (seed 0) instead; ``image`` is not used.
    """
    if is_code_model(model):
        grid, rows, cols = code_traversal(model, base_codes(model, 1), steps=steps)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        grid_image(grid, rows, col_labels=cols).save(path)
        return path
    vals = np.linspace(-limit, limit, steps) if values is None else values
    grid = traverse(model, image, vals, latents)
    rows = list(range(grid.shape[0])) if latents is None else list(latents)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(grid, row_labels or [f"z{d}" for d in rows], col_labels=col_labels).save(path)
    return path
