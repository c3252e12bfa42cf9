"""DIP-VAE (Kumar et al. 2018, Eq. 6 and 7): ELBO plus a moment-matching penalty

    λ_od Σ_{i≠j} C_ij² + λ_d Σ_i (C_ii − 1)²

on C = Cov_p(x)[μ(x)] (type I) or C = Cov_q(z)[z] = E[diag σ²(x)] + Cov[μ(x)]
(type II), estimated on the minibatch.  Study grid: λ_od ∈ {1, 2, 5, 10, 20, 50},
λ_d = 10·λ_od for type I and λ_d = λ_od for type II (the default when λ_d is unset).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from . import base
from ._math import gaussian_kl

TYPES = ("i", "ii")


@dataclass(frozen=True)
class DIPVAEParams(base.Params):
    type: str = "i"                     # i | ii
    lambda_od: float = 10.0             # off-diagonal weight
    lambda_d: Optional[float] = None    # diagonal weight; None: 10·λ_od (type i) or λ_od (type ii)

    def validate(self) -> None:
        base.require(self.type in TYPES, f"unknown penalty.type {self.type!r}; choose one of: {', '.join(TYPES)}")
        base.require(self.lambda_od >= 0, f"penalty.lambda_od must be >= 0, got {self.lambda_od}")
        base.require(self.lambda_d is None or self.lambda_d >= 0, f"penalty.lambda_d must be >= 0, got {self.lambda_d}")

    @property
    def diagonal_weight(self) -> float:
        if self.lambda_d is not None:
            return self.lambda_d
        return 10.0 * self.lambda_od if self.type == "i" else self.lambda_od


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Biased (1/B) covariance of the rows of x (B, D) -> (D, D), as disentanglement_lib computes it."""
    centred = x - x.mean(0, keepdim=True)
    return centred.T @ centred / len(x)


class DIPVAE(base.Penalty):
    Params = DIPVAEParams

    def forward(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        p = self.params
        kl = gaussian_kl(q.mu, q.logvar).sum(1).mean()
        cov = covariance(q.mu)                                                  # (D, D)
        if p.type == "ii":
            cov = cov + torch.diag(q.logvar.exp().mean(0))
        diag = torch.diagonal(cov)
        off = (cov.pow(2).sum() - diag.pow(2).sum())
        on = (diag - 1).pow(2).sum()
        return kl + p.lambda_od * off + p.diagonal_weight * on, {"kl": kl, "cov_off": off, "cov_diag": on}
