"""Names -> classes, as plain dicts filled by direct imports (no string paths, no decorators)."""
from __future__ import annotations

from .data import DSprites, Glyphs, Squares
from .models.infogan import InfoGAN
from .penalties import DIPVAE, AnnealedVAE, BetaTCVAE, BetaVAE, FactorVAE

DATASETS = {
    "dsprites": DSprites,
    "squares": Squares,
    "glyphs": Glyphs,
}

# --model NAME: a VAE with this penalty
PENALTIES = {
    "beta_vae": BetaVAE,            # Higgins et al. 2017 (beta = 1: the plain VAE)
    "annealed_vae": AnnealedVAE,    # Burgess et al. 2018
    "beta_tcvae": BetaTCVAE,        # Chen et al. 2018
    "factor_vae": FactorVAE,        # Kim & Mnih 2018
    "dip_vae": DIPVAE,              # Kumar et al. 2018 (type i / ii)
}

# --model NAME: a backbone of its own; its settings are the penalty.* section too
GANS = {
    "infogan": InfoGAN,             # Chen et al. 2016
}

# every --model NAME -> the class whose ``Params`` is the config's penalty section
MODELS = {**PENALTIES, **GANS}
