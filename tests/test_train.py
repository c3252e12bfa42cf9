import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from disentanglement.config import make_config
from disentanglement.errors import UserError
from disentanglement.runs import Run
from disentanglement.train import train
from disentanglement.viz import tensorboard_traversal

TOY = {"dataset": "squares", "vae": {"latent_dim": 4}, "lr": 1e-3, "log_every": 10, "checkpoint_every": 25}


def _config(steps, **extra):
    return make_config({**TOY, "steps": steps, **extra}, ["penalty.beta=2"])


def _weights(path):
    return torch.load(path / "checkpoint.pt", weights_only=True)["model"]


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_run_directory_contents(tmp_path):
    seen = []
    train(_config(30), tmp_path / "run", progress=False,
          hooks=[lambda model, data, step, writer: seen.append((step, model.training, writer is not None)),
                 tensorboard_traversal])
    run = Run(tmp_path / "run")
    assert run.read_config() == _config(30)
    log = run.read_log()
    assert [r["step"] for r in log] == [10, 20, 30] and all({"loss", "recon", "kl"} <= set(r) for r in log)
    state = torch.load(run.checkpoint_path, weights_only=True)
    assert state["step"] == 30 and set(state["rng"]) == {"numpy", "torch"} and "main" in state["optimizers"]
    assert seen == [(25, False, True), (30, False, True)]             # after each checkpoint, in eval mode
    assert not any(p.name.endswith(".tmp") for p in run.path.iterdir())
    assert any(p.name.startswith("events.out.tfevents") for p in (run.path / "tensorboard").iterdir())


def test_resume_in_steps_equals_uninterrupted(tmp_path):
    train(_config(60), tmp_path / "full", progress=False)
    train(_config(35), tmp_path / "split", progress=False)
    train(_config(60), tmp_path / "split", progress=False)    # same config, more steps: continues
    _assert_same(_weights(tmp_path / "full"), _weights(tmp_path / "split"))
    assert [r["step"] for r in Run(tmp_path / "split").read_log()] == [10, 20, 30, 35, 40, 50, 60]


GAN = {"model": "infogan", "dataset": "glyphs", "log_every": 10, "checkpoint_every": 25}


@pytest.mark.parametrize("model", ["beta_vae", "infogan"])
def test_sigkill_and_resume_is_bit_identical(tmp_path, model):
    steps = 400 if model == "beta_vae" else 100
    config = _config(steps) if model == "beta_vae" else make_config({**GAN, "steps": steps})
    killed = tmp_path / "killed"
    Run(killed).create(config)
    # the killed half trains in a subprocess, the rest and the straight run here: a convolution's rounding
    # depends on the thread count, so the subprocess gets this process's count, not its machine's default
    threads = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    proc = subprocess.Popen([sys.executable, "-m", "disentanglement", "train", "--resume", str(killed), "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=threads)
    deadline = time.time() + 120
    while not (killed / "checkpoint.pt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline
        time.sleep(0.005)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    step_at_kill = torch.load(killed / "checkpoint.pt", weights_only=True)["step"]
    assert 0 < step_at_kill < steps, "the run finished before it could be killed; raise steps"

    train(config, killed, progress=False)
    train(config, tmp_path / "straight", progress=False)
    _assert_same(_weights(killed), _weights(tmp_path / "straight"))
    logged = [r["step"] for r in Run(killed).read_log()]
    assert logged == list(range(10, steps + 1, 10))   # no duplicated or missing log lines


def test_already_finished_run_is_left_alone(tmp_path):
    train(_config(20), tmp_path / "r", progress=False)
    before = (tmp_path / "r" / "checkpoint.pt").read_bytes()
    result = train(_config(20), tmp_path / "r", progress=False)
    assert result.step == 20 and result.logs["loss"] > 0
    assert (tmp_path / "r" / "checkpoint.pt").read_bytes() == before


def test_a_run_killed_while_writing_its_first_config_starts_again(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / ".config.yaml.abc123.tmp").write_text("model: beta_v")         # what a SIGKILL mid-write leaves
    train(_config(2), run, progress=False)
    assert (run / "config.yaml").exists() and not list(run.glob("*.tmp"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="holds no run"):                  # a foreign file is still refused
        train(_config(2), tmp_path / "other", progress=False)
