"""MIG as Chen et al. 2018 compute it ("Isolating Sources of Disentanglement in VAEs", Sec. 5 and Appendix;
their repository rtqichen/beta-tcvae, ``disentanglement_metrics.py``): entropies of the aggregate posterior
estimated by sampling, over the *whole* factor grid — not the histogram MIG of disentanglement_lib (``mig``).

With q(z|x_n) = N(μ_n, σ_n²) factorial for every grid point n (N = the grid's size) and one sample z_n ~ q(z|x_n):

    H(z_j)       = E[−log q(z_j)],  q(z_j) = 1/N Σ_n q(z_j|x_n),
                   estimated on min(n_samples, N) of the samples drawn without replacement
    H(z_j | v_k) = 1/|V_k| Σ_v  the same estimate on the grid points with factor k = v
    I(z_j; v_k)  = H(z_j) − H(z_j | v_k)
    MIG          = mean_k (I_(1)k − I_(2)k) / log |V_k|,  I_(1) ≥ I_(2) the two largest over j, clamped at 0 first

The quirks of their code kept here, so numbers match (tests/test_mig_sampled.py: golden values from their code
run on the same posteriors): the samples are drawn once, in float32, as randn(N, K)·σ + μ with σ = exp(log σ)
= exp(logvar / 2); each entropy estimate draws randperm(N') for its subset, in the order marginal, then factor
by factor and value by value (so a torch.Generator seeded as their torch.manual_seed gives the same draws); MI is
clamped at 0 after sorting; H(v_k) = log |V_k| (the grid is uniform).  On dSprites they do not condition on the
shape (its three values are left out; ``condition`` = scale, orientation, posX, posY), as ``evaluate`` does.
Log-densities in float32 as theirs, sums over samples in float64 (agreement to ~1e-6 of a nat).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm


def sampled_entropies(samples: torch.Tensor, mu: torch.Tensor, logsigma: torch.Tensor, *, n_samples: int,
                      generator: torch.Generator, max_elements: int = 1 << 24) -> torch.Tensor:
    """samples, mu, logsigma (N, K) -> (K,) estimates of H(z_j) under q(z_j) = 1/N Σ_n N(μ_nj, σ_nj²), in nats,
    from min(n_samples, N) of the samples drawn without replacement."""
    n = len(samples)
    chosen = samples[torch.randperm(n, generator=generator)[:n_samples]].to(mu.device)    # (S, K)
    inv = torch.exp(-logsigma)
    const = -logsigma - 0.5 * math.log(2 * math.pi)                                       # (N, K)
    chunk = max(1, max_elements // max(1, mu.numel()))
    total = torch.zeros(mu.shape[1], dtype=torch.float64, device=mu.device)
    for start in range(0, len(chosen), chunk):
        x = chosen[start:start + chunk, None, :]                                           # (c, 1, K)
        log_q = const[None] - 0.5 * ((x - mu[None]) * inv[None]).square()                 # (c, N, K), float32
        total -= (torch.logsumexp(log_q, dim=1).double() - math.log(n)).sum(0)            # sums in float64
    return (total / len(chosen)).cpu()


def mig_sampled(mu, logvar, sizes: Sequence[int], *, condition: Sequence[int] | None = None, n_samples: int = 10000,
                seed: int = 0, device: str | torch.device = "cpu", progress: bool = False) -> dict:
    """Chen et al.'s sampled MIG of a Gaussian posterior over a full factor grid.

    mu, logvar (N, K): the posterior of every grid point, in the grid's order (the last factor fastest; N =
    prod(sizes)).  ``condition``: the factors whose conditional entropies are estimated (default all; dSprites:
    1..4, not the shape).  Returns {"mig_sampled": float, "mig_sampled.<k>": the gap of each conditioned factor
    (by index), "mig_sampled.mi": (len(condition), K) normalised MI as a nested list}.

    Cost: (1 + len(condition)) · min(n_samples, N) · N · K Gaussian log-densities — on the dSprites grid with 10
    latents about 4e11, hours on a CPU core, minutes on a GPU (``device``; the draws stay on the CPU generator, so
    the numbers do not depend on it).
    """
    sizes = [int(s) for s in sizes]
    mu = torch.as_tensor(np.asarray(mu), dtype=torch.float32)
    logsigma = 0.5 * torch.as_tensor(np.asarray(logvar), dtype=torch.float32)
    if mu.ndim != 2 or mu.shape != logsigma.shape:
        raise ValueError(f"mu and logvar must both be (N, K); got {tuple(mu.shape)} and {tuple(logsigma.shape)}")
    n, k = mu.shape
    if n != math.prod(sizes):
        raise ValueError(f"the sampled MIG needs the posterior of every factor combination: {math.prod(sizes)} for "
                         f"sizes {sizes}, got {n}")
    if k < 2:
        raise ValueError(f"MIG compares the two most informative latents: needs at least 2, got {k}")
    condition = list(range(len(sizes))) if condition is None else [int(c) for c in condition]
    if not condition or any(not 0 <= c < len(sizes) or sizes[c] < 2 for c in condition):
        raise ValueError(f"condition must name factors with at least 2 values among 0..{len(sizes) - 1}; got {condition}")
    generator = torch.Generator().manual_seed(int(seed))
    samples = torch.randn(n, k, generator=generator) * torch.exp(logsigma) + mu            # (N, K), float32
    mu_d, logsigma_d = mu.to(device), logsigma.to(device)
    total = 1 + sum(sizes[f] for f in condition)
    bar = tqdm(total=total, desc="mig_sampled: entropies", disable=not progress, unit="estimate")
    marginal = sampled_entropies(samples, mu_d, logsigma_d, n_samples=n_samples, generator=generator)
    bar.update()
    grid = (sizes, k)
    cond = torch.zeros(len(condition), k, dtype=torch.float64)
    for row, f in enumerate(condition):
        for v in range(sizes[f]):
            index = [slice(None)] * len(sizes)
            index[f] = v
            part = [t.view(*grid[0], grid[1])[tuple(index)].reshape(-1, k) for t in (samples, mu_d, logsigma_d)]
            cond[row] += sampled_entropies(*part, n_samples=n_samples, generator=generator) / sizes[f]
            bar.update()
    bar.close()
    mi = (marginal[None] - cond).sort(dim=1, descending=True).values.clamp(min=0)           # (L, K)
    normed = mi / torch.tensor([math.log(sizes[f]) for f in condition], dtype=torch.float64)[:, None]
    gaps = (normed[:, 0] - normed[:, 1]).numpy()
    return {"mig_sampled": float(gaps.mean()), **{f"mig_sampled.{f}": float(g) for f, g in zip(condition, gaps)},
            "mig_sampled.mi": normed.numpy().round(6).tolist(),
            "marginal_entropies": marginal.numpy().tolist(), "conditional_entropies": cond.numpy().tolist()}
