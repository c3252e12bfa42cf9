"""Chen et al.'s sampled MIG (metrics/mig_sampled.py): golden values from the authors' own code
(rtqichen/beta-tcvae at 1a3577d: disentanglement_metrics.estimate_entropies with their dSprites loop and
mi_metric's normalisation, run on CPU on these posteriors outside the project), known answers, bad input."""
import math

import numpy as np
import pytest
import torch

from disentanglement.metrics.mig_sampled import mig_sampled, sampled_entropies


def posteriors(sizes, k, seed):
    """Test posteriors on a grid: latent d follows factor d + 1 strongly, every latent mixes all factors a little;
    log sigma uniform in [-2, -0.5] (numpy default_rng(seed))."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(s) / max(s - 1, 1) for s in sizes], indexing="ij"), -1).reshape(-1, len(sizes))
    w = rng.normal(size=(len(sizes), k))
    w[1:] += 3 * np.eye(len(sizes) - 1, k)
    mu = grid @ w + 0.1 * rng.normal(size=(len(grid), k))
    logsigma = rng.uniform(-2.0, -0.5, size=(len(grid), k))
    return mu.astype(np.float32), logsigma.astype(np.float32)


# (sizes, K, n_samples, seed) -> the authors' MIG, marginal entropies, conditional entropies (nats)
GOLDEN = {
    ((3, 4, 5, 6), 4, 10000, 0): (0.1505516618490219,
                                  [1.683409, 1.101804, 1.323144, 0.859969],
                                  [[1.294746, 1.056816, 1.156609, 0.609342], [1.639804, 0.502706, 1.284377, 0.855232],
                                   [1.422728, 1.087723, 1.050037, 0.737863]]),
    ((2, 6, 8, 5), 3, 100, 1): (0.4161224067211151, [1.184594, 1.704412, 1.751503],
                                [[0.618385, 1.657272, 1.657941], [1.085817, 0.933297, 1.675664],
                                 [1.106708, 1.691696, 0.609375]]),
    ((3, 6, 10, 8, 8), 5, 500, 2): (0.2994046211242676, [1.804745, 1.362372, 1.33601, 1.806023, 1.371542],
                                    [[0.830932, 1.37971, 1.269836, 1.831442, 1.339402],
                                     [1.745365, 0.671473, 1.309669, 1.823813, 1.359212],
                                     [1.793412, 1.357045, 0.715061, 1.851791, 1.320313],
                                     [1.755386, 1.368311, 1.309476, 1.434432, 1.296922]]),
}


@pytest.mark.parametrize("case", list(GOLDEN))
def test_golden_values_from_the_authors_code(case):
    sizes, k, n_samples, seed = case
    mu, logsigma = posteriors(sizes, k, seed)
    got = mig_sampled(mu, 2 * logsigma, sizes, condition=range(1, len(sizes)), n_samples=n_samples, seed=seed)
    mig, marginal, cond = GOLDEN[case]
    # theirs sums in float32 (batches of 10 samples), ours in float64: entropies agree to ~1e-6 of a nat
    np.testing.assert_allclose(got["marginal_entropies"], marginal, atol=2e-5)
    np.testing.assert_allclose(got["conditional_entropies"], cond, atol=2e-5)
    assert got["mig_sampled"] == pytest.approx(mig, abs=2e-5)


def test_entropy_of_one_gaussian_is_its_closed_form():
    # every grid point with the same N(0, s^2): q(z_j) is that Gaussian, H = 0.5 log(2 pi e s^2)
    n, s = 4000, 0.7
    mu, logsigma = torch.zeros(n, 2), torch.full((n, 2), math.log(s))
    samples = torch.randn(n, 2, generator=torch.Generator().manual_seed(0)) * s
    h = sampled_entropies(samples, mu, logsigma, n_samples=n, generator=torch.Generator().manual_seed(1))
    np.testing.assert_allclose(h.numpy(), 0.5 * math.log(2 * math.pi * math.e * s * s), atol=0.03)


def test_a_latent_per_factor_scores_high_and_a_constant_code_zero():
    sizes = (6, 8)
    grid = np.stack(np.meshgrid(np.arange(6), np.arange(8), indexing="ij"), -1).reshape(-1, 2).astype(np.float32)
    sharp = np.full(grid.shape, 2 * math.log(0.05), dtype=np.float32)           # posteriors far narrower than the steps
    assert mig_sampled(grid, sharp, sizes)["mig_sampled"] > 0.9
    assert mig_sampled(grid[:, ::-1].copy(), sharp, sizes)["mig_sampled"] > 0.9   # which latent holds which: no matter
    assert mig_sampled(np.zeros_like(grid), np.zeros_like(grid), sizes)["mig_sampled"] == pytest.approx(0, abs=0.02)
    both = np.stack([grid[:, 0] + grid[:, 1], grid[:, 0] + grid[:, 1]], 1)      # both latents carry the same mix
    assert mig_sampled(both, sharp, sizes)["mig_sampled"] < 0.05


def test_bad_input_is_one_line():
    mu = np.zeros((12, 2), np.float32)
    with pytest.raises(ValueError, match="posterior of every factor combination: 24"):
        mig_sampled(mu, mu, (4, 6))
    with pytest.raises(ValueError, match="at least 2"):
        mig_sampled(mu[:, :1], mu[:, :1], (3, 4))
    with pytest.raises(ValueError, match="condition must name factors"):
        mig_sampled(mu, mu, (3, 4), condition=[5])


def test_evaluate_scores_a_run_on_its_whole_grid_and_refuses_what_it_cannot(tmp_path, capsys, one_thread):
    import json

    from disentanglement.cli import main
    from disentanglement.config import make_config
    from disentanglement.train import train
    train(make_config({"dataset": "squares", "steps": 30}, ["vae.latent_dim=3"]), tmp_path / "v", progress=False,
          tensorboard=False)
    assert main(["evaluate", str(tmp_path / "v"), "--metrics", "mig,mig_sampled", "--no-progress"]) == 0
    m = json.loads((tmp_path / "v" / "metrics.json").read_text())["metrics"]
    assert 0 <= m["mig_sampled"] <= 1 and {"mig_sampled.posX", "mig_sampled.posY", "mig_sampled.size"} <= set(m)
    train(make_config({"model": "causal_vae", "dataset": "shadows", "steps": 2}, ["causal_vae.latent_dim=6"]),
          tmp_path / "c", progress=False, tensorboard=False)
    assert main(["evaluate", str(tmp_path / "c"), "--metrics", "mig_sampled", "--no-progress"]) == 2
    assert "has none: use mig" in capsys.readouterr().err and not (tmp_path / "c" / "metrics.json").exists()
