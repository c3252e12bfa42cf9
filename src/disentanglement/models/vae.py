"""The VAE backbone: encoder + decoder + reconstruction loss + one disentangling penalty.

loss = E_q[-log p(x|z)] + penalty(q), with z = mu + exp(logvar / 2) * eps
(Kingma & Welling 2014, Eq. 10).  Reconstruction losses follow disentanglement_lib:

- ``bernoulli``: sigmoid cross-entropy of the decoder logits, summed over pixels (binary images);
- ``gaussian``: squared error of sigmoid(logits), summed over pixels (the reference's ``l2_loss``).

Both are averaged over the batch, so the KL and reconstruction are in nats per image.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..penalties.base import Penalty, Posterior
from .base import Batch, Phase

RECONSTRUCTIONS = ("bernoulli", "gaussian")


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """(B, C, H, W) logits and targets -> scalar, summed over pixels, mean over the batch."""
    if kind == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif kind == "gaussian":
        per_pixel = (torch.sigmoid(logits) - x).pow(2)
    else:
        raise ValueError(f"unknown reconstruction {kind!r}; choose one of {', '.join(RECONSTRUCTIONS)}")
    return per_pixel.flatten(1).sum(1).mean()


class VAE(nn.Module):
    representation_name = "encoder mean"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, penalty: Penalty, reconstruction: str = "bernoulli"):
        super().__init__()
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"unknown reconstruction {reconstruction!r}; choose one of {', '.join(RECONSTRUCTIONS)}")
        self.encoder, self.decoder, self.penalty = encoder, decoder, penalty
        self.reconstruction = reconstruction

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) -> mu (B, D), logvar (B, D)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> mean image (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: torch.Tensor, step: int, generator: torch.Generator | None = None):
        """One batch -> (loss, logs, posterior).  ``generator`` drives eps, so resumed runs repeat exactly."""
        mu, logvar = (t.float() for t in self.encoder(x))                       # (B, D) each, fp32 under autocast
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps                                  # (B, D)
        recon = reconstruction_loss(self.decoder(z).float(), x, self.reconstruction)
        q = Posterior(mu=mu, logvar=logvar, z=z, step=step, generator=generator)
        penalty, logs = self.penalty(q)
        loss = recon + penalty
        return loss, {"loss": loss, "recon": recon, **logs}, q

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> the encoder mean (B, D): the representation the metrics score (Locatello et al. 2019)."""
        return self.encoder(x)[0]

    def phases(self) -> list[Phase]:
        """'main' minimises the loss over everything but the penalty's own network; a penalty with
        ``aux_loss`` / ``aux_optimizer`` (FactorVAE's discriminator) gets a second phase, 'penalty'."""
        if not hasattr(self.penalty, "aux_loss"):
            return [Phase("main", list(self.parameters()), self._main_loss)]
        own = {id(p) for p in self.penalty.parameters()}
        main = [p for p in self.parameters() if id(p) not in own]
        return [Phase("main", main, self._main_loss),
                Phase("penalty", list(self.penalty.parameters()), lambda b: self.penalty.aux_loss(b.shared["q"]),
                      self.penalty.aux_optimizer)]

    def _main_loss(self, batch: Batch):
        loss, logs, batch.shared["q"] = self(batch.x, batch.step, batch.generator)
        return loss, logs
