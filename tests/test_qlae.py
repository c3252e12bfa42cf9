"""QLAE (models/qlae.py): the scalar codebooks, the straight-through estimator, the losses and the optimiser."""
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import open_dataset
from disentanglement.errors import UserError
from disentanglement.models import build_model
from disentanglement.models.qlae import ClippedAdamW, ScalarCodebooks
from disentanglement.nets.qlae import QLAEEncoder, QLAEStyleDecoder

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(dataset="squares", *sets):
    config = make_config({"model": "qlae", "dataset": dataset}, ["qlae.latent_dim=3", "qlae.values=4", *sets])
    torch.manual_seed(0)
    return build_model(config, open_dataset(dataset))


def test_codebooks_start_even_on_half_a_unit_and_snap_to_the_nearest_value():
    books = ScalarCodebooks(2, 5)
    assert torch.equal(books.values.detach(), torch.tensor([[-0.5, -0.25, 0.0, 0.25, 0.5]] * 2))
    z = torch.tensor([[-0.9, 0.1], [0.3, 0.13]], requires_grad=True)
    z_q, z_st = books(z)
    assert torch.equal(z_q.detach(), torch.tensor([[-0.5, 0.0], [0.25, 0.25]]))
    assert torch.equal(z_st.detach(), z_q.detach())                     # the value of z_q ...
    z_st.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))                       # ... the gradient of z_c
    (z_q ** 2).sum().backward()
    assert books.values.grad[0, 0] == pytest.approx(2 * -0.5)            # the codebook term reaches the values


def test_codes_on_the_codebook_cost_nothing_but_reconstruction():
    model = _model()
    x = torch.rand(4, 1, 16, 16)
    on_book = model.codebooks.values.detach()[:, 1].expand(4, -1).clone()   # (4, D) exactly codebook values
    model.encoder.forward = lambda images: on_book
    loss, logs = model.losses(x)
    assert logs["quantization"].item() == 0.0 and logs["commitment"].item() == 0.0
    assert loss.item() == pytest.approx(logs["recon"].item())


def test_the_optimiser_decays_and_clips_weights_only():
    model = _model()
    (phase,) = model.phases()
    opt = phase.optimizer(phase.parameters)
    assert isinstance(opt, ClippedAdamW)
    decayed, rest = opt.param_groups
    assert decayed["weight_decay"] == 0.1 and decayed["clip"] == 1.0 and rest["weight_decay"] == 0.0
    ids = {id(p) for p in rest["params"]}
    assert id(model.codebooks.values) in ids and all(id(p) in ids for n, p in model.named_parameters() if n.endswith("bias"))
    assert len(decayed["params"]) + len(rest["params"]) == len(list(model.parameters()))
    for p in model.parameters():
        p.grad = torch.full_like(p, 5.0)
    opt.step()
    assert all(p.grad.abs().max() <= 1.0 for p in decayed["params"])     # clipped before the step
    assert all(p.grad.abs().max() == 5.0 for p in rest["params"])


def test_the_authors_nets_at_64_and_codes_that_are_codebook_values():
    enc, dec = QLAEEncoder(1, 10), QLAEStyleDecoder(1, 10)
    x = torch.rand(2, 1, 64, 64)
    assert enc(x).shape == (2, 10) and dec(torch.randn(2, 10)).shape == (2, 1, 64, 64)
    model = _model().eval()
    with torch.no_grad():
        codes = model.representation(torch.rand(6, 1, 16, 16))
        axes = model.axes(torch.rand(32, 1, 16, 16))
    books = model.codebooks.values.detach()
    assert all((codes[:, d, None] == books[d]).any(1).all() for d in range(3))
    assert sorted(a.name for a in axes) == ["z0", "z1", "z2"]
    assert all(len(a.values) == 4 for a in axes)


def test_bad_settings_fail_in_one_line():
    with pytest.raises(UserError, match="values must be >= 2"):
        make_config({"model": "qlae"}, ["qlae.values=1"])
    with pytest.raises(UserError, match="weight_decay must be >= 0"):
        make_config({"model": "qlae"}, ["qlae.weight_decay=-1"])
