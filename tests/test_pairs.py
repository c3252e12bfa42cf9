"""Pairs that share all factors but k (Locatello et al. 2020), the batches that carry them, and the
Ada-GVAE / Ada-ML-VAE aggregation."""
import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import BatchStream, PairSampler, Squares
from disentanglement.models.ada_gvae import average, pair_divergence, product, shared_latents
from disentanglement.models.base import Batch
from disentanglement.models import build_model


@pytest.mark.parametrize("k", [1, 2])
def test_pairs_differ_in_exactly_k_factors(k):
    sizes = (10, 1, 10, 3)                                          # a one-value factor can never change
    sampler = PairSampler(sizes, k)
    rng = np.random.default_rng(0)
    f1 = np.stack([rng.integers(s, size=5000) for s in sizes], 1)
    f2 = sampler.pair(f1, rng)
    assert f2.shape == f1.shape and f2.dtype == np.int64
    assert np.all((f1 != f2).sum(1) == k) and np.all(f2[:, 1] == 0)
    assert np.all((f2 >= 0) & (f2 < np.array(sizes)))
    changed = (f1 != f2).mean(0)                                    # each changeable factor equally often
    np.testing.assert_allclose(changed[[0, 2, 3]], k / 3, atol=0.03)
    for j, s in ((0, 10), (3, 3)):                                  # the new value is uniform over the others
        moved = f1[:, j] != f2[:, j]
        step = (f2[moved, j] - f1[moved, j]) % s
        assert set(np.unique(step)) == set(range(1, s))


def test_random_k_and_seeds_repeat():
    sampler = PairSampler((4, 4, 4, 4), -1)
    f1 = np.zeros((4000, 4), dtype=np.int64)
    f2 = sampler.pair(f1, np.random.default_rng(1))
    counts = np.bincount((f1 != f2).sum(1), minlength=5)
    assert counts[0] == 0 and counts[4] == 0 and min(counts[1:4]) > 1100     # k uniform in 1..K-1
    assert np.array_equal(f2, sampler.pair(f1, np.random.default_rng(1)))


def test_bad_pair_settings_name_the_fix():
    with pytest.raises(ValueError, match="at least 2 factors with more than one value"):
        PairSampler((5, 1), 1)
    with pytest.raises(ValueError, match="k=3 is out of range.*1..2"):
        PairSampler((3, 3, 3), 3)
    with pytest.raises(ValueError, match="k=0"):
        PairSampler((3, 3, 3), 0)


def test_batch_stream_draws_pairs_and_resumes_exactly():
    data = Squares()
    rng = np.random.default_rng(3)
    with BatchStream(data, 16, rng, pairs=PairSampler(data.factor_sizes, 1)) as stream:
        first, second = next(stream), next(stream)
    assert np.array_equal(first.images2, data.images(first.factors2))
    assert np.all((first.factors != first.factors2).sum(1) == 1)
    resumed = np.random.default_rng(0)
    resumed.bit_generator.state = first.rng_state
    with BatchStream(data, 16, resumed, pairs=PairSampler(data.factor_sizes, 1)) as stream:
        again = next(stream)
    assert np.array_equal(again.factors, second.factors) and np.array_equal(again.factors2, second.factors2)


def test_aggregation_formulas():
    g = torch.Generator().manual_seed(0)
    mu1, mu2, lv1, lv2 = (torch.randn(5, 4, generator=g) for _ in range(4))
    v1, v2 = lv1.exp(), lv2.exp()
    kl = 0.5 * (v1 / v2 + (mu1 - mu2) ** 2 / v2 - 1 + torch.log(v2 / v1))
    torch.testing.assert_close(pair_divergence(mu1, lv1, mu2, lv2), kl)
    m, lv = average(mu1, lv1, mu2, lv2)
    torch.testing.assert_close(m, (mu1 + mu2) / 2)
    torch.testing.assert_close(lv.exp(), (v1 + v2) / 2)
    m, lv = product(mu1, lv1, mu2, lv2)
    torch.testing.assert_close(m, (mu1 / v1 + mu2 / v2) / (1 / v1 + 1 / v2))
    torch.testing.assert_close(lv.exp(), 2 * v1 * v2 / (v1 + v2))
    delta = torch.tensor([[0.0, 0.1, 5.0, 9.0], [1.0, 1.0, 1.0, 1.0]])
    assert shared_latents(delta).tolist() == [[True, True, False, False], [False] * 4]   # τ = 4.5; ties share nothing


def test_ada_gvae_loss_on_pairs():
    """Pairs differing in one factor: some but not all latents are shared, the posterior covers both images
    with their factors, and a batch without pairs is refused."""
    config = make_config({"model": "ada_gvae", "dataset": "squares"}, ["ada_gvae.latent_dim=4"])
    data = Squares()
    torch.manual_seed(0)
    model = build_model(config, data)
    rng = np.random.default_rng(0)
    f1 = data.sample_factors(8, rng)
    x1 = torch.from_numpy(data.images(f1))
    f2 = PairSampler(data.factor_sizes, 1).pair(f1, rng)
    batch = Batch(x1, 0, torch.Generator().manual_seed(0), torch.from_numpy(f1), torch.from_numpy(data.images(f2)),
                  torch.from_numpy(f2))
    loss, logs = model.phases()[0].loss(batch)
    assert torch.isfinite(loss) and 0 < float(logs["shared"]) < 4
    q = batch.shared["q"]
    assert q.mu.shape == (16, 4) and torch.equal(q.factors, torch.cat([batch.factors, batch.factors2]))
    with pytest.raises(ValueError, match="trains on pairs"):
        model.phases()[0].loss(Batch(x1, 0))
