"""HFVAE (Esmaeili et al. 2019, AISTATS, "Structured Disentangled Representations", Sec. 3): the KL term of the
ELBO decomposed over latent *groups* z = (z_1, ..., z_G), each group z_g a few dimensions,

    E_x KL(q(z|x) || p(z)) =  I_q(x; z)                                   mutual information        (α)
                           +  KL(q(z) || Π_g q(z_g))                      between-group TC          (β)
                           +  Σ_g KL(q(z_g) || Π_d q(z_g,d))              within-group TC           (γ)
                           +  Σ_g Σ_d KL(q(z_g,d) || p(z_g,d))            dimension-wise KL         (δ)

for the factorised N(0, I) prior (whose own total correlations vanish), each term weighted.  Raising β asks the
groups to be independent of one another while a group's dimensions may stay dependent (γ = 1): a group can carry
one factor in several dimensions.  With one dimension per group the within-group TC is zero and the loss is
β-TCVAE's α·MI + β·TC + δ·dim-KL (Chen et al. 2018) — tests/test_penalties.py checks that it is, to rounding.
The aggregate posteriors are estimated on the minibatch as β-TCVAE's are (``estimator`` mws / mss, Chen et al.
2018, Appendix C); log q(z_g) sums a group's dimensions before the log-sum-exp over the batch.

``groups``: the widths of the groups in latent order, e.g. "2,2,6" for D = 10; empty: one dimension each.
Continuous (Gaussian) groups only; the paper's discrete groups are not built here.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import UserError
from . import base
from ._math import gaussian_log_density, log_importance_weights, log_q_pairs
from .beta_tcvae import ESTIMATORS, _check_mss


@dataclass(frozen=True)
class HFVAEParams(base.Params):
    alpha: float = 1.0          # mutual information I(x; z)
    beta: float = 6.0           # between-group total correlation
    gamma: float = 1.0          # within-group total correlation
    delta: float = 1.0          # dimension-wise KL
    groups: str = ""            # widths in latent order ("2,2,6"); empty: one dimension per group
    estimator: str = "mws"      # mws | mss

    def validate(self) -> None:
        for name in ("alpha", "beta", "gamma", "delta"):
            base.require(getattr(self, name) >= 0, f"penalty.{name} must be >= 0, got {getattr(self, name)}")
        base.require(self.estimator in ESTIMATORS,
                     f"unknown penalty.estimator {self.estimator!r}; choose one of: {', '.join(ESTIMATORS)}")
        widths = [w.strip() for w in self.groups.split(",") if w.strip()]
        base.require(all(w.isdigit() and int(w) > 0 for w in widths),
                     f"penalty.groups must be positive widths separated by commas (e.g. 2,2,6), got {self.groups!r}")


def group_widths(groups: str, latent_dim: int) -> list[int]:
    """``"2,2,6"`` -> [2, 2, 6], checked to partition the D latents; empty -> [1] * D."""
    widths = [int(w) for w in groups.split(",") if w.strip()] or [1] * latent_dim
    if sum(widths) != latent_dim:
        raise UserError(f"penalty.groups {groups!r} covers {sum(widths)} latents, but there are {latent_dim}: the "
                        f"widths must add up to vae.latent_dim")
    return widths


class HFVAE(base.Penalty):
    Params = HFVAEParams

    def __init__(self, params: HFVAEParams | None = None, *, dataset_size: int | None = None, latent_dim: int = 10):
        super().__init__(params, dataset_size=dataset_size, latent_dim=latent_dim)
        self.widths = group_widths(self.params.groups, latent_dim)
        if self.params.estimator == "mss" and not dataset_size:
            raise ValueError("penalty.estimator=mss needs the dataset size N: pass dataset_size=len(dataset)")

    @classmethod
    def check_run(cls, params: HFVAEParams, *, dataset_size: int, batch_size: int, steps: int,
                  latent_dim: int = 10) -> list[str]:
        if params.estimator == "mss":
            _check_mss(dataset_size, batch_size)
        group_widths(params.groups, latent_dim)       # groups that do not partition the latents: one line, now
        return []

    def decompose(self, q: base.Posterior) -> dict[str, torch.Tensor]:
        """Minibatch estimates (nats, batch means) of the four terms."""
        pairs = log_q_pairs(q.z, q.mu, q.logvar)                                     # (B, B, D)
        log_w = log_importance_weights(len(q.z), self.dataset_size, self.params.estimator, q.z.device)
        log_qz = torch.logsumexp(log_w + pairs.sum(2), dim=1)                        # (B,)
        groups = torch.split(pairs, self.widths, dim=2)                              # G x (B, B, w_g)
        log_qg = torch.stack([torch.logsumexp(log_w + g.sum(2), dim=1) for g in groups], dim=1)      # (B, G)
        log_qd = torch.logsumexp(log_w[:, :, None] + pairs, dim=1)                   # (B, D)
        log_qzx = gaussian_log_density(q.z, q.mu, q.logvar).sum(1)                   # (B,)
        log_pd = gaussian_log_density(q.z, torch.zeros_like(q.z), torch.zeros_like(q.z))           # (B, D)
        return {"mi": (log_qzx - log_qz).mean(),
                "tc_between": (log_qz - log_qg.sum(1)).mean(),
                "tc_within": (log_qg.sum(1) - log_qd.sum(1)).mean(),
                "dim_kl": (log_qd - log_pd).sum(1).mean()}

    def forward(self, q: base.Posterior) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        p = self.params
        t = self.decompose(q)
        loss = p.alpha * t["mi"] + p.beta * t["tc_between"] + p.gamma * t["tc_within"] + p.delta * t["dim_kl"]
        return loss, t
