"""The nets of the diffusion backbone: diffusers' denoising U-Net, conditioned by a code in one of two ways,
a small conv encoder and FDAE's mask generator.

- AdaGN (Preechakul et al. 2022, DiffAE, Eq. 8): every residual block normalises as
  h = z_s ⊙ (t_s ⊙ GroupNorm(h) + t_b), (t_s, t_b) from the time embedding, z_s = Affine(z_sem).  In the
  official code both factors are "1 +": h = (1 + c) ⊙ ((1 + t_s) ⊙ GN(h) + t_b), c = Linear(SiLU(z_sem)),
  one Linear per block.  diffusers' ``ResnetBlock2D`` with ``time_embedding_norm="scale_shift"`` computes
  h ⊙ (1 + s) + b from ``time_emb_proj``'s output (s, b); a forward hook on that projection returns
  s' = (1 + c)(1 + s) − 1 and b' = (1 + c) b, so the block computes exactly the paper's form.
- Condition map (Wu & Zheng 2024, FDAE, Sec. 3.2): a map (B, C0, H, W) added to the output of the U-Net's
  first convolution (a forward hook on ``conv_in``).

diffusers is optional (the ``diffusion`` extra): without it this module imports, ``DIFFUSERS_MISSING`` says
why, and the backbone refuses to build with one line.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

_DIFFUSERS = ("DDIMScheduler", "EDMEulerScheduler", "UNet2DModel", "ResnetBlock2D", "DIFFUSERS_MISSING")


def _diffusers() -> dict:
    """diffusers' classes and DIFFUSERS_MISSING (None, or why the import failed), imported on first use: importing
    diffusers pulls in torch._dynamo and takes ~4 s, which every `disentangle` command paid before."""
    try:
        from diffusers import DDIMScheduler, EDMEulerScheduler, UNet2DModel
        from diffusers.models.resnet import ResnetBlock2D
        found = {"DDIMScheduler": DDIMScheduler, "EDMEulerScheduler": EDMEulerScheduler, "UNet2DModel": UNet2DModel,
                 "ResnetBlock2D": ResnetBlock2D, "DIFFUSERS_MISSING": None}
    except ImportError as err:  # pragma: no cover - exercised by monkeypatching DIFFUSERS_MISSING
        found = dict.fromkeys(_DIFFUSERS[:-1], None)
        found["DIFFUSERS_MISSING"] = f"the diffusion backbone needs diffusers ({err}): pip install 'disentanglement[diffusion]'"
    for name, value in found.items():
        globals().setdefault(name, value)       # later reads are plain attributes (and a monkeypatch stays put)
    return {name: globals()[name] for name in _DIFFUSERS}


def __getattr__(name: str):
    """DDIMScheduler, EDMEulerScheduler, UNet2DModel, ResnetBlock2D, DIFFUSERS_MISSING: imported lazily (PEP 562)."""
    if name in _DIFFUSERS:
        return _diffusers()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def unet_layout_error(height: int, width: int, channels: tuple[int, ...], groups: int) -> Optional[str]:
    """Why a U-Net with these widths cannot take (height, width) images, or None.

    diffusers' UNet2DModel halves the resolution after every level but the last, and GroupNorm needs every
    width divisible by the number of groups."""
    if not channels or any(c <= 0 for c in channels):
        return f"unet_channels must be positive widths, one per level (e.g. 32,64), got {channels}"
    bad = [c for c in channels if c % groups]
    if groups <= 0 or bad:
        return f"norm_groups={groups} must divide every U-Net width, not {bad or list(channels)}"
    factor = 2 ** (len(channels) - 1)
    if height % factor or width % factor or min(height, width) // factor < 2:
        return (f"a U-Net of {len(channels)} levels needs images whose sides are multiples of {factor} and at "
                f"least {2 * factor}, got {height}x{width}: use fewer levels (unet_channels)")
    return None


def build_unet(observation_shape: tuple[int, int, int], channels: tuple[int, ...], layers: int, groups: int,
               attention: bool, scale_shift: bool) -> "UNet2DModel":
    """diffusers' UNet2DModel for (C, H, W) images: ``len(channels)`` levels, ``layers`` residual blocks each,
    self-attention at the lowest resolution and in the middle block when ``attention``; the time embedding
    scales and shifts the normalised features (``scale_shift``, DiffAE) or is added to them (FDAE's ADM)."""
    c, h, w = observation_shape
    levels = len(channels)
    down = ["DownBlock2D"] * (levels - 1) + ["AttnDownBlock2D" if attention else "DownBlock2D"]
    up = ["AttnUpBlock2D" if attention else "UpBlock2D"] + ["UpBlock2D"] * (levels - 1)
    return _diffusers()["UNet2DModel"](sample_size=(h, w), in_channels=c, out_channels=c, block_out_channels=tuple(channels),
                       layers_per_block=layers, down_block_types=tuple(down), up_block_types=tuple(up),
                       norm_num_groups=groups, add_attention=attention, attention_head_dim=channels[-1] // 2 or 1,
                       resnet_time_scale_shift="scale_shift" if scale_shift else "default")


class ConditionedUNet(nn.Module):
    """(x_t, t, code or condition map) -> the U-Net's output: the code through AdaGN in every residual block
    (``code_dim`` > 0, DiffAE), or a condition map added after ``conv_in`` (FDAE)."""

    def __init__(self, unet: "UNet2DModel", code_dim: int = 0):
        super().__init__()
        self.unet = unet
        self._code: Optional[torch.Tensor] = None     # set for the duration of one forward call
        self._map: Optional[torch.Tensor] = None
        blocks = [m for m in unet.modules() if isinstance(m, _diffusers()["ResnetBlock2D"])]
        self.adagn = nn.ModuleList()
        if code_dim:
            for i, block in enumerate(blocks):
                affine = nn.Linear(code_dim, block.time_emb_proj.out_features // 2)
                self.adagn.append(affine)
                block.time_emb_proj.register_forward_hook(self._adagn_hook(i))
        unet.conv_in.register_forward_hook(self._map_hook)

    def _adagn_hook(self, i: int):
        def hook(module, inputs, out):                  # out (B, 2C): the time embedding's (t_s, t_b)
            if self._code is None:
                return out
            c = self.adagn[i](F.silu(self._code)).to(out.dtype)                     # (B, C)
            t_s, t_b = out.chunk(2, dim=1)
            return torch.cat([(1 + c) * (1 + t_s) - 1, (1 + c) * t_b], dim=1)       # (B, 2C)
        return hook

    def _map_hook(self, module, inputs, out):           # out (B, C0, H, W)
        return out if self._map is None else out + self._map.to(out.dtype)

    def forward(self, x: torch.Tensor, t: torch.Tensor, code: Optional[torch.Tensor] = None,
                cond_map: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x (B, C, H, W), t (B,) -> (B, C, H, W)."""
        self._code, self._map = code, cond_map
        try:
            return self.unet(x, t).sample
        finally:
            self._code = self._map = None


class ConvEncoder(nn.Module):
    """x (B, C, H, W) -> code (B, out): stride-2 convolutions down to 4x4 (widths as the study's conv encoder,
    Locatello et al. 2019), then two linear layers."""

    def __init__(self, observation_shape: tuple[int, int, int], out: int, hidden: int = 256):
        super().__init__()
        c, h, w = observation_shape
        layers, size, widths = [], min(h, w), [32, 32, 64, 64]
        while size > 4:
            width = widths[min(len(layers) // 2, len(widths) - 1)]
            layers += [nn.Conv2d(c, width, 4, 2, 1), nn.ReLU()]
            c, size = width, size // 2
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten(),
                                  nn.Linear(c * 16, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class MaskGenerator(nn.Module):
    """mask codes (B, N, m) -> masks (B, N, H, W), a softmax across the N concepts at every pixel: one generator
    shared by the concepts (FDAE's mask generator), upsampling twice from a quarter of the resolution."""

    def __init__(self, mask_dim: int, height: int, width: int, hidden: int = 32):
        super().__init__()
        self.size = (height, width)
        self.start = (max(1, -(-height // 4)), max(1, -(-width // 4)))
        self.hidden = hidden
        self.linear = nn.Linear(mask_dim, hidden * self.start[0] * self.start[1])
        up = lambda cin, cout: [nn.Upsample(scale_factor=2), nn.Conv2d(cin, cout, 3, padding=1),  # noqa: E731
                                nn.GroupNorm(min(8, cout), cout), nn.SiLU()]
        self.body = nn.Sequential(*up(hidden, hidden), *up(hidden, hidden), nn.Conv2d(hidden, 1, 3, padding=1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        b, n, m = codes.shape
        h = self.linear(codes.reshape(b * n, m)).view(b * n, self.hidden, *self.start)
        logits = self.body(h)                                                     # (B·N, 1, ~H, ~W)
        if logits.shape[-2:] != self.size:
            logits = F.interpolate(logits, size=self.size, mode="bilinear", align_corners=False)
        return logits.view(b, n, *self.size).float().softmax(dim=1)               # (B, N, H, W)


__all__ = ["DDIMScheduler", "DIFFUSERS_MISSING", "EDMEulerScheduler", "ConditionedUNet", "ConvEncoder",
           "MaskGenerator", "UNet2DModel", "build_unet", "unet_layout_error"]
