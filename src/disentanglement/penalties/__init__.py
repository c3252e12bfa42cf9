"""Disentangling penalties: each takes a ``Posterior`` and returns ``(loss, logs)``."""
from .annealed_vae import AnnealedVAE
from .base import Params, Penalty, Posterior
from .beta_tcvae import BetaTCVAE
from .beta_vae import BetaVAE
from .dip_vae import DIPVAE
from .factor_vae import FactorVAE

__all__ = ["Params", "Penalty", "Posterior", "AnnealedVAE", "BetaTCVAE", "BetaVAE", "DIPVAE", "FactorVAE"]
