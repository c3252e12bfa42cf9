"""Small fully connected encoder/decoder for toy data (any observation shape)."""
from __future__ import annotations

import math

import torch
from torch import nn

from .dcgan import maybe_sn


class MLPEncoder(nn.Module):
    """x (B, C, H, W) -> mu (B, D), logvar (B, D)."""

    def __init__(self, observation_shape: tuple[int, int, int], latent_dim: int = 10, hidden: int = 256):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(observation_shape), hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
        )
        self.mu = nn.Linear(hidden, latent_dim)
        self.logvar = nn.Linear(hidden, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class MLPDecoder(nn.Module):
    """z (B, D) -> logits (B, C, H, W)."""

    def __init__(self, observation_shape: tuple[int, int, int], latent_dim: int = 10, hidden: int = 256):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, math.prod(observation_shape)),
            nn.Unflatten(1, tuple(observation_shape)),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


class MLPGenerator(nn.Module):
    """(noise, codes) (B, I) -> images (B, C, H, W) in [0, 1], for toy data."""

    def __init__(self, input_dim: int, observation_shape: tuple[int, int, int], hidden: int = 256):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(input_dim, hidden), nn.ReLU(), nn.BatchNorm1d(hidden),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.BatchNorm1d(hidden),
            nn.Linear(hidden, math.prod(observation_shape)), nn.Sigmoid(),
            nn.Unflatten(1, tuple(observation_shape)),
        )

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.body(inputs)


class MLPDiscriminatorBody(nn.Module):
    """images (B, C, H, W) -> features (B, hidden), shared by a GAN's real/fake and Q heads."""

    def __init__(self, observation_shape: tuple[int, int, int], hidden: int = 256, spectral_norm: bool = True):
        super().__init__()
        self.features = hidden
        self.body = nn.Sequential(
            nn.Flatten(), maybe_sn(nn.Linear(math.prod(observation_shape), hidden), spectral_norm), nn.LeakyReLU(0.2),
            maybe_sn(nn.Linear(hidden, hidden), spectral_norm), nn.LeakyReLU(0.2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
