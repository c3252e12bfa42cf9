"""The convolutional encoder/decoder of the large-scale study (Locatello et al. 2019, Table 1),
as in disentanglement_lib's ``conv_encoder`` / ``deconv_decoder``, for 64x64 inputs.

TF's ``padding="same"`` with kernel 4, stride 2 pads one pixel each side (kernel 2, stride 2: none),
so the PyTorch layers below have the same shapes and receptive fields.
"""
from __future__ import annotations

import torch
from torch import nn


class Conv64Encoder(nn.Module):
    """x (B, C, 64, 64) -> mu (B, D), logvar (B, D)."""

    def __init__(self, in_channels: int = 1, latent_dim: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, 4, 2, 1), nn.ReLU(),   # (B, 32, 32, 32)
            nn.Conv2d(32, 32, 4, 2, 1), nn.ReLU(),            # (B, 32, 16, 16)
            nn.Conv2d(32, 64, 2, 2), nn.ReLU(),               # (B, 64, 8, 8)
            nn.Conv2d(64, 64, 2, 2), nn.ReLU(),               # (B, 64, 4, 4)
            nn.Flatten(),                                     # (B, 1024)
            nn.Linear(1024, 256), nn.ReLU(),                  # (B, 256)
        )
        self.mu = nn.Linear(256, latent_dim)
        self.logvar = nn.Linear(256, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class Conv64Decoder(nn.Module):
    """z (B, D) -> Bernoulli logits (B, C, 64, 64)."""

    def __init__(self, out_channels: int = 1, latent_dim: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.ReLU(),
            nn.Linear(256, 1024), nn.ReLU(),
            nn.Unflatten(1, (64, 4, 4)),                              # (B, 64, 4, 4)
            nn.ConvTranspose2d(64, 64, 4, 2, 1), nn.ReLU(),           # (B, 64, 8, 8)
            nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),           # (B, 32, 16, 16)
            nn.ConvTranspose2d(32, 32, 4, 2, 1), nn.ReLU(),           # (B, 32, 32, 32)
            nn.ConvTranspose2d(32, out_channels, 4, 2, 1),            # (B, C, 64, 64)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)
