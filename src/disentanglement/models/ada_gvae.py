"""Ada-GVAE and Ada-ML-VAE (Locatello et al. 2020, "Weakly-Supervised Disentanglement Without Compromises",
ICML, Sec. 4): a VAE trained on pairs (x1, x2) that share all factors but k, without being told which.

Both images are encoded; per latent, the divergence between the pair's posteriors

    δ_d = KL(q(z_d | x1) || q(z_d | x2))                                                 (Eq. 6)

is split at the adaptive threshold τ = ½ (max_d δ_d + min_d δ_d): latents with δ_d < τ are taken as shared,
and both images use the aggregate posterior there; the others keep their own.  Aggregations:

- ``ada_gvae`` (GVAE, Hosoya 2019): the average — mean ½(μ1 + μ2), variance ½(σ1² + σ2²);
- ``ada_mlvae`` (ML-VAE, Bouchacourt et al. 2018): the product of experts — the precision-weighted mean
  (μ1/σ1² + μ2/σ2²) / (1/σ1² + 1/σ2²), with variance 2σ1²σ2² / (σ1² + σ2²) (the harmonic mean of the two
  variances, as disentanglement_lib's ``MLVae`` computes it: twice the product's variance).

The loss is the VAE's on the 2B images with these posteriors: ½(recon1 + recon2) + penalty of the 2B rows,
which for the β-VAE penalty is β · ½(KL1 + KL2) — disentanglement_lib's ``GroupVAEBase`` / ``MLVae``
(``methods/weak/weak_vae.py``).  Ties (δ all equal) share nothing.  The pairs come from
``data/pairs.py`` (k = ``ada_gvae.k``; -1: random per pair).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..data.pairs import PairSampler
from ..params import require
from .base import Batch
from .vae import VAE, VAEParams


@dataclass(frozen=True)
class AdaGVAEParams(VAEParams):
    k: int = 1              # factors that differ within a pair; -1: random in 1..K-1 per pair

    def validate(self) -> None:
        super().validate()
        require(self.k >= 1 or self.k == -1, f"k must be >= 1 (factors that differ in a pair) or -1 (random), got {self.k}")


def pair_divergence(mu1, logvar1, mu2, logvar2) -> torch.Tensor:
    """KL(N(mu1, e^logvar1) || N(mu2, e^logvar2)) per latent, (B, D) each -> (B, D)."""
    return 0.5 * ((logvar1 - logvar2).exp() + (mu1 - mu2).pow(2) / logvar2.exp() - 1.0 + logvar2 - logvar1)


def shared_latents(delta: torch.Tensor) -> torch.Tensor:
    """delta (B, D) -> (B, D) bool: δ_d below τ = ½(max δ + min δ) of its row (Eq. 7's adaptive threshold)."""
    tau = 0.5 * (delta.amax(1, keepdim=True) + delta.amin(1, keepdim=True))
    return delta < tau


def average(mu1, logvar1, mu2, logvar2) -> tuple[torch.Tensor, torch.Tensor]:
    """GVAE: mean ½(μ1 + μ2), variance ½(σ1² + σ2²)."""
    return 0.5 * (mu1 + mu2), torch.logaddexp(logvar1, logvar2) - torch.log(torch.tensor(2.0))


def product(mu1, logvar1, mu2, logvar2) -> tuple[torch.Tensor, torch.Tensor]:
    """ML-VAE: precision-weighted mean, variance 2σ1²σ2² / (σ1² + σ2²)."""
    logvar = torch.log(torch.tensor(2.0)) + logvar1 + logvar2 - torch.logaddexp(logvar1, logvar2)
    w1 = torch.sigmoid(logvar2 - logvar1)                  # (1/σ1²) / (1/σ1² + 1/σ2²)
    return w1 * mu1 + (1 - w1) * mu2, logvar


class AdaGVAE(VAE):
    name = "ada_gvae"
    Params = AdaGVAEParams
    aggregate = staticmethod(average)

    def __init__(self, encoder, decoder, penalty, reconstruction: str = "bernoulli", k: int = 1):
        super().__init__(encoder, decoder, penalty, reconstruction)
        self.k = k

    @classmethod
    def build(cls, config, dataset) -> "AdaGVAE":
        return cls(*cls.nets_and_penalty(config, dataset), config.backbone.reconstruction, config.backbone.k)

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        """The VAE's checks, and pairs with this k must exist on ``dataset``'s factors (a folder of images: its
        factors are read with it, and the trainer checks them then)."""
        if not dataset.factor_sizes:
            return super().check(config, dataset)
        try:
            PairSampler(dataset.factor_sizes, config.backbone.k)
        except ValueError as err:
            raise ValueError(f"{cls.name}.{err}" if str(err).startswith("k=") else str(err)) from None
        return super().check(config, dataset)

    @property
    def pairs(self) -> int:
        return self.k

    def _main_loss(self, batch: Batch):
        if batch.x2 is None:
            raise ValueError(f"{self.name} trains on pairs: the batch has no x2 (the trainer draws them when "
                             "the model's `pairs` is set)")
        x = torch.cat([batch.x, batch.x2])                                       # (2B, C, H, W)
        mu, logvar = (t.float() for t in self.encoder(x))                       # (2B, D) each
        mu1, mu2 = mu.chunk(2)
        lv1, lv2 = logvar.chunk(2)
        shared = shared_latents(pair_divergence(mu1, lv1, mu2, lv2))             # (B, D)
        agg_mu, agg_lv = self.aggregate(mu1, lv1, mu2, lv2)
        mask = shared.repeat(2, 1)
        mu = torch.where(mask, agg_mu.repeat(2, 1), mu)
        logvar = torch.where(mask, agg_lv.repeat(2, 1), logvar)
        factors = None if batch.factors is None else torch.cat([batch.factors, batch.factors2])
        loss, logs, batch.shared["q"] = self.loss_of_posterior(x, mu, logvar, batch.step, batch.generator, factors)
        return loss, {**logs, "shared": shared.float().sum(1).mean()}


class AdaMLVAE(AdaGVAE):
    name = "ada_mlvae"
    aggregate = staticmethod(product)
