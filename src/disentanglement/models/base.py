"""The backbone contract: everything after the dataset talks to a model through this, and nothing else.

A **backbone** (VAE, Ada-GVAE, InfoGAN, later CausalVAE and a diffusion autoencoder) declares

- its settings: ``Params`` (a ``params.Params`` dataclass, the config section named ``name``), the
  training defaults it brings (``config_defaults``) and whether a VAE penalty applies (``uses_penalty``);
- a verdict on a run before it starts: ``check(config, dataset)``;
- what it trains on: ``pairs`` — ``None``, the k of a pair sampler (``data/pairs.py``) when each
  batch must come with a second image sharing all factors but k, or "transition" when the second image
  is one step of the dataset's dynamics later (a sequential domain, e.g. ``rooms``);
- how it trains: ``phases()``, a list of ``Phase`` run in order each step, one optimiser each;
- what the metrics score: ``representation(x) -> (B, D)`` (and ``representation_name`` in words;
  ``representation_groups``: the widths of its groups where it is made of vectors, e.g. FDAE's concept
  codes, for the vector-wise protocol — None: one group per column);
- what a user can turn: ``anchors(images)`` gives the points (N, P) traversals start from, ``axes(images)``
  the named ``Axis`` list (most informative first), ``decode(points)`` an image for each point, and
  ``traverse(points, axis)`` the images along one axis (a CausalVAE overrides it: turning a concept is an
  intervention that its children follow);
- optionally ``reconstruct(images)`` (autoencoders), ``sample(n, generator)`` (everything generative) and
  ``graph()`` (a model with a causal graph: the learned adjacency beside the true one).

The trainer, ``evaluate``, ``viz/`` and the report use only these; none of them imports a concrete model.

On the fast path (``speed.py``) the trainer runs each phase's loss under bf16 autocast: the nets' matrix
products run in bf16, and a model casts what its nets return to float32 (``.float()``) before any loss
arithmetic, so losses, sums over pixels and optimiser updates stay in float32.
"""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..params import Params


@dataclass
class Batch:
    """One training step's data.

    ``x`` (B, C, H, W) images; ``factors`` (B, K) int64, the factor classes the images were rendered from;
    for a backbone that trains on pairs, ``x2`` (B, C, H, W) and ``factors2`` (B, K) — the second image of
    each pair (sharing all factors but k, or one step of the dataset's dynamics later).  ``step``; the noise ``generator`` (checkpointed, so a resumed run
    draws the same numbers); ``shared``: values one phase leaves for the next.
    """

    x: torch.Tensor
    step: int
    generator: Optional[torch.Generator] = None
    factors: Optional[torch.Tensor] = None
    x2: Optional[torch.Tensor] = None
    factors2: Optional[torch.Tensor] = None
    shared: dict = field(default_factory=dict)


@dataclass
class Phase:
    """Minimise ``loss(batch) -> (scalar, logs)`` over ``parameters`` with one optimiser step.

    Optional schedule, all functions of the step (so a resumed run follows the same one): ``active(step)``
    False skips the phase that step (no loss, no update: a model trained in stages, e.g. the hypercoder's
    alternating encoder / decoder cycles); ``lr(step)`` sets the optimiser's learning rate before its update;
    ``clip_norm`` clips the phase's gradients to that global norm first."""

    name: str                                    # the optimiser's key in checkpoints
    parameters: list[nn.Parameter]
    loss: Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]
    optimizer: Optional[Callable[[list[nn.Parameter]], torch.optim.Optimizer]] = None   # None: the run's Adam
    active: Optional[Callable[[int], bool]] = None       # None: every step
    lr: Optional[Callable[[int], float]] = None          # None: the optimiser's own
    clip_norm: Optional[float] = None                    # None: no clipping


MOVES = ("shift", "set", "category")


def factor_column(dataset, name: str, setting: str) -> int:
    """The column of factor ``name`` in ``dataset``'s factors — a label a supervised backbone reads, named by its
    setting ``setting`` (e.g. ``distib.label``) — or a one-line ValueError saying what the dataset has."""
    names = tuple(getattr(dataset, "factor_names", ()) or ())
    where = getattr(dataset, "name", "") or type(dataset).__name__
    if not names:
        raise ValueError(f"{setting} needs a factor, and {where} has none (a folder of images gets them from an "
                         f"attributes.csv beside the images)")
    if name not in names:
        raise ValueError(f"{setting}={name!r} is not a factor of {where} (its factors: {', '.join(names)}); "
                         f"choose one with --set {setting}=NAME")
    k = names.index(name)
    if int(dataset.factor_sizes[k]) < 2:
        raise ValueError(f"{setting}: the factor {name!r} of {where} has one value, nothing to tell apart")
    return k


@dataclass(frozen=True)
class Axis:
    """One knob a user can turn: ``values`` (S,) visited along ``columns`` of a point.

    ``move``: "shift" adds each value to the anchor's column (a VAE latent, in its units); "set" puts the
    value there (an InfoGAN continuous code); "category" writes the one-hot of category ``value`` into the
    columns (an InfoGAN categorical code).  ``labels`` name the S steps; ``amount`` is how much the axis
    carries, for ordering and the bar chart (a VAE latent's mean KL in nats; None where not defined), with
    ``amount_name``; ``active`` is False for an axis the model does not use (a collapsed latent);
    ``intervene`` marks an intervention do(axis = value), which the model propagates to what the axis causes
    (CausalVAE): such an axis is meant to move several factors, so the traversal score leaves it out.
    """

    name: str
    columns: slice
    values: np.ndarray
    move: str = "shift"
    labels: tuple[str, ...] = ()
    amount: Optional[float] = None
    amount_name: str = ""
    active: bool = True
    intervene: bool = False

    def __post_init__(self):
        if self.move not in MOVES:
            raise ValueError(f"unknown axis move {self.move!r}; choose one of {', '.join(MOVES)}")

    @property
    def steps(self) -> int:
        return len(self.values)

    @property
    def title(self) -> str:
        """The row label of a traversal: name, and the amount it carries."""
        return self.name if self.amount is None else f"{self.name}  {self.amount_name} {self.amount:.2f}"

    def apply(self, points: torch.Tensor) -> torch.Tensor:
        """points (N, P) -> (N, S, P): each anchor moved to each of the S values."""
        out = points[:, None, :].repeat(1, self.steps, 1)                       # (N, S, P)
        values = torch.as_tensor(np.asarray(self.values), device=points.device)
        if self.move == "shift":
            out[:, :, self.columns] += values.to(points.dtype)[None, :, None]
        elif self.move == "set":
            out[:, :, self.columns] = values.to(points.dtype)[None, :, None]
        else:
            width = out[:, :, self.columns].shape[-1]
            out[:, :, self.columns] = F.one_hot(values.long(), width).to(points.dtype)[None]
        return out


class Backbone(nn.Module):
    """Base of every backbone; subclasses set the class attributes and implement the methods below."""

    name: ClassVar[str] = ""                        # registry key and config section
    Params: ClassVar[type] = Params
    config_defaults: ClassVar[dict] = {}            # training settings it brings (InfoGAN: lr 2e-4, beta1 0.5)
    dataset_defaults: ClassVar[dict] = {}           # per dataset, on top (CausalVAE: its paper's length per dataset)
    uses_penalty: ClassVar[bool] = False            # a VAE penalty (``penalty.*``) applies
    representation_name: ClassVar[str] = ""
    representation_groups: Optional[list[int]] = None   # widths of the representation's groups (vector-wise)
    # reads the batch's labels (``Batch.factors``) in its loss: trained on the dataset's train split, scored on
    # the held-out one (data/split.py), so no metric sees a scene whose labels supervised the training
    supervised: ClassVar[bool] = False

    @classmethod
    def build(cls, config, dataset) -> "Backbone":  # pragma: no cover - abstract
        """The model of ``config`` (its section ``config.backbone``) for ``dataset``."""
        raise NotImplementedError

    @property
    def pairs(self) -> Optional[int | str]:
        """None, or the pairs each batch must carry (``Batch.x2``): k (-1 for k random per pair), or
        "transition" (one step of the dataset's dynamics apart)."""
        return None

    def phases(self) -> list[Phase]:  # pragma: no cover - abstract
        raise NotImplementedError

    def representation(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """x (B, C, H, W) -> (B, D): what the metrics score."""
        raise NotImplementedError

    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """images (N, C, H, W) -> points (N, P) the traversals start from."""
        raise NotImplementedError  # pragma: no cover - abstract

    def axes(self, images: torch.Tensor, *, steps: int = 9) -> list[Axis]:  # pragma: no cover - abstract
        """What a user can turn, most informative first; ``images`` are data the statistics are taken on."""
        raise NotImplementedError

    def decode(self, points: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """points (B, P) -> images (B, C, H, W) in [0, 1]."""
        raise NotImplementedError

    @torch.no_grad()
    def traverse(self, points: torch.Tensor, axis: Axis, batch: int = 1024) -> torch.Tensor:
        """points (N, P), one axis -> images (N, S, C, H, W): each anchor with the axis at each of its values."""
        moved = axis.apply(points)                                               # (N, S, P)
        flat = moved.flatten(0, 1)
        images = torch.cat([self.decode(flat[i:i + batch]) for i in range(0, len(flat), batch)])
        return images.view(*moved.shape[:2], *images.shape[1:]).float()

    def reconstruct(self, images: torch.Tensor) -> Optional[torch.Tensor]:
        """images (N, C, H, W) -> reconstructions, for a backbone that encodes and decodes; None otherwise."""
        return None

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:  # pragma: no cover
        """n images (n, C, H, W) in [0, 1] from the model's prior."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line on the model's layout, for the report's subtitle."""
        return ""

    def quick_decoding(self, calls: int) -> AbstractContextManager[Optional[str]]:
        """Within the context, decode with at most ``calls`` network evaluations per image, for a quick look (the
        report); yields one line saying what was shortened, or None when decoding is one call anyway (the
        default: a VAE's or GAN's decoder).  A diffusion decoder runs fewer sampler steps (models/diffusion_ae.py)."""
        return nullcontext(None)

    def graph(self) -> Optional[tuple[np.ndarray, np.ndarray, tuple[str, ...]]]:
        """(learned adjacency (C, C), true adjacency (C, C) or None, concept names) of a model with a causal
        graph (CausalVAE); None otherwise."""
        return None

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        """Before a run of ``config`` starts: raise ``ValueError`` (one line) for settings that cannot work on
        ``dataset`` (its class will do: ``factor_sizes``); return one-line notes the trainer prints for settings
        that work, but maybe not as meant."""
        return []
