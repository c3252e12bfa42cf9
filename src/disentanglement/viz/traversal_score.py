"""The traversal score: does turning one knob move one factor?

The field's criterion of success (Higgins et al. 2017; Locatello et al. 2019) is that traversing a single
latent changes a single aspect of the output.  We measure it directly on the decoder:

1. a factor predictor, trained on the dataset's images, reads the factors of an image as values in [0, 1];
2. for each anchor (N seeds: a VAE's encoded images, a GAN's prior draws) and each axis d the model declares
   (``models/base.py``), decode the S points of its sweep (``model.traverse``);
   raw[d, k] = mean over anchors of (max_s - min_s) of the predicted factor k along the sweep;
3. the predictor's noise floor: truth[j, k] is the same reading along ground-truth sweeps of factor j (the
   dataset's own renderer, N seeds, S steps, half of them blurred as decoders blur), and
   floor[k] = max_{j != k} truth[j, k] — what the predictor reads of k when only another factor moves;
4. effect[d, k] = max(raw[d, k] - floor[k], 0): how far knob d moves factor k, as a share of its range;
5. share[d] = max_k effect[d, k] / sum_k effect[d, k], and the score is the effect-weighted mean share

       score = sum_d max_k effect[d, k] / sum_d sum_k effect[d, k]     (over active latents)

   1: every knob moves one factor; 1/K: every knob moves all K factors equally.

Why the floor: an unsure predictor reads movement where there is none (0.1-0.35 of every factor along a
clean position sweep on dSprites), which made clean latents look mixed.  The max over j makes the dataset's
own renderer — the perfectly disentangled decoder — score 1.  Why weights, not a threshold: the share of a
latent that moves almost nothing is a ratio of two noise readings; weighting by its total effect lets it
fade out continuously instead of counting as much as the cleanest knob, and needs no threshold tuned to the
predictor.  The score is then the fraction of all factor movement that falls on each knob's main factor.
A latent is still called active (for display; the score sums over active latents) if sum_k effect[d, k] >=
min_effect and the model calls the axis active (a VAE: KL > 0.01 nats).  No active latent gives no score (NaN).  The score does not ask
that factors be covered (completeness-style metrics such as DCI do that); it asks that each knob be clean.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ..errors import UserError
from ..models.base import Axis
from .factor_predictor import soften


def _ranges(read: torch.Tensor, n: int, s: int) -> torch.Tensor:
    """read (N*S, K), seed-major -> (K,) mean over seeds of the range along the sweep."""
    read = read.view(n, s, -1)
    return (read.amax(1) - read.amin(1)).mean(0)


def sweep_effect(images: torch.Tensor, readout: Callable[[torch.Tensor], torch.Tensor], batch: int = 1024) -> torch.Tensor:
    """images (N, S, C, H, W) along one sweep per anchor -> (K,): mean over anchors of each factor's range."""
    n, s = images.shape[:2]
    flat = images.flatten(0, 1)
    read = torch.cat([readout(flat[i:i + batch]) for i in range(0, len(flat), batch)])   # (N*S, K)
    return _ranges(read, n, s)


@torch.no_grad()
def axes_effects(model, anchors: torch.Tensor, axes: Sequence[Axis],
                 readout: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
    """anchors (N, P), R axes -> raw effect (R, K) in [0, 1] (step 2, before the floor)."""
    return torch.stack([sweep_effect(model.traverse(anchors, axis), readout) for axis in axes]).double().cpu().numpy()


@torch.no_grad()
def traversal_effects(decode: Callable[[torch.Tensor], torch.Tensor],
                      readout: Callable[[torch.Tensor], torch.Tensor],
                      codes: torch.Tensor, values: np.ndarray, batch: int = 1024) -> np.ndarray:
    """codes (N, D) seeds, values (D, S) or (S,) shifts of each coordinate -> raw effect (D, K): step 2 for a
    bare ``decode(z (B, D)) -> images`` (the validation of the score on known decoders uses it)."""
    dim = codes.shape[1]
    values = np.asarray(values, dtype=np.float64)
    values = values[None].repeat(dim, 0) if values.ndim == 1 else values  # (D, S)
    rows = []
    for d in range(dim):
        moved = Axis(f"z{d}", slice(d, d + 1), values[d]).apply(codes)     # (N, S, D)
        flat = moved.flatten(0, 1)
        images = torch.cat([decode(flat[i:i + batch]) for i in range(0, len(flat), batch)])
        rows.append(sweep_effect(images.view(*moved.shape[:2], *images.shape[1:]), readout, batch))
    return torch.stack(rows).double().cpu().numpy()


@torch.no_grad()
def ground_truth_effects(dataset, readout: Callable[[torch.Tensor], torch.Tensor], *, steps: int,
                         seeds: int = 32, seed: int = 0, device: str | torch.device = "cpu") -> np.ndarray:
    """truth (K, K): mean range of the readout of factor k along ground-truth sweeps of factor j (step 3).

    Row j sweeps factor j over its classes in ``steps`` steps from ``seeds`` random factor vectors, rendered by
    the dataset; the second half of the seeds is blurred and dimmed (factor_predictor.soften).  The diagonal
    is how much of a full sweep the predictor sees; the off-diagonal is its noise.
    """
    rng = np.random.default_rng(seed)
    base = dataset.sample_factors(seeds, rng)                                # (N, K)
    rows = []
    for j, size in enumerate(dataset.factor_sizes):
        f = base[:, None].repeat(steps, 1)                                   # (N, S, K)
        f[:, :, j] = np.round(np.linspace(0, size - 1, steps)).astype(np.int64)
        images = torch.from_numpy(dataset.images(f.reshape(seeds * steps, -1), rng)).to(device)  # rng: a stochastic dataset's nuisance
        images = soften(images, rng, start=seeds // 2 * steps)                # whole sweeps blurred
        rows.append(_ranges(readout(images), seeds, steps))
    return torch.stack(rows).double().cpu().numpy()


def noise_floor(truth: np.ndarray) -> np.ndarray:
    """truth (K, K) -> floor (K,): the largest reading of factor k along a sweep of one other factor."""
    truth = np.asarray(truth, dtype=np.float64)
    return np.where(np.eye(len(truth), dtype=bool), 0.0, truth).max(0)


def traversal_score(effect: np.ndarray, *, floor: np.ndarray | None = None, min_effect: float = 0.05,
                    gate: np.ndarray | None = None) -> dict:
    """raw effect (D, K), noise floor (K,) -> {"score", "effect" (D, K) net of the floor, "share" (D,),
    "weight" (D,), "main_factor" (D,), "active" (D,) bool}.

    ``weight`` is each active latent's share of the total effect (it sums to 1; 0 when inactive).  Given the
    ``gate`` (D,) bool, a latent must also be active by the model's account (``Axis.active``: a VAE latent
    carrying more than 0.01 nats).
    ``share`` and ``main_factor`` are NaN / -1 for inactive latents.
    """
    effect = np.asarray(effect, dtype=np.float64)
    if floor is not None:
        effect = np.clip(effect - np.asarray(floor, dtype=np.float64)[None], 0.0, None)
    total = effect.sum(1)                                                    # (D,)
    active = total >= min_effect
    if gate is not None:
        active &= np.asarray(gate, dtype=bool)
    share = np.full(len(effect), np.nan)
    share[active] = effect[active].max(1) / total[active]
    weight = np.where(active, total, 0.0) / max(total[active].sum(), 1e-12)
    main = np.where(active, effect.argmax(1), -1)
    score = float(effect[active].max(1).sum() / total[active].sum()) if active.any() else float("nan")
    return {"score": score, "effect": effect, "share": share, "weight": weight, "main_factor": main,
            "active": active}


def model_traversal_score(model, dataset, readout, *, axes: Sequence[Axis] | None = None, seeds: int = 32,
                          seed: int = 0, steps: int = 9, device: str | torch.device = "cpu",
                          min_effect: float = 0.05) -> dict:
    """The traversal score of any backbone: anchors from ``seeds`` dataset images (``model.anchors``), its
    ``axes`` (default: ``model.axes`` on 512 images, ``steps`` each).

    Returns traversal_score's dict plus "raw_effect" (R, K), "truth" (K, K) and "floor" (K,).
    """
    if not getattr(dataset, "factor_sizes", ()):
        raise UserError(f"dataset {getattr(dataset, 'name', type(dataset).__name__)!r} has no known factors: "
                        "the traversal score needs a dataset with factor_names and factor_sizes (e.g. dsprites)")
    images, _ = dataset.sample(seeds, np.random.default_rng(seed))
    with torch.no_grad():
        if axes is None:
            stats = torch.from_numpy(dataset.sample(512, np.random.default_rng(seed))[0]).to(device)
            axes = model.axes(stats, steps=steps)
        anchors = model.anchors(torch.from_numpy(images).to(device), torch.Generator().manual_seed(seed))
    raw = axes_effects(model, anchors, axes, readout)
    return score_against_floor(raw, dataset, readout, steps=max(a.steps for a in axes), seeds=seeds, seed=seed + 1,
                               device=device, min_effect=min_effect, gate=np.array([a.active for a in axes]))


def score_against_floor(raw: np.ndarray, dataset, readout, *, steps: int, seeds: int, seed: int,
                        device: str | torch.device = "cpu", **score_settings) -> dict:
    """traversal_score of raw effects (D, K) net of the predictor's floor on ``steps``-step ground-truth sweeps,
    plus "raw_effect", "truth" (K, K) and "floor" (K,)."""
    truth = ground_truth_effects(dataset, readout, steps=steps, seeds=seeds, seed=seed, device=device)
    floor = noise_floor(truth)
    return {**traversal_score(raw, floor=floor, **score_settings), "raw_effect": raw, "truth": truth, "floor": floor}
