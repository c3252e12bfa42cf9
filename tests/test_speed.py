"""The fast training path: trains, resumes exactly, says what it could not do; fast=false is the old fp32 path."""
import numpy as np
import pytest
import torch

from disentanglement import speed
from disentanglement.config import make_config
from disentanglement.data import BatchStream, Squares
from disentanglement.errors import UserError
from disentanglement.models import build_model
from disentanglement.runs import Run
from disentanglement.train import train

TOY = {"dataset": "squares", "vae": {"latent_dim": 4}, "lr": 1e-3, "log_every": 10, "checkpoint_every": 25}


def _config(steps, *sets, **extra):
    return make_config({**TOY, "steps": steps, **extra}, ["penalty.beta=2", *sets])


def _weights(path):
    return torch.load(path / "checkpoint.pt", weights_only=True)["model"]


def _loop_before_the_fast_path(config, steps):
    """The training loop as it was before the fast path (fp32, eager, one batch drawn per step, torch's Adam)."""
    dataset = Squares()
    torch.manual_seed(config.seed)
    model = build_model(config, dataset)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(config.adam_beta1, config.adam_beta2))
    rng, noise = np.random.default_rng(config.seed), torch.Generator().manual_seed(config.seed)
    for step in range(steps):
        x = torch.from_numpy(dataset.images(dataset.sample_factors(config.batch_size, rng)))
        loss, _, _ = model(x, step, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.state_dict()


def test_fast_false_restores_the_old_numbers_exactly(tmp_path):
    config = _config(40, "fast=false")
    train(config, tmp_path / "r", progress=False, tensorboard=False)
    got, want = _weights(tmp_path / "r"), _loop_before_the_fast_path(config, 40)
    assert all(torch.equal(got[k], want[k]) for k in want)


@pytest.mark.skipif(not speed.cpu_has_bf16(), reason="this CPU has no native bf16 arithmetic (AVX512-BF16 or "
                    "AMX): runs on the AMD EPYC with AVX512-BF16 and on AMX Xeons, skips on AVX2-only CPUs")
def test_bf16_path_differs_from_fp32_but_trains_as_well(tmp_path):
    fast = train(_config(60, "precision=bf16"), tmp_path / "fast", progress=False, tensorboard=False)
    slow = train(_config(60, "fast=false"), tmp_path / "slow", progress=False,
                 tensorboard=False)
    a, b = _weights(tmp_path / "fast"), _weights(tmp_path / "slow")
    assert any(not torch.equal(a[k], b[k]) for k in a)                 # bf16 arithmetic: other bits
    assert all(np.isfinite(v) for v in fast.logs.values())
    first = Run(tmp_path / "fast").read_log()[0]["loss"]
    assert fast.logs["loss"] < 0.9 * first                             # it learns ...
    assert abs(fast.logs["loss"] - slow.logs["loss"]) < 0.1 * slow.logs["loss"]   # ... as fp32 does


@pytest.mark.parametrize("precision", ["auto", "bf16"])
def test_fast_path_resumes_bit_identically(tmp_path, precision):
    if precision == "bf16" and not speed.cpu_has_bf16():
        pytest.skip("this CPU has no native bf16 arithmetic")
    kw = dict(progress=False, tensorboard=False)
    train(_config(50, f"precision={precision}"), tmp_path / "full", **kw)
    train(_config(25, f"precision={precision}"), tmp_path / "split", **kw)
    train(_config(50, f"precision={precision}"), tmp_path / "split", **kw)
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "split")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_batch_stream_draws_as_a_plain_loop_and_resumes():
    data = Squares()
    rng = np.random.default_rng(3)
    plain = [data.sample_factors(8, rng) for _ in range(5)]
    with BatchStream(data, 8, np.random.default_rng(3), ahead=3) as stream:
        drawn = [next(stream) for _ in range(3)]
    assert all(np.array_equal(d.factors, p) for d, p in zip(drawn, plain))
    assert np.array_equal(drawn[0].images, data.images(plain[0]))
    again = np.random.default_rng()
    again.bit_generator.state = drawn[2].rng_state                      # resume after the third batch
    with BatchStream(data, 8, again) as stream:
        assert np.array_equal(next(stream).factors, plain[3])


def test_bf16_without_hardware_support_says_so_and_trains_in_fp32(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(speed, "cpu_has_bf16", lambda: False)
    train(_config(5, "precision=bf16"), tmp_path / "r", progress=False,
          tensorboard=False)
    err = capsys.readouterr().err
    assert "precision=bf16" in err and "training in fp32" in err
    assert speed.resolve(_config(5, "precision=bf16"), torch.device("cpu")).autocast is None


@pytest.mark.parametrize("vendor, flags, bf16", [
    ("GenuineIntel", {"avx512_bf16"}, False),              # measured slower than fp32 here
    ("GenuineIntel", {"avx512_bf16", "amx_bf16"}, True),
    ("AuthenticAMD", {"avx512_bf16"}, True),
    ("AuthenticAMD", {"avx2"}, False),
])
def test_auto_precision_follows_where_bf16_pays(monkeypatch, vendor, flags, bf16):
    monkeypatch.setattr(speed, "_cpuinfo", lambda: (vendor, frozenset(flags)))
    chosen = speed.resolve(_config(5), torch.device("cpu"))
    assert (chosen.autocast == torch.bfloat16) == bf16 and chosen.channels_last and not chosen.notes


def test_cuda_auto_is_fp32_eager_channels_last_as_measured_and_bf16_or_compile_only_when_asked(monkeypatch):
    """On an H200 the study's VAE was launch-bound: bf16 0.92x, compile 0.99x, channels_last 1.10x."""
    monkeypatch.setattr(speed, "bf16_supported", lambda device: True)
    monkeypatch.setattr(speed, "compiler_missing", lambda device: None)
    cuda = torch.device("cuda")
    auto = speed.resolve(_config(5), cuda)
    assert auto.autocast is None and not auto.compile and auto.channels_last and auto.foreach
    asked = speed.resolve(_config(5, "precision=bf16", "compile=true"), cuda)
    assert asked.autocast == torch.bfloat16 and asked.compile and not asked.notes


def test_compile_without_a_compiler_says_so_and_runs_eagerly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(speed.shutil, "which", lambda name: None)
    result = train(_config(5, "compile=true"), tmp_path / "r", progress=False,
                   tensorboard=False)
    assert "compile=true: no C++ compiler" in capsys.readouterr().err and result.step == 5


def test_a_compile_that_fails_falls_back_to_eager_with_the_same_numbers(tmp_path, monkeypatch, capsys):
    def broken_backend(graph, inputs):
        raise RuntimeError("no code generator here")

    def prepare(self, model):
        for child in model.children() if self.compile else ():
            if any(True for _ in child.parameters()):
                child.compile(backend=broken_backend)
        return model

    monkeypatch.setattr(speed, "compiler_missing", lambda device: None)
    monkeypatch.setattr(speed.Speed, "prepare", prepare)
    kw = dict(progress=False, tensorboard=False)
    train(_config(20, "compile=true", "precision=fp32"), tmp_path / "c", **kw)
    assert "torch.compile failed" in capsys.readouterr().err
    train(_config(20, "compile=false", "precision=fp32"), tmp_path / "e", **kw)
    a, b = _weights(tmp_path / "c"), _weights(tmp_path / "e")
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("sets, message", [
    (["precision=fp16"], "unknown precision 'fp16'; choose one of: auto, bf16, fp32"),
    (["compile=maybe"], "unknown compile 'maybe'"),
    (["fast=false", "precision=bf16"], "fast=false already means fp32 eager"),
    (["fast=perhaps"], "fast must be a bool"),
])
def test_bad_speed_settings(sets, message):
    with pytest.raises(UserError, match=message):
        _config(5, *sets)


def test_runs_written_before_the_fast_path_resume_in_fp32(tmp_path):
    config = _config(10, "fast=false")
    train(config, tmp_path / "old", progress=False, tensorboard=False)
    text = (tmp_path / "old" / "config.yaml").read_text()
    (tmp_path / "old" / "config.yaml").write_text("\n".join(l for l in text.splitlines()
                                                            if not l.startswith(("fast:", "precision:", "compile:"))))
    assert Run(tmp_path / "old").read_config() == config
