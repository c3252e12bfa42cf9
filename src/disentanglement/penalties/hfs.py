"""Hausdorff factorized support (Roth et al. 2023, ICLR, "Disentanglement of Correlated Factors via Hausdorff
Factorized Support", Eq. 5-7): ask the *support* of the latents, not their density, to factorise.

Correlated factors make a factorised density the wrong target (the true latents are not independent), but their
support can still be the product of the marginal supports.  On a batch of encoder means μ (B, D), for a pair of
latents (i, j) the joint support is the point set Z = {(μ_bi, μ_bj)} and the factorised support its product
Z_i × Z_j = {(μ_ai, μ_bj)}; the penalty is the Hausdorff distance from the factorised support to the joint one,

    d_H = max_{u ∈ Z_i × Z_j} min_{v ∈ Z} ||u − v||²,

summed over ``pairs`` random latent pairs (Z ⊂ Z_i × Z_j, so the other direction is 0).  The factorised support
is ``estimators`` random points of the product (0: all B² of them).  ``matching="soft"`` replaces min and max by
softmin / softmax weights at temperatures τ1, τ2 (their ``hausdorff_soft_full_min``).  A support can shrink to
nothing; the scale term δ·Σ_b [relu(1 − max_d μ_bd) + relu(min_d μ_bd)] keeps each code's range over [0, 1]
(their ``minimal_support``, taken over the latents of each code as their code does).  With β·KL beside it, the
loss is β-VAE's plus γ·d_H + δ·scale; β = 0 is HFS alone.

Facts from the authors' repository (facebookresearch/disentangling-correlated-factors,
``dent/losses/factorizedsupportvae.py``; ``grid_searches/correlation_benchmark/dsprites_grid.yaml``): the
hard matching, 25 pairs and 100 support points by default, δ = 1; their dSprites grid sweeps β over 0–16 and γ
over 0.1–10,000 (HFS alone: γ 80–2,000).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import base
from ._math import gaussian_kl

MATCHINGS = ("hard", "soft")
SCALES = ("minimal_support", "none")


@dataclass(frozen=True)
class HFSParams(base.Params):
    beta: float = 1.0               # weight of KL(q(z|x) || p(z)) (β-VAE's term); 0: HFS alone
    gamma: float = 1.0              # weight of the Hausdorff distance
    delta: float = 1.0              # weight of the scale term
    matching: str = "hard"          # hard | soft (softmin / softmax at temperature_1 / temperature_2)
    pairs: int = 25                 # latent pairs per batch (all of them when there are fewer)
    estimators: int = 100           # points of the factorised support per pair; 0: all B^2
    scale: str = "minimal_support"  # minimal_support | none
    temperature_1: float = 1.0
    temperature_2: float = 1.0

    def validate(self) -> None:
        for name in ("beta", "gamma", "delta"):
            base.require(getattr(self, name) >= 0, f"penalty.{name} must be >= 0, got {getattr(self, name)}")
        base.require(self.matching in MATCHINGS, f"unknown penalty.matching {self.matching!r}; choose one of: "
                     f"{', '.join(MATCHINGS)}")
        base.require(self.scale in SCALES, f"unknown penalty.scale {self.scale!r}; choose one of: {', '.join(SCALES)}")
        base.require(self.pairs >= 1, f"penalty.pairs must be >= 1, got {self.pairs}")
        base.require(self.estimators >= 0, f"penalty.estimators must be >= 0 (0: the whole product), got "
                     f"{self.estimators}")
        for name in ("temperature_1", "temperature_2"):
            base.require(getattr(self, name) > 0, f"penalty.{name} must be > 0, got {getattr(self, name)}")


def hausdorff_factorized(z: torch.Tensor, pairs: torch.Tensor, estimators: int = 0, *, matching: str = "hard",
                         temperatures: tuple[float, float] = (1.0, 1.0), generator=None) -> torch.Tensor:
    """Σ over ``pairs`` (P, 2) of the (squared) Hausdorff distance from the factorised support of z (B, D) to its
    joint support; ``estimators`` random points of the product, or all B² (0)."""
    b = z.shape[0]
    joint = z[:, pairs]                                                          # (B, P, 2)
    if estimators:
        idx = torch.randint(0, b, (estimators, len(pairs), 2), generator=generator, device=z.device)
        product = joint.gather(0, idx)                                           # (S, P, 2): coordinates apart
    else:
        a, c = torch.arange(b, device=z.device).repeat(b), torch.arange(b, device=z.device).repeat_interleave(b)
        product = torch.stack([joint[a, :, 0], joint[c, :, 1]], dim=-1)          # (B^2, P, 2)
    d = ((product[:, None] - joint[None]) ** 2).sum(-1)                          # (S, B, P)
    if matching == "hard":
        return d.min(1).values.max(0).values.sum()
    t1, t2 = temperatures
    inner = (torch.softmax(-d / t1, dim=1) * d).sum(1)                           # (S, P): softmin over B
    return (torch.softmax(inner / t2, dim=0) * inner).sum()                      # softmax over S, sum over P


class HFS(base.Penalty):
    Params = HFSParams

    def forward(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        p = self.params
        kl = gaussian_kl(q.mu, q.logvar).sum(1).mean()
        d = q.mu.shape[1]
        every = torch.combinations(torch.arange(d, device=q.mu.device), r=2)      # (D(D-1)/2, 2)
        if len(every) == 0:
            hfs = q.mu.new_zeros(())
        else:
            if p.pairs < len(every):
                every = every[torch.randperm(len(every), generator=q.generator, device=q.mu.device)[:p.pairs]]
            hfs = hausdorff_factorized(q.mu, every, p.estimators, matching=p.matching,
                                       temperatures=(p.temperature_1, p.temperature_2), generator=q.generator)
        scale = (torch.relu(1 - q.mu.max(1).values) + torch.relu(q.mu.min(1).values)).sum() \
            if p.scale == "minimal_support" else q.mu.new_zeros(())
        loss = p.beta * kl + p.gamma * hfs + p.delta * scale
        return loss, {"kl": kl, "hfs": hfs, "hfs_scale": scale}
