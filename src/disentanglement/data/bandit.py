"""Behaviour with known factors: Q-learning agents playing a two-armed bandit (after Dezfouli et al., NeurIPS
2019, "Disentangled behavioural representations", synthetic experiment).

A subject is one agent playing ``trials`` trials.  Its factors are the agent's learning rate α, inverse
temperature β and perseveration κ, each on a grid of ``levels`` values.  Task and agent, as the authors'
simulation (adezfouli/rnn_hypercoder, ``src/model/qrl.py``; facts only, written here):

- two arms paying 1 or 0; per subject, with probability ½, arm 0 pays with p = 0.5 and arm 1 with p = 0.1, or
  the reverse; fixed for the session (no reversals); 150 trials;
- Q-values start at 0; after choosing arm a and receiving r, Q_a <- (1 - α) Q_a + α r;
- P(choose a) = softmax_a(β Q_a + κ [a = previous choice]) (no κ on the first trial).

Their simulation fixes α = 0.2 and draws β = |6 N(0, 1)| and κ ~ N(0, 1); here α varies too, as the factors
the issue asks for: α on [0.05, 0.95], β on [0, 9] and κ on [-1.2, 1.2] (the ranges of their decoder sweeps),
``levels`` evenly spaced values each (8: 512 combinations).

An observation is the subject's sequence as a (1, T, 3) array in [0, 1]: per trial the one-hot choice (2
columns) and the reward — the shape every backbone takes (the VAEs read it with their MLP nets).  Rendering
draws the schedule, the choices and the rewards from the generator (``stochastic``): the same factors give a
new subject each time, the same seed the same subjects.  Vectorised over subjects: ~10^5 subjects/s.
"""
from __future__ import annotations

import numpy as np

from .base import FactorDataset

TRIALS, LEVELS = 150, 8
ARM_PROBABILITIES = (0.5, 0.1)          # the better and the worse arm's reward probability
RANGES = {"learning_rate": (0.05, 0.95), "inverse_temperature": (0.0, 9.0), "perseveration": (-1.2, 1.2)}


class BanditAgents(FactorDataset):
    """Subjects (1, T, 3): one-hot choice and reward per trial, rendered by simulating the agent."""

    name = "bandit"
    factor_names = tuple(RANGES)
    factor_sizes = (LEVELS,) * 3
    observation_shape = (1, TRIALS, 3)
    stochastic = True
    sequences = True          # observations are (1, trials, actions + 1) behaviour, not images

    def values(self, factors: np.ndarray) -> np.ndarray:
        """(n, 3) classes -> (n, 3) parameter values (α, β, κ)."""
        f = self._check_factors(factors)
        grids = [np.linspace(lo, hi, size) for (lo, hi), size in zip(RANGES.values(), self.factor_sizes)]
        return np.stack([grid[f[:, k]] for k, grid in enumerate(grids)], 1)

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        alpha, beta, kappa = self.values(factors).T                             # (n,) each
        choices, rewards = simulate(alpha, beta, kappa, rng, self.observation_shape[1])
        out = np.zeros((len(factors), 1, choices.shape[1], 3), np.float32)
        rows = np.arange(len(factors))[:, None]
        out[rows, 0, np.arange(choices.shape[1])[None], choices] = 1.0         # one-hot choice
        out[:, 0, :, 2] = rewards
        return out


def simulate(alpha, beta, kappa, rng, trials: int = TRIALS) -> tuple[np.ndarray, np.ndarray]:
    """Agents (n,) each play ``trials`` trials: (choices (n, T) int64 in {0, 1}, rewards (n, T) float32).

    Draws, in order: which arm is better (n,), then per trial the choices' and the rewards' uniforms (n, T)
    each — from a numpy ``Generator`` or ``RandomState``."""
    alpha, beta, kappa = (np.asarray(v, dtype=np.float64) for v in (alpha, beta, kappa))
    n = len(alpha)
    better = (rng.random(n) < 0.5).astype(np.int64)                          # (n,) arm 0 or 1 pays 0.5
    p_reward = np.where(np.arange(2)[None] == better[:, None], *ARM_PROBABILITIES)   # (n, 2)
    u_choice, u_reward = rng.random((n, trials)), rng.random((n, trials))
    q = np.zeros((n, 2))
    previous = np.full(n, -1)
    choices, rewards = np.empty((n, trials), np.int64), np.empty((n, trials), np.float32)
    rows = np.arange(n)
    for t in range(trials):
        logits = beta[:, None] * q + kappa[:, None] * (np.arange(2)[None] == previous[:, None])   # (n, 2)
        p_one = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))           # softmax: P(arm 1)
        a = (u_choice[:, t] < p_one).astype(np.int64)
        r = (u_reward[:, t] < p_reward[rows, a]).astype(np.float64)
        q[rows, a] += alpha * (r - q[rows, a])                              # (1 - α) Q + α r
        choices[:, t], rewards[:, t], previous = a, r, a
    return choices, rewards


# the behavioural signature each factor moves most (tests/test_bandit.py checks the direction of each)
SIGNATURES = {"learning_rate": "win_stay_gap", "inverse_temperature": "reward_rate", "perseveration": "repeat"}


def signatures(subjects: np.ndarray) -> dict[str, float]:
    """Subjects (n, 1, T, 3) -> the three signatures, pooled over subjects: ``repeat`` P(choice repeats),
    ``reward_rate`` the mean reward, ``win_stay_gap`` P(stay | rewarded) - P(stay | not rewarded)."""
    x = np.asarray(subjects)[:, 0]                                            # (n, T, 3)
    choice, reward = x[:, :, 1] > 0.5, x[:, :, 2] > 0.5
    stay, won = choice[:, 1:] == choice[:, :-1], reward[:, :-1]
    gap = (stay[won].mean() if won.any() else np.nan) - (stay[~won].mean() if (~won).any() else np.nan)
    return {"repeat": float(stay.mean()), "reward_rate": float(reward.mean()), "win_stay_gap": float(gap)}


def choice_probabilities(alpha, beta, kappa, choices: np.ndarray, rewards: np.ndarray) -> np.ndarray:
    """The agents' P(arm 1) on trials (n, T), replaying their Q-learning along given choices and rewards (n, T)."""
    alpha, beta, kappa = (np.asarray(v, dtype=np.float64) for v in (alpha, beta, kappa))
    n, trials = choices.shape
    q, previous, rows = np.zeros((n, 2)), np.full(n, -1), np.arange(n)
    out = np.empty((n, trials))
    for t in range(trials):
        logits = beta[:, None] * q + kappa[:, None] * (np.arange(2)[None] == previous[:, None])
        out[:, t] = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))
        a = choices[:, t]
        q[rows, a] += alpha * (rewards[:, t] - q[rows, a])
        previous = a
    return out
