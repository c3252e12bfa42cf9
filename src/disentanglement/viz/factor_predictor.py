"""A small factor predictor: images -> a class distribution per factor, trained on the dataset's own images.

It reads the factors of decoded images for the traversal score.  Its reading of factor k is the expected
class under the predicted distribution, divided by (size_k - 1): a value in [0, 1] that moves continuously.
Trained in 1200 Adam steps of 32 fresh samples (about 30 s for dSprites, 70 s for Pendulum on one busy CPU core)
once per dataset and machine: cached under a key of the dataset and training settings in the user's cache
(``cache_dir``: $DISENTANGLE_CACHE, else $XDG_CACHE_HOME/disentanglement, else ~/.cache/disentanglement), so
every later report and evaluation of any run on that dataset loads it, and a stale cache (other dataset, other
settings, another VERSION) is retrained, not reused.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..runs import atomic_save

VERSION = 6  # bump when the architecture or training changes: invalidates every cache
MLP_SIDE = 32  # the MLP predictor (images that are not 64 x 64) reads at most 32 x 32 pixels


def _conv(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2 - (stride > 1)), nn.BatchNorm2d(c_out), nn.ReLU()]


class ConvBody(nn.Module):
    """x (B, C, 64, 64) -> (B, 256): where (a dense layer on the 8x8 feature map) and what (a global max pool:
    the same features wherever the object sits).  On dSprites, held-out accuracy of shape / scale /
    orientation went from 46 / 63 / 6 % (dense layer only, no BatchNorm, 600 steps of 64) to 98 / 98 / 35 %
    (this, 1200 steps of 32) for 1.3x the training time; orientation is partly ambiguous by symmetry."""

    def __init__(self, channels: int):
        super().__init__()
        self.features = nn.Sequential(*_conv(channels, 16, 4, 2), *_conv(16, 32, 4, 2), *_conv(32, 32, 4, 2))
        self.where = nn.Sequential(nn.Flatten(), nn.Linear(32 * 8 * 8, 192), nn.ReLU())           # (B, 192)
        self.what = nn.Sequential(*_conv(32, 64, 3, 1), nn.AdaptiveMaxPool2d(1), nn.Flatten())   # (B, 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)                                          # (B, 32, 8, 8)
        return torch.cat([self.where(h), self.what(h)], 1)            # (B, 256)


class Standardize(nn.Module):
    """x (B, *shape) -> (x - mean) / max(sd, floor) per element; mean and sd are buffers set by ``fit``."""

    def __init__(self, shape: tuple[int, ...], floor: float = 0.02):
        super().__init__()
        self.floor = floor
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("sd", torch.ones(shape))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """x (N, *shape): what the layer sees on the training data."""
        self.mean.copy_(x.mean(0))
        self.sd.copy_(x.std(0).clamp_min(self.floor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.sd


class FactorPredictor(nn.Module):
    """x (B, C, H, W) -> logits (B, sum_k size_k): a small conv net (ConvBody) for 64x64 images, else an MLP (on the
    image averaged down to at most 32 x 32)."""

    def __init__(self, observation_shape: tuple[int, int, int], factor_sizes: tuple[int, ...]):
        super().__init__()
        channels, height, width = observation_shape
        self.factor_sizes = tuple(int(s) for s in factor_sizes)
        if (height, width) == (64, 64):
            self.body = ConvBody(channels)
        else:
            # larger images are averaged down to at most MLP_SIDE x MLP_SIDE first: at 96 x 96 (Pendulum, Flow)
            # the first layer would hold 7.1M weights, and its Adam updates took ~40 % of a report's time.
            # Averaging thins a 2-pixel stroke's contrast (Flow's walls, jet and ball: per-pixel sd 0.01 against a
            # mean of 0.89), and the MLP then learnt nothing (Flow: chance accuracy, loss flat over 1,200 steps);
            # so averaged images are standardised per pixel (Standardize, fitted on the training data first).
            side = (min(height, MLP_SIDE), min(width, MLP_SIDE))
            pool = [nn.AdaptiveAvgPool2d(side), Standardize((channels,) + side)] if side != (height, width) else []
            self.body = nn.Sequential(*pool, nn.Flatten(), nn.Linear(channels * math.prod(side), 256), nn.ReLU(),
                                      nn.Linear(256, 256), nn.ReLU())
        self.head = nn.Linear(256, sum(self.factor_sizes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))                                # (B, sum_k size_k)

    @torch.no_grad()
    def fit_inputs(self, x: torch.Tensor) -> None:
        """Fit the body's Standardize layer (if any) on training images x (N, C, H, W)."""
        for layer in self.body.children():
            if isinstance(layer, Standardize):
                return layer.fit(x)
            x = layer(x)

    @torch.no_grad()
    def readout(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> (B, K) expected class of each factor, scaled to [0, 1]."""
        out = []
        for logits, size in zip(self(x).split(self.factor_sizes, dim=1), self.factor_sizes):
            classes = torch.arange(size, dtype=logits.dtype, device=logits.device)
            out.append(logits.softmax(1) @ classes / max(size - 1, 1))  # (B,)
        return torch.stack(out, 1)

    @torch.no_grad()
    def classes(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> (B, K) most likely class of each factor."""
        return torch.stack([l.argmax(1) for l in self(x).split(self.factor_sizes, dim=1)], 1)


def _loss(model: FactorPredictor, x: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    logits = model(x).split(model.factor_sizes, dim=1)
    return sum(F.cross_entropy(l, factors[:, k]) for k, l in enumerate(logits))


def soften(x: torch.Tensor, rng: np.random.Generator, start: int | None = None) -> torch.Tensor:
    """Blur x[start:] (default: the second half of the batch; Gaussian, sigma ~ U(0, 1.5) px) and scale its
    contrast by U(0.5, 1): decoders output soft images, and the predictor must read those as calmly as the
    crisp originals."""
    sigma, gain = rng.uniform(0.05, 1.5), rng.uniform(0.5, 1.0)
    t = torch.arange(-3, 4, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()                                                    # (7,)
    start = len(x) // 2 if start is None else start
    half = x[start:]                                                   # (B - start, C, H, W)
    c = half.shape[1]
    half = F.conv2d(half, k.view(1, 1, 1, 7).repeat(c, 1, 1, 1), padding=(0, 3), groups=c)
    half = F.conv2d(half, k.view(1, 1, 7, 1).repeat(c, 1, 1, 1), padding=(3, 0), groups=c)
    return torch.cat([x[:start], gain * half])


@torch.enable_grad()
def train_factor_predictor(dataset, *, steps: int = 1200, batch: int = 32, lr: float = 4e-3, seed: int = 0,
                           device: str | torch.device = "cpu") -> tuple[FactorPredictor, list[float]]:
    """Train on fresh samples of ``dataset`` (Adam, one-cycle learning rate peaking at ``lr``); returns
    (model in eval mode, held-out accuracy per factor).  Gradients are on even when the caller scores a model under
    ``torch.no_grad()`` (the predictor is trained the first time it is asked for, wherever that is)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = FactorPredictor(dataset.observation_shape, dataset.factor_sizes).to(device)
    if any(isinstance(layer, Standardize) for layer in model.body.children()):
        images, _ = dataset.sample(512, np.random.default_rng(seed + 2))                     # (512, C, H, W)
        model.fit_inputs(torch.from_numpy(images).to(device))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for step in range(steps):
        images, factors = dataset.sample(batch, rng)                  # (B, C, H, W), (B, K)
        x = soften(torch.from_numpy(images).to(device), rng)
        loss = _loss(model, x, torch.from_numpy(factors).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    model.eval()
    images, factors = dataset.sample(512, np.random.default_rng(seed + 1))
    predicted = model.classes(torch.from_numpy(images).to(device)).cpu().numpy()
    return model, [float(a) for a in (predicted == factors).mean(0)]


def cache_key(dataset, **settings) -> str:
    """A hash of what determines the predictor: the dataset's name, factors and shape, and the settings."""
    spec = {"version": VERSION, "dataset": type(dataset).__name__, "name": dataset.name,
            "factors": list(dataset.factor_names), "sizes": list(dataset.factor_sizes),
            "shape": list(dataset.observation_shape), **settings}
    if dataset.fingerprint:                      # a user's folder: its files, not only its name (other keys kept)
        spec["fingerprint"] = dataset.fingerprint
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    """The folder of readouts trained once per machine: $DISENTANGLE_CACHE, else $XDG_CACHE_HOME/disentanglement,
    else ~/.cache/disentanglement."""
    if os.environ.get("DISENTANGLE_CACHE"):
        return Path(os.environ["DISENTANGLE_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "disentanglement"


def load_or_train(dataset, path: str | Path | None = None, *, steps: int = 1200, seed: int = 0,
                  device: str | torch.device = "cpu") -> tuple[FactorPredictor, list[float]]:
    """The predictor cached at ``path`` if its key matches, else a freshly trained one (then cached).

    Without ``path`` the cache is the user's (``cache_dir``), one file per dataset and settings; if that folder
    cannot be written the predictor is still returned, only not kept."""
    key = cache_key(dataset, steps=steps, seed=seed)
    path = Path(path) if path is not None else cache_dir() / f"factor_predictor_{dataset.name}_{key}.pt"
    if path.exists():
        try:
            state = torch.load(path, map_location=device, weights_only=True)
            if state.get("key") == key:
                model = FactorPredictor(dataset.observation_shape, dataset.factor_sizes).to(device)
                model.load_state_dict(state["model"])
                return model.eval(), list(state["accuracy"])
        except Exception:  # a damaged cache is only a cache: retrain below
            pass
    model, accuracy = train_factor_predictor(dataset, steps=steps, seed=seed, device=device)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save({"key": key, "model": model.state_dict(), "accuracy": accuracy}, path)
    except OSError as err:   # a read-only home: the report still gets its predictor, it is trained again next time
        warnings.warn(f"could not cache the factor predictor at {path} ({err}); set DISENTANGLE_CACHE to a "
                      f"writable folder to train it once", stacklevel=2)
    return model, accuracy
