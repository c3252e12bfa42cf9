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
