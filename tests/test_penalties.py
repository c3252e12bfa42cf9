"""One common test walks the registry; adding a penalty needs no new test code to be covered."""
import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import Squares
from disentanglement.models import build_model
from disentanglement.penalties import DIPVAE, AnnealedVAE, BetaTCVAE, FactorVAE, Posterior
from disentanglement.penalties._math import aggregate_log_densities
from disentanglement.penalties.annealed_vae import capacity
from disentanglement.penalties.dip_vae import covariance
from disentanglement.penalties.factor_vae import permute_dims
from disentanglement.registry import PENALTIES
from disentanglement.train import train

NAMES = sorted(PENALTIES)


def _posterior(b=16, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(b, d, generator=g).requires_grad_()
    logvar = (0.3 * torch.randn(b, d, generator=g)).requires_grad_()
    z = mu + torch.exp(0.5 * logvar) * torch.randn(b, d, generator=g)
    return Posterior(mu=mu, logvar=logvar, z=z, step=10, generator=g)


def _config(name, steps, **extra):
    return make_config({"model": name, "dataset": "squares", "steps": steps, "vae": {"latent_dim": 4}, "lr": 1e-3,
                        "log_every": 3, "checkpoint_every": 5, **extra})


@pytest.mark.parametrize("name", NAMES)
def test_builds_with_defaults_finite_loss_and_gradients(name):
    penalty = PENALTIES[name](dataset_size=300, latent_dim=4)
    q = _posterior()
    loss, logs = penalty(q)
    assert loss.shape == () and torch.isfinite(loss)
    assert all(torch.as_tensor(v).shape == () and torch.isfinite(torch.as_tensor(v)) for v in logs.values())
    loss.backward()
    assert torch.isfinite(q.mu.grad).all() and torch.isfinite(q.logvar.grad).all() and q.mu.grad.abs().sum() > 0
    if hasattr(penalty, "aux_loss"):
        aux, _ = penalty.aux_loss(_posterior())
        aux.backward()
        assert all(torch.isfinite(p.grad).all() for p in penalty.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_two_steps_change_every_weight_and_checkpoint_roundtrip(name, tmp_path):
    config = _config(name, 2)
    train(config, tmp_path / "r", progress=False, tensorboard=False)
    torch.manual_seed(config.seed)
    fresh = build_model(config, Squares())
    state = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    unchanged = [k for k, v in fresh.state_dict().items() if torch.equal(v, state["model"][k])]
    assert unchanged == []
    x = torch.from_numpy(Squares().images(np.array([[3, 4, 1]])))
    before = fresh.encode(x)[0]
    fresh.load_state_dict(state["model"])
    after = fresh.encode(x)[0]
    assert not torch.equal(before, after)
    torch.manual_seed(config.seed + 1)
    other = build_model(config, Squares())
    other.load_state_dict(state["model"])
    assert torch.equal(other.encode(x)[0], after)


@pytest.mark.parametrize("name", NAMES)
def test_resume_is_bit_identical(name, tmp_path):
    train(_config(name, 12), tmp_path / "straight", progress=False, tensorboard=False)
    train(_config(name, 7), tmp_path / "split", progress=False, tensorboard=False)     # checkpoints at 5 and 7
    train(_config(name, 12), tmp_path / "split", progress=False, tensorboard=False)
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=True)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


# ---- focused checks of the maths -----------------------------------------------------------

def _gaussian_codes(n=3000, seed=0):
    torch.manual_seed(seed)
    a = torch.tensor([[1.0, 0, 0], [0.8, 0.6, 0], [0.3, -0.2, 0.9]])
    mu = torch.randn(n, 3) @ a.T
    var = 0.3
    logvar = torch.full((n, 3), np.log(var))
    z = mu + torch.randn(n, 3) * var ** 0.5
    cov = a @ a.T + var * torch.eye(3)          # q(z) = N(0, cov) as n grows
    return Posterior(mu=mu, logvar=logvar, z=z, step=0), cov, var


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_tc_decomposition_matches_closed_form_for_gaussian_codes(estimator):
    q, cov, var = _gaussian_codes()
    terms = BetaTCVAE(BetaTCVAE.Params(estimator=estimator), dataset_size=len(q.z)).decompose(q)
    diag = torch.diagonal(cov)
    tc = 0.5 * (torch.log(diag).sum() - torch.logdet(cov))
    dim_kl = 0.5 * (diag - 1 - torch.log(diag)).sum()
    mi = 0.5 * torch.logdet(cov) - 0.5 * 3 * np.log(var)   # H(z) - H(z|x)
    assert abs(terms["tc"] - tc) < 0.03
    assert abs(terms["dim_kl"] - dim_kl) < 0.03
    assert abs(terms["mi"] - mi) < 0.03


def test_tcvae_weights():
    q = _posterior(b=64, d=5)
    study = BetaTCVAE(BetaTCVAE.Params(beta=6.0))
    loss, logs = study(q)
    assert torch.allclose(loss, logs["kl"] + 5 * logs["tc"])       # disentanglement_lib's form
    free = BetaTCVAE(BetaTCVAE.Params(alpha=0.5, beta=3.0, gamma=2.0))
    loss, logs = free(q)
    assert torch.allclose(loss, 0.5 * logs["mi"] + 3 * logs["tc"] + 2 * logs["dim_kl"])


def test_mss_needs_dataset_size_and_estimator_is_checked():
    with pytest.raises(ValueError, match="needs the dataset size"):
        BetaTCVAE(BetaTCVAE.Params(estimator="mss"))
    with pytest.raises(ValueError, match="choose one of: mws, mss"):
        BetaTCVAE.Params(estimator="foo")


def test_mss_weights_sum_to_one():
    q, _, _ = _gaussian_codes(n=8)
    from disentanglement.penalties._math import log_importance_weights
    for est in ("mws", "mss"):
        w = log_importance_weights(8, 1000, est).exp()
        assert torch.allclose(w.sum(1), torch.ones(8))
    log_qz, _ = aggregate_log_densities(q.z, q.mu, q.logvar, 1000, "mss")
    assert torch.isfinite(log_qz).all()


@pytest.mark.parametrize("kind", ["i", "ii"])
def test_dip_vae_covariance_terms_match_numpy(kind):
    q = _posterior(b=32, d=4)
    params = DIPVAE.Params(type=kind, lambda_od=2.0)
    loss, logs = DIPVAE(params)(q)
    loss, logs = loss.detach(), {k: v.detach() for k, v in logs.items()}
    mu, var = q.mu.detach().numpy(), q.logvar.detach().exp().numpy()
    cov = np.cov(mu, rowvar=False, bias=True) + (np.diag(var.mean(0)) if kind == "ii" else 0)
    # torch float32 sums of 32 products against numpy float64: ~32 float32 steps (2**-24) relative, under 1e-5;
    # atol for near-zero off-diagonal entries, whose relative error is unbounded
    np.testing.assert_allclose(covariance(q.mu).detach().numpy(), np.cov(mu, rowvar=False, bias=True), rtol=1e-5, atol=1e-6)
    off = (cov ** 2).sum() - (np.diag(cov) ** 2).sum()
    on = ((np.diag(cov) - 1) ** 2).sum()
    assert params.diagonal_weight == (20.0 if kind == "i" else 2.0)
    np.testing.assert_allclose(float(logs["cov_off"]), off, rtol=1e-5)
    np.testing.assert_allclose(float(logs["cov_diag"]), on, rtol=1e-5)
    np.testing.assert_allclose(float(loss), float(logs["kl"]) + 2.0 * off + params.diagonal_weight * on, rtol=1e-5)


def test_annealed_capacity_is_a_pure_function_of_step():
    assert capacity(0, 25, 100) == 0 and capacity(50, 25, 100) == 12.5 and capacity(400, 25, 100) == 25
    q = _posterior()
    q.step = 50
    loss, logs = AnnealedVAE(AnnealedVAE.Params(gamma=10, c_max=25, iterations=100))(q)
    assert torch.allclose(loss, 10 * (logs["kl"] - 12.5).abs())


def test_factor_vae_permutation_and_discriminator():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(256, 3, generator=g)
    z = torch.cat([z[:, :1], z[:, :1] + 0.1 * z[:, 1:2], z[:, 2:]], 1)   # dims 0 and 1 correlated
    perm = permute_dims(z, g)
    for d in range(3):
        assert torch.equal(perm[:, d].sort().values, z[:, d].sort().values)
    assert np.corrcoef(perm[:, :2].T.numpy())[0, 1] < 0.3 < np.corrcoef(z[:, :2].T.numpy())[0, 1]
    penalty = FactorVAE(latent_dim=3)
    assert sum(isinstance(m, torch.nn.Linear) for m in penalty.discriminator) == 7
    opt = penalty.aux_optimizer(penalty.parameters())
    q = Posterior(mu=z, logvar=torch.zeros_like(z), z=z, step=0, generator=g)
    first = None
    for _ in range(60):
        loss, _ = penalty.aux_loss(q)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < first - 0.1          # it learns to tell q(z) from the product of marginals
    assert float(penalty(q)[1]["tc"].detach()) > 0     # and then reports positive total correlation


def test_hausdorff_factorized_support_on_point_sets_whose_answer_is_known():
    from disentanglement.penalties.hfs import hausdorff_factorized
    pair = torch.tensor([[0, 1]])
    grid = torch.tensor([[a, b] for a in (0.0, 1.0, 2.0) for b in (0.0, 1.0)])   # support already a product
    assert hausdorff_factorized(grid, pair).item() == 0.0
    diagonal = torch.tensor([[0.0, 0.0], [1.0, 1.0]])      # joint {(0,0),(1,1)}; product adds (0,1), (1,0)
    assert hausdorff_factorized(diagonal, pair).item() == pytest.approx(1.0)       # squared distance 1
    line = torch.tensor([[t, t] for t in (0.0, 1.0, 2.0, 3.0)])    # the farthest product points: (0,3) and (3,0),
    assert hausdorff_factorized(line, pair).item() == pytest.approx(5.0)    # 1 + 4 from (1,1) or (2,2)
    soft = hausdorff_factorized(diagonal, pair, matching="soft", temperatures=(1e-3, 1e-3))
    assert soft.item() == pytest.approx(1.0, abs=1e-3)                      # cold temperatures: the hard value
    g = torch.Generator().manual_seed(0)
    sampled = hausdorff_factorized(diagonal, pair, 200, generator=g)           # 200 random product points
    assert sampled.item() == pytest.approx(1.0)


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_hfvae_with_one_dimension_per_group_is_beta_tcvae(estimator):
    from disentanglement.penalties.beta_tcvae import BetaTCVAEParams
    from disentanglement.penalties.hfvae import HFVAE, HFVAEParams
    q = _posterior(b=32, d=5)
    hf = HFVAE(HFVAEParams(alpha=0.5, beta=6.0, gamma=3.0, delta=2.0, estimator=estimator), dataset_size=300,
               latent_dim=5)
    tc = BetaTCVAE(BetaTCVAEParams(alpha=0.5, beta=6.0, gamma=2.0, estimator=estimator), dataset_size=300,
                   latent_dim=5)
    (a, logs), (b, ref) = hf(q), tc(q)
    assert logs["tc_within"].abs().item() < 1e-5                      # a group of one has no inner dependence
    assert a.item() == pytest.approx(b.item(), rel=1e-5)
    assert logs["tc_between"].item() == pytest.approx(ref["tc"].item(), rel=1e-5)
    # grouping moves dependence from between the groups to within them, and the four terms add up to the KL
    grouped = HFVAE(HFVAEParams(groups="2,3", estimator=estimator), dataset_size=300, latent_dim=5).decompose(q)
    single = hf.decompose(q)
    assert (grouped["tc_between"] + grouped["tc_within"]).item() == pytest.approx(single["tc_between"].item(), rel=1e-5)
    assert grouped["mi"].item() == pytest.approx(single["mi"].item())


def test_hfvae_groups_must_partition_the_latents():
    from disentanglement.errors import UserError
    with pytest.raises(UserError, match="must add up to vae.latent_dim"):
        make_config({"model": "hfvae", "dataset": "squares", "steps": 2, "vae": {"latent_dim": 4}},
                    ["penalty.groups=2,3"])
    with pytest.raises(UserError, match="positive widths"):
        make_config({"model": "hfvae", "dataset": "squares"}, ["penalty.groups=2,x"])
