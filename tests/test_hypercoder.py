"""The behavioural hypercoder (Dezfouli et al. 2019): its loss terms on cases whose value is known, its learner
against a known agent, its two-stage schedule, and the trainer's phase schedule it relies on."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import BanditAgents
from disentanglement.data.bandit import choice_probabilities, signatures, simulate
from disentanglement.models.hypercoder import (Hypercoder, HypercoderParams, MMD_SCALES, batch_gaussian_kl,
                                                multi_kernel_mmd, separation_loss)
from disentanglement.nets.behaviour import LearnerWeights, learner_logits, previous_inputs
from disentanglement.errors import UserError
from disentanglement.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _sampled_mmd(x, y):
    """The authors' estimator in full: every kernel average sampled (no expectation taken)."""
    scales = torch.tensor(MMD_SCALES, dtype=x.dtype)

    def kernel(a, b):
        return torch.exp(-torch.cdist(a, b).pow(2)[None] / (2 * scales[:, None, None])).sum(0)
    return kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean()


def test_the_mmd_with_the_prior_term_in_expectation_matches_the_sampled_one():
    g = torch.Generator().manual_seed(0)
    prior = torch.randn(2000, 3, generator=g, dtype=torch.float64)
    for shift in (0.0, 1.0):
        z = torch.randn(256, 3, generator=g, dtype=torch.float64) + shift
        ours, sampled = multi_kernel_mmd(prior, z), _sampled_mmd(prior, z)
        assert float(ours) == pytest.approx(float(sampled), abs=0.02)
    same = multi_kernel_mmd(prior, torch.randn(256, 3, generator=g, dtype=torch.float64))
    off = multi_kernel_mmd(prior, torch.randn(256, 3, generator=g, dtype=torch.float64) * 0.2 + 1.5)
    assert float(same) < 0.05 < 1.0 < float(off)


def test_the_batch_gaussian_kl_is_the_closed_form():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(200000, 2, generator=g, dtype=torch.float64)
    assert float(batch_gaussian_kl(z)) == pytest.approx(0.0, abs=1e-3)
    mix = torch.tensor([[2.0, 0.0], [1.0, 0.5]], dtype=torch.float64)            # cov = mix mixᵀ
    shifted = z @ mix.T + torch.tensor([1.0, -1.0], dtype=torch.float64)
    cov, mean = mix @ mix.T, torch.tensor([1.0, -1.0], dtype=torch.float64)
    exact = 0.5 * (torch.trace(cov) + mean @ mean - 2 - torch.logdet(cov))
    assert float(batch_gaussian_kl(shifted)) == pytest.approx(float(exact), rel=1e-2)
    correlated = torch.stack([z[:, 0], 0.9 * z[:, 0] + 0.44 * z[:, 1]], 1)    # unit variances, correlation 0.9
    assert float(batch_gaussian_kl(correlated)) > 0.5                          # correlated codes are penalised


def test_the_separation_term_is_the_mixed_second_derivative():
    z = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]], requires_grad=True)
    t = 7                                                                        # positions of the sequence
    interacting = torch.stack([(3 * z[:, 0] * z[:, 1] + z[:, 2] ** 2)[:, None].expand(-1, t),
                               torch.zeros(2, t)], -1)                           # (B, T, 2)
    # pairs (0,1), (0,2), (1,2): mixed derivatives 3 t, 0, 0 -> mean |.| = t
    assert float(separation_loss(z, interacting).detach()) == pytest.approx(3 * t / 3)
    additive = torch.stack([(z[:, 0] ** 3 + torch.sin(z[:, 1]) + z[:, 2])[:, None].expand(-1, t),
                            torch.zeros(2, t)], -1)
    assert float(separation_loss(z, additive).detach()) == pytest.approx(0.0, abs=1e-6)


def test_the_learner_fits_a_fixed_agents_choice_probabilities():
    """A hypernetwork learner (one code for every subject) trained on one agent's behaviour predicts that agent's
    own choice probabilities on new sessions: its Q-learning, read from choices and rewards alone."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    alpha, beta, kappa, trials = 0.5, 3.0, 0.0, 40

    def sessions(n):
        c, r = simulate(np.full(n, alpha), np.full(n, beta), np.full(n, kappa), rng, trials)
        actions = torch.nn.functional.one_hot(torch.from_numpy(c), 2).float()
        return c, r, actions, torch.from_numpy(r)
    learner = LearnerWeights(1, 3, 2, cells=3, hidden=32)
    opt = torch.optim.Adam(learner.parameters(), lr=1e-2)
    for _ in range(250):
        _, _, actions, rewards = sessions(128)
        logits = learner_logits(learner(torch.zeros(128, 1)), previous_inputs(actions, rewards))[:, :-1]
        loss = -(torch.log_softmax(logits, -1) * actions).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    c, r, actions, rewards = sessions(500)
    with torch.no_grad():
        logits = learner_logits(learner(torch.zeros(500, 1)), previous_inputs(actions, rewards))[:, :-1]
    predicted = torch.softmax(logits, -1)[..., 1].numpy()
    true = choice_probabilities(np.full(500, alpha), np.full(500, beta), np.full(500, kappa), c, r)
    assert np.abs(predicted - true).mean() < 0.05
    assert np.abs(0.5 - true).mean() > 0.2                                      # the agent is far from a coin


def test_the_two_stages_alternate_as_the_authors():
    model = Hypercoder(HypercoderParams(stage1_steps=100, lr_drop_step=60), BanditAgents.observation_shape)
    stage1, decoder, encoder = model.phases()
    assert [p.name for p in (stage1, decoder, encoder)] == ["stage1", "decoder", "encoder"]
    active = lambda step: [p.name for p in (stage1, decoder, encoder) if p.active(step)]   # noqa: E731
    assert active(0) == active(99) == ["stage1"]
    assert active(100) == active(149) == ["decoder"] and active(150) == active(349) == ["encoder"]
    assert active(350) == ["decoder"]
    assert stage1.lr(59) == pytest.approx(1e-3) and stage1.lr(60) == pytest.approx(1e-4)
    assert decoder.lr(100) == encoder.lr(150) == pytest.approx(1e-4)
    hyper = {id(p) for p in model.hypernet.parameters()}
    assert {id(p) for p in decoder.parameters} == hyper
    assert not hyper & {id(p) for p in encoder.parameters}


def test_the_trainer_follows_a_phase_schedule(tmp_path):
    """Phase.active / lr / clip_norm: the checkpoint's optimisers show the stage-1 lr drop, and the stage-2
    optimisers stepped only in their own steps."""
    config = make_config({"model": "hypercoder", "dataset": "bandit", "steps": 5, "batch_size": 8, "log_every": 1},
                         ["hypercoder.latent_dim=2", "hypercoder.encoder_cells=4", "hypercoder.stage1_steps=3",
                          "hypercoder.lr_drop_step=1", "hypercoder.prior_samples=50"])
    train(config, tmp_path / "run", progress=False, tensorboard=False)
    opts = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["optimizers"]
    assert opts["stage1"]["param_groups"][0]["lr"] == pytest.approx(1e-4)      # 1e-3 / 10 from step 1
    assert {s["step"].item() for s in opts["stage1"]["state"].values()} == {3}
    assert {s["step"].item() for s in opts["decoder"]["state"].values()} == {2}   # steps 3 and 4
    assert opts["encoder"]["state"] == {}                                          # its turn starts at step 53


def test_the_signatures_separate_the_agents():
    data = BanditAgents()
    rng = np.random.default_rng(0)
    low, high = np.full((2000, 3), 4), np.full((2000, 3), 4)
    low[:, 2], high[:, 2] = 0, 7                                                   # perseveration
    assert signatures(data.images(high, rng))["repeat"] > signatures(data.images(low, rng))["repeat"] + 0.2


def test_a_sequence_model_refuses_images():
    with pytest.raises(UserError, match="reads choice sequences .* squares gives"):
        make_config({"model": "hypercoder", "dataset": "squares"})
