"""Batches rendered on the training device (``data_on_device``): the very images of the CPU thread, so the
same training, solo and packed; refused in one line for a dataset that cannot render there."""
import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import ColorDSprites, DSprites, NoisyDSprites, Split
from disentanglement.errors import UserError
from disentanglement.pack import train_packs
from disentanglement.runs import Run
from disentanglement.train import train


def test_dsprites_renders_on_torch_exactly_as_numpy():
    data = DSprites()
    factors = data.sample_factors(3000, np.random.default_rng(0))                   # (3000, 5)
    render = data.torch_renderer(torch.device("cpu"))
    got = render(torch.from_numpy(factors)).numpy()
    np.testing.assert_array_equal(got, data.images(factors))
    assert got.dtype == np.float32 and got.shape == (3000, 1, 64, 64) and got.max() > 0


def test_variants_whose_render_differs_have_no_device_renderer():
    cpu = torch.device("cpu")
    assert ColorDSprites().torch_renderer(cpu) is None and NoisyDSprites().torch_renderer(cpu) is None
    assert Split(DSprites(), "train").torch_renderer(cpu) is not None


def _config(**settings):
    base = {"model": "beta_vae", "dataset": "dsprites", "steps": 12, "log_every": 4, "checkpoint_every": 12,
            "precision": "fp32", "vae": {"net": "conv64_slim"}, "correlations": "posX:posY=0.1"}
    return make_config({**base, **settings})


def _weights(out):
    return Run(out).load_checkpoint()["model"]


def test_training_with_data_on_device_is_the_same_training(tmp_path):
    train(_config(), tmp_path / "cpu", progress=False, tensorboard=False)
    train(_config(data_on_device=True), tmp_path / "device", progress=False, tensorboard=False)
    a, b = _weights(tmp_path / "cpu"), _weights(tmp_path / "device")
    assert all(torch.equal(a[k], b[k]) for k in a)
    untimed = lambda out: [{k: v for k, v in r.items() if k != "time"} for r in Run(out).read_log()]  # noqa: E731
    assert untimed(tmp_path / "cpu") == untimed(tmp_path / "device") and len(untimed(tmp_path / "cpu")) == 3


@pytest.mark.parametrize("mode", ["loop", "vmap"])
def test_a_pack_with_data_on_device_trains_as_without(tmp_path, mode):
    configs = [_config(seed=s) for s in (0, 1)]
    device = [_config(seed=s, data_on_device=True) for s in (0, 1)]
    train_packs(configs, [tmp_path / f"cpu{s}" for s in (0, 1)], 2, progress=False, tensorboard=False, mode=mode)
    train_packs(device, [tmp_path / f"dev{s}" for s in (0, 1)], 2, progress=False, tensorboard=False, mode=mode)
    for s in (0, 1):
        a, b = _weights(tmp_path / f"cpu{s}"), _weights(tmp_path / f"dev{s}")
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_data_on_device_for_a_dataset_that_cannot_is_one_line_and_writes_nothing(tmp_path):
    config = make_config({"model": "beta_vae", "dataset": "noisy_dsprites", "steps": 2, "data_on_device": True})
    with pytest.raises(UserError, match="data_on_device: noisy_dsprites cannot render") as err:
        train(config, tmp_path / "run", progress=False, tensorboard=False)
    assert "\n" not in str(err.value) and not (tmp_path / "run").exists()
