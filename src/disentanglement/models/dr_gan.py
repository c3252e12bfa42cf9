"""DR-GAN (Tran, Yin & Liu, CVPR 2017, "Disentangled Representation Learning GAN for Pose-Invariant Face
Recognition"): an encoder-decoder generator that redraws the identity of an image in another pose, and a
discriminator that tells identity, pose and real from fake — so the encoder's f(x) keeps identity and drops pose.

The generator G reads an image x: its encoder gives the identity representation f(x) (B, n_f), and its decoder
draws x̂ = G_dec([f(x), c, z]) for a target pose code c (one-hot of the N_p poses, drawn uniformly) and noise
z ~ U[-1, 1]^{n_z}.  The discriminator's body has two softmax heads: D^d over N_d + 1 classes (the identities,
and "fake" as the last) and D^p over the N_p poses.  With y_d, y_p the labels of x, the two players minimise

    D:  CE(D^d(x), y_d) + CE(D^p(x), y_p) + CE(D^d(x̂), fake)
    G:  CE(D^d(x̂), y_d) + CE(D^p(x̂), c)

— D learns identity and pose from real images and rejects generated ones; G must draw x's identity in pose c well
enough that D classifies it so.  The "fake" logit of D^d is the GAN base's real/fake head (``models/gan.py``),
negated: D^d = [identity logits, -d_head]; the body, spectral norm, the two optimisers and the phase order are
every GAN's.  The paper's text could not be retrieved here; these facts are from the first author's code
(github tranluan/DR-GAN, a later variant) and notes on the paper: D^d with N_d + 1 outputs, fake the last; G's
pose term on the *target* pose; a random target pose per image; z ~ U[-1, 1]; no weights between the terms;
Adam 2e-4, β1 0.5, batch 64 (their defaults, which the GAN base brings for G).

Where we differ: their nets are CASIA-Net-style (conv + BN + ELU, average-pooled to n_f = 320) on 96x96 faces with
n_z = 50; here the encoder is the library's (``encoder_net``: the study's conv64 for 64x64 images), G's decoder and
D the GAN nets (``net``, spectral norm on D as for every GAN here), n_f = 64 and n_z = 16 by default (our
generated identities are simpler than faces).  Data: any dataset
with an identity and a pose factor (``identity``, ``pose``: factor names) — ``identities`` (generated outlines in
9 poses), SmallNORB (instance, azimuth), Cars3D (object type, azimuth).  The labels supervise training, so the
model trains on the train split and is scored on the held-out scenes (``supervised``).

What the metrics score: f(x).  What a user turns: the pose code through the N_p poses (a pose transfer of the
anchor image) and each noise dimension; anchors are images: [f(x), the one-hot of D^p's pose of x, z = 0].
``sample`` draws identities from a bank of the last 256 f(x) seen in training, in random poses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..nets import ARCHITECTURES, build_vae_nets
from ..params import require
from .base import Axis, Batch, Phase, factor_column
from .gan import GAN, GANParams

BANK = 256                          # identities kept for ``sample``


@dataclass(frozen=True)
class DRGANParams(GANParams):
    identity: str = "identity"      # the factor that is the identity y_d
    pose: str = "pose"              # the factor that is the pose y_p
    feature_dim: int = 64           # n_f: width of the identity representation f(x)
    noise_dim: int = 16             # n_z: noise z ~ U[-1, 1]
    encoder_net: str = "auto"       # G's encoder (auto: conv64 for 64x64 images, else mlp)

    def validate(self) -> None:
        super().validate()
        require(self.feature_dim > 0, f"feature_dim must be a positive integer, got {self.feature_dim}")
        require(self.noise_dim >= 0, f"noise_dim must be >= 0, got {self.noise_dim}")
        require(self.encoder_net in ARCHITECTURES,
                f"unknown encoder_net {self.encoder_net!r}; choose one of: {', '.join(ARCHITECTURES)}")
        require(self.identity != self.pose, f"identity and pose must be different factors, both are {self.pose!r}")


def factor_columns(params: DRGANParams, dataset) -> tuple[int, int]:
    """(identity column, pose column) of ``dataset``'s factors, or a one-line ValueError."""
    return (factor_column(dataset, params.identity, "dr_gan.identity"),
            factor_column(dataset, params.pose, "dr_gan.pose"))


@dataclass
class DRCode:
    """What G draws from: f (B, n_f) identity representations, pose (B,) target poses, z (B, n_z) noise."""

    f: torch.Tensor
    pose: torch.Tensor
    z: torch.Tensor

    def to(self, device) -> "DRCode":
        return DRCode(self.f.to(device), self.pose.to(device), self.z.to(device))


class DRGAN(GAN):
    name = "dr_gan"
    Params = DRGANParams
    supervised = True               # identity and pose labels: trained on the train split, scored on the held-out one
    representation_name = "identity representation f(x)"

    def __init__(self, params: DRGANParams, dataset):
        self.identity_column, self.pose_column = factor_columns(params, dataset)
        self.identities = int(dataset.factor_sizes[self.identity_column])          # N_d
        self.poses = int(dataset.factor_sizes[self.pose_column])                   # N_p
        super().__init__(params, dataset.observation_shape, params.feature_dim + self.poses + params.noise_dim)
        self.encoder = build_vae_nets(params.encoder_net, dataset.observation_shape, params.feature_dim)[0]
        self.identity_head = nn.Linear(self.body.features, self.identities)        # D^d's first N_d logits
        self.pose_head = nn.Linear(self.body.features, self.poses)                 # D^p
        self.register_buffer("bank", torch.zeros(BANK, params.feature_dim))        # recent f(x), for ``sample``
        self.register_buffer("bank_filled", torch.zeros((), dtype=torch.long))

    @classmethod
    def build(cls, config, dataset) -> "DRGAN":
        return cls(config.backbone, dataset)

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        if not getattr(dataset, "factor_names", None):      # a folder of images: its attributes are read later
            return ["dr_gan's identity and pose factors are looked up when the folder's attributes are read"]
        factor_columns(config.backbone, dataset)
        return []

    # ---- the nets -----------------------------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> f(x) (B, n_f)."""
        return self.encoder(x)[0]

    def points(self, code: DRCode) -> torch.Tensor:
        """G's decoder input [f, one-hot pose, z] (B, n_f + N_p + n_z)."""
        return torch.cat([code.f, F.one_hot(code.pose, self.poses).to(code.f.dtype), code.z.to(code.f.dtype)], 1)

    def identity_logits(self, features: torch.Tensor) -> torch.Tensor:
        """D's body features (B, F) -> D^d (B, N_d + 1): the identities, then "fake" (the negated real/fake logit)."""
        return torch.cat([self.identity_head(features).float(), -self.real_fake(features)[:, None]], 1)

    def noise(self, n: int, generator, device) -> tuple[torch.Tensor, torch.Tensor]:
        """(target poses (n,) uniform, z (n, n_z) ~ U[-1, 1])."""
        pose = torch.randint(self.poses, (n,), generator=generator, device="cpu").to(device)
        z = (2 * torch.rand(n, self.params.noise_dim, generator=generator, device="cpu") - 1).to(device)
        return pose, z

    # ---- the game -----------------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        d_params = [*self.body.parameters(), *self.d_head.parameters(), *self.identity_head.parameters(),
                    *self.pose_head.parameters()]
        g_params = [*self.encoder.parameters(), *self.generator.parameters()]
        return [Phase("discriminator", d_params, self._d_loss, self.optimizer("discriminator")),
                Phase("generator", g_params, self._g_loss, self.optimizer("generator"))]

    def _labels(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        if batch.factors is None:
            raise ValueError("DR-GAN is supervised by identity and pose labels: the batch has no factors")
        return batch.factors[:, self.identity_column], batch.factors[:, self.pose_column]

    def _d_loss(self, batch: Batch):
        y_d, y_p = self._labels(batch)
        pose, z = self.noise(len(batch.x), batch.generator, batch.x.device)
        code = DRCode(self.features(batch.x), pose, z)
        fake = self.generate(code)                                                 # x̂ (B, C, H, W)
        batch.shared.update(code=code, fake=fake)
        real = self.body(batch.x)                                                  # (B, F)
        seen = self.body(fake.detach())
        fake_class = torch.full_like(y_d, self.identities)
        identity_real = F.cross_entropy(self.identity_logits(real), y_d)
        pose_real = F.cross_entropy(self.pose_head(real).float(), y_p)
        rejected = F.cross_entropy(self.identity_logits(seen), fake_class)
        loss = identity_real + pose_real + rejected
        return loss, {"d_loss": loss, "d_identity": identity_real, "d_pose": pose_real, "d_fake": rejected}

    def _g_loss(self, batch: Batch):
        y_d, _ = self._labels(batch)
        code, fake = batch.shared["code"], batch.shared["fake"]
        seen = self.body(fake)
        identity_logits = self.identity_logits(seen)
        pose_logits = self.pose_head(seen).float()
        identity = F.cross_entropy(identity_logits, y_d)                          # drawn as x's identity
        pose = F.cross_entropy(pose_logits, code.pose)                            # in the target pose
        with torch.no_grad():
            self._remember(code.f.detach().float())
            kept = (identity_logits.argmax(1) == y_d).float().mean()
            posed = (pose_logits.argmax(1) == code.pose).float().mean()
        loss = identity + pose
        return loss, {"loss": loss, "g_identity": identity, "g_pose": pose, "identity_read": kept, "pose_read": posed}

    def _remember(self, f: torch.Tensor) -> None:
        """Put f (B, n_f) into the ring of the last BANK identity representations."""
        n = min(len(f), BANK)
        start = int(self.bank_filled) % BANK
        rows = (torch.arange(n, device=f.device) + start) % BANK
        self.bank[rows] = f[:n]
        self.bank_filled += n

    # ---- what the metrics score, and what a user turns ----------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> f(x) (B, n_f)."""
        return self.features(x)

    @torch.no_grad()
    def predict_pose(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> (B,) D^p's pose of x."""
        return self.pose_head(self.body(x)).argmax(1)

    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """images (N, C, H, W) -> [f(x), one-hot of D^p's pose of x, z = 0] (N, P)."""
        f = self.features(images).float()
        return self.points(DRCode(f, self.predict_pose(images), torch.zeros(len(f), self.params.noise_dim,
                                                                             device=f.device)))

    def axes(self, images: torch.Tensor | None = None, *, steps: int = 9, limit: float = 1.0) -> list[Axis]:
        """The pose code through the N_p poses (a pose transfer), then each noise dimension over [-limit, limit]."""
        p = self.params
        out = [Axis("pose", slice(p.feature_dim, p.feature_dim + self.poses), np.arange(self.poses), "category",
                    tuple(str(c) for c in range(self.poses)))]
        values = np.linspace(-limit, limit, steps)
        start = p.feature_dim + self.poses
        out += [Axis(f"z{j}", slice(start + j, start + j + 1), values, "set", tuple(f"{v:+.2g}" for v in values))
                for j in range(p.noise_dim)]
        return out

    def sample_code(self, n: int, generator: torch.Generator | None = None, device=None) -> DRCode:
        """Identities from the bank of recent f(x) (zeros before training), random poses and noise."""
        filled = max(1, min(int(self.bank_filled), BANK))
        rows = torch.randint(filled, (n,), generator=generator, device="cpu")
        pose, z = self.noise(n, generator, "cpu")
        return DRCode(self.bank.detach().cpu()[rows], pose, z).to(device if device is not None else "cpu")

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, C, H, W) -> G(f(x), x's pose, z = 0): the image redrawn in its own pose."""
        return self.decode(self.anchors(images)).float()

    def describe(self) -> str:
        p = self.params
        return (f"f(x) {p.feature_dim} wide, {self.identities} identities x {self.poses} poses, "
                f"{p.noise_dim} noise dims")
