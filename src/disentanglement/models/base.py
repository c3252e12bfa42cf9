"""What a backbone declares to the trainer: the optimiser steps of one training step.

A training step is a list of ``Phase``\\ s run in order.  Each phase names the parameters it updates,
returns its loss from the shared ``Batch``, and may bring its own optimiser; otherwise the trainer
gives it Adam with the run's ``lr`` / ``adam_beta1`` / ``adam_beta2``.  A VAE has one phase ("main"),
plus one per penalty network (FactorVAE's discriminator); a GAN has two ("discriminator", then
"generator").  The trainer never asks which model it is training.

On the fast path (``speed.py``) the trainer runs each phase's loss under bf16 autocast: the nets' matrix
products run in bf16, and a model casts what its nets return to float32 (``.float()``) before any loss
arithmetic, so losses, sums over pixels and optimiser updates stay in float32.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import nn


@dataclass
class Batch:
    """One training step's data: ``x`` (B, C, H, W), ``step``, the noise ``generator`` (checkpointed, so a
    resumed run draws the same numbers), and ``shared``: values one phase leaves for the next."""

    x: torch.Tensor
    step: int
    generator: Optional[torch.Generator] = None
    shared: dict = field(default_factory=dict)


@dataclass
class Phase:
    """Minimise ``loss(batch) -> (scalar, logs)`` over ``parameters`` with one optimiser step."""

    name: str                                    # the optimiser's key in checkpoints
    parameters: list[nn.Parameter]
    loss: Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]
    optimizer: Optional[Callable[[list[nn.Parameter]], torch.optim.Optimizer]] = None   # None: the run's Adam
