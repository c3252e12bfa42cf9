"""Datasets with known generative factors (the ``FactorDataset`` contract)."""
from __future__ import annotations

from typing import Optional

from ..errors import UserError
from .base import FactorDataset, TorchView
from .dsprites import DSprites
from .pairs import PairSampler
from .pendulum import Flow, Flow64, Pendulum, Pendulum64
from .stream import BatchStream, Drawn
from .toy import Glyphs, Shadows, Squares

# --dataset NAME
DATASETS = {
    "dsprites": DSprites,
    "squares": Squares,
    "glyphs": Glyphs,
    "shadows": Shadows,
    "pendulum": Pendulum,           # Yang et al. 2021 (CausalVAE), 96x96 RGB, concepts and their causal graph
    "pendulum64": Pendulum64,
    "flow": Flow,
    "flow64": Flow64,
}


def open_dataset(name: str, path: Optional[str] = None) -> FactorDataset:
    """The dataset ``name`` (a key of ``DATASETS``), read from the user's ``path`` where it needs a file."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return DATASETS[name].open(path)


__all__ = ["DATASETS", "BatchStream", "Drawn", "FactorDataset", "Flow", "Flow64", "Pendulum", "Pendulum64", "PairSampler", "TorchView", "DSprites", "Glyphs",
           "Shadows", "Squares", "open_dataset"]
