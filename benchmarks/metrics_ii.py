"""Time Metrics II (fairness, downstream tasks, InfoMEC, DCI-ES) at study sizes, beside the reference.

    python benchmarks/metrics_ii.py [--only fairness downstream_boosted_trees ...] [--skip-reference]

A fixed dataset with dSprites' factor sizes (3, 6, 40, 32, 32) whose "images" are the factors, and a
fixed row-wise encoder with D = 10 codes (5 informative, mixed, 5 hashed noise), so encoding costs
nothing and both sides see identical codes.  Study settings: fairness 10000 train points and 100 per
sensitive value; downstream tasks at 10 / 100 / 1,000 / 10,000 training points and 5000 test
points; InfoMEC on 10000 codes; DCI-ES on 10000 / 5000.  The reference (disentanglement_lib 1.5:
fairness, downstream tasks) runs in tools/reference_values.py's venv; its logistic-regression task
fails on scikit-learn 1.4 below 1,000 points (a cross-validation fold lacks a class), so that row
uses 1,000 / 10,000 on both sides.  Prints seconds, the speed-up and the largest deviation.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from metrics_vs_reference import comparison_parser, run_workers, timed, work   # this folder: run as a script, here and in the reference's venv

SIZES = (3, 6, 40, 32, 32)
STUDY_SIZES = (10, 100, 1000, 10000)
LR_SIZES = (1000, 10000)


class Data:
    """dSprites-sized factors; images (n, 1, 1, 5) float32 are the scaled factors (deterministic)."""

    factor_sizes = SIZES

    def sample_factors(self, num, random_state):
        return np.stack([random_state.randint(s, size=num) for s in SIZES], axis=1)

    def images(self, factors, rng=None):
        return (np.asarray(factors) / (np.array(SIZES) - 1.0))[:, None, None, :].astype(np.float32)

    # the reference's interface
    num_factors = len(SIZES)
    factors_num_values = list(SIZES)

    def sample_observations_from_factors(self, factors, random_state):
        return self.images(factors)

    def sample(self, num, random_state):
        f = self.sample_factors(num, random_state)
        return f, self.images(f)


def encode(images):
    """(n, 1, 1, 5) -> (n, 10): informative dims with some mixing, then hashed noise (row-wise)."""
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)  # (n, 5)
    f = np.rint(x * (np.array(SIZES) - 1.0))
    h = (f @ np.array([7.0, 13.0, 29.0, 31.0, 37.0]))[:, None] * np.arange(1, 6)  # (n, 5)
    noise = (h % 17) / 17.0 - 0.5
    z = x + 0.05 * noise[:, ::-1] + 0.1 * x[:, [1, 2, 3, 4, 0]]
    return np.concatenate([z, 0.3 * noise], axis=1).astype(np.float32)


def ours(only):
    from disentanglement import metrics
    data, rs = Data(), np.random.RandomState(0)
    z, f = metrics.sample_codes(data, encode, 10000, random_state=rs)
    zt, ft = metrics.sample_codes(data, encode, 5000, random_state=rs)
    calls = {"fairness": lambda: metrics.fairness(data, encode),
             "downstream_boosted_trees": lambda: metrics.downstream_task(data, encode, num_train=STUDY_SIZES),
             "downstream_logistic_regression": lambda: metrics.downstream_task(
                 data, encode, predictor="logistic_regression", num_train=LR_SIZES),
             "infomec": lambda: metrics.infomec(z, f), "dci_es": lambda: metrics.dci_es(z, f, zt, ft)}
    return timed({k: v for k, v in calls.items() if not only or k in only})


def reference(only):
    import logging
    import warnings
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))
    import reference_values as rv
    ref = rv._reference()
    gin, utils, data = ref["gin"], ref["utils"], Data()
    rs = lambda: np.random.RandomState(0)  # noqa: E731

    def task(predictor, sizes):
        gin.bind_parameter("predictor.predictor_fn", predictor)
        out = ref["downstream"].compute_downstream_task(data, encode, rs(), num_train=sizes, num_test=5000)
        name = "boosted_trees" if predictor is utils.gradient_boosting_classifier else "logistic_regression"
        return {f"downstream_{name}." + k: v for k, v in out.items()}

    def fair():
        gin.bind_parameter("predictor.predictor_fn", utils.gradient_boosting_classifier)
        out = ref["fairness"].compute_fairness(data, encode, rs(), num_train=10000, num_test_points_per_class=100)
        return {"fairness." + k: v for k, v in out.items()}

    calls = {"fairness": fair,
             "downstream_boosted_trees": lambda: task(utils.gradient_boosting_classifier, list(STUDY_SIZES)),
             "downstream_logistic_regression": lambda: task(utils.logistic_regression_cv, list(LR_SIZES))}
    return timed({k: v for k, v in calls.items() if not only or k in only})


def main():
    parser = comparison_parser(__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, help="write both sides' seconds and values here (JSON)")
    args = parser.parse_args()
    if work(args, ours, reference):
        return
    load = [os.getloadavg()[0]]
    results = run_workers(__file__, args)
    print("| metric | ours | reference | speed-up | max abs diff |\n|---|---|---|---|---|")
    for name, r in results["ours"].items():
        ref = results.get("reference", {}).get(name)
        if ref is None:
            print(f"| {name} | {r['seconds']:.2f} s | — | — | — |")
            continue
        dev, key = max((abs(r["values"][k] - v), k) for k, v in ref["values"].items())
        print(f"| {name} | {r['seconds']:.2f} s | {ref['seconds']:.2f} s | x{ref['seconds'] / r['seconds']:.1f} "
              f"| {dev:.1e} ({key.split('.', 1)[1]}) |")
    if args.save:
        args.save.write_text(json.dumps(results, indent=1))
    load.append(os.getloadavg()[0])
    print(f"{os.cpu_count()} CPUs; 1-minute load average {load[0]:.2f} at start, {load[1]:.2f} at end")


if __name__ == "__main__":
    main()
