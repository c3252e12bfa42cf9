"""Packs (issue 24): K runs trained as one stacked model give each member its solo run's numbers — bit for bit
as a loop, to float rounding under vmap — resume exactly (as a pack and alone), stop a diverging member
alone, and split what cannot share a pack; a sweep with --pack gives the table of the sweep without."""
import json

import pandas as pd
import pytest
import torch

from disentanglement.aggregate import aggregate
from disentanglement.config import make_config
from disentanglement.errors import UserError
from disentanglement.pack import PackError, group, train_pack, train_packs
from disentanglement.sweep import sweep
from disentanglement.train import Result, train

TOY = {"dataset": "squares", "vae": {"latent_dim": 4}, "lr": 1e-3, "log_every": 1, "checkpoint_every": 10,
       "fast": False}


def _configs(model="beta_vae", steps=50, points=((0, 2.0), (1, 4.0), (2, 2.0)), key="beta", **extra):
    return [make_config({**TOY, "model": model, "steps": steps, "seed": s, **extra}, [f"penalty.{key}={v}"])
            for s, v in points]


def _log(path):
    return [json.loads(line) for line in (path / "log.jsonl").read_text().splitlines()]


def _worst(a, b):
    """Largest relative difference between two runs' logged losses, step by step."""
    assert [r["step"] for r in a] == [r["step"] for r in b]
    return max(abs(x[k] - y[k]) / max(1.0, abs(y[k])) for x, y in zip(a, b) for k in y if k not in ("step", "time"))


def _weights(path):
    return torch.load(path / "checkpoint.pt", weights_only=True)


def _solo(configs, tmp_path):
    for i, c in enumerate(configs):
        train(c, tmp_path / f"solo{i}", progress=False, tensorboard=False)
    return [tmp_path / f"solo{i}" for i in range(len(configs))]


@pytest.mark.parametrize("model,key", [("beta_vae", "beta"), ("factor_vae", "gamma")])
def test_a_looped_pack_is_its_solo_runs_bit_for_bit(tmp_path, model, key):
    steps, points = (50, ((0, 2.0), (1, 4.0), (2, 2.0))) if model == "beta_vae" else (8, ((0, 2.0), (1, 4.0)))
    configs = _configs(model, steps, points, key=key)   # FactorVAE: its 6x1000 discriminator is the slow part
    results = train_pack(configs, [tmp_path / f"p{i}" for i in range(len(configs))], progress=False,
                         tensorboard=False, mode="loop")
    assert all(isinstance(r, Result) and r.step == steps for r in results)
    for i, solo in enumerate(_solo(configs, tmp_path)):
        assert _worst(_log(tmp_path / f"p{i}"), _log(solo)) == 0.0
        packed, alone = _weights(tmp_path / f"p{i}"), _weights(solo)
        assert packed.keys() == alone.keys() and packed["rng"]["numpy"] == alone["rng"]["numpy"]
        assert all(torch.equal(packed["model"][k], alone["model"][k]) for k in alone["model"])
        for name, opt in alone["optimizers"].items():     # the Adam state is the solo run's, in its format
            for p, state in opt["state"].items():
                assert all(torch.equal(packed["optimizers"][name]["state"][p][s], v) for s, v in state.items())


# FactorVAE for 8 steps only: its adversarial game amplifies float rounding (a 1e-7 relative nudge of the
# initial weights moves a solo run's 50th-step loss by ~5e-3, measured), so beyond the early steps no
# implementation but the solo one's kernels (mode="loop": bit for bit) can be held to 1e-5
@pytest.mark.parametrize("model,key,steps", [("beta_vae", "beta", 50), ("beta_tcvae", "beta", 50),
                                             ("factor_vae", "gamma", 8)])
def test_a_vmapped_pack_equals_its_solo_runs_to_1e5(tmp_path, model, key, steps):
    configs = _configs(model, steps, ((0, 2.0), (1, 4.0)), key=key)  # β (γ) differs: a vmapped (K,) tensor
    train_pack(configs, [tmp_path / f"p{i}" for i in range(2)], progress=False, tensorboard=False, mode="vmap")
    for i, solo in enumerate(_solo(configs, tmp_path)):
        assert _worst(_log(tmp_path / f"p{i}"), _log(solo)) < 1e-5


@pytest.mark.parametrize("mode", ["loop", "vmap"])
def test_a_pack_resumes_exactly_and_a_member_resumes_alone(tmp_path, mode):
    configs = _configs("beta_vae", 40, points=((0, 2.0), (1, 4.0)))
    straight = [tmp_path / f"straight{i}" for i in range(2)]
    train_pack(configs, straight, progress=False, tensorboard=False, mode=mode)
    halves = [tmp_path / f"halves{i}" for i in range(2)]
    short = [make_config({**c.to_dict(), "steps": 20}) for c in configs]
    train_pack(short, halves, progress=False, tensorboard=False, mode=mode)
    train_pack(configs, halves, progress=False, tensorboard=False, mode=mode)
    for a, b in zip(straight, halves):
        assert _worst(_log(a), _log(b)) == 0.0
        assert all(torch.equal(v, _weights(b)["model"][k]) for k, v in _weights(a)["model"].items())
    if mode == "loop":                                   # a pack's checkpoint is a solo run's checkpoint
        alone = tmp_path / "alone"
        train_pack(short[:1], [alone], progress=False, tensorboard=False, mode=mode)
        train(configs[0], alone, progress=False, tensorboard=False)
        assert all(torch.equal(v, _weights(alone)["model"][k]) for k, v in _weights(straight[0])["model"].items())


def test_a_diverging_member_stops_alone(tmp_path):
    configs = _configs("beta_vae", 30, points=((0, 2.0), (1, 1e39)))      # β is inf in float32: an inf loss
    results = train_pack(configs, [tmp_path / "p0", tmp_path / "p1"], progress=False, tensorboard=False, mode="loop",
                         say=lambda line: None)
    assert isinstance(results[0], Result) and results[0].step == 30
    assert isinstance(results[1], UserError) and "training diverged" in str(results[1])
    solo = _solo(configs[:1], tmp_path)[0]
    assert _worst(_log(tmp_path / "p0"), _log(solo)) == 0.0


def test_what_cannot_share_a_pack_is_split_saying_so(tmp_path):
    configs = [*_configs("beta_vae", 10, points=((0, 2.0), (1, 4.0))),
               make_config({**TOY, "model": "beta_vae", "steps": 10, "seed": 3, "vae": {"latent_dim": 3}})]
    assert group(configs, 16) == [[0, 1], [2]]                               # another architecture
    assert group(configs, 1) == [[0], [1], [2]]
    with pytest.raises(UserError, match="--pack must be >= 1"):
        group(configs, 0)
    with pytest.raises(PackError, match="differ in more than"):
        train_pack(configs, [tmp_path / f"x{i}" for i in range(3)], progress=False, tensorboard=False)
    # checkpoints at different steps: split by step, each part resumes
    outs = [tmp_path / "a", tmp_path / "b"]
    train_pack(configs[:1], outs[:1], progress=False, tensorboard=False)
    lines = []
    results = train_packs(configs[:2], outs, 2, progress=False, tensorboard=False, say=lines.append)
    assert all(isinstance(r, Result) and r.step == 10 for r in results)
    assert any("different steps" in line and "splitting" in line for line in lines)


def test_a_model_vmap_cannot_run_is_packed_as_a_loop(tmp_path):
    gan = [make_config({"model": "infogan", "dataset": "glyphs", "steps": 6, "seed": s, "log_every": 1,
                        "checkpoint_every": 3, "fast": False}) for s in (0, 1)]
    lines = []
    results = train_packs(gan, [tmp_path / "g0", tmp_path / "g1"], 2, progress=False, tensorboard=False, mode="vmap",
                          say=lines.append)
    assert all(isinstance(r, Result) for r in results)
    assert any("cannot vmap infogan" in line and "as a loop" in line for line in lines)
    for i, solo in enumerate(_solo(gan, tmp_path)):
        assert _worst(_log(tmp_path / f"g{i}"), _log(solo)) == 0.0


STUDY = """
name: packed
dataset: squares
steps: 20
seeds: [0]
metrics: [mig]
settings: {lr: 0.001, log_every: 10, checkpoint_every: 10, fast: false}
methods:
  beta_vae:
    model: beta_vae
    set: {vae.latent_dim: 3}
    grid: {penalty.beta: [1, 4]}
"""


def test_a_sweep_with_packs_gives_the_table_of_the_sweep_without(tmp_path):
    (tmp_path / "packed.yaml").write_text(STUDY)
    tables = {}
    for pack in (1, 2):
        out = tmp_path / f"pack{pack}"
        summary = sweep(tmp_path / "packed.yaml", out, workers=1, pack=pack, progress=False)
        assert summary["finished"] == 2 and summary["failed"] == 0 and summary["packs"] == (2 if pack == 1 else 1)
        aggregate(out, udr=False)
        tables[pack] = pd.read_csv(out / "table.csv")[["run", "status", "mig"]]
    pd.testing.assert_frame_equal(tables[1], tables[2])
    with pytest.raises(UserError, match="--pack must be >= 1"):
        sweep(tmp_path / "packed.yaml", tmp_path / "bad", pack=0, progress=False)
