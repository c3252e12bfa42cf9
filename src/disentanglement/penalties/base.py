"""The penalty contract: a penalty sees a ``Posterior`` and returns ``(loss, logs)``.

A penalty never runs the encoder, the decoder or the reconstruction loss.  A
penalty with a network of its own (FactorVAE's discriminator) also defines
``aux_loss(q) -> (loss, logs)`` and ``aux_optimizer(params)``; the trainer sees
those and adds a second optimiser, whatever the penalty is called.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn


@dataclass
class Posterior:
    """q(z|x) of one batch: ``mu``, ``logvar``, ``z`` (B, D); ``step``; optional ``factors`` (B, K)."""

    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor
    step: int
    factors: Optional[torch.Tensor] = None


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

    def __init__(self, params: Params | None = None):
        super().__init__()
        self.params = params if params is not None else self.Params()

    def forward(self, q: Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # pragma: no cover
        raise NotImplementedError
