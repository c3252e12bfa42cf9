"""The traversal score: does turning one knob move one factor?

The field's criterion of success (Higgins et al. 2017; Locatello et al. 2019) is that traversing a single
latent changes a single aspect of the output.  We measure it directly on the decoder:

1. a factor predictor, trained on the dataset's images, reads the factors of an image as values in [0, 1];
2. for each seed code c (N seeds) and latent d, decode c + v e_d for the S shifts v of the sweep;
3. effect[d, k] = mean over seeds of (max_s - min_s) of the predicted factor k along the sweep:
   how far turning knob d moves factor k, as a share of factor k's range;
4. latent d is active if sum_k effect[d, k] >= min_effect (and, for a VAE, its KL > min_kl); its share is max_k effect[d, k] / sum_k effect[d, k];
   the score is the mean share over active latents (1: every knob moves one factor; 1/K: all equally).

No latent moving anything gives no score (NaN).  The score does not ask that factors be covered (that is
what completeness-style metrics such as DCI do); it asks that each knob be clean.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch


@torch.no_grad()
def traversal_effects(decode: Callable[[torch.Tensor], torch.Tensor],
                      readout: Callable[[torch.Tensor], torch.Tensor],
                      codes: torch.Tensor, values: np.ndarray, batch: int = 1024) -> np.ndarray:
    """codes (N, D) seeds, values (D, S) shifts -> effect (D, K) in [0, 1].

    ``decode(z (B, D)) -> images (B, C, H, W)``; ``readout(images) -> (B, K)`` factor values in [0, 1].
    """
    n, dim = codes.shape
    values = np.asarray(values, dtype=np.float64)
    values = values[None].repeat(dim, 0) if values.ndim == 1 else values  # (D, S)
    rows = []
    for d in range(dim):
        s = values.shape[1]
        z = codes[:, None, :].repeat(1, s, 1)                               # (N, S, D)
        z[:, :, d] += torch.as_tensor(values[d], dtype=codes.dtype, device=codes.device)
        z = z.reshape(n * s, dim)
        read = torch.cat([readout(decode(z[i:i + batch])) for i in range(0, len(z), batch)])  # (N*S, K)
        read = read.view(n, s, -1)
        rows.append((read.amax(1) - read.amin(1)).mean(0))                 # (K,)
    return torch.stack(rows).double().cpu().numpy()


def traversal_score(effect: np.ndarray, *, min_effect: float = 0.05, kl: np.ndarray | None = None,
                    min_kl: float = 0.01) -> dict:
    """effect (D, K) -> {"score", "share" (D,), "main_factor" (D,), "active" (D,) bool}.

    Given the mean KL (D,) of each latent, a latent must also carry more than ``min_kl`` nats to be active.
    ``share`` and ``main_factor`` are NaN / -1 for inactive latents.
    """
    effect = np.asarray(effect, dtype=np.float64)
    total = effect.sum(1)                                                    # (D,)
    active = total >= min_effect
    if kl is not None:
        active &= np.asarray(kl) > min_kl
    share = np.full(len(effect), np.nan)
    share[active] = effect[active].max(1) / total[active]
    main = np.where(active, effect.argmax(1), -1)
    score = float(share[active].mean()) if active.any() else float("nan")
    return {"score": score, "share": share, "main_factor": main, "active": active}


def model_traversal_score(model, dataset, readout, *, values: np.ndarray, seeds: int = 32, seed: int = 0,
                          device: str | torch.device = "cpu", min_effect: float = 0.05,
                          kl: np.ndarray | None = None) -> dict:
    """The traversal score of a VAE: seeds are the mean codes of ``seeds`` dataset images.

    Returns traversal_score's dict plus "effect" (D, K).
    """
    from ..errors import UserError

    if not getattr(dataset, "factor_sizes", ()):
        raise UserError(f"dataset {getattr(dataset, 'name', type(dataset).__name__)!r} has no known factors: "
                        "the traversal score needs a dataset with factor_names and factor_sizes (e.g. dsprites)")
    images, _ = dataset.sample(seeds, np.random.default_rng(seed))
    with torch.no_grad():
        codes, _ = model.encode(torch.from_numpy(images).to(device))        # (N, D)
    effect = traversal_effects(model.decode, readout, codes, values)
    return {**traversal_score(effect, min_effect=min_effect, kl=kl), "effect": effect}
