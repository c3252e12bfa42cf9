"""Studies: a tiny study completes, resumes after a kill with the same table, survives a failing run,
aggregates; the same study on Ray gives the same table; bad study files fail before anything starts."""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from disentanglement.aggregate import aggregate
from disentanglement.errors import UserError
from disentanglement.sweep import load_study, sweep

TINY = """
name: tiny
dataset: squares
steps: 40
seeds: [0, 1]
metrics: [mig]
settings: {lr: 0.001, log_every: 10, checkpoint_every: 10, precision: fp32}   # the same numbers on every CPU
methods:
  beta_vae:
    model: beta_vae
    set: {vae.latent_dim: 3}
    grid: {penalty.beta: [1, 4]}
  beta_tcvae:
    model: beta_tcvae
    set: {vae.latent_dim: 3}
    grid: {penalty.beta: [2, 6]}
"""
COLUMNS = ["run", "method", "param.penalty.beta", "status", "seed", "steps", "mig"]


def _study(tmp_path, text=TINY, name="tiny.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _table(out):
    aggregate(out, udr=False)
    return pd.read_csv(Path(out) / "table.csv")[COLUMNS]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The tiny study run once, start to end, with two local workers."""
    tmp = tmp_path_factory.mktemp("straight")
    summary = sweep(_study(tmp), tmp / "sweep", workers=2, progress=False)
    return tmp / "sweep", summary


def test_tiny_study_completes_and_a_rerun_skips_it(straight):
    out, summary = straight
    assert (summary["runs"], summary["finished"], summary["failed"]) == (8, 8, 0)
    again = sweep(out.parent / "tiny.yaml", out, workers=2, progress=False)
    assert (again["finished"], again["skipped_done"]) == (0, 8)
    table = _table(out)
    assert len(table) == 8 and set(table["status"]) == {"done"} and table["mig"].between(0, 1).all()


def test_killed_sweep_resumes_to_the_same_table(straight, tmp_path):
    study = _study(tmp_path)
    out = tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "disentanglement", "sweep", str(study), "--out", str(out),
                             "--no-progress"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while not list(out.glob("runs/*/status.json")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)                     # the sweep and its worker, mid-study
    proc.wait()
    done_before = len(list(out.glob("runs/*/status.json")))
    assert 1 <= done_before < 8
    summary = sweep(study, out, workers=1, progress=False)
    assert summary["skipped_done"] == done_before and summary["finished"] == 8 - done_before, summary["failures"]
    pd.testing.assert_frame_equal(_table(out), _table(straight[0]))


def test_train_only_then_a_plain_sweep_evaluates_to_the_same_table(straight, tmp_path):
    """Train on one machine (--train-only: no metrics), evaluate on another: the table of a straight sweep."""
    study, out = _study(tmp_path), tmp_path / "sweep"
    summary = sweep(study, out, workers=2, progress=False, evaluate=False)
    assert (summary["finished"], summary["failed"], summary["evaluated"]) == (8, 0, False)
    statuses = {json.loads(p.read_text())["status"] for p in out.glob("runs/*/status.json")}
    assert statuses == {"trained"} and not list(out.glob("runs/*/metrics.json"))
    summary = sweep(study, out, workers=2, progress=False)
    assert (summary["finished"], summary["skipped_done"], summary["resumed"]) == (8, 0, 0)
    pd.testing.assert_frame_equal(_table(out), _table(straight[0]))


def test_a_failing_run_is_recorded_and_the_rest_go_on(tmp_path):
    text = TINY.replace("seeds: [0, 1]", "seeds: [0]").replace("grid: {penalty.beta: [2, 6]}", "grid: {penalty.beta: [2]}")
    text += """  exploding:
    model: beta_vae
    set: {vae.latent_dim: 3, lr: 1e8, adam_beta1: 0.0}
"""
    summary = sweep(_study(tmp_path, text), tmp_path / "sweep", workers=2, progress=False)
    assert (summary["finished"], summary["failed"]) == (3, 1)
    failure = summary["failures"][0]
    assert failure["name"] == "exploding_seed0" and "training diverged" in failure["error"]
    status = json.loads((tmp_path / "sweep" / "runs" / "exploding_seed0" / "status.json").read_text())
    assert status["status"] == "failed"
    table = pd.read_csv(Path(aggregate(tmp_path / "sweep", udr=False)).parent / "table.csv")
    assert sorted(table["status"]) == ["done", "done", "done", "failed"]


def test_aggregate_writes_the_table_the_views_and_udr(straight):
    out, _ = straight
    page = aggregate(out).read_text()
    table = pd.read_parquet(out / "table.parquet")
    udr = table["udr"].dropna()                     # across the two seeds of each setting; none where a model collapsed
    assert len(table) == 8 and len(udr) >= 4 and udr.between(0, 1).all()
    for name in ("violin_mig.png", "spearman.png", "hyper_beta_vae.png", "udr.png"):
        assert (out / "figures" / name).exists(), name
    assert "runs/beta_vae_beta1_seed0/report.html" in page and page.count("data:image/png") >= 4


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install '.[ray]')")
def test_the_same_study_on_ray_gives_the_same_table(straight, tmp_path):
    """Seed 0 of the tiny study on Ray (4 runs: each Ray worker starts a fresh interpreter, slow on 2 cores) gives
    the rows of the same runs in the local sweep."""
    study = _study(tmp_path, TINY.replace("seeds: [0, 1]", "seeds: [0]"))
    summary = sweep(study, tmp_path / "sweep", ray="local", progress=False)
    assert (summary["finished"], summary["failed"]) == (4, 0) and summary["backend"] == "ray local"
    local = _table(straight[0])
    pd.testing.assert_frame_equal(_table(tmp_path / "sweep"), local[local["seed"] == 0].reset_index(drop=True))


@pytest.mark.parametrize("edit, needle", [
    (("model: beta_tcvae", "model: beta_tcvea"), "unknown model 'beta_tcvea'"),
    (("grid: {penalty.beta: [2, 6]}", "grid: {penalty.gama: [2, 6]}"), "unknown setting penalty.gama"),
    (("grid: {penalty.beta: [2, 6]}", "grid: {penalty.beta: []}"), "empty grid"),
    (("  beta_tcvae:\n    model: beta_tcvae\n    set: {vae.latent_dim: 3}\n    grid: {penalty.beta: [2, 6]}",
      "  beta_vae_again:\n    model: beta_vae\n    set: {vae.latent_dim: 3}\n    grid: {penalty.beta: [1]}\n"
      "  beta_vae_again_beta1:\n    model: beta_vae"), "share the directory"),
    (("seeds: [0, 1]", "seeds: []"), "seeds is empty"),
    (("methods:", "methodz:"), "unknown study key 'methodz'"),
    (("dataset: squares", "dataset: squares\ndataset_paths: {shapes3d: /data/3dshapes.h5}"), "dataset_paths must map"),
    (("dataset: squares", "dataset: shapes3d"), "pass --dataset-path"),
])
def test_bad_study_files_fail_in_one_line_before_anything_runs(tmp_path, edit, needle):
    study = _study(tmp_path, TINY.replace(*edit))
    with pytest.raises(UserError, match=needle):
        sweep(study, tmp_path / "sweep", progress=False)
    assert not (tmp_path / "sweep").exists()


def test_ray_requested_but_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)                    # as if not installed
    with pytest.raises(UserError, match=r"pip install 'disentanglement\[ray\]'"):
        sweep(_study(tmp_path), tmp_path / "sweep", ray="local", progress=False)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install '.[ray]')")
def test_unreachable_ray_address_is_one_line(tmp_path):
    with pytest.raises(UserError, match="--ray 127.0.0.1:9: nothing answers there"):
        sweep(_study(tmp_path), tmp_path / "sweep", ray="127.0.0.1:9", progress=False)
    assert not (tmp_path / "sweep").exists()


def test_study_files_shipped_expand():
    small = load_study(Path(__file__).parent.parent / "studies" / "small.yaml")
    assert len(small.runs) == 8
    full = load_study(Path(__file__).parent.parent / "studies" / "locatello2019.yaml")
    assert len(full.runs) == 6 * 6 * 50 and {r.config.steps for r in full.runs} == {300000}
    assert np.unique([r.name for r in full.runs]).size == len(full.runs)


def test_dataset_paths_reach_each_runs_config(tmp_path):
    background = Path(__file__).parent / "fixtures" / "scream_background.png"
    text = TINY.replace("dataset: squares", f"datasets: [squares, scream_dsprites]\n"
                                            f"dataset_paths: {{scream_dsprites: {background}}}")
    runs = load_study(_study(tmp_path, text)).runs
    paths = {run.config.dataset: run.config.dataset_path for run in runs}
    assert paths == {"squares": None, "scream_dsprites": str(background.resolve())}
