"""What every GAN backbone shares (InfoGAN, IB-GAN, ...): G, the discriminator's body and real/fake head, the two
training phases, and traversals of G's input.

A GAN subclass says what G's input is and what its auxiliary heads add to the two players' objectives:

- ``sample_code(n, generator, device)``: a draw from the prior (an object with ``.to(device)``), and
  ``points(code) -> (B, P)``: G's input for it (``generate(code) = G(points(code))``);
- ``objective(seen, features, code, batch, player) -> (value, logs)``: what the player "discriminator" or
  "generator" maximises besides the GAN game, from the generated images as the discriminator sees them
  (``seen``) and its body's ``features`` (B, F) of them (InfoGAN: λ·L_I, its lower bound on I(c; G(z, c));
  IB-GAN: that minus β times an upper bound on I(z; r));
- ``d_input(x, batch)``: the images as the discriminator sees them (default: as they are; IB-GAN adds
  instance noise); ``real(batch)``: the real data G's drawings are judged against (default: ``batch.x``;
  Causal InfoGAN: the pair (o, o') stacked on channels);
- ``generator_heads()``: the parameters that move with G (InfoGAN's Q head); the shared body moves with D,
  as in the authors' code;
- ``anchor_code(code)``: the code a traversal starts from, given a prior draw (default: the draw itself).

The game is the standard one with the non-saturating generator loss (Goodfellow et al. 2014, Sec. 3):
D minimises BCE(D(x), 1) + BCE(D(G(c)), 0) − objective (G's images detached); then G minimises
BCE(D(G(c)), 1) − objective, on the same draw (``Batch.shared``).  D is updated first, with its own Adam
(``d_lr``, ``d_beta1``, ``d_beta2``); G and its heads use the run's.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..nets import GAN_ARCHITECTURES, build_gan_nets
from ..params import Params, require
from .base import Backbone, Batch, Phase


@dataclass(frozen=True)
class GANParams(Params):
    """Settings every GAN has (its section adds its own)."""

    net: str = "auto"                        # auto | dcgan | mlp (auto: dcgan for square 2^k images, else mlp)
    d_lr: float = 1e-3                       # the discriminator's Adam (G and its heads use the run's lr, betas)
    d_beta1: float = 0.5
    d_beta2: float = 0.999
    spectral_norm: bool = True               # on the discriminator body and real/fake head (Miyato et al. 2018)

    def validate(self) -> None:
        require(self.net in GAN_ARCHITECTURES, f"unknown net {self.net!r} for a GAN; choose one of: {', '.join(GAN_ARCHITECTURES)}")
        require(self.d_lr > 0, f"d_lr must be > 0, got {self.d_lr}")
        for name in ("d_beta1", "d_beta2"):
            require(0 <= getattr(self, name) < 1, f"{name} must lie in [0, 1), got {getattr(self, name)}")


class GAN(Backbone):
    """G (``generator``), the discriminator's ``body`` and real/fake ``d_head``; subclasses add heads."""

    # the training settings a GAN brings (DCGAN, Radford et al. 2016; InfoGAN, Appendix C)
    config_defaults = {"lr": 2e-4, "adam_beta1": 0.5, "adam_beta2": 0.999}

    def __init__(self, params: GANParams, observation_shape: tuple[int, int, int], input_dim: int,
                 arch: str | None = None):
        super().__init__()
        self.params = params
        self.observation_shape = tuple(observation_shape)
        self.input_dim = input_dim                                            # P: G's input width
        self.generator, self.body = build_gan_nets(arch or params.net, self.observation_shape, input_dim,
                                                   params.spectral_norm)
        self.d_head = nn.Linear(self.body.features, 1)
        if params.spectral_norm:
            self.d_head = nn.utils.parametrizations.spectral_norm(self.d_head)

    # ---- what a subclass says ---------------------------------------------------------------------
    def sample_code(self, n: int, generator: torch.Generator | None = None, device=None):  # pragma: no cover
        raise NotImplementedError

    def points(self, code) -> torch.Tensor:  # pragma: no cover - abstract
        """A code of B rows -> G's input (B, P)."""
        raise NotImplementedError

    def objective(self, seen: torch.Tensor, features: torch.Tensor, code, batch: Batch, player: str):  # pragma: no cover
        """(scalar the player maximises besides the game, logs), from G(code) as D sees it (B, C, H, W) and
        D's body features (B, F) of it."""
        raise NotImplementedError

    def d_input(self, x: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Images (B, C, H, W) as the discriminator (and the heads on it) see them."""
        return x

    def real(self, batch: Batch) -> torch.Tensor:
        """The real data (B, C, H, W) the discriminator tells G's drawings from."""
        return batch.x

    def generator_heads(self) -> list[nn.Parameter]:
        """Parameters that move with G (its auxiliary heads)."""
        return []

    def anchor_code(self, code):
        """The code a traversal starts from, given a prior draw."""
        return code

    def optimizer(self, player: str):
        """The optimiser factory of "discriminator" (Adam at ``d_lr``, ``d_beta1``, ``d_beta2``) or "generator"
        (None: the run's Adam)."""
        p = self.params
        if player == "discriminator":
            return lambda params: torch.optim.Adam(params, lr=p.d_lr, betas=(p.d_beta1, p.d_beta2))
        return None

    # ---- the game ---------------------------------------------------------------------------------
    def generate(self, code) -> torch.Tensor:
        """G(points(code)) -> images (B, C, H, W) in [0, 1]."""
        return self.generator(self.points(code))

    def real_fake(self, features: torch.Tensor) -> torch.Tensor:
        """features (B, F) -> the real/fake logit (B,)."""
        return self.d_head(features).squeeze(1).float()

    def phases(self) -> list[Phase]:
        d_params = [*self.body.parameters(), *self.d_head.parameters()]
        g_params = [*self.generator.parameters(), *self.generator_heads()]
        return [Phase("discriminator", d_params, self._d_loss, self.optimizer("discriminator")),
                Phase("generator", g_params, self._g_loss, self.optimizer("generator"))]

    def _d_loss(self, batch: Batch):
        code = self.sample_code(len(batch.x), batch.generator, batch.x.device)
        fake = self.generate(code)                                            # (B, C, H, W)
        batch.shared.update(code=code, fake=fake)
        real_logit = self.real_fake(self.body(self.d_input(self.real(batch), batch)))  # (B,)
        seen = self.d_input(fake.detach(), batch)
        features = self.body(seen)                                            # (B, F)
        fake_logit = self.real_fake(features)
        gan = F.softplus(-real_logit).mean() + F.softplus(fake_logit).mean()  # BCE(D(x), 1) + BCE(D(G), 0)
        value, _ = self.objective(seen, features, code, batch, "discriminator")
        loss = gan - value
        return loss, {"d_loss": gan, "d_real": torch.sigmoid(real_logit).mean(), "d_fake": torch.sigmoid(fake_logit).mean()}

    def _g_loss(self, batch: Batch):
        code, fake = batch.shared["code"], batch.shared["fake"]
        seen = self.d_input(fake, batch)
        features = self.body(seen)
        gan = F.softplus(-self.real_fake(features)).mean()                   # non-saturating: BCE(D(G), 1)
        value, logs = self.objective(seen, features, code, batch, "generator")
        loss = gan - value
        return loss, {"loss": loss, "g_loss": gan, **logs}

    # ---- what a user turns ------------------------------------------------------------------------
    def anchors(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """len(images) prior draws (``generator``, default seed 0) through ``anchor_code`` -> points (N, P).
        The images are not used: a GAN has no encoder of images to start from."""
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        code = self.anchor_code(self.sample_code(len(images), generator, torch.device("cpu")))
        return self.points(code).to(next(self.parameters()).device)

    def decode(self, points: torch.Tensor) -> torch.Tensor:
        """G's inputs (B, P) -> images (B, C, H, W) in [0, 1]."""
        return self.generator(points).float()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        code = self.sample_code(n, generator, torch.device("cpu"))
        return self.generate(code.to(next(self.parameters()).device)).float()
