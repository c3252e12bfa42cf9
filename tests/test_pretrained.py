"""`disentangle pretrained`: a shipped model becomes a run directory that evaluate and report read; damaged
weights and unknown names are refused in one line before anything is written; every shipped model's card
matches its weights."""
import json

import pytest
import torch
import yaml

from disentanglement import pretrained
from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.evaluate import evaluate_run
from disentanglement.runs import load_trained
from disentanglement.train import train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """A zoo holding one model exported from a short run on the squares (as the shipped ones are made)."""
    root = tmp_path_factory.mktemp("zoo")
    run = root.parent / "trained"
    config = make_config({"model": "vae", "dataset": "squares", "steps": 4, "log_every": 1}, ["vae.latent_dim=3"])
    train(config, run, progress=False, tensorboard=False)
    evaluate_run(run, metrics=["mig"], progress=False)
    card = pretrained.export(run, "vae_squares", "a VAE on the squares", "disentangle train ...", 1.0, "test machine",
                             "2026-12-03", root=root, log_every=2)
    return root, run, card


def test_export_writes_weights_card_and_log(zoo):
    root, run, card = zoo
    assert set(pretrained.CARD_KEYS) <= set(card)
    assert card["steps"] == 4 and card["metrics"]["mig"] == json.loads((run / "metrics.json").read_text())["metrics"]["mig"]
    assert [r["step"] for r in map(json.loads, (root / "vae_squares.jsonl").read_text().splitlines())] == [2, 4]
    saved = torch.load(root / "vae_squares.pt", weights_only=True)
    assert set(saved) == {"model"}            # weights only: no optimiser state
    assert "vae_squares" in pretrained.listing(root)


def test_install_writes_a_run_that_evaluates_and_reports(zoo, tmp_path, monkeypatch, capsys):
    root, run, _ = zoo
    monkeypatch.setattr(pretrained, "ZOO", root)
    out = tmp_path / "pre"
    assert main(["pretrained"]) == 0
    assert "vae_squares" in capsys.readouterr().out
    assert main(["pretrained", "vae_squares", "--out", str(out)]) == 0
    assert "4 steps" in capsys.readouterr().out
    _, _, model, step = load_trained(out)
    _, _, trained, _ = load_trained(run)
    assert step == 4
    for key, value in trained.state_dict().items():
        assert torch.equal(model.state_dict()[key], value)
    assert yaml.safe_load((out / "card.yaml").read_text())["name"] == "vae_squares"
    assert main(["evaluate", str(out), "--metrics", "mig", "--no-progress"]) == 0
    record = json.loads((out / "metrics.json").read_text())
    assert record["metrics"]["mig"] == pytest.approx(json.loads((run / "metrics.json").read_text())["metrics"]["mig"])
    assert main(["report", str(out), "--no-progress"]) == 0
    assert (out / "report.html").exists() and (out / "figures" / "curves.png").exists()
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--steps", "8", "--no-progress"]) == 2     # no optimiser state
    assert "pretrained model 'vae_squares'" in capsys.readouterr().err


def _one_line_error(capsys, argv, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def test_bad_input_is_refused_in_one_line_before_anything_is_written(zoo, tmp_path, monkeypatch, capsys):
    root, _, _ = zoo
    damaged = tmp_path / "zoo"
    damaged.mkdir()
    for suffix in (".yaml", ".pt", ".jsonl"):
        (damaged / f"vae_squares{suffix}").write_bytes((root / f"vae_squares{suffix}").read_bytes())
    data = bytearray((damaged / "vae_squares.pt").read_bytes())
    data[len(data) // 2] ^= 0xFF                                  # one flipped byte
    (damaged / "vae_squares.pt").write_bytes(bytes(data))
    monkeypatch.setattr(pretrained, "ZOO", damaged)
    out = tmp_path / "pre"
    _one_line_error(capsys, ["pretrained", "vae_squares", "--out", str(out)], "damaged", "SHA-256")
    assert not out.exists()
    _one_line_error(capsys, ["pretrained", "nope", "--out", str(out)], "no pretrained model 'nope'", "vae_squares")
    assert not out.exists()
    monkeypatch.setattr(pretrained, "ZOO", root)
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    _one_line_error(capsys, ["pretrained", "vae_squares", "--out", str(out)], "not empty")
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


@pytest.mark.parametrize("name", list(pretrained.available()))
def test_every_shipped_model_matches_its_card(name, tmp_path):
    card, state = pretrained.load_weights(name)                  # checks the SHA-256
    assert set(pretrained.CARD_KEYS) <= set(card)
    assert (pretrained.ZOO / f"{name}.pt").stat().st_size <= pretrained.MAX_BYTES
    run, installed = pretrained.install(name, tmp_path / "run")
    assert installed == card
    config, _, model, step = load_trained(run.path)
    assert step == card["steps"] >= 50_000 and config.to_dict() == card["config"]
