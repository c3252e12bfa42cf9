"""InfoGAN (Chen et al. 2016): a GAN whose input code c is made interpretable by maximising a
variational lower bound on the mutual information I(c; G(z, c)) (Eq. 4-5),

    L_I(G, Q) = E_{c ~ p(c), x ~ G(z, c)}[log Q(c | x)] + H(c)  <=  I(c; G(z, c)),
    min_{G,Q} max_D  V(D, G) - λ L_I(G, Q).

G's input is [z, one-hot categorical codes, continuous codes]: noise z ~ U[-1, 1]^noise_dim, each
categorical code uniform over its k categories, each continuous code ~ U[-1, 1].  The auxiliary head
Q(c | x) shares the discriminator's body: softmax logits for each categorical code and a factored
Gaussian for the continuous codes — unit variance by default, as the authors' code (``fix_std=True``)
and InfoGAN-CR (``q_std=1``); ``learn_q_std=True`` adds a predicted log-variance (the paper's
description), which on our toy let log Q(c|x) grow without bound and swamp the GAN loss.

A training step is two phases; as in the authors' code (openai/InfoGAN, ``infogan_trainer.py``), the
information term enters both players' losses and D is updated before G:

1. "discriminator" (D body + real/fake head):  BCE(D(x), 1) + BCE(D(G(z, c)), 0) - λ L_I   (G detached);
2. "generator" (G + Q head):  the non-saturating loss BCE(D(G(z, c)), 1) - λ L_I.

Where Q is updated differs: the authors build Q inside the discriminator's variable scope
(``regularized_gan.py``: the ``d_net`` scope holds the shared body, the real/fake head and Q), so Q's
weights are in ``d_vars`` and move with the discriminator's Adam at its learning rate (2e-4 by default,
``infogan_trainer.py``), while G's Adam updates G alone.  Here Q's head moves with the generator's phase
(G's Adam and learning rate); the shared body, as there, moves only with the discriminator.

Defaults: 5 noise dims, one 3-way categorical code and 4 continuous codes (dSprites: shape + scale,
orientation, posX, posY; InfoGAN-CR uses 5 continuous codes + 5 noise dims), λ = 1 (the paper's value
for categorical codes), Adam β1 = 0.5 (DCGAN, InfoGAN), spectral norm on the discriminator (Miyato et
al. 2018; as InfoGAN-CR) and a discriminator faster than the generator: D lr 1e-3, G + Q lr 2e-4
(the two-time-scale rule, Heusel et al. 2017; InfoGAN-CR also runs D at twice G's rate).  On the
``glyphs`` toy (2000 steps, seeds 0 / 1) Q's category matched the shape factor for 0.65 / 0.72 of
the images, against 0.47 / 0.44 with the paper's G 1e-3 / D 2e-4 and no spectral norm, and 0.37 / 0.39
with a learned Q variance (chance: 1/3; tests/test_infogan.py).

The representation the metrics score is Q's prediction on real images: for each categorical code its
argmax category (one column, values 0..k-1), then each continuous code's mean — one column per code.

What a user turns (the backbone contract, ``models/base.py``): a point is G's whole input
[noise, one-hot of each categorical code, continuous codes]; the axes are each categorical code (through
its categories) and each continuous code (over [-1, 1], its prior's range), around anchors drawn from the
prior with the continuous codes at 0.  Settings: the ``infogan.*`` section.  The game, the phases and the
traversal machinery are every GAN's (``models/gan.py``); this file is InfoGAN's codes and Q head.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn

from ..params import require
from .base import Axis, Batch
from .gan import GAN, GANParams


@dataclass(frozen=True)
class InfoGANParams(GANParams):
    noise_dim: int = 5                       # unregularised noise z ~ U[-1, 1]
    categorical: tuple[int, ...] = (3,)      # sizes of the categorical codes (each >= 2); () for none
    continuous: int = 4                      # number of continuous codes ~ U[-1, 1]
    lambda_info: float = 1.0                 # λ: weight of the mutual-information bound L_I
    learn_q_std: bool = False                # Q's continuous codes: learned variance, or unit variance

    def validate(self) -> None:
        super().validate()
        require(self.noise_dim >= 0, f"noise_dim must be >= 0, got {self.noise_dim}")
        require(self.continuous >= 0, f"continuous must be >= 0, got {self.continuous}")
        small = [k for k in self.categorical if k < 2]
        require(not small, f"categorical sizes must be >= 2 (a {small[0] if small else 0}-way code "
                           f"carries no information), got {list(self.categorical)}")
        require(len(self.categorical) + self.continuous > 0,
                "InfoGAN needs at least one code: set infogan.categorical (e.g. 3) or infogan.continuous (e.g. 4)")
        require(self.lambda_info >= 0, f"lambda_info must be >= 0, got {self.lambda_info}")


@dataclass
class Code:
    """A batch of G's inputs: ``noise`` (B, N), ``categorical`` (B, K_cat) int64, ``continuous`` (B, C)."""

    noise: torch.Tensor
    categorical: torch.Tensor
    continuous: torch.Tensor

    def to(self, device) -> "Code":
        return Code(self.noise.to(device), self.categorical.to(device), self.continuous.to(device))

    def rows(self, start: int, stop: int) -> "Code":
        return Code(self.noise[start:stop], self.categorical[start:stop], self.continuous[start:stop])


class InfoGAN(GAN):
    name = "infogan"
    Params = InfoGANParams
    representation_name = "Q head: argmax of each categorical code, mean of each continuous code"

    def __init__(self, params: InfoGANParams, observation_shape: tuple[int, int, int]):
        p = params
        super().__init__(p, observation_shape, p.noise_dim + sum(p.categorical) + p.continuous)
        q_out = sum(p.categorical) + p.continuous * (2 if p.learn_q_std else 1)
        self.q_head = nn.Sequential(nn.Linear(self.body.features, 128), nn.LeakyReLU(0.2), nn.Linear(128, q_out))

    @classmethod
    def build(cls, config, dataset) -> "InfoGAN":
        return cls(config.backbone, dataset.observation_shape)

    # ---- codes ----------------------------------------------------------------------------------
    def sample_code(self, n: int, generator: torch.Generator | None = None, device=None) -> Code:
        """n draws from the prior: noise and continuous codes U[-1, 1], categories uniform."""
        p = self.params
        device = device if device is not None else next(self.parameters()).device
        u = torch.rand(n, p.noise_dim + p.continuous, generator=generator, device=device) * 2 - 1
        cats = [torch.randint(k, (n,), generator=generator, device=device) for k in p.categorical]
        categorical = torch.stack(cats, 1) if cats else torch.zeros(n, 0, dtype=torch.long, device=device)
        return Code(noise=u[:, :p.noise_dim], categorical=categorical, continuous=u[:, p.noise_dim:])

    def points(self, code: Code) -> torch.Tensor:
        """Code of B rows -> G's input (B, P): [noise, one-hot of each categorical code, continuous codes]."""
        onehots = [F.one_hot(code.categorical[:, j], k).to(code.noise.dtype)
                   for j, k in enumerate(self.params.categorical)]
        return torch.cat([code.noise, *onehots, code.continuous], 1)

    def anchor_code(self, code: Code) -> Code:
        """A prior draw of noise and categories with the continuous codes at 0."""
        code.continuous.zero_()
        return code

    # ---- Q and the information term -------------------------------------------------------------
    def generator_heads(self) -> list[nn.Parameter]:
        return [*self.q_head.parameters()]

    def q(self, features: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
        """features (B, F) -> (categorical logits [(B, k_j)], continuous mean (B, C), log-variance (B, C))."""
        p = self.params
        out = self.q_head(features).float()                                  # fp32 under autocast
        logits = list(out[:, :sum(p.categorical)].split(list(p.categorical), 1)) if p.categorical else []
        rest = out[:, sum(p.categorical):]
        mean = rest[:, :p.continuous]
        logvar = rest[:, p.continuous:] if p.learn_q_std else torch.zeros_like(mean)
        return logits, mean, logvar

    def info_bound(self, features: torch.Tensor, code: Code) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """E[log Q(c | x)] summed over codes, mean over the batch; logs the bounds L_I = that + H(c) in nats."""
        p = self.params
        logits, mean, logvar = self.q(features)
        log_q_cat = sum((-F.cross_entropy(lg, code.categorical[:, j]) for j, lg in enumerate(logits)),
                        torch.zeros((), device=features.device))
        log_q_cont = (-0.5 * (math.log(2 * math.pi) + logvar + (code.continuous - mean) ** 2 / logvar.exp())).sum(1).mean()
        logs = {}
        if p.categorical:
            logs["mi_cat"] = log_q_cat.detach() + sum(math.log(k) for k in p.categorical)   # H(c) = log k
        if p.continuous:
            logs["mi_cont"] = log_q_cont.detach() + p.continuous * math.log(2.0)         # H(U[-1, 1]) = log 2
        return log_q_cat + log_q_cont, logs

    def objective(self, seen: torch.Tensor, features: torch.Tensor, code: Code, batch: Batch, player: str):
        """λ·E[log Q(c | G(z, c))] (Eq. 5 without the constant H(c)), for both players."""
        log_q, logs = self.info_bound(features, code)
        return self.params.lambda_info * log_q, ({"info_loss": -log_q, **logs} if player == "generator" else {})

    # ---- evaluation ------------------------------------------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> Q's code (B, K_cat + C): argmax category of each categorical code, continuous means."""
        logits, mean, _ = self.q(self.body(x))
        cats = [lg.argmax(1, keepdim=True).to(mean.dtype) for lg in logits]
        return torch.cat([*cats, mean], 1)

    # ---- what a user turns -----------------------------------------------------------------------
    def axes(self, images: torch.Tensor | None = None, *, steps: int = 9, limit: float = 1.0) -> list[Axis]:
        """Each categorical code through its categories, then each continuous code over linspace(-limit, limit)."""
        p = self.params
        out, column = [], p.noise_dim
        for j, k in enumerate(p.categorical):
            out.append(Axis(f"cat{j}", slice(column, column + k), np.arange(k), "category",
                            tuple(str(c) for c in range(k))))
            column += k
        values = np.linspace(-limit, limit, steps)
        for j in range(p.continuous):
            out.append(Axis(f"c{j}", slice(column + j, column + j + 1), values, "set",
                            tuple(f"{v:+.2g}" for v in values)))
        return out

    def describe(self) -> str:
        p = self.params
        return (f"{p.noise_dim} noise dims, categorical codes {list(p.categorical) or 'none'}, "
                f"{p.continuous} continuous codes")
