"""Tripod's networks (Hsu, Hamid, Burns, Finn & Wu, ICML 2024; layer facts from kylehkhsu/tripod,
``disentangle/nn/{encoder,decoder,layers}.py``, written here): residual, GELU throughout, so that the decoder
is smooth and its Hessian penalty means something (a ReLU net's is zero almost everywhere).

    encoder (64x64): four stages of two residual blocks (conv 3x3, instance norm with affine, GELU; twice;
             a 1x1 conv on the skip where the width changes) then a space-to-depth 2x2 + 1x1 conv down:
             widths 32, 64, 128, 256 -> 512 at 4x4; spatial mean; FC 512, LayerNorm, GELU; FC D.
    decoder: cond = (FC 256, LayerNorm, GELU) x 2 of z; a learned 512x4x4 input (starts at 1); four stages
             of two AdaIN residual blocks (conv 3x3, instance norm without affine, x (1 + scale) + shift from
             cond, GELU) then nearest 2x upsampling + conv 3x3 to 256, 128, 64, C (their default
             ``normalize_outputs: False``: no norm after); the outputs of cond and of the first three stages
             are what the Hessian penalty reads (``features``).

``TripodMLP*``: the same roles for small images (GELU MLPs), for the toys and the tests.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _dense(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(cin, cout), nn.LayerNorm(cout), nn.GELU())


class _ConvINAct(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cout, 3, 1, 1), nn.GroupNorm(cout, cout), nn.GELU())


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(_ConvINAct(cin, cout), _ConvINAct(cout, cout))
        self.skip = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


class TripodEncoder(nn.Module):
    """x (B, C, 64, 64) -> (B, D)."""

    def __init__(self, channels: int, latent_dim: int):
        super().__init__()
        stages, width = [], channels
        for out in (32, 64, 128, 256):
            stages += [_ResBlock(width, out), _ResBlock(out, out), nn.PixelUnshuffle(2), nn.Conv2d(4 * out, 2 * out, 1)]
            width = 2 * out
        self.stages = nn.Sequential(*stages)                                   # (B, 512, 4, 4)
        self.head = nn.Sequential(_dense(512, 512), nn.Linear(512, latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(x).mean((2, 3)))


class _AdaIN(nn.Module):
    """conv 3x3, instance norm (no affine), x (1 + scale) + shift from cond, GELU."""

    def __init__(self, cond: int, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm = nn.GroupNorm(cout, cout, affine=False)
        self.proj = nn.Linear(cond, 2 * cout)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(cond)[:, :, None, None].chunk(2, dim=1)
        return F.gelu(self.norm(self.conv(x)) * (1 + scale) + shift)


class _ResCondBlock(nn.Module):
    def __init__(self, cond: int, width: int):
        super().__init__()
        self.a, self.b = _AdaIN(cond, width, width), _AdaIN(cond, width, width)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x, cond), cond)


class TripodDecoder(nn.Module):
    """z (B, D) -> logits (B, C, 64, 64); ``features(z)``: [cond, stage 0, stage 1, stage 2] outputs."""

    def __init__(self, channels: int, latent_dim: int, cond: int = 256):
        super().__init__()
        self.cond = nn.Sequential(_dense(latent_dim, cond), _dense(cond, cond))
        self.input_map = nn.Parameter(torch.ones(512, 4, 4))
        widths = (512, 256, 128, 64, channels)
        self.blocks = nn.ModuleList(nn.ModuleList([_ResCondBlock(cond, w), _ResCondBlock(cond, w)]) for w in widths[:-1])
        self.ups = nn.ModuleList(nn.Conv2d(w, out, 3, 1, 1) for w, out in zip(widths[:-1], widths[1:]))

    def _stage(self, i: int, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        for block in self.blocks[i]:
            x = block(x, cond)
        return self.ups[i](F.interpolate(x, scale_factor=2, mode="nearest"))

    def features(self, z: torch.Tensor, stages: int = 3) -> list[torch.Tensor]:
        cond = self.cond(z)
        out, x = [cond], self.input_map.expand(len(z), -1, -1, -1)
        for i in range(stages):
            x = self._stage(i, x, cond)
            out.append(x)
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        cond, *_, x = self.features(z)
        return self._stage(3, x, cond)


class TripodMLPEncoder(nn.Module):
    """x (B, C, H, W) -> (B, D), GELU MLP."""

    def __init__(self, observation_shape: tuple[int, int, int], latent_dim: int, hidden: int = 256):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), _dense(math.prod(observation_shape), hidden), _dense(hidden, hidden),
                                 nn.Linear(hidden, latent_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class TripodMLPDecoder(nn.Module):
    """z (B, D) -> logits (B, C, H, W); ``features``: [cond, hidden] (GELU MLP)."""

    def __init__(self, observation_shape: tuple[int, int, int], latent_dim: int, hidden: int = 256):
        super().__init__()
        self.shape = tuple(observation_shape)
        self.cond, self.hidden = _dense(latent_dim, hidden), _dense(hidden, hidden)
        self.out = nn.Linear(hidden, math.prod(observation_shape))

    def features(self, z: torch.Tensor) -> list[torch.Tensor]:
        cond = self.cond(z)
        return [cond, self.hidden(cond)]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(z)[-1]).view(len(z), *self.shape)
