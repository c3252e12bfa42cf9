"""Interventions you can measure: how far does do(concept i) move concept j, and does that follow the graph?

The intervention-effect matrix (issue 22, after Yang et al. 2021's do() figures, made a number):

    E[i, j] = mean over anchor scenes of the range of concept j's reading along a sweep do(concept i = v)

read by a concept readout trained on scenes whose concepts are drawn independently
(``data/concept_scenes.py``: it cannot read the shadow off the bob), in fractions of each concept's range.
The sweep v covers concept i's range on the data (the model: the 5th to 95th percentile of its concept block's
mean code on the anchors; the renderer: of the concept on the anchors), ``steps`` values.

The readout's noise floor: the same matrix for the dataset's own renderer under the true structural causal
model (``dataset.do``, ``dataset.render_concepts``) says how much the readout reads of j when j truly does not
move — floor[j] = max over i ≠ j with j not a descendant of i of E_true[i, j] — and every E is taken net of it,
max(E − floor, 0).

Intervention consistency: how well the net E separates the true graph's descendants from the rest — the area
under the ROC curve of E[i, j] over the ordered pairs i ≠ j, positives the pairs where j descends from i.  1: the
interventions move exactly what they cause, harder than what they do not cause; 0.5: no separation (a model
without a graph, whose do() moves only the concept itself, ties everywhere and scores 0.5 exactly); below 0.5:
effects run against the graph.  Known answers (tests/test_intervention.py): the renderer under its SCM scores 1;
the renderer with do() that does not propagate (A = 0) scores 0.5.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from ..data.concept_scenes import ConceptScenes
from .factor_predictor import load_or_train


def descendants(adjacency: np.ndarray) -> np.ndarray:
    """(C, C) 0/1 adjacency (A[i, j] = 1 for i -> j) -> (C, C) bool, D[i, j] = j is a descendant of i."""
    a = np.asarray(adjacency) != 0
    reach = a.copy()
    for _ in range(len(a)):
        reach = reach | (reach.astype(int) @ a.astype(int) > 0)
    return reach


def effects(do_read: Callable[[int, float], np.ndarray], sweeps: Sequence[np.ndarray]) -> np.ndarray:
    """do_read(i, v) -> readings (N, C) of the anchors under do(concept i = v); sweeps[i] (S,) -> E (C, C)."""
    rows = []
    for i, values in enumerate(sweeps):
        read = np.stack([do_read(i, float(v)) for v in values])              # (S, N, C)
        rows.append((read.max(0) - read.min(0)).mean(0))                     # (C,)
    return np.stack(rows)


def noise_floor(truth: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """floor[j] = max E_true[i, j] over i ≠ j with j not a descendant of i (0 when every i reaches j)."""
    reach = descendants(adjacency)
    c = len(truth)
    floor = np.zeros(c)
    for j in range(c):
        still = [truth[i, j] for i in range(c) if i != j and not reach[i, j]]
        floor[j] = max(still) if still else 0.0
    return floor


def consistency(effect: np.ndarray, adjacency: np.ndarray) -> float:
    """AUROC of effect[i, j] (i ≠ j) for 'j descends from i' against 'it does not'; nan without both kinds."""
    reach = descendants(adjacency)
    off = ~np.eye(len(effect), dtype=bool)
    labels, scores = reach[off], np.asarray(effect)[off]
    if labels.all() or not labels.any():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def renderer_do_read(dataset, anchors: np.ndarray,
                     readout: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[int, float], np.ndarray]:
    """do_read for the dataset's renderer under its SCM (``dataset.do``) around anchor concept values (N, C)."""
    def do_read(i: int, v: float) -> np.ndarray:
        return readout(torch.from_numpy(dataset.render_concepts(dataset.do(anchors, i, v)))).cpu().numpy()
    return do_read


def renderer_effects(dataset, values: np.ndarray, readout: Callable[[torch.Tensor], torch.Tensor], steps: int):
    """The renderer under the true SCM around anchor concept values (N, C): (its sweeps, E (C, C) net of the
    readout's floor, the floor (C,)) — what a perfect model would show, and the readout's noise."""
    sweeps = concept_sweeps(values, steps)
    truth = effects(renderer_do_read(dataset, values, readout), sweeps)
    floor = noise_floor(truth, dataset.adjacency)
    return sweeps, np.maximum(truth - floor[None], 0.0), floor


def concept_sweeps(values: np.ndarray, steps: int) -> list[np.ndarray]:
    """(N, C) -> per concept linspace(5th, 95th percentile, steps)."""
    lo, hi = np.percentile(values, 5, axis=0), np.percentile(values, 95, axis=0)
    return [np.linspace(a, b, steps) for a, b in zip(lo, hi)]


def intervention_axes(model, images: torch.Tensor, concept_names: Sequence[str]) -> list:
    """The model's do() axes in the dataset's concept order, or a one-line ValueError."""
    axes = {a.name: a for a in model.axes(images) if a.intervene}
    missing = [n for n in concept_names if f"do({n})" not in axes]
    if missing:
        raise ValueError(f"{getattr(model, 'name', type(model).__name__)} has no intervention on "
                         f"{', '.join(missing)}: the intervention effect needs a model with a causal layer over the "
                         f"dataset's concepts (causal_vae)")
    return [axes[f"do({n})"] for n in concept_names]


@torch.no_grad()
def model_intervention_effects(model, dataset, readout: Callable[[torch.Tensor], torch.Tensor], *,
                               anchors: int = 64, steps: int = 7, seed: int = 0) -> dict:
    """E, its floor and the consistency of a model with do() axes (CausalVAE) on a concept dataset.

    ``dataset`` may be a ``Split`` (anchor scenes from its part: the held-out scenes of a supervised model);
    ``readout``: images -> (N, C) concept readings in fractions of their range (the factor predictor trained on
    ``ConceptScenes``).  Returns {"intervention.consistency", "intervention.effect" (C, C), "raw" (C, C),
    "truth" (C, C), "floor" (C,), "descendants" (C, C), "concepts"}."""
    whole = getattr(dataset, "dataset", dataset)
    for need in ("do", "render_concepts", "adjacency"):
        if not hasattr(whole, need):
            raise ValueError(f"the intervention effect needs a dataset with a causal graph and a renderer that takes "
                             f"concept values (pendulum, flow); {getattr(whole, 'name', '?')} has none")
    rng = np.random.default_rng(seed)
    factors = dataset.sample_factors(anchors, rng)
    images = torch.from_numpy(dataset.images(factors, rng))
    device = next(model.parameters()).device
    axes = intervention_axes(model, images.to(device), whole.concept_names)
    # the renderer under the true SCM: the readout's floor, and what a perfect model would show
    values = np.asarray(whole.concepts(factors), dtype=np.float64)                       # (N, C)
    true_sweeps, true_net, floor = renderer_effects(whole, values, readout, steps)
    # the model: do() on its concept blocks, swept over each block's range of mean codes on the anchors
    points = model.anchors(images.to(device))
    codes = model.representation(images.to(device)).double().cpu().numpy()               # (N, D)
    block_means = np.stack([codes[:, a.columns].mean(1) for a in axes], 1)                # (N, C)
    sweeps = concept_sweeps(block_means, steps)

    def do_read(i: int, v: float) -> np.ndarray:
        axis = replace(axes[i], values=np.array([v]), labels=(f"{v:+.2f}",))
        decoded = model.traverse(points, axis)[:, 0]                                      # (N, C, H, W)
        return readout(decoded.float().cpu()).cpu().numpy()

    raw = effects(do_read, sweeps)
    net = np.maximum(raw - floor[None], 0.0)
    own = np.minimum(np.diag(net) / np.maximum(np.diag(true_net), 1e-12), 1.0)                # (C,)
    return {"intervention.consistency": consistency(net, whole.adjacency), "intervention.own": float(own.mean()),
            "intervention.effect": net, "raw": raw, "truth": true_net, "floor": floor,
            "descendants": descendants(whole.adjacency), "concepts": tuple(whole.concept_names),
            "true_consistency": consistency(true_net, whole.adjacency), "anchor_factors": factors,
            "axes": axes, "sweeps": sweeps, "true_sweeps": true_sweeps}


@torch.no_grad()
def intervention_grid(model, dataset, result: dict) -> tuple[np.ndarray, list[str]]:
    """The first anchor scene of ``result`` (``model_intervention_effects``) under do() of each concept, over the
    same sweeps: for concept i a row of the renderer under the true SCM, then a row of the model:
    ((2C, S, 3, H, W), row names)."""
    whole = getattr(dataset, "dataset", dataset)
    factors = result["anchor_factors"][:1]
    values = np.asarray(whole.concepts(factors), dtype=np.float64)                        # (1, C)
    point = model.anchors(torch.from_numpy(whole.images(factors)).to(next(model.parameters()).device))
    rows, names = [], []
    for i, name in enumerate(whole.concept_names):
        rows.append(whole.render_concepts(np.concatenate([whole.do(values, i, v) for v in result["true_sweeps"][i]])))
        sweep = result["sweeps"][i]
        axis = replace(result["axes"][i], values=sweep, labels=tuple(f"{v:+.2f}" for v in sweep))
        rows.append(model.traverse(point, axis)[0].float().cpu().numpy())
        names += [f"true do({name})", f"model do({name})"]
    return np.stack(rows), names


def concept_readout(dataset, device: str | torch.device = "cpu"):
    """The factor predictor trained once on ``ConceptScenes(dataset)`` (cached like the report's): (model,
    held-out accuracy per concept)."""
    return load_or_train(ConceptScenes(getattr(dataset, "dataset", dataset)), device=device)
