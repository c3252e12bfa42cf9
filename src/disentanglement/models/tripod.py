"""Tripod (Hsu, Hamid, Burns, Finn & Wu, ICML 2024, "Tripod: Three Complementary Inductive Biases for
Disentangled Representation Learning"): an autoencoder with three biases — a quantised latent, a factorised
latent distribution, and a decoder whose latents act without interacting.

1. Finite scalar quantisation (Mentzer et al. 2023): z_c = tanh(e(x)) in (-1, 1)^D is rounded, per dimension, to
   one of L evenly spaced levels on [-1, 1] (straight-through: the rounded value forward, the identity backward).
2. Kernel-based latent multi-information (KLM) of the batch's quantised codes z (B, D): with σ_k the batch
   standard deviation of z_c's dimension k (+1e-6) and Gaussian kernels over every pair of the batch (self
   included),
       log q_k(z_ik) = logsumexp_j log N(z_ik; z_jk, σ_k) - log B                       (each marginal)
       log q(z_i)    = logsumexp_j Σ_k log N(z_ik; z_jk, s σ_k) - log B,
                       s = (4 / (D + 2))^(1/(D + 4)) B^(-1/(D + 4))                       (the joint; Silverman)
       KLM = mean_i [log q(z_i) - Σ_k log q_k(z_ik)].
3. Normalised Hessian penalty (NHP) of the decoder's intermediate outputs f (the conditioning MLP's and the first
   three stages'): at each code, central second differences along v = ε r ⊙ σ,
       Δ_r f = [f(z + v) - 2 f(z) + f(z - v)] / ε²,
   for K Rademacher r (which sense the Hessian's off-diagonal) and K Gaussian r (the whole Hessian); per output
   element the variance over the K draws, averaged over the elements; per layer the Rademacher average over the
   Gaussian one (+1e-10), summed over the layers, averaged over the batch.

    loss = BCE(decoder(z), x)  +  λ_KLM KLM  +  λ_NHP NHP        (BCE per element)

Facts from the authors' code (kylehkhsu/tripod; written here, not copied): L = 12, D = 2 x the factors, K = 2,
ε = 0.1, λ_KLM = 1e-4 and λ_NHP = 1e-2 (their Shapes3D values, the defaults here; MPI3D 1e-8 / 1e-4, Falcor3D
1e-10 / 1e-2, Isaac3D 1e-4 / 1e-8), element-wise gradient clipping at 1 then Adam(W) at lr 2e-4 without weight
decay, batch 64, 250,000 steps; their residual GELU nets are ``nets/tripod.py`` (``net=tripod``, the default for
64x64; GELU MLPs otherwise).  No warm-up of the regularisers.  The metrics score z (the quantised code).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..nets.tripod import TripodDecoder, TripodEncoder, TripodMLPDecoder, TripodMLPEncoder
from ..params import Params, require
from .base import Axis, Backbone, Batch, Phase
from .qlae import ClippedAdamW, quantized_axes

TRIPOD_NETS = ("auto", "tripod", "mlp")


@dataclass(frozen=True)
class TripodParams(Params):
    latent_dim: int = 10                 # D: 2 x the factors (the authors' rule)
    levels: int = 12                     # L: quantisation levels per dimension
    net: str = "auto"                    # auto (tripod for 64x64 images, else mlp) | tripod | mlp
    klm_weight: float = 1e-4             # λ_KLM (the authors' Shapes3D value)
    nhp_weight: float = 1e-2             # λ_NHP (the authors' Shapes3D value)
    perturbations: int = 2               # K draws of each kind per code
    epsilon: float = 0.1                 # ε of the finite differences
    clip: float = 1.0                    # element-wise gradient clip before Adam (0: none)

    def validate(self) -> None:
        require(self.latent_dim > 0, f"latent_dim must be a positive integer, got {self.latent_dim}")
        require(self.levels >= 2, f"levels must be >= 2, got {self.levels}")
        require(self.net in TRIPOD_NETS, f"unknown net {self.net!r}; choose one of: {', '.join(TRIPOD_NETS)}")
        for name in ("klm_weight", "nhp_weight", "clip"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        require(self.perturbations >= 2, f"perturbations must be >= 2 (a variance over draws), got {self.perturbations}")
        require(self.epsilon > 0, f"epsilon must be > 0, got {self.epsilon}")


def fsq(e: torch.Tensor, levels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder outputs (B, D) -> (z_c = tanh(e), z_q on L levels of [-1, 1], straight-through)."""
    z_c = torch.tanh(e)
    scaled = (z_c + 1) / 2 * (levels - 1)
    rounded = scaled + (torch.round(scaled) - scaled).detach()
    return z_c, rounded / (levels - 1) * 2 - 1


def latent_multiinformation(z: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """KLM of codes z (B, D) with per-dimension bandwidths σ (D,): the mean over the batch (module docstring)."""
    b, d = z.shape
    diff = z[:, None, :] - z[None, :, :]                                      # (B, B, D): z_i - z_j

    def log_normal(scale):                                                    # (B, B, D)
        return -0.5 * (diff / scale) ** 2 - torch.log(scale) - 0.5 * math.log(2 * math.pi)
    marginals = torch.logsumexp(log_normal(sigma), dim=1) - math.log(b)       # (B, D)
    s = (4 / (d + 2)) ** (1 / (d + 4)) * b ** (-1 / (d + 4))
    joint = torch.logsumexp(log_normal(sigma * s).sum(2), dim=1) - math.log(b)   # (B,)
    return (joint - marginals.sum(1)).mean()


def normalized_hessian_penalty(features, z: torch.Tensor, sigma: torch.Tensor, *, perturbations: int,
                               epsilon: float, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """NHP of ``features(z) -> [layer outputs (B, ...)]`` at codes z (B, D) (module docstring), batch mean."""
    b, d, k = len(z), z.shape[1], perturbations
    rademacher = torch.randint(0, 2, (k, b, d), generator=generator, device=z.device).to(z.dtype) * 2 - 1
    gaussian = torch.randn(k, b, d, generator=generator, device=z.device, dtype=z.dtype)
    v = epsilon * torch.cat([rademacher, gaussian]) * sigma                   # (2K, B, D)
    points = torch.cat([z[None], z[None] + v, z[None] - v]).flatten(0, 1)     # ((1 + 4K) B, D): one pass
    total = torch.zeros(b, device=z.device)
    for out in features(points):
        out = out.flatten(1).view(1 + 4 * k, b, -1)                           # (1 + 4K, B, E)
        centre, plus, minus = out[0], out[1:1 + 2 * k], out[1 + 2 * k:]
        second = (plus - 2 * centre + minus) / epsilon ** 2                   # (2K, B, E)
        off = second[:k].var(0, unbiased=False).mean(1)                       # (B,) Rademacher: off-diagonal
        full = second[k:].var(0, unbiased=False).mean(1)                      # (B,) Gaussian: the whole Hessian
        total = total + off / (full + 1e-10)
    return total.mean()


class Tripod(Backbone):
    name = "tripod"
    Params = TripodParams
    config_defaults = {"lr": 2e-4, "batch_size": 64}     # the authors'
    representation_name = "quantised latents z (finite scalar quantisation)"

    def __init__(self, params: TripodParams, observation_shape: tuple[int, int, int], lr: float = 2e-4):
        super().__init__()
        self.params = p = params
        self.lr = lr
        c, h, w = observation_shape
        net = p.net if p.net != "auto" else "tripod" if (h, w) == (64, 64) else "mlp"
        if net == "tripod":
            if (h, w) != (64, 64):
                raise ValueError(f"tripod.net=tripod needs 64x64 images, the dataset gives {h}x{w}; use net=mlp")
            self.encoder, self.decoder = TripodEncoder(c, p.latent_dim), TripodDecoder(c, p.latent_dim)
        else:
            self.encoder = TripodMLPEncoder(observation_shape, p.latent_dim)
            self.decoder = TripodMLPDecoder(observation_shape, p.latent_dim)

    @classmethod
    def build(cls, config, dataset) -> "Tripod":
        return cls(config.backbone, dataset.observation_shape, lr=config.lr)

    def phases(self) -> list[Phase]:
        p = self.params
        return [Phase("main", list(self.parameters()), self._loss,
                      lambda params: ClippedAdamW([{"params": params, "weight_decay": 0.0, "clip": p.clip}], lr=self.lr))]

    def losses(self, x: torch.Tensor, generator: Optional[torch.Generator] = None):
        """x (B, C, H, W) -> (loss, logs)."""
        p = self.params
        z_c, z = fsq(self.encoder(x).float(), p.levels)                           # (B, D) each
        recon = F.binary_cross_entropy_with_logits(self.decoder(z).float(), x)
        sigma = z_c.std(0, unbiased=False) + 1e-6                                 # (D,)
        klm = latent_multiinformation(z, sigma) if p.klm_weight else torch.zeros((), device=x.device)
        nhp = normalized_hessian_penalty(self.decoder.features, z, sigma, perturbations=p.perturbations,
                                         epsilon=p.epsilon, generator=generator) \
            if p.nhp_weight else torch.zeros((), device=x.device)
        loss = recon + p.klm_weight * klm + p.nhp_weight * nhp
        return loss, {"loss": loss, "recon": recon, "klm": klm, "nhp": nhp}

    def _loss(self, batch: Batch):
        return self.losses(batch.x, batch.generator)

    # ---- evaluation and what a user turns ---------------------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        return fsq(self.encoder(x).float(), self.params.levels)[1]

    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        return self.representation(images).float()

    def axes(self, images: torch.Tensor, *, steps: int = 9) -> list[Axis]:
        """Each latent through its L levels."""
        levels = self.params.levels
        with torch.no_grad():
            codes = self.representation(images).cpu().numpy()                      # (N, D)
        index = np.rint((codes + 1) / 2 * (levels - 1)).astype(np.int64)
        grid = np.tile(np.linspace(-1.0, 1.0, levels), (codes.shape[1], 1))        # (D, L)
        return quantized_axes(index, grid)

    def decode(self, points: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(points).float())

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.representation(images))

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n decodes of codes drawn uniformly from the levels (each latent independently)."""
        p = self.params
        index = torch.randint(p.levels, (n, p.latent_dim), generator=generator)
        return self.decode((index.float() / (p.levels - 1) * 2 - 1).to(next(self.parameters()).device))

    def describe(self) -> str:
        p = self.params
        return f"{p.latent_dim} latents x {p.levels} levels, λ_KLM {p.klm_weight:g}, λ_NHP {p.nhp_weight:g}"
