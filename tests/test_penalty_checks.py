"""``Penalty.check_run``: settings that cannot work raise before a run, settings that work oddly give a note."""
import pytest
import torch

from disentanglement.penalties import AnnealedVAE, BetaTCVAE, BetaVAE, Posterior

D = 4


def _posterior(batch: int, seed: int = 0) -> Posterior:
    g = torch.Generator().manual_seed(seed)
    mu, logvar = torch.randn(batch, D, generator=g), 0.1 * torch.randn(batch, D, generator=g)
    return Posterior(mu=mu, logvar=logvar, z=mu + (0.5 * logvar).exp() * torch.randn(batch, D, generator=g), step=0)


def test_default_check_run_has_no_notes():
    assert BetaVAE.check_run(BetaVAE.Params(), dataset_size=10, batch_size=16, steps=3000) == []


def test_mss_batch_larger_than_dataset_raises_before_the_run():
    with pytest.raises(ValueError, match="mss") as err:
        BetaTCVAE.check_run(BetaTCVAE.Params(estimator="mss"), dataset_size=10, batch_size=16, steps=100)
    message = str(err.value)
    assert "\n" not in message and "16" in message and "10" in message and "mws" in message
    for n in (10, 15):  # N < B - 1: negative stratum weight, NaN; N = B - 1: zero weight
        with pytest.raises(ValueError, match="mss"):
            BetaTCVAE.check_run(BetaTCVAE.Params(estimator="mss"), dataset_size=n, batch_size=16, steps=100)
    assert BetaTCVAE.check_run(BetaTCVAE.Params(estimator="mss"), dataset_size=16, batch_size=16, steps=100) == []
    assert BetaTCVAE.check_run(BetaTCVAE.Params(estimator="mws"), dataset_size=10, batch_size=16, steps=100) == []


def test_mss_forward_refuses_a_batch_larger_than_the_dataset():
    penalty = BetaTCVAE(BetaTCVAE.Params(estimator="mss"), dataset_size=10, latent_dim=D)
    with pytest.raises(ValueError, match="mss") as err:
        penalty(_posterior(16))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("estimator", ["mss", "mws"])
def test_tcvae_loss_finite_when_dataset_much_larger_than_batch(estimator):
    penalty = BetaTCVAE(BetaTCVAE.Params(estimator=estimator), dataset_size=10_000, latent_dim=D)
    q = _posterior(16)
    q.mu.requires_grad_(True)
    loss, logs = penalty(q)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(v) for v in logs.values())
    assert torch.isfinite(q.mu.grad).all()


def test_annealed_vae_note_when_capacity_cannot_reach_c_max():
    params = AnnealedVAE.Params()  # c_max 25, iterations 100000
    notes = AnnealedVAE.check_run(params, dataset_size=1000, batch_size=64, steps=3000)
    assert len(notes) == 1 and "\n" not in notes[0]
    assert "0.75" in notes[0] and "penalty.iterations=3000" in notes[0]
    for steps in (params.iterations, 2 * params.iterations):
        assert AnnealedVAE.check_run(params, dataset_size=1000, batch_size=64, steps=steps) == []
    assert AnnealedVAE.check_run(AnnealedVAE.Params(iterations=3000), dataset_size=1000, batch_size=64,
                                 steps=3000) == []
