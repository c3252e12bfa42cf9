"""AnnealedVAE (Burgess et al. 2018, Eq. 8): loss = reconstruction + γ · |KL − C(step)|.

The capacity C rises linearly from 0 to C_max over ``iterations`` steps and then
stays — a pure function of the step, never a mutated attribute.  Study grid:
C_max ∈ {5, 10, 25, 50, 75, 100}, γ = 1000, 100k iterations.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import base
from ._math import gaussian_kl


@dataclass(frozen=True)
class AnnealedVAEParams(base.Params):
    gamma: float = 1000.0       # weight of |KL - C|
    c_max: float = 25.0         # final capacity, nats
    iterations: int = 100_000   # steps over which C grows from 0 to c_max

    def validate(self) -> None:
        base.require(self.gamma >= 0, f"penalty.gamma must be >= 0, got {self.gamma}")
        base.require(self.c_max >= 0, f"penalty.c_max must be >= 0, got {self.c_max}")
        base.require(self.iterations > 0, f"penalty.iterations must be a positive integer, got {self.iterations}")


def capacity(step: int, c_max: float, iterations: int) -> float:
    """C(step) = c_max · min(1, step / iterations)."""
    return c_max * min(1.0, step / iterations)


class AnnealedVAE(base.Penalty):
    Params = AnnealedVAEParams

    @classmethod
    def check_run(cls, params: AnnealedVAEParams, *, dataset_size: int, batch_size: int, steps: int,
                  latent_dim: int = 10) -> list[str]:
        """A note when the run ends before C(step) reaches c_max (Eq. 8's schedule is cut short)."""
        if params.iterations <= steps:
            return []
        c_end = capacity(steps, params.c_max, params.iterations)
        return [f"penalty.iterations={params.iterations} > steps={steps}: the capacity C only reaches "
                f"{c_end:.4g} of c_max={params.c_max:g} nats by the end of the run; "
                f"--set penalty.iterations={steps} reaches c_max by the last step"]

    def forward(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        p = self.params
        kl = gaussian_kl(q.mu, q.logvar).sum(1).mean()               # nats per image
        c = capacity(q.step, p.c_max, p.iterations)
        return p.gamma * (kl - c).abs(), {"kl": kl, "capacity": torch.tensor(c)}
