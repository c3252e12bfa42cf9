"""Learning a DAG by gradient descent: DAG-GNN's acyclicity h(A) and the augmented Lagrangian's outer step.

NOTEARS (Zheng et al. 2018, Alg. 1) and DAG-GNN (Yu et al. 2019, Sec. 3.4) minimise L(θ) + λ·h(A) + ρ/2·h(A)²
by an outer loop: solve the subproblem at fixed (λ, ρ) to convergence; if h has not fallen below a quarter of
its last accepted value, ρ ← 10ρ and solve again; else accept h, λ ← λ + ρ·h; stop once h ≤ h_tol.

With SGD the subproblem is never solved exactly and h(A) carries the noise of A: judged step by step, h "never
falls by a quarter", so ρ escalates on noise (CausalVAE on Pendulum: ρ at its cap 1e4 by step 1,000, λ ~ 540,
A pinned at zero).  Here the outer step is taken on *windows* of training steps (``dag_every``, an epoch or
so): h and the training loss are averaged over the window (the noise falls as 1/√window), the subproblem
counts as solved when the window's mean loss moved by less than ``loss_tol`` (relative) since the previous
window, and the constraint counts as met once the window's mean h ≤ ``h_tol`` — then λ and ρ stay put.
"""
from __future__ import annotations

import math

import torch


def acyclicity(a: torch.Tensor) -> torch.Tensor:
    """h(A) = tr((I + A∘A / m)^m) − m (Yu et al. 2019, DAG-GNN, Eq. 13): 0 iff the graph of A has no cycle."""
    m = a.shape[0]
    return torch.trace(torch.linalg.matrix_power(torch.eye(m, dtype=a.dtype, device=a.device) + a * a / m, m)) - m


def lagrangian_update(h: float, loss: float, loss_last: float, h_last: float, lam: float, rho: float, *,
                      h_tol: float, loss_tol: float, rho_max: float) -> tuple[float, float, float, str]:
    """One outer step on a window's mean h and mean loss -> (λ, ρ, h_last, what happened).

    ``loss_last`` is the previous window's mean loss (inf for the first window); ``h_last`` the last accepted
    h (inf at the start).  What happened: "solving" (the loss still moves: λ, ρ kept), "met" (h ≤ h_tol:
    kept), "rho" (h fell by less than a quarter: ρ ← min(10ρ, rho_max)), "lambda" (λ ← λ + ρ·h, h accepted).
    """
    if not (math.isfinite(loss_last) and abs(loss - loss_last) <= loss_tol * abs(loss_last)):
        return lam, rho, h_last, "solving"
    if h <= h_tol:
        return lam, rho, h_last, "met"
    if h > 0.25 * h_last and rho < rho_max:
        return lam, min(10 * rho, rho_max), h_last, "rho"
    return lam + rho * h, rho, h, "lambda"
