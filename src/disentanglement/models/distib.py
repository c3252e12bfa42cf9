"""DisTIB (Dang, Luo, Jia, Dai, Wang, Chang & Wang, IEEE TCSVT 2024, "Disentangled Representation Learning with
Transmitted Information Bottleneck", arXiv 2311.01686): an image x is encoded into a *label-related* code A and a
*sample-specific* code Z, and a label y (one factor of the dataset) supervises A.

Two Bayesian networks carry the information: compression G_in (x -> A, x -> Z) and preservation G_out
(A -> y, A -> x, Z -> x).  By their Theorem 1 a network's multi-information is the sum over nodes of the
information each node receives from its parents, so the objective (their Eqs. 4-5, β in [0, 1])

    min_{A, Z}  -[I(x; A, Z) + I(A; y)]  +  β [I(x; A) + I(x; Z) + I(x; y)]       (I(x; y) = H(y): a constant)

becomes, with the paper's variational bounds (Sec. IV: I(x; ·) <= E KL(p(·|x) || N(0, I)); I(A; y) >=
E log q(y|A) + H(y), q(y|A) = softmax(AW + b); I(x; A, Z) >= E log q(x|A, Z) + H(x)), the loss per image

    L = w_y CE(softmax(W a + b), y) + w_rec E[-log q(x | a, z)] + β [KL(q(A|x) || N(0, I)) + KL(q(Z|x) || N(0, I))]

with a ~ q(A|x), z ~ q(Z|x) reparameterised; the paper's weights are w_y = w_rec = 1 (the defaults).  Nothing else keeps y out of Z: the paper's Theorem 2 argues that
near the optimum A and Z share no information and A is the minimal sufficient code of y, so Z's compression term
alone should drop the label from Z (the decoder reads it from A).  ``benchmarks/distib_dsprites.py`` measures
whether it does.

Where we differ from the paper, whose text gives no code, latent sizes, β or schedule: their encoders and
decoder are three-layer MLPs of width 4,096 on feature vectors; here they are the library's (``net``: the study's
conv64 on 64x64 images); their q(x|A, Z), a unit-variance Gaussian on the decoder's output, is
``reconstruction=unit_gaussian``, but the default is the study's Bernoulli: on dSprites the unit Gaussian left
both codes collapsed and the decoder at the mean image through 1,100 steps at β = 1, 0.1 and 0.01 (lr 5e-4,
seed 0), where the Bernoulli likelihood leaves the mean image by step 300.  A is 3 wide and Z 10 (our choice).

``objective=vib`` is the plain variational information bottleneck (Alemi, Fischer, Dillon & Murphy, ICLR 2017,
"Deep Variational Information Bottleneck") on A: CE + β KL(q(A|x) || N(0, I)), the same nets; the decoder and Z
still learn to reconstruct x from (sg(a), z) so the model can be looked at, but no reconstruction gradient
reaches A — the supervised baseline the paper compares with, at equal architecture.

The label is a factor of the dataset (``label``, default ``shape``): the model is trained on the dataset's train
split and scored on the held-out one (``supervised``).  What the metrics score: (mu_A, mu_Z).  What a user turns:
each latent of A (``a0``, ...) and Z (``z0``, ...), as the VAE's latents, most informative first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..nets import ARCHITECTURES, build_vae_nets
from ..params import Params, require
from ..penalties._math import gaussian_kl
from .base import Axis, Backbone, Batch, Phase, factor_column
from .vae import RECONSTRUCTIONS, latent_axes, reconstruction_loss

OBJECTIVES = ("distib", "vib")
DISTIB_RECONSTRUCTIONS = ("unit_gaussian", *RECONSTRUCTIONS)


@dataclass(frozen=True)
class DisTIBParams(Params):
    label: str = "shape"              # the factor that is the label y (the paper's dSprites label: shape)
    label_dim: int = 3                # C1: width of the label-related code A
    sample_dim: int = 10              # C2: width of the sample-specific code Z
    beta: float = 1.0                 # β of Eq. 4, the compression weight (the paper's range: [0, 1])
    reconstruction_weight: float = 1.0   # w_rec of the sufficiency term I(x; A, Z) (1: the paper's objective)
    label_weight: float = 1.0         # w_y of the prediction term I(A; y) (1: the paper's objective)
    objective: str = "distib"         # distib | vib (Alemi et al. 2017 on A; no reconstruction gradient into A)
    net: str = "auto"                 # the encoders' and decoder's architecture (auto: conv64 for 64x64, else mlp)
    reconstruction: str = "bernoulli"  # bernoulli (the study's) | unit_gaussian (the paper's N(f(a, z), I)) | gaussian

    def validate(self) -> None:
        require(self.label_dim > 0, f"label_dim must be a positive integer, got {self.label_dim}")
        require(self.sample_dim > 0, f"sample_dim must be a positive integer, got {self.sample_dim}")
        require(self.beta >= 0, f"beta must be >= 0 (the paper uses [0, 1]), got {self.beta}")
        require(self.reconstruction_weight >= 0, f"reconstruction_weight must be >= 0, got {self.reconstruction_weight}")
        require(self.label_weight >= 0, f"label_weight must be >= 0, got {self.label_weight}")
        require(self.objective in OBJECTIVES, f"unknown objective {self.objective!r}; choose one of: {', '.join(OBJECTIVES)}")
        require(self.net in ARCHITECTURES, f"unknown net {self.net!r}; choose one of: {', '.join(ARCHITECTURES)}")
        require(self.reconstruction in DISTIB_RECONSTRUCTIONS,
                f"unknown reconstruction {self.reconstruction!r}; choose one of: {', '.join(DISTIB_RECONSTRUCTIONS)}")


class DisTIB(Backbone):
    name = "distib"
    Params = DisTIBParams
    supervised = True                 # the label: trained on the train split, scored on the held-out one
    representation_name = "encoder means (mu_A, mu_Z)"

    def __init__(self, params: DisTIBParams, dataset):
        super().__init__()
        self.params = p = params
        self.label_column = factor_column(dataset, p.label, "distib.label")
        self.classes = int(dataset.factor_sizes[self.label_column])
        shape = dataset.observation_shape
        self.encoder_a = build_vae_nets(p.net, shape, p.label_dim)[0]       # x -> (mu_A, logvar_A), (B, C1) each
        self.encoder_z = build_vae_nets(p.net, shape, p.sample_dim)[0]      # x -> (mu_Z, logvar_Z), (B, C2) each
        self.decoder = build_vae_nets(p.net, shape, p.label_dim + p.sample_dim)[1]   # (a, z) -> logits of x
        self.classifier = nn.Linear(p.label_dim, self.classes)              # q(y | A) = softmax(A W + b)

    @classmethod
    def build(cls, config, dataset) -> "DisTIB":
        return cls(config.backbone, dataset)

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        if not getattr(dataset, "factor_names", None):      # a folder of images: its attributes are read later
            return [f"the label {config.backbone.label!r} is looked up when the folder's attributes are read"]
        factor_column(dataset, config.backbone.label, "distib.label")
        return []

    # ---- the model ---------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, C, H, W) -> mu (B, C1 + C2), logvar (B, C1 + C2): A's columns first, then Z's."""
        (mu_a, logvar_a), (mu_z, logvar_z) = self.encoder_a(x), self.encoder_z(x)
        return torch.cat([mu_a, mu_z], 1), torch.cat([logvar_a, logvar_z], 1)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> (B,) the label class from the mean of A."""
        return self.classifier(self.encoder_a(x)[0].float()).argmax(1)

    def _loss(self, batch: Batch):
        if batch.factors is None:
            raise ValueError("DisTIB is supervised by a label: the batch has no factors")
        x, y, p = batch.x, batch.factors[:, self.label_column], self.params
        mu, logvar = (t.float() for t in self.encode(x))                                  # (B, C1 + C2) each
        eps = torch.randn(mu.shape, generator=batch.generator, device=mu.device, dtype=mu.dtype)
        code = mu + torch.exp(0.5 * logvar) * eps                                         # (B, C1 + C2)
        a = code[:, :p.label_dim]                                                         # (B, C1)
        logits = self.classifier(a).float()                                               # (B, classes)
        ce = F.cross_entropy(logits, y)                                                   # -E log q(y | a)
        kl = gaussian_kl(mu, logvar).sum(0) / len(x)                                      # (C1 + C2,)
        kl_a, kl_z = kl[:p.label_dim].sum(), kl[p.label_dim:].sum()
        if p.objective == "vib":                    # the decoder may look at A, not move it
            code = torch.cat([a.detach(), code[:, p.label_dim:]], 1)
        recon = self.reconstruction_loss(self.decoder(code).float(), x)
        loss = p.label_weight * ce + p.reconstruction_weight * recon + p.beta * (kl_a + kl_z)
        accuracy = (logits.argmax(1) == y).float().mean()
        return loss, {"loss": loss, "ce": ce, "recon": recon, "kl_a": kl_a, "kl_z": kl_z, "accuracy": accuracy}

    def reconstruction_loss(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """-log q(x | a, z) per image, mean over the batch: ``unit_gaussian`` ½ Σ (sigmoid(logits) - x)² (the
        paper's N(f(a, z), I), constants dropped), else the VAE's (``bernoulli``, ``gaussian``)."""
        if self.params.reconstruction == "unit_gaussian":
            return 0.5 * reconstruction_loss(logits, x, "gaussian")
        return reconstruction_loss(logits, x, self.params.reconstruction)

    def phases(self) -> list[Phase]:
        return [Phase("main", list(self.parameters()), self._loss)]

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> (mu_A, mu_Z) (B, C1 + C2)."""
        return self.encode(x)[0]

    # ---- what a user turns -------------------------------------------------------------------------
    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """images (N, C, H, W) -> their encoder means (N, C1 + C2)."""
        return self.encode(images)[0].float()

    def axes(self, images: torch.Tensor, *, steps: int = 9, limit: float = 2.0) -> list[Axis]:
        """Each latent of A (a0, ...) and Z (z0, ...), most informative first, shifted as the VAE's latents."""
        c1, c2 = self.params.label_dim, self.params.sample_dim
        return latent_axes(self, images, steps=steps, limit=limit,
                           names=[f"a{d}" for d in range(c1)] + [f"z{d}" for d in range(c2)])

    def decode(self, points: torch.Tensor) -> torch.Tensor:
        """points (B, C1 + C2) = (a, z) -> mean image (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decoder(points))

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, C, H, W) -> decode(mu_A, mu_Z)."""
        return self.decode(self.anchors(images)).float()

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n decodes of (a, z) ~ N(0, I)."""
        points = torch.randn(n, self.params.label_dim + self.params.sample_dim, generator=generator)
        return self.decode(points.to(next(self.parameters()).device)).float()

    def describe(self) -> str:
        p = self.params
        return (f"{p.objective}: label {p.label} ({self.classes} classes) on A ({p.label_dim}), "
                f"Z ({p.sample_dim}) · β {p.beta:g}")
