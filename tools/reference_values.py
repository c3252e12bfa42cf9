"""Golden values from the reference, disentanglement_lib 1.5, for tests/test_metrics_reference.py.

    python tools/reference_values.py [--venv /tmp/dlib-ref] [--out tests/fixtures/metrics_reference.json]
                                     [--infomec-src PATH/TO/latent_quantization/disentangle/metrics/infomec.py]

Creates (once) a throwaway venv with the reference and the library versions it
needs, runs this file inside it with ``--worker``, and writes the fixture.  The
synthetic cases are built from fixed seeds by ``make_case`` / ``ToyData`` below
(numpy's legacy RandomState streams are stable across versions), so the tests
rebuild the same inputs without the venv.  Imports only numpy at top level.

Metrics II (``metrics_ii``): the reference's fairness and downstream tasks (boosted trees under 3 global
seeds, since sklearn breaks exact feature ties with the global RNG; logistic regression where
scikit-learn 1.4 lets it run, and the error it raises at the study's smallest sizes) on ToyData and on
a stochastic NoisyToyData, and an unsaturated BetaVAE case.  With ``--infomec-src`` the authors'
InfoMEC (Hsu et al. 2023) also runs, in the same venv, on the array cases (``infomec_authors``).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

PINS = ["disentanglement-lib==1.5", "gin-config==0.4.0", "numpy==1.26.4", "scipy==1.12.0",
        "scikit-learn==1.4.2", "joblib==1.4.2", "threadpoolctl", "six", "absl-py"]  # joblib 1.5+ lacks cloudpickle
SIZES = [4, 5, 3]  # factor sizes of the array cases
CASES = ["perfect", "permuted", "rotated", "missing_factor", "noise", "extra_latents", "quantised"]
N_TRAIN, N_TEST = 1000, 500


def make_case(name: str, n: int = N_TRAIN + N_TEST):
    """codes (n, D) float64, factors (n, K) int64 of one synthetic case."""
    rs = np.random.RandomState(CASES.index(name))
    f = np.stack([rs.randint(s, size=n) for s in SIZES], axis=1)
    x = f / (np.array(SIZES) - 1.0)  # (n, K) in [0, 1]
    eps = 0.05 * rs.randn(n, 3)
    if name == "perfect":
        z = x + eps
    elif name == "permuted":
        z = (x + eps)[:, [2, 0, 1]] * np.array([1.0, -3.0, 0.5])
    elif name == "rotated":
        q, _ = np.linalg.qr(rs.randn(3, 3))
        z = (x + eps) @ q
    elif name == "missing_factor":
        z = np.concatenate([x[:, :2] + eps[:, :2], rs.randn(n, 1)], axis=1)
    elif name == "noise":
        z = rs.randn(n, 4)
    elif name == "extra_latents":
        z = np.concatenate([x + eps, 0.5 * rs.randn(n, 3)], axis=1)
    else:  # quantised: many exact ties
        z = np.round((x + eps) * 4) / 4
    return z, f


class ToyData:
    """Tiny deterministic dataset: images are the scaled factors, (n, 1, 1, K) float32."""

    factor_sizes = [3, 4, 5]

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(s, size=num) for s in self.factor_sizes], axis=1)

    def images(self, factors):
        x = np.asarray(factors) / (np.array(self.factor_sizes) - 1.0)
        return x[:, None, None, :].astype(np.float32)


def toy_encode(images):
    """A fixed, row-wise (batch-independent) 'encoder' with 5 dims, one of them pure noise."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)  # (n, 3)
    f = np.rint(x * (np.array(ToyData.factor_sizes) - 1.0))
    noise = (f * np.array([7.0, 13.0, 29.0])).sum(axis=1) % 17 / 17.0 - 0.5  # (n,)
    z = np.stack([x[:, 0] + 0.1 * noise, 2.0 * x[:, 1] - 0.3 * x[:, 0], x[:, 2] * 0.7 + 0.05 * noise,
                  noise, 0.01 * noise + 0.5 * x[:, 1] * x[:, 2]], axis=1)
    return z.astype(np.float32)


def toy_encode_mixed(images):
    """An entangled, row-wise 'encoder' (4 dims): predictors of one factor err depending on the others."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)  # (n, 3)
    f = np.rint(x * (np.array(ToyData.factor_sizes) - 1.0))
    noise = (f * np.array([11.0, 5.0, 3.0])).sum(axis=1) % 13 / 13.0 - 0.5  # (n,)
    z = np.stack([x[:, 0] + 0.6 * x[:, 1] + 0.3 * noise, x[:, 1] - 0.5 * x[:, 2] + 0.4 * noise,
                  x[:, 2] + 0.7 * x[:, 0] * x[:, 1] - 0.2 * noise, noise + 0.3 * x[:, 2]], axis=1)
    return z.astype(np.float32)


def toy_encode_lossy(images):
    """A row-wise 'encoder' that confuses factors 0 and 1 (2 dims): a predictor of factor 0 errs
    differently for each value of factor 1, so its predictions are unfair with respect to it."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)  # (n, 3)
    return np.stack([x[:, 0] + 1.5 * x[:, 1], x[:, 2]], axis=1).astype(np.float32)


class NoisyToyData(ToyData):
    """ToyData whose rendering draws noise from the generator (a stochastic dataset, like noisy dSprites)."""

    stochastic = True

    def images(self, factors, rng=None):
        x = ToyData.images(self, factors)  # (n, 1, 1, K)
        return (x + 0.2 * rng.uniform(size=x.shape)).astype(np.float32)


def toy_encode_noisy(images):
    """A row-wise 'encoder' of NoisyToyData's images: the noise makes predictions imperfect."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)  # (n, 3)
    return np.stack([x[:, 0] + 0.3 * x[:, 1], x[:, 1], 0.5 * x[:, 2] + 0.2 * x[:, 0]], axis=1).astype(np.float32)


SAMPLER = {"beta_vae": dict(batch_size=16, num_train=200, num_eval=100),
           "factor_vae": dict(batch_size=16, num_train=200, num_eval=100, num_variance_estimate=500),
           "codes": dict(num_train=400, num_test=200),
           "fairness": dict(num_train=400, num_test_points_per_class=20),
           "downstream": dict(num_train=[10, 100, 400], num_test=200),
           "downstream_lr": dict(num_train=[100, 400], num_test=200),
           "mixed_beta_vae": dict(batch_size=4, num_train=100, num_eval=100)}
INFOMEC_SOURCE = ("kylehkhsu/latent_quantization disentangle/metrics/infomec.py @ "
                  "4ba4c9d4ddf20dd69ee9c1464ea52d9e88b72ac2")
GBT_SEEDS = 3  # sklearn's gradient boosting breaks exact feature ties with the global RNG: record the spread


# ----------------------------------------------------------------- run inside the reference venv
def _reference():
    import types
    sys.modules["gin.tf"] = types.ModuleType("gin.tf")  # the metrics only use gin.configurable
    import gin
    gin.tf = sys.modules["gin.tf"]
    from disentanglement_lib.evaluation.metrics import (beta_vae, dci, factor_vae, irs, mig,
                                                          modularity_explicitness as modex, sap_score,
                                                          unsupervised_metrics as unsup, utils)
    gin.bind_parameter("discretizer.discretizer_fn", utils._histogram_discretize)
    gin.bind_parameter("discretizer.num_bins", 20)
    gin.bind_parameter("prune_dims.threshold", 0.05)
    from disentanglement_lib.evaluation.metrics import downstream_task, fairness
    return dict(beta_vae=beta_vae, dci=dci, factor_vae=factor_vae, irs=irs, mig=mig, modex=modex,
                sap=sap_score, unsup=unsup, fairness=fairness, downstream=downstream_task, utils=utils, gin=gin)


class _Fixed:
    """Reference adapter serving fixed (factors, codes) in order; the representation is identity."""

    def __init__(self, codes, factors):
        self.codes, self.factors, self.i = codes, factors, 0

    def sample(self, num, random_state):
        i, self.i = self.i, self.i + num
        return self.factors[i:i + num], self.codes[i:i + num]


class _Toy(ToyData):
    @property
    def num_factors(self):
        return len(self.factor_sizes)

    def sample_observations_from_factors(self, factors, random_state):
        return self.images(factors)

    def sample(self, num, random_state):
        f = self.sample_factors(num, random_state)
        return f, self.images(f)

    def sample_observations(self, num, random_state):
        return self.sample(num, random_state)[1]

    @property
    def factors_num_values(self):
        return list(self.factor_sizes)


class _NoisyToy(_Toy, NoisyToyData):
    def sample_observations_from_factors(self, factors, random_state):
        return self.images(factors, random_state)

    def sample(self, num, random_state):
        f = self.sample_factors(num, random_state)
        return f, self.images(f, random_state)


def _run(ref, fn, codes, factors, **kw):
    return fn(_Fixed(codes, factors), lambda x: x, np.random.RandomState(0), **kw)


def _array_case(ref, name):
    z, f = make_case(name)
    n = dict(num_train=N_TRAIN)
    nt = dict(num_train=N_TRAIN, num_test=N_TEST)
    out = {"mig": _run(ref, ref["mig"].compute_mig, z, f, **n)["discrete_mig"]}
    out["sap"] = _run(ref, ref["sap"].compute_sap, z, f, continuous_factors=False, **nt)["SAP_score"]
    out["sap_continuous"] = _run(ref, ref["sap"].compute_sap, z, f, continuous_factors=True, **nt)["SAP_score"]
    runs = []
    for seed in range(3):  # sklearn's GBC breaks ties with the global RNG: record the spread
        np.random.seed(seed)
        runs.append(_run(ref, ref["dci"].compute_dci, z, f, **nt))
    out.update({"dci." + k: v for k, v in runs[0].items()})
    out.update({"dci_min." + k: min(r[k] for r in runs) for k in runs[0]})
    out.update({"dci_max." + k: max(r[k] for r in runs) for k in runs[0]})
    m = _run(ref, ref["modex"].compute_modularity_explicitness, z, f, **nt)
    out.update(modularity=m["modularity_score"], explicitness_train=m["explicitness_score_train"],
               explicitness_test=m["explicitness_score_test"])
    i = _run(ref, ref["irs"].compute_irs, z, f, batch_size=16, **n)
    out.update({"irs": i["IRS"], "irs.num_active_dims": i["num_active_dims"]})
    out.update(_run(ref, ref["unsup"].unsupervised_metrics, z, f, **n))
    return {k: float(v) for k, v in out.items()}


def _sampled(ref):
    rs = lambda: np.random.RandomState(0)  # noqa: E731
    data, c = _Toy(), SAMPLER["codes"]
    out = {"beta_vae." + k: v for k, v in ref["beta_vae"].compute_beta_vae_sklearn(
        data, toy_encode, rs(), **SAMPLER["beta_vae"]).items()}
    out.update({"factor_vae." + k: v for k, v in ref["factor_vae"].compute_factor_vae(
        data, toy_encode, rs(), **SAMPLER["factor_vae"]).items()})
    out["mig"] = ref["mig"].compute_mig(data, toy_encode, rs(), num_train=c["num_train"])["discrete_mig"]
    out["sap"] = ref["sap"].compute_sap(data, toy_encode, rs(), continuous_factors=False, **c)["SAP_score"]
    m = ref["modex"].compute_modularity_explicitness(data, toy_encode, rs(), **c)
    out.update(modularity=m["modularity_score"], explicitness_test=m["explicitness_score_test"])
    out["irs"] = ref["irs"].compute_irs(data, toy_encode, rs(), num_train=c["num_train"], batch_size=16)["IRS"]
    return {k: float(v) for k, v in out.items()}


def _spread(run):
    """run() (a dict of floats) under GBT_SEEDS global seeds: {"value": seed 0's, "min": ..., "max": ...}."""
    runs = []
    for seed in range(GBT_SEEDS):
        np.random.seed(seed)
        runs.append({k: float(v) for k, v in run().items()})
    return {"value": runs[0], "min": {k: min(r[k] for r in runs) for k in runs[0]},
            "max": {k: max(r[k] for r in runs) for k in runs[0]}}


def _metrics_ii(ref):
    """Fairness, downstream tasks and an unsaturated BetaVAE case, on the toy datasets."""
    rs = lambda: np.random.RandomState(0)  # noqa: E731
    gin, utils = ref["gin"], ref["utils"]
    gin.bind_parameter("predictor.predictor_fn", utils.gradient_boosting_classifier)
    out = {}
    for name, data, encode in [("toy", _Toy(), toy_encode_lossy), ("noisy", _NoisyToy(), toy_encode_noisy)]:
        out["fairness_" + name] = _spread(lambda: ref["fairness"].compute_fairness(
            data, encode, rs(), **SAMPLER["fairness"]))
        out["downstream_boosted_trees_" + name] = _spread(lambda: ref["downstream"].compute_downstream_task(
            data, encode, rs(), **SAMPLER["downstream"]))
    gin.bind_parameter("predictor.predictor_fn", utils.logistic_regression_cv)
    out["downstream_logistic_regression_toy"] = {k: float(v) for k, v in ref["downstream"].compute_downstream_task(
        _Toy(), toy_encode_lossy, rs(), **SAMPLER["downstream_lr"]).items()}
    try:  # the study's smallest sizes: a cross-validation fold lacks a class
        ref["downstream"].compute_downstream_task(_Toy(), toy_encode_lossy, rs(), **SAMPLER["downstream"])
        out["downstream_logistic_regression_small_error"] = None
    except ValueError as err:
        out["downstream_logistic_regression_small_error"] = f"{type(err).__name__}: {err}"
    out["beta_vae_mixed"] = {k: float(v) for k, v in ref["beta_vae"].compute_beta_vae_sklearn(
        _Toy(), toy_encode_mixed, rs(), **SAMPLER["mixed_beta_vae"]).items()}
    return out


def _authors_infomec(path):
    """InfoMEC from the authors' infomec.py (kylehkhsu/latent_quantization), on the array cases' train split."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("authors_infomec", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = {}
    for name in CASES:
        z, f = make_case(name)
        z, f = z[:N_TRAIN], f[:N_TRAIN]
        out[name] = _spread(lambda: {k: v for k, v in module.compute_infomec(f, z, False).items()
                                     if k in ("infom", "infoe", "infoc")})
        for part in out[name].values():  # the authors' 0/0 (a latent without information): NaN -> null
            part.update({k: None for k, v in part.items() if v != v})
    return out


def _worker(out_path, infomec_src=None):
    import importlib.metadata as md
    ref = _reference()
    result = {"versions": {p: md.version(p) for p in ["disentanglement-lib", "numpy", "scipy", "scikit-learn"]},
              "sizes": SIZES, "n_train": N_TRAIN, "n_test": N_TEST, "sampler": SAMPLER,
              "cases": {name: _array_case(ref, name) for name in CASES}, "sampled": _sampled(ref),
              "metrics_ii": _metrics_ii(ref)}
    if infomec_src:
        result["infomec_authors"] = _authors_infomec(infomec_src)
        result["infomec_versions"] = {"source": INFOMEC_SOURCE, **result["versions"]}
    Path(out_path).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")


def ensure_venv(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", *PINS], check=True)
    return python


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default="/tmp/dlib-ref", type=Path)
    parser.add_argument("--out", default=Path(__file__).parents[1] / "tests/fixtures/metrics_reference.json",
                        type=Path)
    parser.add_argument("--infomec-src", type=Path, help="the authors' disentangle/metrics/infomec.py "
                        "(kylehkhsu/latent_quantization) to record its InfoMEC values too")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args.out, args.infomec_src)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    extra = ["--infomec-src", str(args.infomec_src.resolve())] if args.infomec_src else []
    subprocess.run([str(ensure_venv(args.venv)), __file__, "--worker", "--out", str(args.out), *extra], check=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
