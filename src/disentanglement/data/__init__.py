"""Datasets with known generative factors (the ``FactorDataset`` contract)."""
from __future__ import annotations

from typing import Optional

from ..errors import UserError
from .bandit import BanditAgents
from .base import FactorDataset, TorchView
from .cars3d import Cars3D
from .correlated import Correlated, HeldOut, parse_correlations, parse_holdout
from .dsprites import DSprites
from .dsprites_file import DSpritesFile
from .dsprites_variants import ColorDSprites, NoisyDSprites, ScreamDSprites
from .identities import Identities
from .rooms import Rooms
from .images import ImageFolder
from .mpi3d import MPI3D
from .pairs import PairSampler, TransitionPairs, pair_sampler
from .pendulum import Flow, Flow64, Pendulum, Pendulum64
from .shapes3d import Shapes3D
from .smallnorb import SmallNORB
from .split import Split
from .stream import BatchStream, Drawn
from .toy import Glyphs, Shadows, Squares

# --dataset NAME
DATASETS = {
    "dsprites": DSpritesFile,       # generated (DSprites) without a path; the original npz with one
    "color_dsprites": ColorDSprites,    # Locatello et al. 2019's variants: a nuisance drawn while rendering
    "noisy_dsprites": NoisyDSprites,
    "scream_dsprites": ScreamDSprites,  # needs a background image (dataset_path)
    "squares": Squares,
    "glyphs": Glyphs,
    "shadows": Shadows,
    "pendulum": Pendulum,           # Yang et al. 2021 (CausalVAE), 96x96 RGB, concepts and their causal graph
    "pendulum64": Pendulum64,
    "flow": Flow,
    "flow64": Flow64,
    "shapes3d": Shapes3D,           # read from the user's file (dataset_path): Kim & Mnih 2018
    "mpi3d": MPI3D,                 # Gondal et al. 2019, sizes inferred from the file
    "smallnorb": SmallNORB,         # LeCun et al. 2004, instance drawn while rendering
    "cars3d": Cars3D,               # Reed et al. 2015
    "identities": Identities,       # 100 random outlines x 9 poses x 4 x 4 positions: identity and pose (DR-GAN)
    "rooms": Rooms,                 # an agent in two rooms joined by a door, with its moves (Causal InfoGAN)
    "bandit": BanditAgents,         # Q-learning agents on a two-armed bandit (Dezfouli et al. 2019): behaviour
    "images": ImageFolder,          # a folder of the user's images; factors from attributes.csv / CelebA's list
}


def open_dataset(name: str, path: Optional[str] = None, image_size: int = 64) -> FactorDataset:
    """The dataset ``name`` (a key of ``DATASETS``), read from the user's ``path`` where it needs a file;
    ``image_size``: the side a folder of images is resized to."""
    if name not in DATASETS:
        raise UserError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    cls = DATASETS[name]
    return cls.open(path, image_size=image_size) if cls.resizable else cls.open(path)


__all__ = ["DATASETS", "BanditAgents", "BatchStream", "Correlated", "HeldOut", "parse_correlations", "parse_holdout", "Drawn", "FactorDataset", "Flow", "Flow64", "Identities", "ImageFolder", "Pendulum", "Pendulum64", "PairSampler", "Rooms", "TransitionPairs", "pair_sampler", "TorchView", "ColorDSprites", "DSprites", "DSpritesFile", "NoisyDSprites", "ScreamDSprites", "Glyphs",
           "Shadows", "Split", "Squares", "open_dataset", "Shapes3D", "MPI3D", "SmallNORB", "Cars3D"]
