"""Causal InfoGAN (models/causal_infogan.py): the transition model's likelihood against the closed form, the
information bound and both players' losses term by term, plans as G's drawings of a straight path in s, and
one-line errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from disentanglement.config import check_run, make_config
from disentanglement.data import Rooms
from disentanglement.models import BACKBONES, Batch
from disentanglement.models.causal_infogan import Transition

pytestmark = pytest.mark.usefixtures("one_thread")
SETS = ["causal_infogan.state_dim=3", "causal_infogan.noise_dim=2", "causal_infogan.spectral_norm=false"]


def _model(*sets):
    config = make_config({"model": "causal_infogan", "dataset": "rooms"}, [*SETS, *sets])
    torch.manual_seed(0)
    return BACKBONES["causal_infogan"].build(config, Rooms())


def _batch(n=8, seed=0):
    d, rng = Rooms(), np.random.default_rng(seed)
    f = d.sample_factors(n, rng)
    f2 = d.transition(f, rng)
    return Batch(x=torch.from_numpy(d.images(f)), x2=torch.from_numpy(d.images(f2)), factors=torch.from_numpy(f),
                 factors2=torch.from_numpy(f2), step=0, generator=torch.Generator().manual_seed(seed))


def test_the_transition_likelihood_is_the_gaussian_closed_form():
    model = _model("causal_infogan.learn_var=true")
    s, s2 = torch.rand(5, 3) * 2 - 1, torch.rand(5, 3) * 2 - 1
    mean, var = model.transition(s)
    torch.testing.assert_close(mean, s)                                         # learn_mu off: T's mean is s
    expected = torch.distributions.Normal(s, var.sqrt()).log_prob(s2).sum(1)
    torch.testing.assert_close(model.transition.log_prob(s, s2), expected)
    fixed = _model("causal_infogan.tau=0.2")                                  # the default: σ = τ
    assert fixed.transition.net is None
    lp = fixed.transition.log_prob(s, s)                                          # at the mean: -d/2 log(2π τ²)
    torch.testing.assert_close(lp, torch.full((5,), -1.5 * math.log(2 * math.pi * 0.04)))
    moved = _model("causal_infogan.learn_mu=true").transition(s)[0]
    assert (moved - s).abs().max() <= 0.1 + 1e-6 and (moved != s).any()          # s + 0.1 tanh(net(s))


def test_the_generator_maximises_the_bound_of_the_paper_less_the_step_penalty():
    model = _model("causal_infogan.lambda_info=0.5", "causal_infogan.transition_weight=0.3", "causal_infogan.learn_var=true",
                   "causal_infogan.learn_q_std=false")
    batch = _batch()
    d_loss, _ = model.phases()[0].loss(batch)
    g_loss, logs = model.phases()[1].loss(batch)
    code, fake = batch.shared["code"], batch.shared["fake"]
    assert fake.shape == (8, 2, 32, 32)                                           # G draws the pair (o, o')
    mean_o, _ = model.q(fake[:, :1])
    mean_o2, _ = model.q(fake[:, 1:])
    log_q = lambda x, m: (-0.5 * (math.log(2 * math.pi) + (x - m) ** 2)).sum(1).mean()   # noqa: E731 (unit variance)
    t_mean, t_var = model.transition(code.s)
    log_t = torch.distributions.Normal(t_mean, t_var.sqrt()).log_prob(code.s_next).sum(1).mean()
    bound = log_q(code.s, mean_o) + log_q(code.s_next, mean_o2) - log_t
    gan = F.softplus(-model.real_fake(model.body(fake))).mean()
    expected = gan - 0.5 * bound + 0.3 * (t_var ** 2).sum(1).mean()
    torch.testing.assert_close(g_loss, expected)
    torch.testing.assert_close(logs["info_loss"], -bound)
    # D: the plain game on real pairs (o, o') stacked on channels; Q and T are not in it
    real = model.real_fake(model.body(torch.cat([batch.x, batch.x2], 1)))
    seen = model.real_fake(model.body(fake.detach()))
    torch.testing.assert_close(d_loss, F.softplus(-real).mean() + F.softplus(seen).mean())


def test_the_bound_moves_q_and_t_and_they_move_with_g():
    model = _model("causal_infogan.learn_var=true")
    batch = _batch()
    model.phases()[0].loss(batch)
    g = model.phases()[1]
    loss, _ = g.loss(batch)
    loss.backward()
    heads = {id(p) for p in [*model.q_body.parameters(), *model.q_head.parameters(), *model.transition.parameters()]}
    assert heads <= {id(p) for p in g.parameters}
    for part in (model.q_head, model.transition.net):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())


def test_a_plan_is_g_drawing_the_straight_path_between_q_of_start_and_goal():
    model = _model().eval()
    d = Rooms()
    start, goal = (torch.from_numpy(im) for im in d.images(np.array([[1, 1], [6, 7]])))
    frames, states = model.plan(start, goal, steps=6, locate="q")
    assert model.q(start[None])[1].min() >= math.log(1e-6)                     # a learned variance, floored
    assert frames.shape == (7, 1, 32, 32) and states.shape == (7, 3)
    ends = model.representation(torch.stack([start, goal]))
    torch.testing.assert_close(states[0], ends[0])
    torch.testing.assert_close(states[-1], ends[1])
    torch.testing.assert_close(states[3], (ends[0] + ends[1]) / 2)
    z = torch.zeros(7, 2)
    torch.testing.assert_close(frames, model.generator(torch.cat([z, states, states], 1))[:, :1])
    torch.testing.assert_close(model.decode(torch.cat([z, states], 1)), frames)   # a traversal point is [z, s]
    near, _ = model.plan(start, goal, steps=2)                                     # the authors' projection
    located = model.locate(torch.stack([start, goal]), candidates=64)
    s = (torch.rand(64, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1)
    drawn = model.decode(torch.cat([torch.zeros(64, 2), s], 1)).flatten(1)
    for image, state in zip((start, goal), located):
        best = s[((drawn - image.flatten()) ** 2).sum(1).argmin()]
        torch.testing.assert_close(state, best)
    assert near.shape == (3, 1, 32, 32)
    with pytest.raises(ValueError, match=r"planning goal must be an image of the domain, shape \(1, 32, 32\)"):
        model.plan(start, torch.zeros(1, 64, 64))
    with pytest.raises(ValueError, match="planning start must be an image"):
        model.plan(start * 3, goal)


def test_a_graph_plan_walks_neighbour_to_neighbour_from_start_to_goal():
    model = _model().eval()
    d = Rooms()
    start, goal = (torch.from_numpy(im) for im in d.images(np.array([[0, 0], [7, 7]])))
    frames, states = model.plan(start, goal, planner="graph", candidates=200, neighbours=5)
    ends = model.locate(torch.stack([start, goal]))
    torch.testing.assert_close(states[0], ends[0])
    torch.testing.assert_close(states[-1], ends[1])
    assert frames.shape == (len(states), 1, 32, 32)
    pool = torch.cat([ends, torch.rand(200, 3, generator=torch.Generator().manual_seed(1)) * 2 - 1])
    for a, b in zip(states, states[1:]):                 # each step an edge: b among the 5 states nearest a (and a)
        closer = (torch.cdist(a[None], pool)[0] < (a - b).norm() - 1e-6).sum()
        assert closer <= 5


@pytest.mark.parametrize("dataset, sets, message", [
    ("squares", [], "causal_infogan trains on pairs one move apart and squares has no dynamics: use --dataset rooms"),
    ("rooms", ["causal_infogan.transition_weight=-1"], "transition_weight must be >= 0"),
    ("rooms", ["causal_infogan.tau=0"], "tau must be > 0"),
    ("rooms", ["causal_infogan.state_dim=0"], "state_dim must be >= 1"),
])
def test_bad_settings_are_one_line_errors(dataset, sets, message):
    with pytest.raises(Exception) as err:
        check_run(make_config({"model": "causal_infogan", "dataset": dataset}, sets))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_rooms_has_what_causal_infogan_reads_by_default():
    assert check_run(make_config({"model": "causal_infogan", "dataset": "rooms"}, [])) == []


def test_sampling_and_axes_speak_the_backbone_contract():
    model = _model().eval()
    code = model.sample_code(4, torch.Generator().manual_seed(0), torch.device("cpu"))
    assert isinstance(code, Transition) and code.s.abs().max() <= 1
    assert model.sample(4, torch.Generator().manual_seed(0)).shape == (4, 1, 32, 32)
    axes = model.axes()
    assert [a.name for a in axes] == ["s0", "s1", "s2"] and axes[0].columns == slice(2, 3)
    assert model.anchors(torch.zeros(5, 1, 32, 32)).shape == (5, 5)
    assert model.pairs == "transition"
