"""Datasets with known generative factors (the ``FactorDataset`` contract)."""
from .base import FactorDataset, TorchView
from .dsprites import DSprites
from .stream import BatchStream, Drawn
from .toy import Glyphs, Squares

__all__ = ["BatchStream", "Drawn", "FactorDataset", "TorchView", "DSprites", "Glyphs", "Squares"]
