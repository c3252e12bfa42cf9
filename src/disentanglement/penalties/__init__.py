"""Disentangling penalties: each takes a ``Posterior`` and returns ``(loss, logs)``."""
from .base import Params, Penalty, Posterior
from .beta_vae import BetaVAE

__all__ = ["Params", "Penalty", "Posterior", "BetaVAE"]
