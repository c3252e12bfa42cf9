"""Golden values from the reference, disentanglement_lib 1.5, for tests/test_metrics_reference.py.

    python tools/reference_values.py [--venv /tmp/dlib-ref] [--out tests/fixtures/metrics_reference.json]

Creates (once) a throwaway venv with the reference and the library versions it
needs, runs this file inside it with ``--worker``, and writes the fixture.  The
synthetic cases are built from fixed seeds by ``make_case`` / ``ToyData`` below
(numpy's legacy RandomState streams are stable across versions), so the tests
rebuild the same inputs without the venv.  Imports only numpy at top level.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

PINS = ["disentanglement-lib==1.5", "gin-config==0.4.0", "numpy==1.26.4", "scipy==1.12.0",
        "scikit-learn==1.4.2", "joblib", "threadpoolctl", "six", "absl-py"]
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


SAMPLER = {"beta_vae": dict(batch_size=16, num_train=200, num_eval=100),
           "factor_vae": dict(batch_size=16, num_train=200, num_eval=100, num_variance_estimate=500),
           "codes": dict(num_train=400, num_test=200)}


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
    return dict(beta_vae=beta_vae, dci=dci, factor_vae=factor_vae, irs=irs, mig=mig, modex=modex,
                sap=sap_score, unsup=unsup)


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


def _worker(out_path):
    import importlib.metadata as md
    ref = _reference()
    result = {"versions": {p: md.version(p) for p in ["disentanglement-lib", "numpy", "scipy", "scikit-learn"]},
              "sizes": SIZES, "n_train": N_TRAIN, "n_test": N_TEST, "sampler": SAMPLER,
              "cases": {name: _array_case(ref, name) for name in CASES}, "sampled": _sampled(ref)}
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
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return _worker(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(ensure_venv(args.venv)), __file__, "--worker", "--out", str(args.out)], check=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
