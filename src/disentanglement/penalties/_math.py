"""Shared maths of the penalties, written once."""
from __future__ import annotations

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per dimension, (B, D) -> (B, D).

    Kingma & Welling 2014, Appendix B: -1/2 (1 + log s^2 - mu^2 - s^2).
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)


def gaussian_log_density(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, exp(logvar)) elementwise (broadcasting)."""
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) * torch.exp(-logvar))


def log_q_pairs(q_z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log q(z_i,d | x_j) for every pair in the batch: (B, D) each -> (B_i, B_j, D)."""
    return gaussian_log_density(q_z[:, None, :], mu[None, :, :], logvar[None, :, :])


def log_importance_weights(batch: int, dataset_size: int | None, estimator: str, device=None) -> torch.Tensor:
    """(B, B) log w_ij of the aggregate-posterior estimators of Chen et al. 2018, Sec. 3 / Appendix C.

    ``mws`` (minibatch weighted sampling): w_ij = 1 / M, M = B.  Chen et al. write 1 / (N M); the
    log N constant cancels in no term's gradient but shifts every logged value, so it is dropped
    and both estimators' weights sum to one over j (logged MI / TC / dim-KL are comparable).
    ``mss`` (minibatch stratified sampling): the batch is treated as x_i followed by the
    M = B - 1 other points; w_ii = 1/N for the point's own term, one neighbour per row
    gets the stratum weight (N - M) / (N M), all others 1/M, then divided by M as in Eq. (S6).
    """
    b = batch
    if estimator == "mws":
        return torch.full((b, b), -math.log(b), device=device)
    if estimator != "mss":
        raise ValueError(f"unknown estimator {estimator!r}; choose mws or mss")
    n, m = float(dataset_size), b - 1
    w = torch.full((b, b), 1.0 / m, device=device)
    idx = torch.arange(b, device=device)
    w[idx, idx] = 1.0 / n
    w[idx, (idx + 1) % b] = (n - m) / (n * m)
    return w.log()


def aggregate_log_densities(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                            dataset_size: int | None, estimator: str):
    """Minibatch estimates at each sample z_i: (log q(z_i) (B,), log prod_d q(z_i,d) (B,))."""
    pairs = log_q_pairs(z, mu, logvar)                                       # (B, B, D)
    log_w = log_importance_weights(len(z), dataset_size, estimator, z.device)  # (B, B)
    log_qz = torch.logsumexp(log_w + pairs.sum(2), dim=1)                    # (B,)
    log_qz_marginals = torch.logsumexp(log_w[:, :, None] + pairs, dim=1).sum(1)  # (B,)
    return log_qz, log_qz_marginals
