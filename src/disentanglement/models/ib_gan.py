"""IB-GAN (Jeon, Lee, Pyeon & Kim, AAAI 2021): InfoGAN's mutual-information term with an information bottleneck.

The noise z ~ N(0, I) is not G's input: a stochastic encoder e(r | z) = N(μ(z), diag σ²(z)) draws the
representation r, and G draws x = G(r).  The generator side maximises a lower bound on I(z; G(r)) while an
upper bound on I(z; r) is kept small (the information bottleneck; the paper's Eq. for the IB-GAN objective):

    lower:  I(z; G(r)) >= E[log q(z | x)] + H(z),  q(z | x) = N(ẑ(x), I), so up to constants
            R = ½ E[ ||z||² - ||z - ẑ(G(r))||² ]  (the authors' code: a unit-variance Gaussian likelihood of z
            net of its prior's log-density, summed over dimensions, averaged over the batch);
    upper:  I(z; r) <= E_z KL(e(r | z) || m(r)),  m(r) = N(0, I)  (closed form, summed over dimensions);

    G, e, q minimise   BCE(D(G(r)), 1) - λ R + β KL ;     D minimises  BCE(D(x), 1) + BCE(D(G(r)), 0).

Facts from the authors' code (insujeon/IB-GAN, ``solver.py``, ``model/model.py``; written here, not copied):
dSprites with z 16, r 10, β = 0.141, λ = 1, batch 64, 150,000 iterations; RMSprop with momentum 0.9, lr 5e-5
for G, e and q together and 1e-6 for D; instance noise on what D and q see, σ falling linearly from 1 to 0
over the first 100,000 iterations (clamped to the image range); with β = 0 the code adds 100·KL whenever
KL >= 20 nats (kept here); D and q have separate trunks (``nets/ibgan.py``); e is an MLP 16-32-32-2R (ReLU).

The representation the metrics score is the authors' evaluator's: a real image through q to ẑ, then e's mean
μ(ẑ) — 10 numbers.  The traversal axes are the r dimensions, set over [-2, 2] (two standard deviations of m(r))
around r drawn through e from prior draws of z.

Differences from the authors' code, by design of our GAN base (``models/gan.py``): G's step reads D after D's
update (theirs reuses D's output from before it), and the noise of what D sees is drawn anew for G's step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..nets import build_gan_body, gan_arch
from ..nets.ibgan import init_normal
from ..params import require
from .base import Axis, Batch
from .gan import GAN, GANParams

KL_GUARD, KL_GUARD_WEIGHT = 20.0, 100.0     # the authors' code, with β = 0: + 100 KL once KL >= 20 nats
OPTIMIZERS = ("rmsprop", "adam")


@dataclass(frozen=True)
class IBGANParams(GANParams):
    d_lr: float = 1e-6                       # D's learning rate (the authors' dSprites command)
    spectral_norm: bool = False              # none in the authors' nets
    noise_dim: int = 16                      # z ~ N(0, I)
    r_dim: int = 10                          # r ~ e(r | z): G's input and the representation
    beta: float = 0.141                      # β: weight of the upper bound KL(e(r|z) || N(0, I)) (dSprites)
    lambda_info: float = 1.0                 # λ: weight of the lower bound on I(z; G(r))
    optimizer: str = "rmsprop"               # rmsprop (momentum 0.9, as the authors) | adam (d_beta1, d_beta2)
    instance_noise: float = 1.0              # σ of the noise added to what D and q see, at step 0 (image range 2)
    noise_steps: int = 100_000               # σ falls linearly to 0 by this step

    def validate(self) -> None:
        super().validate()
        require(self.beta >= 0, f"beta must be >= 0 (the weight of an upper bound on I(z; r)), got {self.beta}")
        require(self.lambda_info >= 0, f"lambda_info must be >= 0, got {self.lambda_info}")
        require(self.noise_dim >= 1, f"noise_dim must be >= 1, got {self.noise_dim}")
        require(self.r_dim >= 1, f"r_dim must be >= 1, got {self.r_dim}")
        require(self.optimizer in OPTIMIZERS, f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}")
        require(self.instance_noise >= 0, f"instance_noise must be >= 0, got {self.instance_noise}")
        require(self.noise_steps >= 2, f"noise_steps must be >= 2, got {self.noise_steps}")


@dataclass
class IBCode:
    """A batch of draws: ``z`` (B, Z) ~ N(0, I) and the reparameterisation noise ``eps`` (B, R) of r."""

    z: torch.Tensor
    eps: torch.Tensor

    def to(self, device) -> "IBCode":
        return IBCode(self.z.to(device), self.eps.to(device))


class IBGAN(GAN):
    name = "ib_gan"
    Params = IBGANParams
    config_defaults = {"lr": 5e-5, "adam_beta1": 0.5, "adam_beta2": 0.999}   # lr: G, e and q (the authors')
    representation_name = "e's mean of q's reconstruction of z (the authors' evaluator)"

    def __init__(self, params: IBGANParams, observation_shape: tuple[int, int, int], lr: float = 5e-5):
        p = params
        c, h, w = observation_shape
        arch = "ibgan" if p.net == "auto" and (h, w) == (64, 64) else gan_arch(p.net, observation_shape)
        super().__init__(p, observation_shape, p.r_dim, arch)
        self.g_lr = lr
        self.encoder = init_normal(nn.Sequential(nn.Linear(p.noise_dim, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                                                 nn.Linear(32, 2 * p.r_dim)))   # z -> (μ, log σ²) of r
        self.q_body = build_gan_body(arch, self.observation_shape, p.spectral_norm)
        width = self.q_body.features
        self.q_head = nn.Sequential(nn.Linear(width, width), nn.BatchNorm1d(width), nn.LeakyReLU(0.2),
                                    nn.Linear(width, p.noise_dim))           # -> ẑ (B, Z)
        if arch == "ibgan":
            init_normal(self.q_head)
            init_normal(self.d_head)

    @classmethod
    def build(cls, config, dataset) -> "IBGAN":
        return cls(config.backbone, dataset.observation_shape, lr=config.lr)

    # ---- codes ----------------------------------------------------------------------------------
    def sample_code(self, n: int, generator: torch.Generator | None = None, device=None) -> IBCode:
        """n draws of z ~ N(0, I) and of the noise that draws r from e(r | z)."""
        p = self.params
        device = device if device is not None else next(self.parameters()).device
        draws = torch.randn(n, p.noise_dim + p.r_dim, generator=generator, device=device)
        return IBCode(z=draws[:, :p.noise_dim], eps=draws[:, p.noise_dim:])

    def posterior(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """e(r | z): z (B, Z) -> (μ (B, R), log σ² (B, R))."""
        mu, logvar = self.encoder(z).float().chunk(2, dim=1)
        return mu, logvar

    def points(self, code: IBCode) -> torch.Tensor:
        """r = μ(z) + σ(z) ε (B, R): G's input."""
        mu, logvar = self.posterior(code.z)
        return mu + torch.exp(0.5 * logvar) * code.eps

    def anchor_code(self, code: IBCode) -> IBCode:
        """Prior draws of z, r at e's mean (no reparameterisation noise)."""
        code.eps.zero_()
        return code

    # ---- what D and q see, and the information terms ---------------------------------------------
    def sigma(self, step: int) -> float:
        """The instance noise's σ at ``step`` (in the authors' [-1, 1] units): linear from σ0 to 0."""
        p = self.params
        return max(0.0, p.instance_noise * (1.0 - step / (p.noise_steps - 1)))

    def d_input(self, x: torch.Tensor, batch: Batch) -> torch.Tensor:
        """x + N(0, (σ/2)²) clamped to [0, 1] — the authors' noise on [-1, 1] images, in our [0, 1] range."""
        sigma = self.sigma(batch.step)
        if sigma <= 0:
            return x
        noise = torch.randn(x.shape, generator=batch.generator, device=x.device, dtype=x.dtype)
        return (x + noise * (sigma / 2)).clamp(0.0, 1.0)

    def generator_heads(self) -> list[nn.Parameter]:
        return [*self.encoder.parameters(), *self.q_body.parameters(), *self.q_head.parameters()]

    def optimizer(self, player: str):
        p = self.params
        if p.optimizer == "adam":
            return super().optimizer(player)
        lr = p.d_lr if player == "discriminator" else self.g_lr
        return lambda params: torch.optim.RMSprop(params, lr=lr, momentum=0.9)

    def reconstruct_z(self, seen: torch.Tensor) -> torch.Tensor:
        """q: images (B, C, H, W) -> ẑ (B, Z), the mean of q(z | x) = N(ẑ, I)."""
        return self.q_head(self.q_body(seen)).float()

    def objective(self, seen: torch.Tensor, features: torch.Tensor, code: IBCode, batch: Batch, player: str):
        """G's side: λ R - β KL (and the authors' guard when β = 0); D's: nothing besides the game."""
        if player == "discriminator":
            return torch.zeros((), device=seen.device), {}
        p = self.params
        z_hat = self.reconstruct_z(seen)                                         # (B, Z)
        lower = 0.5 * (code.z.pow(2) - (code.z - z_hat).pow(2)).sum(1).mean()    # R: the bound on I(z; G(r)), − H(z)
        mu, logvar = self.posterior(code.z)
        kl = kl_to_standard_normal(mu, logvar)                                   # the bound on I(z; r)
        value = p.lambda_info * lower - p.beta * kl
        if p.beta == 0 and kl.item() >= KL_GUARD:
            value = value - KL_GUARD_WEIGHT * kl
        return value, {"mi_lower": lower.detach(), "kl": kl.detach(), "sigma": torch.tensor(self.sigma(batch.step))}

    # ---- evaluation ------------------------------------------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> μ(ẑ(x)) (B, R): q's reconstruction of z, through e's mean."""
        return self.posterior(self.reconstruct_z(x))[0]

    def axes(self, images: torch.Tensor | None = None, *, steps: int = 9, limit: float = 2.0) -> list[Axis]:
        """Each dimension of r, set over linspace(-limit, limit) (m(r) = N(0, I): ±2 standard deviations)."""
        values = np.linspace(-limit, limit, steps)
        return [Axis(f"r{j}", slice(j, j + 1), values, "set", tuple(f"{v:+.2g}" for v in values))
                for j in range(self.params.r_dim)]

    def describe(self) -> str:
        p = self.params
        return f"z {p.noise_dim} -> r {p.r_dim} (β {p.beta:g}, λ {p.lambda_info:g})"


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, diag e^logvar) || N(0, I)), summed over dimensions, averaged over the batch: ½ Σ (μ² + σ² − 1 − log σ²)."""
    return (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).sum(1).mean()
