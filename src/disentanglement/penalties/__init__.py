"""Disentangling penalties: each takes a ``Posterior`` and returns ``(loss, logs)``; a setting of the VAE backbones."""
from .annealed_vae import AnnealedVAE
from .base import Params, Penalty, Posterior
from .beta_tcvae import BetaTCVAE
from .beta_vae import BetaVAE
from .dip_vae import DIPVAE
from .factor_vae import FactorVAE
from .hfs import HFS
from .hfvae import HFVAE

# vae.penalty NAME (and --model NAME: the VAE with this penalty)
PENALTIES = {
    "beta_vae": BetaVAE,            # Higgins et al. 2017 (beta = 1: the plain VAE)
    "annealed_vae": AnnealedVAE,    # Burgess et al. 2018
    "beta_tcvae": BetaTCVAE,        # Chen et al. 2018
    "factor_vae": FactorVAE,        # Kim & Mnih 2018
    "dip_vae": DIPVAE,              # Kumar et al. 2018 (type i / ii)
    "hfs": HFS,                     # Roth et al. 2023: Hausdorff factorized support (correlated factors)
    "hfvae": HFVAE,                 # Esmaeili et al. 2019: MI, between- / within-group TC, dim-KL over groups
}

__all__ = ["PENALTIES", "Params", "Penalty", "Posterior", "AnnealedVAE", "BetaTCVAE", "BetaVAE", "DIPVAE",
           "FactorVAE", "HFS", "HFVAE"]
