"""Small fully connected encoder/decoder for toy data (any observation shape)."""
from __future__ import annotations

import math

import torch
from torch import nn


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
