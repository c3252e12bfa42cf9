"""Interchange intervention accuracy (Geiger et al. 2021, "Causal Abstractions of Neural Networks", NeurIPS):
does the latent aligned with factor k *carry* factor k, causally?

Take a base and a source scene.  Encode both; in the base's latent point replace the block aligned with factor k
by the source's; decode.  If the block is factor k's causal variable, the decoded image is the counterfactual
scene — the base's factors with factor k taken from the source — and a readout trained on the dataset's own
images reads exactly those factors.  Per factor k:

    IIA_k = share of pairs whose decoded image is read as the counterfactual: every factor j at once,
            readout(decode(mixed)) == counterfactual

(Geiger et al.'s accuracy: the intervened model's whole output against the counterfactual's; a model that moves
factor k but also disturbs another one fails the pair).  The same readout on the rendered counterfactual scenes
gives its ceiling (the readout's own joint accuracy on those scenes); ``interchange.<name>`` is IIA_k /
ceiling_k, 1 for a model that decodes the counterfactual as well as the renderer does.  ``interchange`` is the
mean over factors.

Alignment: the model's axes (``Backbone.axes``: a VAE's latents, InfoGAN's codes, CausalVAE's concept blocks,
FDAE's groups) are the candidate blocks; factor k's block is the one whose first principal component has the
largest mutual information with factor k (20 equal-width bins, normalised by the factor's entropy) on the base
scenes.  A block may serve two factors — then swapping it moves both, and both scores say so.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from sklearn.metrics import mutual_info_score

BINS = 20


def _first_component(block: np.ndarray) -> np.ndarray:
    """(N, w) -> (N,) the block's projection on its first principal direction (the column itself when w = 1)."""
    if block.shape[1] == 1:
        return block[:, 0]
    centred = block - block.mean(0)
    return centred @ np.linalg.svd(centred, full_matrices=False)[2][0]


def align(points: np.ndarray, factors: np.ndarray, blocks: list[slice]) -> list[slice]:
    """For each factor k (columns of ``factors`` (N, K)) the block of ``points`` (N, P) most informative of it."""
    scores = np.zeros((len(blocks), factors.shape[1]))
    for b, cols in enumerate(blocks):
        z = _first_component(points[:, cols])
        edges = np.linspace(z.min(), z.max(), BINS + 1)[1:-1] if np.ptp(z) > 0 else np.array([])
        binned = np.digitize(z, edges)
        for k in range(factors.shape[1]):
            entropy = mutual_info_score(factors[:, k], factors[:, k])
            scores[b, k] = mutual_info_score(binned, factors[:, k]) / entropy if entropy > 0 else 0.0
    return [blocks[int(i)] for i in scores.argmax(0)]


def interchange_accuracy(encode: Callable[[torch.Tensor], torch.Tensor], decode: Callable[[torch.Tensor], torch.Tensor],
                         blocks: list[slice], dataset, classify: Callable[[torch.Tensor], torch.Tensor], *,
                         pairs: int = 256, seed: int = 0, batch: int = 256) -> dict:
    """encode: images -> points (N, P); decode: points -> images; blocks: candidate column blocks of a point;
    classify: images -> (N, K) factor classes (the readout).  Base and source scenes are ``pairs`` draws each
    from ``dataset.sample_factors`` (a ``Split`` draws from its part) with numpy Generator(seed)."""
    rng = np.random.default_rng(seed)
    base_f, source_f = dataset.sample_factors(pairs, rng), dataset.sample_factors(pairs, rng)    # (n, K) each

    def run(fn, x):                                                      # in batches, as float32 tensors
        return torch.cat([fn(x[i:i + batch]) for i in range(0, len(x), batch)])

    with torch.no_grad():
        base = run(encode, torch.from_numpy(dataset.images(base_f, rng)))                         # (n, P)
        source = run(encode, torch.from_numpy(dataset.images(source_f, rng)))
        aligned = align(base.double().cpu().numpy(), base_f, blocks)
        out, names = {}, dataset.factor_names
        for k, cols in enumerate(aligned):
            mixed = base.clone()
            mixed[:, cols] = source[:, cols]
            target = base_f.copy()
            target[:, k] = source_f[:, k]                                                          # the counterfactual
            read = run(classify, run(decode, mixed).float()).cpu().numpy()
            ceiling = run(classify, torch.from_numpy(dataset.images(target, rng))).cpu().numpy()
            accuracy, best = float((read == target).all(1).mean()), float((ceiling == target).all(1).mean())
            out[f"interchange.{names[k]}"] = accuracy / best if best > 0 else 0.0
            out[f"interchange.{names[k]}.block"] = f"{cols.start}:{cols.stop}"
    scores = [v for key, v in out.items() if not key.endswith(".block")]
    return {"interchange": float(np.mean(scores)), **out}


def model_interchange_accuracy(model, dataset, classify, *, pairs: int = 256, seed: int = 0) -> dict:
    """``interchange_accuracy`` of a trained backbone: its anchors, its decoder, its axes' blocks."""
    rng = np.random.default_rng(seed + 1)
    probe = torch.from_numpy(dataset.images(dataset.sample_factors(256, rng), rng))
    with torch.no_grad():
        axes = model.axes(probe)
    blocks = list({(a.columns.start, a.columns.stop): a.columns for a in axes}.values())
    device = next(model.parameters()).device

    def encode(x):
        return model.anchors(x.to(device)).float()

    return interchange_accuracy(encode, lambda p: model.decode(p).cpu(), blocks, dataset, classify, pairs=pairs,
                                seed=seed)
