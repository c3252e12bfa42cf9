"""QLAE's networks for 64x64 images (Hsu et al., NeurIPS 2023; layer facts from kylehkhsu/latent_quantization,
``configs/encoder_partial/image.yaml``, ``configs/decoder_partial/style_image.yaml``, written here):

    encoder: 12 convs, widths 32 x3, 64 x3, 128 x3, 256 x3, kernels 3, 3, 4 and strides 1, 1, 2 repeating
             (padding 1: 64 -> 4), no bias, each instance norm (affine) + LReLU(0.2) - flatten (4096) -
             FC 256, ReLU - FC 256, ReLU - FC D;
    decoder (the "high-capacity" style decoder): z -> FC 256, ReLU - FC 256, ReLU = w; a learned 256x4x4 input
             map (starts at 0.1) through 12 transposed convs (widths 256 x3, 128 x3, 64 x3, 32 x3, the same
             kernels and strides: 4 -> 64), each LReLU(0.2), instance norm without affine, then a per-channel
             scale and shift read from w (a dense layer + ReLU, as their DenseBlock); a 3x3 conv to C logits.

About 1 GFLOP per 64x64 image forward, 12 times the study's conv net: a GPU network.
"""
from __future__ import annotations

import torch
from torch import nn

WIDTHS = (32, 32, 32, 64, 64, 64, 128, 128, 128, 256, 256, 256)
KERNELS, STRIDES = (3, 3, 4) * 4, (1, 1, 2) * 4


class QLAEEncoder(nn.Module):
    """x (B, C, 64, 64) -> continuous latents (B, D)."""

    def __init__(self, channels: int, latent_dim: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = channels
        for out, k, s in zip(WIDTHS, KERNELS, STRIDES):
            layers += [nn.Conv2d(width, out, k, s, 1, bias=False), nn.GroupNorm(out, out), nn.LeakyReLU(0.2)]
            width = out
        self.convs = nn.Sequential(*layers, nn.Flatten())                               # (B, 256 * 4 * 4)
        self.head = nn.Sequential(nn.Linear(width * 16, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                  nn.Linear(256, latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(x))


class StyleBlock(nn.Module):
    """Transposed conv, LReLU(0.2), instance norm (no affine), then x * scale + shift from the style w."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, w_size: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, kernel, stride, 1)
        self.norm = nn.GroupNorm(cout, cout, eps=1e-6, affine=False)
        self.style = nn.Sequential(nn.Linear(w_size, 2 * cout), nn.ReLU())

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        scale, shift = self.style(w)[:, :, None, None].chunk(2, dim=1)                # (B, C, 1, 1) each
        return self.norm(nn.functional.leaky_relu(self.conv(x), 0.2)) * scale + shift


class QLAEStyleDecoder(nn.Module):
    """z (B, D) -> logits (B, C, 64, 64)."""

    def __init__(self, channels: int, latent_dim: int):
        super().__init__()
        self.dense = nn.Sequential(nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
        self.input_map = nn.Parameter(torch.full((256, 4, 4), 0.1))
        widths = WIDTHS[::-1]
        self.blocks = nn.ModuleList(StyleBlock(256 if i == 0 else widths[i - 1], widths[i], KERNELS[i], STRIDES[i], 256)
                                    for i in range(len(widths)))
        self.out = nn.Conv2d(widths[-1], channels, 3, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        w = self.dense(z)                                                                # (B, 256)
        x = self.input_map.expand(len(z), -1, -1, -1)                                   # (B, 256, 4, 4)
        for block in self.blocks:
            x = block(x, w)
        return self.out(x)
