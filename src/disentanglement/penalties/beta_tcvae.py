"""β-TCVAE (Chen et al. 2018, Eq. 2 and 4): the KL term split into

    index-code MI      E[log q(z|x) − log q(z)]
    total correlation  E[log q(z) − Σ_d log q(z_d)]
    dimension-wise KL  E[Σ_d log q(z_d) − log p(z_d)]

and weighted α·MI + β·TC + γ·dim-KL.  q(z) and q(z_d) are estimated on the
minibatch by minibatch weighted sampling (``mws``, Sec. 3) or minibatch
stratified sampling (``mss``, Appendix C, needs the dataset size N).  ``mss``
treats the M = B − 1 other points of a batch as drawn from the N − 1 others, so
it needs B <= N: its stratum weight (N − M) / (N M) is zero for N = B − 1 and
negative for N < B − 1, whose log is NaN (``_math.log_importance_weights``).

When α = γ the loss is computed as α·KL + (β − α)·TC with the analytic KL: the
same objective in expectation, lower variance, and exactly the β-TCVAE of
disentanglement_lib (KL + (β − 1)·TC) for the default α = γ = 1.  Study grid:
β ∈ {1, 2, 4, 6, 8, 10}.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from . import base
from ._math import aggregate_log_densities, gaussian_kl, gaussian_log_density

ESTIMATORS = ("mws", "mss")


@dataclass(frozen=True)
class BetaTCVAEParams(base.Params):
    alpha: float = 1.0          # index-code mutual information
    beta: float = 6.0           # total correlation
    gamma: float = 1.0          # dimension-wise KL
    estimator: str = "mws"      # mws | mss
    # Chen et al.'s optional schedules (vae_quant.py, anneal_kl; 7000 iterations on dSprites), t = step + 1:
    anneal_beta: bool = False   # β_t = min(β, β t / anneal_steps)
    anneal_gamma: bool = False  # γ_t = γ (1 − max(0, 0.95 − t / anneal_steps))  (their λ annealing)
    anneal_steps: int = 7000

    def validate(self) -> None:
        for name in ("alpha", "beta", "gamma"):
            value = getattr(self, name)
            base.require(value >= 0, f"penalty.{name} must be >= 0, got {value}")
        base.require(self.estimator in ESTIMATORS,
                     f"unknown penalty.estimator {self.estimator!r}; choose one of: {', '.join(ESTIMATORS)}")
        base.require(self.anneal_steps > 0, f"penalty.anneal_steps must be a positive integer, got {self.anneal_steps}")

    def weights(self, step: int) -> tuple[float, float, float]:
        """(α, β_t, γ_t) at optimiser step ``step`` (0-based; their iteration counter starts at 1)."""
        t = step + 1
        beta = min(self.beta, self.beta * t / self.anneal_steps) if self.anneal_beta else self.beta
        gamma = self.gamma * (1 - max(0.0, 0.95 - t / self.anneal_steps)) if self.anneal_gamma else self.gamma
        return self.alpha, beta, gamma


def _check_mss(dataset_size: int, batch_size: int) -> None:
    """Raise for ``mss`` with B > N: the stratum weight (N − M) / (N M), M = B − 1, is <= 0 (NaN loss)."""
    base.require(batch_size <= dataset_size,
                 f"penalty.estimator=mss needs batch_size <= dataset size N, got batch_size={batch_size} > "
                 f"N={dataset_size} (its stratum weight (N - M)/(N M), M = batch_size - 1, is <= 0: NaN loss); "
                 f"use --set penalty.estimator=mws, or --set batch_size={dataset_size} or less")


class BetaTCVAE(base.Penalty):
    Params = BetaTCVAEParams

    def __init__(self, params: BetaTCVAEParams | None = None, *, dataset_size: int | None = None,
                 latent_dim: int = 10):
        super().__init__(params, dataset_size=dataset_size, latent_dim=latent_dim)
        if self.params.estimator == "mss" and not dataset_size:
            raise ValueError("penalty.estimator=mss needs the dataset size N: pass dataset_size=len(dataset) "
                             "(the trainer does), or use estimator=mws")

    @classmethod
    def check_run(cls, params: BetaTCVAEParams, *, dataset_size: int, batch_size: int, steps: int,
                  latent_dim: int = 10) -> list[str]:
        """``mss`` with a batch larger than the dataset cannot work (Appendix C needs B <= N)."""
        if params.estimator == "mss":
            _check_mss(dataset_size, batch_size)
        return []

    def decompose(self, q: base.Posterior) -> dict[str, torch.Tensor]:
        """Minibatch estimates of MI, TC and dimension-wise KL (nats, batch means)."""
        if self.params.estimator == "mss":
            _check_mss(self.dataset_size, q.z.shape[0])
        log_qz, log_qz_prod = aggregate_log_densities(q.z, q.mu, q.logvar, self.dataset_size, self.params.estimator)
        log_qzx = gaussian_log_density(q.z, q.mu, q.logvar).sum(1)                        # (B,)
        zeros = torch.zeros_like(q.z)
        log_pz = gaussian_log_density(q.z, zeros, zeros).sum(1)                          # (B,)
        return {"mi": (log_qzx - log_qz).mean(), "tc": (log_qz - log_qz_prod).mean(),
                "dim_kl": (log_qz_prod - log_pz).mean()}

    def forward(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        p = self.params
        alpha, beta, gamma = p.weights(q.step)
        terms = self.decompose(q)
        kl = gaussian_kl(q.mu, q.logvar).sum(1).mean()
        if alpha == gamma:
            loss = alpha * kl + (beta - alpha) * terms["tc"]
        else:
            loss = alpha * terms["mi"] + beta * terms["tc"] + gamma * terms["dim_kl"]
        annealed = {"beta_t": torch.tensor(beta)} if p.anneal_beta else {}
        annealed.update({"gamma_t": torch.tensor(gamma)} if p.anneal_gamma else {})
        return loss, {"kl": kl, **terms, **annealed}
