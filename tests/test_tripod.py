"""Tripod (models/tripod.py): quantisation, the latent multi-information and the Hessian penalty on known cases."""
import math

import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import open_dataset
from disentanglement.errors import UserError
from disentanglement.models import build_model
from disentanglement.models.qlae import ClippedAdamW
from disentanglement.models.tripod import fsq, latent_multiinformation, normalized_hessian_penalty

pytestmark = pytest.mark.usefixtures("one_thread")


def test_finite_scalar_quantisation_rounds_forward_and_passes_tanh_backward():
    e = torch.tensor([[0.0, 10.0, -10.0, 0.3]], requires_grad=True)
    z_c, z = fsq(e, 3)                                   # levels -1, 0, 1
    assert z.tolist() == [[0.0, 1.0, -1.0, 0.0]]
    z.sum().backward()
    assert torch.allclose(e.grad, 1 - torch.tanh(e.detach()) ** 2)   # the identity through the rounding


def test_klm_of_one_code_is_the_bandwidth_ratio_and_grows_with_dependence():
    d, sigma = 4, torch.full((4,), 0.3)
    s = (4 / (d + 2)) ** (1 / (d + 4))                   # B = 1: every kernel sits on its own centre
    assert latent_multiinformation(torch.zeros(1, d), sigma).item() == pytest.approx(-d * math.log(s), rel=1e-6)
    g = torch.Generator().manual_seed(0)
    independent = torch.rand(256, 2, generator=g)
    dependent = independent[:, :1].repeat(1, 2)
    sig = lambda z: z.std(0, unbiased=False) + 1e-6      # noqa: E731
    assert latent_multiinformation(dependent, sig(dependent)) > latent_multiinformation(independent, sig(independent)) + 0.5


def test_the_hessian_penalty_is_zero_without_interactions_and_positive_with_them():
    z, sigma = torch.randn(16, 3, generator=torch.Generator().manual_seed(0)), torch.tensor([0.5, 1.0, 2.0])
    additive = lambda p: [torch.stack([p[:, 0] ** 2, torch.sin(p[:, 1]), p[:, 2] ** 3], 1)]   # noqa: E731
    interacting = lambda p: [(p[:, 0] * p[:, 1])[:, None]]                                     # noqa: E731
    kw = dict(perturbations=4, epsilon=0.1, generator=torch.Generator().manual_seed(1))
    assert normalized_hessian_penalty(additive, z, sigma, **kw).item() == pytest.approx(0.0, abs=1e-6)
    assert normalized_hessian_penalty(interacting, z, sigma, **kw).item() > 0.1


def test_the_model_trains_on_its_terms_and_its_optimiser_clips_without_decay():
    config = make_config({"model": "tripod", "dataset": "squares"}, ["tripod.latent_dim=3", "tripod.levels=4"])
    torch.manual_seed(0)
    model = build_model(config, open_dataset("squares"))
    loss, logs = model.losses(torch.rand(8, 1, 16, 16), torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and logs["klm"].item() > 0 and logs["nhp"].item() >= 0
    (phase,) = model.phases()
    opt = phase.optimizer(phase.parameters)
    assert isinstance(opt, ClippedAdamW) and opt.param_groups[0]["clip"] == 1.0
    assert opt.param_groups[0]["weight_decay"] == 0.0 and opt.defaults["lr"] == 2e-4
    with torch.no_grad():
        codes = model.representation(torch.rand(5, 1, 16, 16))
    assert set(torch.unique(codes).tolist()) <= {-1.0, -1 / 3, 1 / 3, 1.0} or torch.allclose(
        codes, torch.round((codes + 1) * 1.5) / 1.5 - 1)


def test_bad_settings_fail_in_one_line():
    with pytest.raises(UserError, match="levels must be >= 2"):
        make_config({"model": "tripod"}, ["tripod.levels=1"])
    with pytest.raises(UserError, match="perturbations must be >= 2"):
        make_config({"model": "tripod"}, ["tripod.perturbations=1"])
