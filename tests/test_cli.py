import subprocess
import sys

import pytest

from disentanglement.cli import main

TOY = ["--dataset", "squares", "--no-progress", "--no-report", "--set", "vae.latent_dim=3", "--set", "checkpoint_every=5"]


def _fails(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("disentangle: error:"), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.mark.parametrize("argv, needles", [
    (["train", "--model", "nope"], ["unknown model 'nope'", "beta_vae"]),
    (["train", "--dataset", "mnist"], ["unknown dataset 'mnist'", "dsprites", "squares"]),
    (["train", "--set", "learning_rate=1"], ["unknown config key 'learning_rate'", "lr"]),
    (["train", "--set", "penalty.gamma=1"], ["penalty.gamma", "penalty.beta"]),
    (["train", "--steps", "0"], ["steps must be a positive integer, got 0"]),
    (["train", "--steps", "-3"], ["steps must be a positive integer, got -3"]),
    (["train", "--set", "penalty.beta=-1"], ["penalty.beta must be >= 0"]),
    (["train", "--set", "penalty.beta=abc"], ["penalty.beta must be a finite float, got 'abc'"]),
    (["train", "--set", "lr"], ["KEY=VALUE"]),
    (["train", "--steps", "many"], ["--steps", "invalid int value"]),
    (["train", "--set", "vae.net=resnet"], ["unknown vae.net 'resnet'", "conv64"]),
    (["train", "--set", "net=conv64"], ["net is a setting of a section", "--set vae.net=conv64"]),
    (["train", "--set", "latent_dim=3"], ["--set vae.latent_dim=3"]),
    (["train", "--model", "beta_tcvae", "--set", "vae.penalty=factor_vae"], ["vae.penalty=factor_vae", "--model vae"]),
    (["train", "--model", "vae", "--set", "vae.penalty=nope"], ["unknown vae.penalty 'nope'", "beta_tcvae"]),
    (["train", "--set", "vae.width=3"], ["unknown setting vae.width", "vae.latent_dim"]),
    (["train", "--model", "ada_gvae", "--set", "ada_gvae.k=0"], ["ada_gvae.k must be >= 1", "-1"]),
    (["train", "--model", "ada_gvae", "--dataset", "squares", "--set", "ada_gvae.k=3"], ["ada_gvae.k=3 is out of range", "1..2"]),
    (["train", "--model", "beta_tcvae", "--dataset", "squares", "--set", "penalty.estimator=mss",
      "--set", "batch_size=400"], ["mss", "mws"]),
    (["train", "--device", "tpu"], ["unknown device"]),
    (["frobnicate"], ["invalid choice"]),
    (["train", "--model", "beta_tcvae", "--set", "penalty.estimator=exact"], ["penalty.estimator 'exact'", "mws, mss"]),
    (["train", "--model", "beta_tcvae", "--set", "penalty.beta=-2"], ["penalty.beta must be >= 0"]),
    (["train", "--model", "annealed_vae", "--set", "penalty.c_max=lots"], ["penalty.c_max must be a finite float"]),
    (["train", "--model", "annealed_vae", "--set", "penalty.iterations=0"], ["penalty.iterations must be a positive"]),
    (["train", "--model", "factor_vae", "--set", "penalty.gamma=-1"], ["penalty.gamma must be >= 0"]),
    (["train", "--model", "factor_vae", "--set", "penalty.disc_beta1=1.5"], ["penalty.disc_beta1 must lie in [0, 1)"]),
    (["train", "--model", "dip_vae", "--set", "penalty.type=iii"], ["penalty.type 'iii'", "i, ii"]),
    (["train", "--model", "dip_vae", "--set", "penalty.lambda_d=-1"], ["penalty.lambda_d must be >= 0"]),
    (["train", "--model", "dip_vae", "--set", "penalty.lambda_od=nan"], ["penalty.lambda_od must be a finite float"]),
    (["train", "--model", "infogan", "--set", "infogan.categorical=1"], ["infogan.categorical sizes must be >= 2"]),
    (["train", "--model", "infogan", "--set", "infogan.categorical=3,1"], ["infogan.categorical sizes must be >= 2"]),
    (["train", "--model", "infogan", "--set", "infogan.categorical=", "--set", "infogan.continuous=0"],
     ["at least one code", "infogan.categorical", "infogan.continuous"]),
    (["train", "--model", "infogan", "--set", "infogan.categorical=three"], ["infogan.categorical must be a comma-separated"]),
    (["train", "--model", "infogan", "--set", "infogan.continuous=-1"], ["infogan.continuous must be >= 0"]),
    (["train", "--model", "infogan", "--set", "infogan.lambda_info=-0.5"], ["infogan.lambda_info must be >= 0"]),
    (["train", "--model", "infogan", "--set", "vae.latent_dim=4"], ["vae.latent_dim does not apply to --model infogan",
                                                                    "infogan.noise_dim"]),
    (["train", "--model", "infogan", "--set", "infogan.net=conv64"], ["unknown infogan.net 'conv64' for a GAN", "dcgan"]),
    (["train", "--model", "infogan", "--dataset", "squares", "--set", "penalty.beta=4"], ["penalty.beta", "infogan.noise_dim"]),
    (["train", "--model", "infogan", "--set", "penalty.noise_dim=2"], ["penalty.noise_dim is a setting of infogan",
                                                                       "--set infogan.noise_dim"]),
])
def test_bad_input_one_line_exit_2(capsys, tmp_path, argv, needles):
    _fails(capsys, argv + ["--out", str(tmp_path / "r")] if argv[0] == "train" else argv, *needles)
    assert not (tmp_path / "r" / "checkpoint.pt").exists()


def _snapshot(path):
    return {p.relative_to(path): p.read_bytes() for p in path.rglob("*") if p.is_file()}


def test_out_with_different_config_is_refused_and_kept(capsys, tmp_path):
    out = str(tmp_path / "run")
    assert main(["train", *TOY, "--steps", "10", "--out", out]) == 0
    before = _snapshot(tmp_path / "run")
    _fails(capsys, ["train", *TOY, "--steps", "10", "--seed", "1", "--out", out], "different config", "seed: 0 -> 1")
    _fails(capsys, ["train", *TOY, "--steps", "10", "--set", "penalty.beta=4", "--out", out], "penalty.beta: 1.0 -> 4.0")
    assert _snapshot(tmp_path / "run") == before


def test_out_that_is_not_a_run_is_refused(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    _fails(capsys, ["train", *TOY, "--out", str(tmp_path)], "not empty")
    assert (tmp_path / "notes.txt").read_text() == "mine"
    _fails(capsys, ["train", "--resume", str(tmp_path)], "not a run directory")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_damaged_checkpoint_is_reported_and_kept(capsys, tmp_path, damage):
    out = tmp_path / "run"
    assert main(["train", *TOY, "--steps", "10", "--out", str(out)]) == 0
    ckpt = out / "checkpoint.pt"
    data = ckpt.read_bytes()
    broken = {"garbage": b"not a checkpoint" * 10, "truncated": data[: len(data) // 2], "empty": b""}[damage]
    ckpt.write_bytes(broken)
    _fails(capsys, ["train", "--resume", str(out), "--steps", "20"], "corrupt or truncated", str(ckpt))
    assert ckpt.read_bytes() == broken


def test_resume_rejects_config_flags(capsys, tmp_path):
    out = str(tmp_path / "run")
    assert main(["train", *TOY, "--steps", "5", "--out", out]) == 0
    _fails(capsys, ["train", "--resume", out, "--seed", "3"], "--seed")
    assert main(["train", "--resume", out, "--steps", "10", "--no-progress", "--no-report"]) == 0
    assert "step 10/10" in capsys.readouterr().out


def test_list_shows_models_datasets_and_defaults(capsys):
    assert main(["train", "--list"]) == 0
    out = capsys.readouterr().out
    assert "beta_vae" in out and "beta=1.0" in out and "dsprites" in out and "posX=32" in out and "lr=0.0001" in out


def test_console_script_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "disentanglement", "train", "--model", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0


def test_train_writes_report_by_default_and_report_command(capsys, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--dataset", "squares", "--steps", "20", "--out", str(out), "--no-progress",
                 "--set", "vae.latent_dim=3"]) == 0
    assert "report" in capsys.readouterr().out
    page = (out / "report.html").read_text()
    assert page.count("data:image/") >= 5 and "squares" in page
    (out / "report.html").unlink()
    assert main(["report", str(out), "--no-progress"]) == 0
    assert (out / "report.html").exists()
    _fails(capsys, ["report", str(tmp_path / "nothing")], "not a run directory")
