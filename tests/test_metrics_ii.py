"""Metrics II: fairness, downstream tasks, InfoMEC, DCI-ES — properties, bad input, integration.
(Reference values: tests/test_metrics_reference.py.)"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from disentanglement import metrics
from disentanglement.errors import UserError
from disentanglement.evaluate import parse_metrics, score_file

ROOT = Path(__file__).parents[1]
_spec = importlib.util.spec_from_file_location("reference_values", ROOT / "tools/reference_values.py")
rv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rv)


def _codes(kind, n=1200, seed=0):
    """codes (n, D), factors (n, 3) with sizes 4, 5, 3: perfect (+ small noise), noise or rotated."""
    rs = np.random.RandomState(seed)
    f = np.stack([rs.randint(s, size=n) for s in (4, 5, 3)], axis=1)
    x = f / np.array([3.0, 4.0, 2.0]) + 0.03 * rs.randn(n, 3)
    if kind == "noise":
        return rs.randn(n, 4), f
    if kind == "rotated":
        return x @ np.linalg.qr(rs.randn(3, 3))[0], f
    return x, f


def _split(z, f, n=800):
    return z[:n], f[:n], z[n:], f[n:]


# ---------------------------------------------------------------- InfoMEC
def test_infomec_perfect_high_noise_low():
    perfect = metrics.infomec(*_codes("perfect")[:2])
    assert min(perfect["infomec.infom"], perfect["infomec.infoc"], perfect["infomec.infoe"]) > 0.9
    noise = metrics.infomec(*_codes("noise"))
    assert noise["infomec.infoe"] < 0.05
    rotated = metrics.infomec(*_codes("rotated"))
    assert rotated["infomec.infom"] < perfect["infomec.infom"] - 0.2
    assert rotated["infomec.infoc"] < perfect["infomec.infoc"] - 0.2


def test_infomec_permutation_and_scale_invariant():
    z, f = _codes("rotated")
    base = metrics.infomec(z, f)
    moved = metrics.infomec(z[:, [2, 0, 1]] * np.array([3.0, -0.5, 10.0]) + 4.0, f)
    for key in base:
        assert moved[key] == pytest.approx(base[key], abs=1e-6), key


def test_infomec_discrete_latents():
    z, f = _codes("perfect")
    q = np.round(z * 4).astype(np.int64)
    out = metrics.infomec(q, f, discrete_latents=True)
    assert out["infomec.infom"] > 0.8 and out["infomec.infoe"] > 0.9


# ---------------------------------------------------------------- DCI-ES
def test_dci_es_perfect_high_noise_low():
    perfect = metrics.dci_es(*_split(*_codes("perfect")))
    noise = metrics.dci_es(*_split(*_codes("noise")))
    assert perfect["dci_es.explicitness"] > 0.85 and noise["dci_es.explicitness"] < 0.1
    assert perfect["dci_es.size"] == 1.0 and noise["dci_es.size"] == 0.75


def test_dci_es_permutation_invariant_and_rotation_costs_capacity():
    z, f = _codes("perfect")
    base = metrics.dci_es(*_split(z, f))
    permuted = metrics.dci_es(*_split(z[:, [1, 2, 0]] * 5.0, f))
    # the forests along the curve draw their features from columns in another order: an estimator's difference,
    # not rounding, the same on every machine.  Measured on these codes for data seeds 0, 1, 2: 0.0195, 0.0036,
    # 0.0129 (2026-12-03); the bound was 0.02, a hair above seed 0's change, so 0.03
    assert permuted["dci_es.explicitness"] == pytest.approx(base["dci_es.explicitness"], abs=0.03)
    rotated = metrics.dci_es(*_split(*_codes("rotated")))
    assert rotated["dci_es.explicitness"] < base["dci_es.explicitness"]


def test_explicitness_from_curve():
    from disentanglement.metrics.dci_es import explicitness_from_curve
    assert explicitness_from_curve([1, 2, 3], [0.0, 0.0, 0.0], 0.5) == 1.0
    assert explicitness_from_curve([1, 2, 3], [0.5, 0.5, 0.5], 0.5) == 0.0
    assert explicitness_from_curve([1, 3], [0.5, 0.0], 0.5) == pytest.approx(0.5)
    assert explicitness_from_curve([1, 2, 3], [0.5, 0.0, 0.4], 0.5) == pytest.approx(0.75)  # running minimum


# ---------------------------------------------------------------- fairness, downstream
def test_fairness_zero_for_a_predictor_blind_to_the_sensitive_factor():
    out = metrics.fairness(rv.ToyData(), rv.toy_encode, num_train=300, num_test_points_per_class=10)
    assert out["fairness.mean_fairness:mean_pred:mean_sens"] == 0.0
    assert len(out) == 2 * (6 + 2 * 3 + 2 * 3 + 8)  # per matrix: pairs, per target, per sensitive, overall


def test_fairness_sensitive_subset_matches_those_pairs():
    full = metrics.fairness(rv.ToyData(), rv.toy_encode_lossy, num_train=300, num_test_points_per_class=10)
    assert full["fairness.mean_fairness:pred0:sens1"] > 0.05
    assert "fairness.mean_fairness:pred0:sens1" in metrics.fairness(
        rv.ToyData(), rv.toy_encode_lossy, num_train=300, num_test_points_per_class=10, sensitive=[1])


def test_fairness_and_downstream_same_numbers_in_forked_processes_as_in_process():
    lossy = dict(num_train=300, num_test_points_per_class=10)
    assert metrics.fairness(rv.ToyData(), rv.toy_encode_lossy, n_jobs=2, **lossy) == \
        metrics.fairness(rv.ToyData(), rv.toy_encode_lossy, n_jobs=1, **lossy)
    curve = dict(num_train=(50, 200), num_test=100)
    assert metrics.downstream_task(rv.ToyData(), rv.toy_encode_lossy, n_jobs=2, **curve) == \
        metrics.downstream_task(rv.ToyData(), rv.toy_encode_lossy, n_jobs=1, **curve)


def test_downstream_keys_and_learning_curve():
    out = metrics.downstream_task(rv.ToyData(), rv.toy_encode, num_train=(10, 200), num_test=100)
    assert out["downstream_boosted_trees.200:mean_test_accuracy"] == 1.0
    assert out["downstream_boosted_trees.10:mean_test_accuracy"] < 1.0
    assert len(out) == 2 * (4 + 2 * 3)


@pytest.mark.parametrize("call,match", [
    (lambda: metrics.fairness(rv.ToyData(), rv.toy_encode, num_train=50, sensitive=[3]), "sensitive factor index 3"),
    (lambda: metrics.downstream_task(rv.ToyData(), rv.toy_encode, predictor="logistic_regression",
                                     num_train=(3,), num_test=10), "num_train >= 5"),
    (lambda: metrics.downstream_task(rv.ToyData(), rv.toy_encode, num_train=(2,), num_test=10, random_state=0),
     "too few points per class"),
    (lambda: metrics.downstream_task(rv.ToyData(), rv.toy_encode, predictor="svm"), "unknown predictor"),
    (lambda: metrics.infomec(np.random.RandomState(0).randn(50, 2), np.random.RandomState(0).rand(50, 2)),
     "integer class labels"),
    (lambda: metrics.dci_es(*_split(*_codes("perfect")), depths=(3,)), "depths"),
])
def test_bad_input_is_a_one_line_value_error(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- integration
def test_evaluate_runs_the_extra_metrics_only_when_asked():
    assert not set(metrics.EXTRA_METRICS) & set(metrics.METRICS)
    assert parse_metrics("fairness,downstream,infomec,dci_es") == ["fairness", "downstream", "infomec", "dci_es"]
    out = metrics.evaluate(rv.ToyData(), rv.toy_encode, metrics=["infomec", "dci_es"], num_train=300, num_test=100,
                           progress=False)
    assert {"infomec.infom", "dci_es.explicitness"} <= set(out)


def test_score_file_infomec_dci_es_and_refuses_dataset_metrics(tmp_path):
    z, f, zt, ft = _split(*_codes("perfect"))
    path = tmp_path / "codes.npz"
    np.savez(path, codes=z, factors=f, codes_test=zt, factors_test=ft)
    out = score_file(path, ["infomec", "dci_es"])
    assert out["infomec.infoe"] > 0.9 and out["dci_es.explicitness"] > 0.85
    for name in ["fairness", "downstream"]:
        with pytest.raises(UserError, match="need a dataset to sample from"):
            score_file(path, [name])
    np.savez(path, codes=z, factors=f)
    with pytest.raises(UserError, match="dci_es need codes_test"):
        score_file(path, ["dci_es"])


class _Continuous(rv.ToyData):
    factor_sizes = [3, 4.5, 5]


@pytest.mark.parametrize("fn", [metrics.fairness, metrics.downstream_task])
def test_a_continuous_factor_is_refused(fn):
    with pytest.raises(ValueError, match="discretise continuous factors"):
        fn(_Continuous(), rv.toy_encode)


def test_cli_evaluate_and_score_the_new_metrics(tmp_path, capsys):
    from disentanglement.cli import main
    run = tmp_path / "toy"
    assert main(["train", "--dataset", "squares", "--steps", "10", "--out", str(run), "--no-progress",
                 "--no-report", "--set", "vae.latent_dim=4"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--metrics", "infomec,dci_es", "--no-progress"]) == 0
    assert "infomec.infom" in capsys.readouterr().out
    import json
    scores = json.loads((run / "metrics.json").read_text())["metrics"]
    assert {"infomec.infoe", "dci_es.explicitness"} <= set(scores) and "beta_vae.train_accuracy" not in scores
    z, f, zt, ft = _split(*_codes("perfect"))
    np.savez(tmp_path / "c.npz", codes=z, factors=f, codes_test=zt, factors_test=ft)
    assert main(["score", str(tmp_path / "c.npz"), "--metrics", "fairness"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fairness need a dataset to sample from" in err
