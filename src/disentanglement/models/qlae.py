"""QLAE (Hsu, Dorrell, Whittington, Wu & Finn, NeurIPS 2023, "Disentanglement via Latent Quantization"): an
autoencoder whose latent is quantised dimension by dimension onto small learned scalar codebooks.

Each of the D latents has its own codebook of V values (v_d1 .. v_dV, starting evenly spaced on [-0.5, 0.5]);
the encoder's continuous output z_c is snapped, per dimension, to the nearest value of its codebook, z_q, and
the decoder reads z_q through the straight-through estimator (z_c + sg(z_q - z_c): the value of z_q, the
gradient of z_c).  With few values per dimension the decoder can only combine them, which — together with a
strong weight decay and a high-capacity decoder — pushes each factor onto one dimension (Sec. 3 of the paper):

    loss = BCE(decoder(z_st), x)  +  w_q ||sg(z_c) - z_q||²  +  w_c ||z_c - sg(z_q)||²
           (per-element means; the codebook term moves the values, the commitment term the encoder)

Facts from the authors' code (kylehkhsu/latent_quantization; written here, not copied): V = 10 values per
latent, D = 2 x the number of factors (10 on dSprites), w_q = w_c = 0.01 (``configs/model_partial``; their
"fixed" dSprites config uses 0.001), AdamW lr 1e-3 with weight decay 0.1 on the weights of the encoder and
decoder (norm scales and the decoder's input map included) after element-wise gradient clipping at 1, plain Adam
without decay on the biases and the codebooks; batch 128, 200,000 steps.  Their nets are ``nets/qlae.py``
(``net=qlae``, the default for 64x64 images); ``net=conv64`` / ``mlp`` use the library's.

What the metrics score: z_q (the quantised values, as the authors' evaluation).  What a user turns: each latent
through its codebook's values (in order), around the quantised codes of images; ``amount`` is the share of
images whose code does not sit on the latent's most used value (0: a latent that never moves).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..nets import build_vae_nets
from ..nets.qlae import QLAEEncoder, QLAEStyleDecoder
from ..params import Params, require
from .base import Axis, Backbone, Batch, Phase

QLAE_NETS = ("auto", "qlae", "conv64", "conv64_slim", "mlp")


@dataclass(frozen=True)
class QLAEParams(Params):
    latent_dim: int = 10                 # D: 2 x the factors (the authors' rule; 10 on dSprites)
    values: int = 10                     # V: values in each latent's codebook
    net: str = "auto"                    # auto (qlae for 64x64 images, else mlp) | qlae | conv64 | conv64_slim | mlp
    quantization_weight: float = 0.01    # w_q: ||sg(z_c) - z_q||², moves the codebooks
    commitment_weight: float = 0.01      # w_c: ||z_c - sg(z_q)||², moves the encoder
    weight_decay: float = 0.1            # AdamW's, on the nets' weights (not biases, not codebooks)
    clip: float = 1.0                    # element-wise gradient clip of the decayed weights (0: none)

    def validate(self) -> None:
        require(self.latent_dim > 0, f"latent_dim must be a positive integer, got {self.latent_dim}")
        require(self.values >= 2, f"values must be >= 2 (a codebook of one value carries nothing), got {self.values}")
        require(self.net in QLAE_NETS, f"unknown net {self.net!r}; choose one of: {', '.join(QLAE_NETS)}")
        for name in ("quantization_weight", "commitment_weight", "weight_decay", "clip"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")


class ScalarCodebooks(nn.Module):
    """D scalar codebooks of V values each: ``values`` (D, V)."""

    def __init__(self, latent_dim: int, values: int):
        super().__init__()
        self.values = nn.Parameter(torch.linspace(-0.5, 0.5, values).repeat(latent_dim, 1))   # (D, V)

    def indices(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, D) -> the nearest value's index in each dimension's codebook (B, D) int64."""
        return (z[:, :, None] - self.values[None]).abs().argmin(-1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z_c (B, D) -> (z_q (B, D) with gradients to the codebooks, straight-through z_c + sg(z_q - z_c))."""
        index = self.indices(z.detach())
        z_q = self.values.expand(len(z), -1, -1).gather(2, index[:, :, None]).squeeze(2)    # (B, D)
        return z_q, z + (z_q - z).detach()


class QLAE(Backbone):
    name = "qlae"
    Params = QLAEParams
    config_defaults = {"lr": 1e-3, "batch_size": 128}    # the authors' (AdamW lr, batch)
    representation_name = "quantised latents z_q"

    def __init__(self, params: QLAEParams, observation_shape: tuple[int, int, int], lr: float = 1e-3):
        super().__init__()
        self.params = p = params
        self.lr = lr                                     # the run's: AdamW's learning rate
        c, h, w = observation_shape
        net = p.net if p.net != "auto" else "qlae" if (h, w) == (64, 64) else "mlp"
        if net == "qlae":
            if (h, w) != (64, 64):
                raise ValueError(f"qlae.net=qlae needs 64x64 images, the dataset gives {h}x{w}; use net=mlp")
            self.encoder, self.decoder = QLAEEncoder(c, p.latent_dim), QLAEStyleDecoder(c, p.latent_dim)
        else:
            encoder, self.decoder = build_vae_nets(net, observation_shape, p.latent_dim)
            self.encoder = _MeanOnly(encoder)
        self.codebooks = ScalarCodebooks(p.latent_dim, p.values)

    @classmethod
    def build(cls, config, dataset) -> "QLAE":
        return cls(config.backbone, dataset.observation_shape, lr=config.lr)

    # ---- training ---------------------------------------------------------------------------------
    def _decayed(self) -> list[nn.Parameter]:
        """The nets' weights: every parameter but biases and the codebooks (the authors' regularised group)."""
        return [prm for name, prm in self.named_parameters() if not name.endswith("bias") and
                not name.startswith("codebooks.")]

    def phases(self) -> list[Phase]:
        decayed = {id(prm) for prm in self._decayed()}
        rest = [prm for prm in self.parameters() if id(prm) not in decayed]
        p = self.params

        def adamw(params):   # one AdamW: clipped and decayed weights; biases and codebooks neither
            return ClippedAdamW([{"params": self._decayed(), "weight_decay": p.weight_decay, "clip": p.clip},
                                 {"params": rest, "weight_decay": 0.0, "clip": 0.0}], lr=self.lr)
        return [Phase("main", list(self.parameters()), self._loss, adamw)]

    def losses(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x (B, C, H, W) -> (loss, logs): BCE per element + w_q codebook + w_c commitment terms."""
        p = self.params
        z_c = self.encoder(x).float()                                              # (B, D)
        z_q, z_st = self.codebooks(z_c)
        recon = F.binary_cross_entropy_with_logits(self.decoder(z_st).float(), x)
        quantization = (z_c.detach() - z_q).pow(2).mean()
        commitment = (z_c - z_q.detach()).pow(2).mean()
        loss = recon + p.quantization_weight * quantization + p.commitment_weight * commitment
        return loss, {"loss": loss, "recon": recon, "quantization": quantization, "commitment": commitment}

    def _loss(self, batch: Batch):
        return self.losses(batch.x)

    # ---- evaluation and what a user turns ---------------------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> z_q (B, D)."""
        return self.codebooks(self.encoder(x).float())[0]

    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        return self.representation(images).float()

    def axes(self, images: torch.Tensor, *, steps: int = 9) -> list[Axis]:
        """Each latent through its V codebook values, sorted (``steps`` is the codebook's own size here)."""
        with torch.no_grad():
            index = self.codebooks.indices(self.encoder(images).float()).cpu().numpy()     # (N, D)
            values = self.codebooks.values.detach().float().cpu().numpy()                  # (D, V)
        return quantized_axes(index, values)

    def decode(self, points: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(points).float())

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.representation(images))

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n decodes of codes drawn uniformly from the codebooks (each latent independently)."""
        values = self.codebooks.values.detach()
        index = torch.randint(values.shape[1], (n, values.shape[0]), generator=generator)
        return self.decode(values.cpu().gather(1, index.T).T.to(values.device))

    def describe(self) -> str:
        p = self.params
        return f"{p.latent_dim} latents x {p.values} values"


def quantized_axes(index: np.ndarray, values: np.ndarray) -> list[Axis]:
    """The axes of a quantised latent: each dimension d through its values (D, V) in order, from the (N, D)
    value indices of some images; ``amount``: the share of images off the dimension's most used value."""
    out = []
    for d in range(values.shape[0]):
        counts = np.bincount(index[:, d], minlength=values.shape[1])
        moving = 1.0 - counts.max() / max(len(index), 1)
        ordered = np.sort(values[d])
        out.append(Axis(f"z{d}", slice(d, d + 1), ordered, "set", tuple(f"{v:+.2f}" for v in ordered),
                        amount=float(moving), amount_name="moving", active=bool(moving > 0.01)))
    return sorted(out, key=lambda a: -a.amount)


class ClippedAdamW(torch.optim.AdamW):
    """AdamW whose parameter groups with a ``clip`` > 0 first clamp their gradients to [-clip, clip] element by
    element (optax's ``clip`` chained before ``adamw``, as the authors' optimiser)."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            if group.get("clip", 0.0) > 0:
                for prm in group["params"]:
                    if prm.grad is not None:
                        prm.grad.clamp_(-group["clip"], group["clip"])
        return super().step(closure)


class _MeanOnly(nn.Module):
    """A VAE encoder of nets/ used as a deterministic one: x -> its mean head (B, D)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.net = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[0]
