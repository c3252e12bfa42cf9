"""Q-learning agents on a two-armed bandit (data/bandit.py): the simulation, and each factor's signature."""
import numpy as np
import pytest

from disentanglement.data import BanditAgents, open_dataset
from disentanglement.data.bandit import simulate


class _Uniforms:
    """A generator that replays given uniforms (for the hand-written reference below)."""

    def __init__(self, draws):
        self.draws = list(draws)

    def random(self, shape):
        return self.draws.pop(0)


def _one_agent(alpha, beta, kappa, better, u_choice, u_reward):
    """The agent written trial by trial, for one subject."""
    q, previous, choices, rewards = [0.0, 0.0], None, [], []
    p = [0.5, 0.1] if better == 0 else [0.1, 0.5]
    for uc, ur in zip(u_choice, u_reward):
        logit = [beta * q[a] + (kappa if a == previous else 0.0) for a in (0, 1)]
        p_one = np.exp(logit[1]) / (np.exp(logit[0]) + np.exp(logit[1]))
        a = int(uc < p_one)
        r = float(ur < p[a])
        q[a] = (1 - alpha) * q[a] + alpha * r
        choices.append(a), rewards.append(r)
        previous = a
    return choices, rewards


def test_the_vectorised_agents_play_as_the_trial_by_trial_one():
    rng = np.random.default_rng(0)
    n, trials = 5, 40
    params = rng.uniform([0.05, 0, -1.2], [0.95, 9, 1.2], size=(n, 3))
    better, uc, ur = rng.random(n), rng.random((n, trials)), rng.random((n, trials))
    choices, rewards = simulate(*params.T, _Uniforms([better, uc, ur]), trials)
    for i in range(n):
        c, r = _one_agent(*params[i], int(better[i] < 0.5), uc[i], ur[i])
        assert choices[i].tolist() == c and rewards[i].tolist() == r


def test_subjects_are_one_hot_choices_and_rewards_and_a_seed_repeats_them():
    data = open_dataset("bandit")
    x, factors = data.sample(64, np.random.default_rng(3))
    assert x.shape == (64, 1, 150, 3) and factors.shape == (64, 3) and data.stochastic
    assert np.array_equal(x[:, 0, :, :2].sum(-1), np.ones((64, 150)))
    assert set(np.unique(x[:, 0, :, 2])) <= {0.0, 1.0}
    np.testing.assert_array_equal(x, data.sample(64, np.random.default_rng(3))[0])
    legacy = data.sample(8, np.random.RandomState(0))[0]                     # the reference's generator type too
    np.testing.assert_array_equal(legacy, data.sample(8, np.random.RandomState(0))[0])


def _at(data, level, factor, n=3000, seed=0, **others):
    """n subjects with ``factor`` at ``level`` and the other factors at the given levels (default: middle)."""
    f = np.full((n, 3), 4)
    for k, name in enumerate(data.factor_names):
        f[:, k] = others.get(name, 4)
    f[:, data.factor_names.index(factor)] = level
    return data.images(f, np.random.default_rng(seed))[:, 0]                 # (n, T, 3)


def test_each_factor_moves_its_own_signature():
    data = BanditAgents()
    repeat = lambda x: (x[:, 1:, 1] == x[:, :-1, 1]).mean()                   # noqa: E731 — P(choice repeats)
    assert repeat(_at(data, 7, "perseveration")) > repeat(_at(data, 0, "perseveration")) + 0.2
    rewarded = lambda x: x[:, :, 2].mean()                                    # noqa: E731 — reward rate
    assert rewarded(_at(data, 7, "inverse_temperature")) > rewarded(_at(data, 0, "inverse_temperature")) + 0.05

    def win_stay_gap(x):           # P(stay | rewarded) - P(stay | not): how much one reward moves the next choice
        stay = x[:, 1:, 1] == x[:, :-1, 1]
        won = x[:, :-1, 2] == 1
        return stay[won].mean() - stay[~won].mean()
    kw = {"perseveration": 3, "inverse_temperature": 7}
    assert win_stay_gap(_at(data, 7, "learning_rate", **kw)) > win_stay_gap(_at(data, 0, "learning_rate", **kw)) + 0.1


@pytest.mark.parametrize("factor, levels", [("learning_rate", (0.05, 0.95)), ("inverse_temperature", (0.0, 9.0)),
                                            ("perseveration", (-1.2, 1.2))])
def test_the_grid_spans_the_stated_ranges(factor, levels):
    data = BanditAgents()
    k = data.factor_names.index(factor)
    ends = data.values(np.array([[0, 0, 0], [7, 7, 7]]))[:, k]
    assert tuple(ends) == pytest.approx(levels)
