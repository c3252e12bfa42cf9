"""IB-GAN's networks for 64x64 dSprites (Jeon et al. 2021; layer sizes from the authors' ``model/model.py``,
insujeon/IB-GAN, with its base width 16 — facts only, written here):

    G: FC 256, BN, ReLU - FC 8x8x64, BN, ReLU - deconv 64 3x3 s1, 64 3x3 s1 (8x8), 32 (16x16), 16 (32x32),
       each BN + ReLU - deconv C 4x4 s2 (64x64), tanh (mapped to [0, 1] here: (t + 1) / 2);
    trunk (the discriminator's, and a second one for the reconstructor q): conv 16 4x4 s2, LReLU(0.2) -
       conv 32, 64 4x4 s2 and 128 3x3 s1, each BN + LReLU - conv 256 8x8 (1x1), BN, LReLU -> 256 features.

The authors' D ends the trunk with a 1x1 conv to one logit, and q with a 1x1 conv 256, BN, LReLU and a 1x1 conv
to z: on a 1x1 map those are the linear layers of ``models/ib_gan.py``.  Convolutions and linear layers start
N(0, 0.02) with zero bias, as there; no spectral norm.
"""
from __future__ import annotations

import torch
from torch import nn


def init_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """N(0, std) weights and zero biases for every conv / linear layer of ``module`` (the authors' init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class IBGANGenerator(nn.Module):
    """r (B, R) -> images (B, C, 64, 64) in [0, 1]."""

    def __init__(self, input_dim: int, channels: int = 1, width: int = 16):
        super().__init__()
        w4, w2 = 4 * width, 2 * width
        self.fc = nn.Sequential(nn.Linear(input_dim, 16 * width), nn.BatchNorm1d(16 * width), nn.ReLU(),
                                nn.Linear(16 * width, 64 * w4), nn.BatchNorm1d(64 * w4), nn.ReLU())  # (B, 8*8*64)
        self.w4 = w4

        def up(cin, cout, k, s, p):
            return [nn.ConvTranspose2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        self.conv = nn.Sequential(*up(w4, w4, 3, 1, 1), *up(w4, w4, 3, 1, 1),              # (B, 64, 8, 8)
                                  *up(w4, w2, 4, 2, 1), *up(w2, width, 4, 2, 1),          # (B, 16, 32, 32)
                                  nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh())  # (B, C, 64, 64)
        init_normal(self)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        h = self.fc(r).view(len(r), self.w4, 8, 8)
        return (self.conv(h) + 1) / 2


class IBGANTrunk(nn.Module):
    """images (B, C, 64, 64) in [0, 1] -> features (B, 256); the authors' trunk reads [-1, 1]: 2x - 1 first."""

    features = 256

    def __init__(self, channels: int = 1, width: int = 16):
        super().__init__()

        def down(cin, cout, k, s, p):
            return [nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),      # (B, 16, 32, 32)
                                  *down(width, 2 * width, 4, 2, 1), *down(2 * width, 4 * width, 4, 2, 1),  # 8x8
                                  *down(4 * width, 8 * width, 3, 1, 1),                          # (B, 128, 8, 8)
                                  *down(8 * width, 16 * width, 8, 1, 0), nn.Flatten())           # (B, 256)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(2 * x - 1)
