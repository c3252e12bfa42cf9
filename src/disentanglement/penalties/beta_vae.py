"""β-VAE (Higgins et al. 2017, Eq. 4): loss = reconstruction + β · KL(q(z|x) || p(z)).

β = 1 is the plain VAE (Kingma & Welling 2014); the study's grid is β ∈ {1, 2, 4, 6, 8, 16}.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import base
from ._math import gaussian_kl


@dataclass(frozen=True)
class BetaVAEParams(base.Params):
    beta: float = 1.0  # weight of the KL term; 1 = plain VAE

    def validate(self) -> None:
        base.require(self.beta >= 0, f"penalty.beta must be >= 0, got {self.beta}")


class BetaVAE(base.Penalty):
    Params = BetaVAEParams

    def forward(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        kl = gaussian_kl(q.mu, q.logvar).sum(1).mean()  # (B, D) -> scalar, nats per image
        return self.params.beta * kl, {"kl": kl}
