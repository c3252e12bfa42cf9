"""Names -> classes, as plain dicts filled by direct imports (no string paths, no decorators)."""
from __future__ import annotations

from .data import DSprites, Squares
from .penalties import BetaVAE

DATASETS = {
    "dsprites": DSprites,
    "squares": Squares,
}

# --model NAME: a VAE with this penalty
PENALTIES = {
    "beta_vae": BetaVAE,
}

MODELS = tuple(PENALTIES)
