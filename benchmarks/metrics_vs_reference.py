"""Time the metric suite against disentanglement_lib 1.5 on identical inputs.

    python benchmarks/metrics_vs_reference.py [--only dci] [--skip-reference]

dSprites-sized factors (3, 6, 40, 32, 32), D = 10 codes (5 informative, 5 noise),
study settings: 10000 train / 5000 test codes.  The reference runs in the
throwaway venv of tools/reference_values.py via subprocess; prints per-metric
seconds, the speed-up and the largest deviation from the reference.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = [3, 6, 40, 32, 32]


def make_inputs(n_train=10000, n_test=5000, seed=0):
    rs = np.random.RandomState(seed)
    f = np.stack([rs.randint(s, size=n_train + n_test) for s in SIZES], axis=1)
    z = np.concatenate([f / np.array(SIZES) + 0.05 * rs.randn(len(f), 5), 0.3 * rs.randn(len(f), 5)], axis=1)
    return z[:n_train], f[:n_train], z[n_train:], f[n_train:]


def ours(only):
    from disentanglement import metrics
    z, f, zt, ft = make_inputs()
    calls = {"mig": lambda: metrics.mig(z, f), "sap": lambda: metrics.sap(z, f, zt, ft),
             "dci": lambda: metrics.dci(z, f, zt, ft),
             "modularity_explicitness": lambda: metrics.modularity_explicitness(z, f, zt, ft),
             "irs": lambda: metrics.irs(z, f), "unsupervised": lambda: metrics.unsupervised(z)}
    return timed({k: v for k, v in calls.items() if not only or k in only})


def reference(only):
    import logging
    import warnings
    logging.disable(logging.WARNING)  # gin's "blacklist is deprecated"
    warnings.simplefilter("ignore")  # sklearn 1.4's FutureWarning on LinearSVC(dual=...)
    sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))
    import reference_values as rv
    ref = rv._reference()
    z, f, zt, ft = make_inputs()
    zz, ff = np.concatenate([z, zt]), np.concatenate([f, ft])
    nt = dict(num_train=len(z), num_test=len(zt))
    run = lambda fn, **kw: rv._run(ref, fn, zz, ff, **kw)  # noqa: E731
    calls = {"mig": lambda: {"mig": run(ref["mig"].compute_mig, num_train=len(z))["discrete_mig"]},
             "sap": lambda: {"sap": run(ref["sap"].compute_sap, continuous_factors=False, **nt)["SAP_score"]},
             "dci": lambda: {"dci." + k: v for k, v in run(ref["dci"].compute_dci, **nt).items()},
             "modularity_explicitness": lambda: {
                 {"modularity_score": "modularity"}.get(k, k.replace("_score", "")): v
                 for k, v in run(ref["modex"].compute_modularity_explicitness, **nt).items()},
             "irs": lambda: {"irs": run(ref["irs"].compute_irs, num_train=len(z), batch_size=16)["IRS"]},
             "unsupervised": lambda: run(ref["unsup"].unsupervised_metrics, num_train=len(z))}
    return timed({k: v for k, v in calls.items() if not only or k in only})


def timed(calls):
    """Run each of ``calls`` (name -> function returning a dict of values): {name: {seconds, values}}."""
    out = {}
    for name, call in calls.items():
        start = time.perf_counter()
        values = call()
        out[name] = {"seconds": time.perf_counter() - start, "values": {k: float(v) for k, v in values.items()}}
        print(f"  {name:25s} {out[name]['seconds']:8.2f} s", file=sys.stderr, flush=True)
    return out


def run_workers(script: str, args) -> dict:
    """``script --worker ours`` here, then ``--worker reference`` in the reference's venv (unless
    ``--skip-reference``), each in a fresh process: {who: its ``timed`` result}."""
    results = {}
    for who in ["ours"] + ([] if args.skip_reference else ["reference"]):
        python = sys.executable if who == "ours" else str(Path(args.venv) / "bin/python")
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            print(f"{who}:", file=sys.stderr)
            subprocess.run([python, script, "--worker", who, "--out", tmp.name, "--only", *args.only], check=True)
            results[who] = json.loads(Path(tmp.name).read_text())
    return results


def comparison_parser(description: str) -> argparse.ArgumentParser:
    """The options of a comparison script: which metrics, the reference's venv, and the worker's own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--venv", default="/tmp/dlib-ref")
    parser.add_argument("--worker", choices=["ours", "reference"])
    parser.add_argument("--out")
    return parser


def work(args, ours, reference) -> bool:
    """In a worker process (``--worker``): time its side's metrics into ``--out``; True if it did."""
    if args.worker:
        result = (ours if args.worker == "ours" else reference)(args.only)
        Path(args.out).write_text(json.dumps(result))
    return bool(args.worker)


def main():
    args = comparison_parser(__doc__.splitlines()[0]).parse_args()
    if work(args, ours, reference):
        return
    load = [os.getloadavg()[0]]
    results = run_workers(__file__, args)
    for name, r in results["ours"].items():
        line = f"{name:25s} ours {r['seconds']:8.2f} s"
        if "reference" in results:
            ref = results["reference"][name]
            dev = max(abs(r["values"][k] - v) for k, v in ref["values"].items())
            line += f"  reference {ref['seconds']:8.2f} s  x{ref['seconds'] / r['seconds']:6.1f}  max|diff| {dev:.2e}"
        print(line)
    if "reference" in results:
        total = [sum(r["seconds"] for r in results[w].values()) for w in ["ours", "reference"]]
        print(f"{'total':25s} ours {total[0]:8.2f} s  reference {total[1]:8.2f} s  x{total[1] / total[0]:6.1f}")
    load.append(os.getloadavg()[0])
    print(f"{os.cpu_count()} CPUs; 1-minute load average {load[0]:.2f} at start, {load[1]:.2f} at end")


if __name__ == "__main__":
    main()
