import io

import numpy as np
import pytest
import torch
from torch import nn

from disentanglement.config import make_config
from disentanglement.data import DSprites, Squares
from disentanglement.models import VAE, build_model
from disentanglement.nets import Conv64Decoder, Conv64Encoder, MLPDecoder, MLPEncoder, build_vae_nets
from disentanglement.penalties import BetaVAE, Penalty
from disentanglement.penalties._math import gaussian_kl
from disentanglement.train import make_optimizers


def test_conv64_shapes_and_size():
    enc, dec = Conv64Encoder(3, 10), Conv64Decoder(3, 10)
    mu, logvar = enc(torch.zeros(5, 3, 64, 64))
    assert mu.shape == logvar.shape == (5, 10)
    assert dec(torch.zeros(5, 10)).shape == (5, 3, 64, 64)
    convs = [m for m in enc.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32, 64, 64]
    assert [c.kernel_size[0] for c in convs] == [4, 4, 2, 2]
    deconvs = [m for m in dec.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [c.out_channels for c in deconvs] == [64, 32, 32, 3]
    assert [m.out_features for m in dec.modules() if isinstance(m, nn.Linear)] == [256, 1024]


def test_mlp_shapes_and_auto():
    enc, dec = MLPEncoder((1, 16, 16), 4), MLPDecoder((1, 16, 16), 4)
    assert enc(torch.zeros(2, 1, 16, 16))[0].shape == (2, 4)
    assert dec(torch.zeros(2, 4)).shape == (2, 1, 16, 16)
    assert isinstance(build_vae_nets("auto", (1, 64, 64), 10)[0], Conv64Encoder)
    assert isinstance(build_vae_nets("auto", (1, 16, 16), 10)[0], MLPEncoder)
    with pytest.raises(ValueError, match="64x64"):
        build_vae_nets("conv64", (1, 16, 16), 10)


def test_slim_conv64_is_the_study_net_at_half_width():
    from torch.utils.flop_counter import FlopCounterMode

    def flops(arch):
        enc, dec = build_vae_nets(arch, (1, 64, 64), 10)
        with FlopCounterMode(display=False) as counter:
            mu, _ = enc(torch.zeros(2, 1, 64, 64))
            assert dec(mu).shape == (2, 1, 64, 64)
        return counter.get_total_flops() / 2, [type(m) for m in enc.body] + [type(m) for m in dec.body]

    (study, layers), (slim, slim_layers) = flops("conv64"), flops("conv64_slim")
    assert layers == slim_layers                                   # the same layers, so the same receptive fields
    assert 0.24 < slim / study < 0.28                              # a quarter of the arithmetic
    with pytest.raises(ValueError, match="conv64_slim needs 64x64"):
        build_vae_nets("conv64_slim", (1, 16, 16), 10)


def test_gaussian_kl_closed_form():
    mu, logvar = torch.tensor([[0.0, 1.0, -2.0]]), torch.tensor([[0.0, np.log(4.0), np.log(0.25)]])
    var = logvar.exp().numpy()
    expected = 0.5 * (mu.numpy() ** 2 + var - np.log(var) - 1)
    # float32 against float64: five float32 operations of values <= 4, each within 2**-24 relative: rtol 1e-6
    np.testing.assert_allclose(gaussian_kl(mu, logvar).numpy(), expected, rtol=1e-6)
    assert gaussian_kl(mu, logvar)[0, 0] == 0


def _model(dataset="dsprites", **overrides):
    config = make_config({"dataset": dataset}, [f"{k}={v}" for k, v in overrides.items()])
    torch.manual_seed(0)
    ds = {"dsprites": DSprites, "squares": Squares}[dataset]()
    return build_model(config, ds), ds, config


@pytest.mark.parametrize("reconstruction", ["bernoulli", "gaussian"])
def test_loss_finite_and_two_steps_change_weights(reconstruction):
    model, ds, config = _model(**{"vae.reconstruction": reconstruction, "penalty.beta": 4})
    x = torch.from_numpy(ds.images(ds.sample_factors(8, np.random.default_rng(0))))
    opt = make_optimizers(model.phases(), config)["main"]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for step in range(2):
        loss, logs, q = model(x, step, torch.Generator().manual_seed(0))
        assert torch.isfinite(loss) and set(logs) == {"loss", "recon", "kl"}
        assert torch.allclose(loss, logs["recon"] + 4 * logs["kl"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert len(changed) == len(before)


def test_save_load_roundtrip():
    model, ds, _ = _model("squares")
    x = torch.from_numpy(ds.images(ds.sample_factors(4, np.random.default_rng(0))))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    other, _, _ = _model("squares")
    torch.nn.init.zeros_(other.encoder.mu.weight)
    other.load_state_dict(torch.load(buf, weights_only=True))
    for a, b in zip(model.encode(x), other.encode(x)):
        assert torch.equal(a, b)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(model(x, 0, g1)[0], other(x, 0, g2)[0])


def test_penalty_validation():
    with pytest.raises(ValueError, match="beta must be >= 0"):
        BetaVAE.Params(beta=-1)


class _AuxPenalty(Penalty):
    """A penalty with a network of its own: the trainer must give it its own optimiser."""

    def __init__(self):
        super().__init__(BetaVAE.Params())
        self.critic = nn.Linear(3, 1)

    def forward(self, q):
        return self.critic(q.z).mean() * 0 + gaussian_kl(q.mu, q.logvar).sum(1).mean(), {}

    def aux_loss(self, q):
        loss = self.critic(q.z.detach()).pow(2).mean()
        return loss, {"aux": loss}

    def aux_optimizer(self, params):
        return torch.optim.SGD(params, lr=0.1)


def test_auxiliary_component_gets_its_own_optimiser():
    model = VAE(MLPEncoder((1, 4, 4), 3), MLPDecoder((1, 4, 4), 3), _AuxPenalty())
    opts = make_optimizers(model.phases(), make_config({"dataset": "squares"}))
    assert set(opts) == {"main", "penalty"} and isinstance(opts["penalty"], torch.optim.SGD)
    main_ids = {id(p) for g in opts["main"].param_groups for p in g["params"]}
    assert id(model.penalty.critic.weight) not in main_ids
    assert id(model.encoder.mu.weight) in main_ids
