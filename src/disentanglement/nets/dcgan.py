"""DCGAN-style generator and discriminator body for 64x64 images (Radford et al. 2016), in the layout
InfoGAN-CR uses for dSprites (Lin et al. 2020, Appendix; fjxmlzn/InfoGAN-CR ``gan/network.py``):

    G: FC 128 - FC 4x4x64 - deconv 64 (8x8) - deconv 32 (16x16) - deconv 32 (32x32) - deconv C (64x64),
       ReLU / leaky ReLU with batch norm after each hidden layer, sigmoid output.
    D body: conv 32, 32, 64, 64 (kernel 4, stride 2) - FC 128, leaky ReLU (0.2); the real/fake and Q
       heads sit on its 128 features (models/infogan.py).

``spectral_norm=True`` wraps every layer of the body in spectral normalisation (Miyato et al. 2018),
the stabiliser InfoGAN-CR applies to its discriminator.
"""
from __future__ import annotations

import torch
from torch import nn


def maybe_sn(layer: nn.Module, on: bool) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


def _upsamplings(size: int) -> int:
    """How many stride-2 layers take 4x4 to size x size (size = 4 * 2^n, n >= 1)."""
    n = max(size // 4, 1).bit_length() - 1
    if size < 8 or 4 * 2 ** n != size:
        raise ValueError(f"net=dcgan needs square images of side 8, 16, 32, 64, ..., got {size}; use net=mlp")
    return n


class DCGANGenerator(nn.Module):
    """(noise, codes) concatenated (B, I) -> images (B, C, S, S) in [0, 1].

    64x64: the layout above.  Smaller sides (8, 16, 32) drop deconvolutions from the middle: 64 channels
    after the first, 32 after the others.
    """

    def __init__(self, input_dim: int, out_channels: int = 1, size: int = 64):
        super().__init__()
        n = _upsamplings(size)
        layers: list[nn.Module] = [
            nn.Linear(input_dim, 128), nn.ReLU(), nn.BatchNorm1d(128),
            nn.Linear(128, 4 * 4 * 64), nn.ReLU(), nn.BatchNorm1d(4 * 4 * 64),
            nn.Unflatten(1, (64, 4, 4)),                                          # (B, 64, 4, 4)
        ]
        width = 64
        for i in range(n - 1):                                                    # side 4 * 2^(i+1)
            out = 64 if i == 0 else 32
            layers += [nn.ConvTranspose2d(width, out, 4, 2, 1), nn.LeakyReLU(0.2), nn.BatchNorm2d(out)]
            width = out
        layers += [nn.ConvTranspose2d(width, out_channels, 4, 2, 1), nn.Sigmoid()]  # (B, C, S, S)
        self.body = nn.Sequential(*layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.body(inputs)


class DCGANDiscriminatorBody(nn.Module):
    """images (B, C, S, S) -> features (B, 128), shared by the real/fake head and the Q head.

    64x64: conv 32, 32, 64, 64 down to 4x4; smaller sides keep the first and last halves (32s, then 64s).
    """

    features = 128

    def __init__(self, in_channels: int = 1, spectral_norm: bool = True, size: int = 64):
        super().__init__()
        n = _upsamplings(size)
        layers: list[nn.Module] = []
        width = in_channels
        for i in range(n):                                                        # side S / 2^(i+1)
            out = 32 if i < n / 2 else 64
            layers += [maybe_sn(nn.Conv2d(width, out, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2)]
            width = out
        layers += [nn.Flatten(), maybe_sn(nn.Linear(width * 16, 128), spectral_norm), nn.LeakyReLU(0.2)]  # (B, 128)
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)
