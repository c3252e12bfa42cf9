"""The encoders and decoders of Chen et al. 2018 (β-TCVAE; their repository rtqichen/beta-tcvae, vae_quant.py),
for the preset that reproduces their protocol (``--config chen2018_dsprites``).  Written here from the layer
list; they output (μ, log σ) where ours output (μ, log σ²) — the same family (the last layer's scale differs by 2).

- ``chen_mlp``: encoder 4096 → 1200 → 1200 → 2D (ReLU), decoder D → 1200 → 1200 → 1200 → 4096 (tanh).
- ``chen_conv``: encoder conv 4×4 stride 2 to 32, 32, 64, 64 channels (64 → 4 px), conv 4×4 to 512, conv 1×1 to
  2D, BatchNorm + ReLU after each but the last; decoder the mirror: transposed conv 1×1 to 512, 4×4 to 64 (4 px),
  then stride 2 to 64, 32, 32 and 1 channel (64 px), BatchNorm + ReLU after each but the last.
"""
from __future__ import annotations

import math

import torch
from torch import nn


class ChenMLPEncoder(nn.Module):
    """x (B, C, H, W) -> mu (B, D), logvar (B, D)."""

    def __init__(self, observation_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(math.prod(observation_shape), 1200), nn.ReLU(),
                                 nn.Linear(1200, 1200), nn.ReLU(), nn.Linear(1200, 2 * latent_dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar


class ChenMLPDecoder(nn.Module):
    """z (B, D) -> logits (B, C, H, W)."""

    def __init__(self, observation_shape: tuple[int, int, int], latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, 1200), nn.Tanh(), nn.Linear(1200, 1200), nn.Tanh(),
                                 nn.Linear(1200, 1200), nn.Tanh(), nn.Linear(1200, math.prod(observation_shape)),
                                 nn.Unflatten(1, tuple(observation_shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _block(conv: nn.Module, channels: int) -> list[nn.Module]:
    return [conv, nn.BatchNorm2d(channels), nn.ReLU()]


class ChenConvEncoder(nn.Module):
    """x (B, C, 64, 64) -> mu (B, D), logvar (B, D)."""

    def __init__(self, channels: int, latent_dim: int):
        super().__init__()
        widths, layers, c_in = (32, 32, 64, 64), [], channels
        for c_out in widths:                                                      # 64 -> 32 -> 16 -> 8 -> 4 px
            layers += _block(nn.Conv2d(c_in, c_out, 4, 2, 1), c_out)
            c_in = c_out
        layers += _block(nn.Conv2d(64, 512, 4), 512)                               # (B, 512, 1, 1)
        self.net = nn.Sequential(*layers, nn.Conv2d(512, 2 * latent_dim, 1), nn.Flatten())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar


class ChenConvDecoder(nn.Module):
    """z (B, D) -> logits (B, C, 64, 64)."""

    def __init__(self, channels: int, latent_dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.Unflatten(1, (latent_dim, 1, 1)),
                                 *_block(nn.ConvTranspose2d(latent_dim, 512, 1), 512),
                                 *_block(nn.ConvTranspose2d(512, 64, 4), 64),                  # 4 px
                                 *_block(nn.ConvTranspose2d(64, 64, 4, 2, 1), 64),             # 8
                                 *_block(nn.ConvTranspose2d(64, 32, 4, 2, 1), 32),             # 16
                                 *_block(nn.ConvTranspose2d(32, 32, 4, 2, 1), 32),             # 32
                                 nn.ConvTranspose2d(32, channels, 4, 2, 1))                    # 64

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)
