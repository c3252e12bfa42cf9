"""IB-GAN (models/ib_gan.py) on the GAN base (models/gan.py): its terms on cases whose value is known."""
import math

import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import open_dataset
from disentanglement.errors import UserError
from disentanglement.models import Batch, build_model
from disentanglement.models.ib_gan import kl_to_standard_normal
from disentanglement.nets import IBGANGenerator, IBGANTrunk

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(dataset="squares", *sets):
    config = make_config({"model": "ib_gan", "dataset": dataset}, ["ib_gan.noise_dim=3", "ib_gan.r_dim=2", *sets])
    torch.manual_seed(0)
    return build_model(config, open_dataset(dataset))


def test_the_upper_bound_is_the_closed_form_kl():
    mu, logvar = torch.tensor([[0.0, 1.0], [2.0, -1.0]]), torch.tensor([[0.0, math.log(4.0)], [0.0, 0.0]])
    # KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2 per dimension; rows summed, then averaged
    rows = [0.0 + (1 + 4 - 1 - math.log(4)) / 2, (4 + 1 - 1) / 2 + (1 + 1 - 1) / 2]
    assert kl_to_standard_normal(mu, logvar).item() == pytest.approx(np.mean(rows), abs=1e-6)
    assert kl_to_standard_normal(torch.zeros(5, 3), torch.zeros(5, 3)).item() == 0.0


def test_the_lower_bound_and_what_each_player_maximises():
    model = _model().train()
    code = model.sample_code(8, torch.Generator().manual_seed(1), torch.device("cpu"))
    seen = model.generate(code)
    batch = Batch(x=seen, step=0, generator=torch.Generator().manual_seed(2))
    value, logs = model.objective(seen, None, code, batch, "discriminator")
    assert value.item() == 0.0 and not logs                     # D plays the plain game
    model.reconstruct_z = lambda images: code.z                  # a perfect q: R = ½ E||z||²
    value, logs = model.objective(seen, None, code, batch, "generator")
    expected_r = 0.5 * code.z.pow(2).sum(1).mean()
    mu, logvar = model.posterior(code.z)
    assert logs["mi_lower"].item() == pytest.approx(expected_r.item(), rel=1e-6)
    assert value.item() == pytest.approx(expected_r.item() - 0.141 * kl_to_standard_normal(mu, logvar).item(), rel=1e-5)


def test_instance_noise_falls_linearly_and_stays_in_range():
    model = _model("squares", "ib_gan.noise_steps=11")
    assert [round(model.sigma(s), 6) for s in (0, 5, 10, 20)] == [1.0, 0.5, 0.0, 0.0]
    x = torch.rand(4, 1, 16, 16)
    noisy = model.d_input(x, Batch(x=x, step=0, generator=torch.Generator().manual_seed(0)))
    assert 0 <= noisy.min() and noisy.max() <= 1 and not torch.equal(noisy, x)
    assert torch.equal(model.d_input(x, Batch(x=x, step=10, generator=torch.Generator())), x)


def test_the_authors_nets_at_64_and_the_representation_through_q_and_e():
    model = _model("dsprites")
    assert isinstance(model.generator, IBGANGenerator) and isinstance(model.body, IBGANTrunk)
    assert isinstance(model.q_body, IBGANTrunk) and model.q_body is not model.body     # q: its own trunk
    names = {ph.name: ph for ph in model.phases()}
    assert {id(p) for p in names["generator"].parameters} >= {id(p) for p in model.q_body.parameters()}
    assert not {id(p) for p in names["discriminator"].parameters} & {id(p) for p in model.q_body.parameters()}
    opt = names["discriminator"].optimizer(names["discriminator"].parameters)
    assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == 1e-6 and opt.defaults["momentum"] == 0.9
    model.eval()
    with torch.no_grad():
        x = torch.rand(5, 1, 64, 64)
        assert model.generator(torch.randn(5, 2)).shape == (5, 1, 64, 64)
        rep = model.representation(x)
        assert rep.shape == (5, 2)
        assert torch.allclose(rep[:2], model.representation(x[:2]))                  # row-wise in eval
        points = model.anchors(x)
        assert [a.name for a in model.axes(x)] == ["r0", "r1"] and points.shape == (5, 2)


def test_a_negative_beta_fails_in_one_line():
    with pytest.raises(UserError, match="beta must be >= 0"):
        make_config({"model": "ib_gan"}, ["ib_gan.beta=-0.1"])
    with pytest.raises(UserError, match="unknown ib_gan.optimizer"):
        make_config({"model": "ib_gan"}, ["ib_gan.optimizer=sgd"])
