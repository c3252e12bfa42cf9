"""The VAE backbone: encoder + decoder + reconstruction loss + one disentangling penalty.

loss = E_q[-log p(x|z)] + penalty(q), with z = mu + exp(logvar / 2) * eps
(Kingma & Welling 2014, Eq. 10).  Reconstruction losses follow disentanglement_lib:

- ``bernoulli``: sigmoid cross-entropy of the decoder logits, summed over pixels (binary images);
- ``gaussian``: squared error of sigmoid(logits), summed over pixels (the reference's ``l2_loss``).

Both are averaged over the batch, so the KL and reconstruction are in nats per image.  The penalty is a
setting of the backbone (``vae.penalty``; ``--model beta_tcvae`` is the VAE with that penalty), its own
settings the ``penalty.*`` section.

What a user turns: each latent, shifted from the encoder mean of an image by linspace(-limit, limit, steps)
standard deviations of the aggregate posterior (std_d^2 = Var_x[mu_d(x)] + E_x[sigma_d^2(x)]), most
informative first — ordered by the mean KL(q(z_d|x) || N(0, 1)) over the data (Higgins et al. 2017, Fig. 7).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..nets import ARCHITECTURES, build_vae_nets
from ..params import Params, require
from ..penalties import PENALTIES, Penalty, Posterior
from ..penalties._math import gaussian_kl
from .base import Axis, Backbone, Batch, Phase

RECONSTRUCTIONS = ("bernoulli", "gaussian")
SCALES = ("fixed", "std")
MIN_KL = 0.01          # nats: a latent carrying less is collapsed (inactive)


@dataclass(frozen=True)
class VAEParams(Params):
    latent_dim: int = 10              # D (Locatello et al. 2019)
    net: str = "auto"                 # auto | conv64 | conv64_slim | mlp | chen_* (auto: conv64 for 64x64 images, else mlp)
    reconstruction: str = "bernoulli"  # bernoulli | gaussian
    penalty: str = "beta_vae"         # the disentangling penalty; its settings: penalty.*

    def validate(self) -> None:
        require(self.latent_dim > 0, f"latent_dim must be a positive integer, got {self.latent_dim}")
        require(self.net in ARCHITECTURES, f"unknown net {self.net!r}; choose one of: {', '.join(ARCHITECTURES)}")
        require(self.reconstruction in RECONSTRUCTIONS,
                f"unknown reconstruction {self.reconstruction!r}; choose one of: {', '.join(RECONSTRUCTIONS)}")
        require(self.penalty in PENALTIES, f"unknown penalty {self.penalty!r}; choose one of: {', '.join(PENALTIES)}")


def reconstruction_loss(logits: torch.Tensor, x: torch.Tensor, kind: str) -> torch.Tensor:
    """(B, C, H, W) logits and targets -> scalar, summed over pixels, mean over the batch."""
    if kind == "bernoulli":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    elif kind == "gaussian":
        per_pixel = (torch.sigmoid(logits) - x).pow(2)
    else:
        raise ValueError(f"unknown reconstruction {kind!r}; choose one of {', '.join(RECONSTRUCTIONS)}")
    return per_pixel.flatten(1).sum(1).mean()


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


def latent_axes(model, images: torch.Tensor, *, steps: int = 9, limit: float = 2.0, scale: str = "std",
                names=None) -> list[Axis]:
    """The axes of a Gaussian-posterior model (``model.encode``: images -> mu, logvar), one per latent, most
    informative first (mean KL): shifts linspace(-limit, limit, steps) in aggregate-posterior standard deviations
    of ``images`` (``scale="std"``) or prior units (``"fixed"``); ``names[d]`` names latent d (default z<d>)."""
    if scale not in SCALES:
        raise ValueError(f"unknown traversal scale {scale!r}; choose one of: {', '.join(SCALES)}")
    if steps < 2 or not limit > 0:
        raise ValueError(f"a traversal needs steps >= 2 and limit > 0, got steps={steps}, limit={limit}")
    kl, std = posterior_stats(model, images)                             # (D,) each
    base = np.linspace(-limit, limit, steps)
    unit = " sd" if scale == "std" else ""
    labels = tuple(f"{v:+.1f}{unit}" for v in base)
    return [Axis(names[d] if names else f"z{d}", slice(d, d + 1), base * (std[d] if scale == "std" else 1.0),
                 "shift", labels, amount=float(kl[d]), amount_name="KL", active=bool(kl[d] > MIN_KL))
            for d in latent_order(kl)]


class VAE(Backbone):
    name = "vae"
    Params = VAEParams
    uses_penalty = True
    representation_name = "encoder mean"

    def __init__(self, encoder: nn.Module, decoder: nn.Module, penalty: Penalty, reconstruction: str = "bernoulli"):
        super().__init__()
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"unknown reconstruction {reconstruction!r}; choose one of {', '.join(RECONSTRUCTIONS)}")
        self.encoder, self.decoder, self.penalty = encoder, decoder, penalty
        self.reconstruction = reconstruction

    @classmethod
    def nets_and_penalty(cls, config, dataset) -> tuple[nn.Module, nn.Module, Penalty]:
        p = config.backbone
        encoder, decoder = build_vae_nets(p.net, dataset.observation_shape, p.latent_dim)
        penalty = PENALTIES[p.penalty](config.penalty, dataset_size=dataset.num_images, latent_dim=p.latent_dim)
        return encoder, decoder, penalty

    @classmethod
    def build(cls, config, dataset) -> "VAE":
        return cls(*cls.nets_and_penalty(config, dataset), config.backbone.reconstruction)

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        """The penalty's verdict on this run (``Penalty.check_run``): raises ValueError, or returns notes."""
        # a folder of images is counted when it is read (factor_sizes still empty): the penalty checks again then
        size = int(np.prod(dataset.factor_sizes)) if dataset.factor_sizes else 2 ** 31
        return list(PENALTIES[config.backbone.penalty].check_run(
            config.penalty, dataset_size=size, batch_size=config.batch_size,
            steps=config.steps, latent_dim=config.backbone.latent_dim))

    # ---- the model ---------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) -> mu (B, D), logvar (B, D)."""
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> mean image (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(z))

    def forward(self, x: torch.Tensor, step: int, generator: torch.Generator | None = None,
                factors: torch.Tensor | None = None):
        """One batch -> (loss, logs, posterior).  ``generator`` drives eps, so resumed runs repeat exactly."""
        mu, logvar = (t.float() for t in self.encoder(x))                       # (B, D) each, fp32 under autocast
        return self.loss_of_posterior(x, mu, logvar, step, generator, factors)

    def loss_of_posterior(self, x, mu, logvar, step, generator, factors=None):
        """Sample z from N(mu, exp(logvar)), decode, and add the penalty of that posterior."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps                                  # (B, D)
        recon = reconstruction_loss(self.decoder(z).float(), x, self.reconstruction)
        q = Posterior(mu=mu, logvar=logvar, z=z, step=step, factors=factors, generator=generator)
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
        loss, logs, batch.shared["q"] = self(batch.x, batch.step, batch.generator, batch.factors)
        return loss, logs

    # ---- what a user turns -------------------------------------------------------------------------
    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """images (N, C, H, W) -> their encoder means (N, D)."""
        return self.encoder(images)[0].float()

    def axes(self, images: torch.Tensor, *, steps: int = 9, limit: float = 2.0, scale: str = "std") -> list[Axis]:
        """Each latent, most informative first: shifts linspace(-limit, limit, steps), in aggregate-posterior
        standard deviations of ``images`` (``scale="std"``) or prior units (``"fixed"``)."""
        return latent_axes(self, images, steps=steps, limit=limit, scale=scale)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, C, H, W) -> decode(mu(x)) (N, C, H, W)."""
        return self.decode(self.encoder(images)[0]).float()

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n decodes of z ~ N(0, I)."""
        z = torch.randn(n, self._latent_dim(), generator=generator, device="cpu")
        return self.decode(z.to(next(self.parameters()).device)).float()

    def _latent_dim(self) -> int:
        """D, the width of the encoder's mean head (every encoder in nets/ names it ``mu``)."""
        return self.encoder.mu.out_features

    def describe(self) -> str:
        return f"{self._latent_dim()} latents · penalty {type(self.penalty).__name__}"
