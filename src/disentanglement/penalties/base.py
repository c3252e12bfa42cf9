"""The penalty contract: a penalty sees a ``Posterior`` and returns ``(loss, logs)``.

A penalty never runs the encoder, the decoder or the reconstruction loss.  A
penalty with a network of its own (FactorVAE's discriminator) also defines
``aux_loss(q) -> (loss, logs)`` (detaching what it takes from ``q``) and
``aux_optimizer(params)``; the trainer sees those and adds a second optimiser,
whatever the penalty is called.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn


@dataclass
class Posterior:
    """q(z|x) of one batch: ``mu``, ``logvar``, ``z`` (B, D); ``step``; optional ``factors`` (B, K).

    ``generator`` is the trainer's noise generator: a penalty that samples (a
    permutation, say) draws from it, so a resumed run repeats it exactly.
    """

    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor
    step: int
    factors: Optional[torch.Tensor] = None
    generator: Optional[torch.Generator] = None


@dataclass(frozen=True)
class Params:
    """Base of every penalty's hyper-parameters: a frozen dataclass of plain numbers."""

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` with a one-line message for out-of-range values."""


def require(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


class Penalty(nn.Module):
    """Base class: subclasses set ``Params`` and implement ``forward(q) -> (loss, logs)``."""

    Params = Params

    def __init__(self, params: Params | None = None, *, dataset_size: int | None = None, latent_dim: int = 10):
        super().__init__()
        self.params = params if params is not None else self.Params()
        self.dataset_size = dataset_size  # N, for estimators of the aggregate posterior q(z)
        self.latent_dim = latent_dim      # D, for penalties with a network of their own

    def forward(self, q: Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # pragma: no cover
        raise NotImplementedError
