"""Traversals of a GAN's structured code (InfoGAN, Chen et al. 2016, Fig. 2-5): hold the noise and every
other code fixed, and sweep one code — a categorical code through each of its categories, a continuous
code over linspace(-limit, limit, steps) (its prior is U[-1, 1]; InfoGAN shows [-2, 2] to extrapolate).
"""
from __future__ import annotations

import numpy as np
import torch

from ..models.infogan import Code


def is_code_model(model) -> bool:
    """Models that generate from a structured code (``sample_code`` / ``generate``) rather than decode a posterior."""
    return hasattr(model, "sample_code") and hasattr(model, "generate")


def base_codes(model, n: int, seed: int = 0) -> Code:
    """n fixed anchors: noise from ``seed``, categories drawn, continuous codes at 0 (row 0: category 0)."""
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    code = model.sample_code(n, gen, torch.device("cpu"))
    code.continuous.zero_()
    code.categorical[:1] = 0
    return code.to(device)


@torch.no_grad()
def code_traversal(model, code: Code, *, limit: float = 1.0, steps: int = 9) -> tuple[np.ndarray, list[str], list[str]]:
    """Sweep each code of the one-row ``code``: (R, S, C, H, W) in [0, 1], row labels, column labels.

    Rows are the categorical codes, then the continuous codes; S = max(steps, largest category count).
    A categorical row (label ``catJ: 0..k-1``) shows category s in column s, blank (white) past its size;
    the column labels are the continuous values.
    """
    cats, n_cont = list(model.params.categorical), model.params.continuous
    width = max([steps, *cats])
    values = np.linspace(-limit, limit, steps)
    rows, labels = [], []
    for j, k in enumerate(cats):
        sweep = Code(code.noise.repeat(k, 1), code.categorical.repeat(k, 1), code.continuous.repeat(k, 1))
        sweep.categorical[:, j] = torch.arange(k, device=sweep.categorical.device)
        rows.append((model.generate(sweep), k))
        labels.append(f"cat{j}: 0..{k - 1}")
    for j in range(n_cont):
        sweep = Code(code.noise.repeat(steps, 1), code.categorical.repeat(steps, 1), code.continuous.repeat(steps, 1))
        sweep.continuous[:, j] = torch.as_tensor(values, dtype=sweep.continuous.dtype, device=sweep.continuous.device)
        rows.append((model.generate(sweep), steps))
        labels.append(f"c{j}")
    shape = tuple(model.observation_shape)
    grid = np.ones((len(rows), width, *shape), dtype=np.float32)
    for r, (images, count) in enumerate(rows):
        grid[r, :count] = images.float().cpu().numpy()
    # column labels: the continuous values (a categorical row's column s is category s), or the categories
    cols = [f"{v:+.2g}" for v in values] + [""] * (width - steps) if n_cont else [str(s) for s in range(width)]
    return grid, labels, cols


@torch.no_grad()
def code_traversal_effects(model, readout, *, seeds: int = 32, seed: int = 0, limit: float = 1.0, steps: int = 9,
                           batch: int = 1024) -> np.ndarray:
    """effect (R, K) of each code on each factor: the traversal score's matrix (viz.traversal_score) for a code model.

    Anchors are ``seeds`` draws of noise and codes from the prior (a VAE's are encoded images).  Row r sweeps
    code r — a categorical code through its categories, a continuous one over linspace(-limit, limit, steps) —
    and effect[r, k] is the mean over anchors of (max - min) of factor k as ``readout(images) -> (B, K)`` reads it.
    """
    device = next(model.parameters()).device
    anchors = model.sample_code(seeds, torch.Generator().manual_seed(seed), torch.device("cpu"))
    anchors = anchors.to(device)
    sweeps = [("categorical", j, torch.arange(k, device=device)) for j, k in enumerate(model.params.categorical)]
    sweeps += [("continuous", j, torch.linspace(-limit, limit, steps, device=device))
               for j in range(model.params.continuous)]
    rows = []
    for kind, j, values in sweeps:
        s = len(values)
        code = Code(anchors.noise.repeat_interleave(s, 0), anchors.categorical.repeat_interleave(s, 0),
                    anchors.continuous.repeat_interleave(s, 0))                       # (N*S, ...), anchor-major
        getattr(code, kind)[:, j] = values.repeat(seeds).to(getattr(code, kind).dtype)
        read = torch.cat([readout(model.generate(code.rows(i, i + batch)))
                          for i in range(0, seeds * s, batch)])                         # (N*S, K)
        read = read.view(seeds, s, -1)
        rows.append((read.amax(1) - read.amin(1)).mean(0))                              # (K,)
    return torch.stack(rows).double().cpu().numpy()
