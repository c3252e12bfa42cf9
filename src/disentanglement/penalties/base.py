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

from ..params import Params, require  # noqa: F401  (penalties' settings: params.Params)


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


class Penalty(nn.Module):
    """Base class: subclasses set ``Params`` and implement ``forward(q) -> (loss, logs)``."""

    Params = Params

    def __init__(self, params: Params | None = None, *, dataset_size: int | None = None, latent_dim: int = 10):
        super().__init__()
        self.params = params if params is not None else self.Params()
        self.dataset_size = dataset_size  # N, for estimators of the aggregate posterior q(z)
        self.latent_dim = latent_dim      # D, for penalties with a network of their own

    @classmethod
    def check_run(cls, params: Params, *, dataset_size: int, batch_size: int, steps: int,
                  latent_dim: int = 10) -> list[str]:
        """Called before a run starts: raise ``ValueError`` (one line) for a setting that cannot work
        with this run; return one-line notes, which the trainer prints, for settings that work but
        probably not as the user expects.  Default: no notes."""
        return []

    def forward(self, q: Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # pragma: no cover
        raise NotImplementedError
