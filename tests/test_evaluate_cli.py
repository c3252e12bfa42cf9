import json

import numpy as np
import pytest

from disentanglement import metrics as M
from disentanglement.cli import main
from disentanglement.evaluate import mean_encoder
from disentanglement.runs import load_trained


def _one_line_error(capsys, argv, *needles):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("disentangle: error:") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "toy"
    assert main(["train", "--dataset", "squares", "--steps", "30", "--out", str(out), "--no-progress",
                 "--no-report", "--set", "vae.latent_dim=4", "--set", "lr=1e-3"]) == 0
    return out


def test_evaluate_writes_metrics_json_with_reference_sampling(toy_run, capsys):
    assert main(["evaluate", str(toy_run), "--metrics", "mig,irs", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mig" in out and "metrics.json" in out
    record = json.loads((toy_run / "metrics.json").read_text())
    assert record["random_state"] == 0 and record["step"] == 30 and record["requested"] == ["mig", "irs"]
    # the same numbers as sampling 10000 codes from RandomState(0) and calling the metric directly
    _, dataset, model, _ = load_trained(toy_run)
    codes, factors = M.sample_codes(dataset, mean_encoder(model, "cpu"), 10000, random_state=0)
    assert record["metrics"]["mig"] == pytest.approx(M.mig(codes, factors)["mig"], abs=1e-12)
    assert record["metrics"]["irs"] == pytest.approx(M.irs(codes, factors)["irs"], abs=1e-12)


def test_evaluate_bad_input(toy_run, capsys, tmp_path):
    _one_line_error(capsys, ["evaluate", str(toy_run), "--metrics", "mig,foo"], "unknown metric 'foo'", "dci")
    _one_line_error(capsys, ["evaluate", str(tmp_path)], "not a run directory")
    (tmp_path / "config.yaml").write_text((toy_run / "config.yaml").read_text())
    _one_line_error(capsys, ["evaluate", str(tmp_path)], "no checkpoint.pt")


def _codes_file(path, n=2000, seed=0, test=True, **override):
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, [4, 6, 5], size=(n, 3))
    codes = factors + 0.05 * rng.normal(size=(n, 3))       # one latent per factor
    arrays = {"codes": codes, "factors": factors}
    if test:
        arrays.update(codes_test=codes[: n // 2] + 0.01, factors_test=factors[: n // 2])
    arrays.update(override)
    np.savez(path, **arrays)
    return path


def test_score_file_table_and_json(tmp_path, capsys):
    f = _codes_file(tmp_path / "c.npz")
    assert main(["score", str(f), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["mig"] > 0.9 and scores["dci.disentanglement"] > 0.9 and scores["sap"] > 0.3
    assert {"modularity", "explicitness_test", "irs", "mutual_info_score"} <= set(scores)
    assert main(["score", str(_codes_file(tmp_path / "t.npz", test=False))]) == 0
    out = capsys.readouterr().out
    assert "mig" in out and "dci" not in out                # no test split: the split metrics are left out


def test_score_file_bad_input(tmp_path, capsys):
    _one_line_error(capsys, ["score", str(tmp_path / "none.npz")], "does not exist")
    np.savez(tmp_path / "k.npz", z=np.zeros((3, 2)))
    _one_line_error(capsys, ["score", str(tmp_path / "k.npz")], "lacks codes, factors")
    nan = np.full((2000, 3), np.nan)
    _one_line_error(capsys, ["score", str(_codes_file(tmp_path / "n.npz", codes=nan))], "NaN")
    _one_line_error(capsys, ["score", str(_codes_file(tmp_path / "m.npz", factors=np.zeros((5, 3), int)))],
                    "same samples")
    _one_line_error(capsys, ["score", str(_codes_file(tmp_path / "d.npz", test=False)), "--metrics", "dci"],
                    "need codes_test")
    _one_line_error(capsys, ["score", str(_codes_file(tmp_path / "b.npz")), "--metrics", "beta_vae"],
                    "need a dataset")
