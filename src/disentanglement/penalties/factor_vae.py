"""FactorVAE (Kim & Mnih 2018, Eq. 2 and Algorithm 2): ELBO + γ · TC, with

    TC(z) ≈ E_q(z)[log D(z) / (1 − D(z))]

estimated by a discriminator that tells samples of q(z) from samples of
Π_d q(z_d) (the batch with each dimension permuted independently).  The
discriminator (6 × 1000 leaky-ReLU layers, 2 logits) is trained through
``aux_loss`` with its own Adam (lr 1e-4, betas (0.5, 0.9)), as in the paper.
As in disentanglement_lib, the permuted samples come from the same batch.
Study grid: γ ∈ {10, 20, 30, 40, 50, 100}.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from . import base
from ._math import gaussian_kl


@dataclass(frozen=True)
class FactorVAEParams(base.Params):
    gamma: float = 40.0         # weight of the total correlation
    disc_lr: float = 1e-4
    disc_beta1: float = 0.5
    disc_beta2: float = 0.9

    def validate(self) -> None:
        base.require(self.gamma >= 0, f"penalty.gamma must be >= 0, got {self.gamma}")
        base.require(self.disc_lr > 0, f"penalty.disc_lr must be > 0, got {self.disc_lr}")
        for name in ("disc_beta1", "disc_beta2"):
            base.require(0 <= getattr(self, name) < 1, f"penalty.{name} must lie in [0, 1), got {getattr(self, name)}")


def permute_dims(z: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Samples of Π_d q(z_d): each column of z (B, D) shuffled independently (Kim & Mnih, Algorithm 1)."""
    b, d = z.shape
    order = torch.argsort(torch.rand(b, d, generator=generator, device=z.device), dim=0)  # (B, D)
    return torch.gather(z, 0, order)


def discriminator(latent_dim: int, hidden: int = 1000, layers: int = 6) -> nn.Sequential:
    mods: list[nn.Module] = []
    width = latent_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    return nn.Sequential(*mods, nn.Linear(width, 2))   # logits: (real q(z), permuted)


class FactorVAE(base.Penalty):
    Params = FactorVAEParams

    def __init__(self, params: FactorVAEParams | None = None, *, dataset_size: int | None = None,
                 latent_dim: int = 10):
        super().__init__(params, dataset_size=dataset_size, latent_dim=latent_dim)
        self.discriminator = discriminator(latent_dim)

    def forward(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        kl = gaussian_kl(q.mu, q.logvar).sum(1).mean()
        logits = self.discriminator(q.z).float()            # (B, 2), fp32 under autocast
        tc = (logits[:, 0] - logits[:, 1]).mean()           # log D / (1 - D) with a softmax D
        return kl + self.params.gamma * tc, {"kl": kl, "tc": tc}

    def aux_loss(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        z = q.z.detach()
        real = self.discriminator(z).float()
        fake = self.discriminator(permute_dims(z, q.generator)).float()
        zeros = torch.zeros(len(z), dtype=torch.long, device=z.device)
        loss = 0.5 * (F.cross_entropy(real, zeros) + F.cross_entropy(fake, zeros + 1))
        return loss, {"disc_loss": loss}

    def aux_optimizer(self, params) -> torch.optim.Optimizer:
        p = self.params
        return torch.optim.Adam(params, lr=p.disc_lr, betas=(p.disc_beta1, p.disc_beta2))
