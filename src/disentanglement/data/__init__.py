"""Datasets with known generative factors (the ``FactorDataset`` contract)."""
from .base import FactorDataset, TorchView
from .dsprites import DSprites
from .pairs import PairSampler
from .stream import BatchStream, Drawn
from .toy import Glyphs, Shadows, Squares

# --dataset NAME
DATASETS = {
    "dsprites": DSprites,
    "squares": Squares,
    "glyphs": Glyphs,
    "shadows": Shadows,
}

__all__ = ["DATASETS", "BatchStream", "Drawn", "FactorDataset", "PairSampler", "TorchView", "DSprites", "Glyphs",
           "Shadows", "Squares"]
