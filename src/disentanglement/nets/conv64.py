"""The convolutional encoder/decoder of the large-scale study (Locatello et al. 2019, Table 1),
as in disentanglement_lib's ``conv_encoder`` / ``deconv_decoder``, for 64x64 inputs.

TF's ``padding="same"`` with kernel 4, stride 2 pads one pixel each side (kernel 2, stride 2: none),
so the PyTorch layers below have the same shapes and receptive fields.

``width`` scales every channel count and the hidden layer: 1 is the study's net (32-32-64-64 channels,
256 hidden; 82 MFLOP per training image, forward and backward), ½ is ``net=conv64_slim`` (16-16-32-32,
128 hidden; 22 MFLOP), the first run's net: the same layers, so the same receptive fields, at a quarter
of the arithmetic.
"""
from __future__ import annotations

import torch
from torch import nn


def _widths(width: float) -> tuple[int, int, int]:
    """(first channels, last channels, hidden units) of the net at ``width`` times the study's."""
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    return max(1, round(32 * width)), max(1, round(64 * width)), max(1, round(256 * width))


class Conv64Encoder(nn.Module):
    """x (B, C, 64, 64) -> mu (B, D), logvar (B, D)."""

    def __init__(self, in_channels: int = 1, latent_dim: int = 10, width: float = 1.0):
        super().__init__()
        c, w, h = _widths(width)                              # study: c 32, w 64, h 256
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, c, 4, 2, 1), nn.ReLU(),    # (B, 32, 32, 32)
            nn.Conv2d(c, c, 4, 2, 1), nn.ReLU(),              # (B, 32, 16, 16)
            nn.Conv2d(c, w, 2, 2), nn.ReLU(),                 # (B, 64, 8, 8)
            nn.Conv2d(w, w, 2, 2), nn.ReLU(),                 # (B, 64, 4, 4)
            nn.Flatten(),                                     # (B, 1024)
            nn.Linear(16 * w, h), nn.ReLU(),                  # (B, 256)
        )
        self.mu = nn.Linear(h, latent_dim)
        self.logvar = nn.Linear(h, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


class Conv64Decoder(nn.Module):
    """z (B, D) -> Bernoulli logits (B, C, 64, 64)."""

    def __init__(self, out_channels: int = 1, latent_dim: int = 10, width: float = 1.0):
        super().__init__()
        c, w, h = _widths(width)                                      # study: c 32, w 64, h 256
        self.body = nn.Sequential(
            nn.Linear(latent_dim, h), nn.ReLU(),
            nn.Linear(h, 16 * w), nn.ReLU(),
            nn.Unflatten(1, (w, 4, 4)),                               # (B, 64, 4, 4)
            nn.ConvTranspose2d(w, w, 4, 2, 1), nn.ReLU(),             # (B, 64, 8, 8)
            nn.ConvTranspose2d(w, c, 4, 2, 1), nn.ReLU(),             # (B, 32, 16, 16)
            nn.ConvTranspose2d(c, c, 4, 2, 1), nn.ReLU(),             # (B, 32, 32, 32)
            nn.ConvTranspose2d(c, out_channels, 4, 2, 1),             # (B, C, 64, 64)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)
