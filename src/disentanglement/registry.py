"""Names -> classes, as plain dicts filled by direct imports (no string paths, no decorators).

Each dict lives beside what it names (``data.DATASETS``, ``models.BACKBONES``, ``penalties.PENALTIES``);
this module gathers them for the config and the command line.
"""
from __future__ import annotations

from .data import DATASETS
from .models import BACKBONES
from .penalties import PENALTIES

# every --model NAME: a backbone, or a VAE penalty (the VAE backbone with that penalty)
MODELS = [*BACKBONES, *PENALTIES]


def backbone_of(model: str) -> str:
    """The backbone a --model name stands for: itself, or "vae" for a penalty's name."""
    return model if model in BACKBONES else "vae"


__all__ = ["BACKBONES", "DATASETS", "MODELS", "PENALTIES", "backbone_of"]
