"""Datasets with known generative factors (the ``FactorDataset`` contract)."""
from .base import FactorDataset, TorchView
from .dsprites import DSprites
from .toy import Glyphs, Squares

__all__ = ["FactorDataset", "TorchView", "DSprites", "Glyphs", "Squares"]
