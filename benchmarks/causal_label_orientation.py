"""Can CausalVAE's label term orient the graph?  Its label reconstruction fits every concept u_i from its parents
through g^u_i(Σ_j A[j, i] u_j) (Yang et al. 2021, Eq. 7; models/causal_vae.py).  Here that term alone is fitted
on every scene's labels, with A free on a fixed support (the true graph, the true graph reversed, no edge, every
edge of one topological order) — the best each graph can do.  If the reversed graph fits the labels as well
as the true one, this term cannot tell the true direction from zero, whatever the optimiser.

    python benchmarks/causal_label_orientation.py --dataset pendulum --steps 3000

Labels scaled as the authors scale them (CausalVAE.concepts_of).  Full batch, Adam lr 1e-2, 3 restarts each;
prints the final mean squared error per concept and in all.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from disentanglement.data import open_dataset
from disentanglement.models.causal_vae import CausalVAE, ConceptMLPs


def fit(u: torch.Tensor, support: np.ndarray, steps: int, seed: int) -> np.ndarray:
    """Min over A (on ``support``) and g^u of mean (g^u(Aᵀu) − u)²; returns the per-concept error (C,)."""
    torch.manual_seed(seed)
    c = u.shape[1]
    mask = torch.tensor(support, dtype=torch.float32)
    a = torch.nn.Parameter(0.5 * mask.clone())
    g = ConceptMLPs(c, 1)
    opt = torch.optim.Adam([a, *g.parameters()], lr=1e-2)
    for _ in range(steps):
        parents = torch.einsum("ji,bj->bi", a * mask, u)[:, :, None]        # (N, C, 1)
        err = (g(parents)[:, :, 0] - u).pow(2)                              # (N, C)
        opt.zero_grad()
        err.mean().backward()
        opt.step()
    return err.mean(0).detach().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="pendulum")
    parser.add_argument("--steps", type=int, default=3000)
    args = parser.parse_args()
    dataset = open_dataset(args.dataset)
    names, labels, true = CausalVAE.concepts_of(dataset)
    u = torch.tensor(labels, dtype=torch.float32)                           # (N, C)
    c = len(names)
    supports = {"true graph": true, "true graph reversed": true.T, "no edge": np.zeros((c, c)),
                "every edge of the true order": np.triu(np.ones((c, c)), 1),
                "every edge of the reversed order": np.tril(np.ones((c, c)), -1)}
    print(f"{args.dataset}: concepts {', '.join(names)}; label variance {', '.join(f'{v:.3f}' for v in labels.var(0))}")
    print("| support of A | " + " | ".join(names) + " | mean |\n|---|" + "---|" * (c + 1))
    for name, support in supports.items():
        errs = min((fit(u, support, args.steps, seed) for seed in range(3)), key=lambda e: e.mean())
        print(f"| {name} | " + " | ".join(f"{e:.4f}" for e in errs) + f" | {errs.mean():.4f} |", flush=True)


if __name__ == "__main__":
    main()
