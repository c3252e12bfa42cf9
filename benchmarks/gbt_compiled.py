"""DCI's gradient boosting before and after its compiled kernels, on one core, in the same run.

    taskset -c 0 python benchmarks/gbt_compiled.py [--before REV] [--repeats 2]

The 5 per-factor fits of DCI on the suite benchmark's dSprites-sized case (benchmarks/metrics_vs_reference.py:
factors (3, 6, 40, 32, 32), 10 codes, 10000 train / 5000 test), in-process (n_jobs = 1), alternating the
version of ``metrics/_gbt.py`` at git revision REV (default: the one before numba, 323b78f) with the installed
one; asserts both give the same importances and predictions, prints seconds and the ratio (best of repeats).
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from metrics_vs_reference import make_inputs  # noqa: E402

from disentanglement.metrics import _gbt  # noqa: E402


def _module_at(rev: str):
    source = subprocess.run(["git", "show", f"{rev}:src/disentanglement/metrics/_gbt.py"], check=True,
                            capture_output=True, text=True, cwd=Path(__file__).parents[1]).stdout
    path = Path(tempfile.mkdtemp()) / "gbt_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("gbt_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="323b78f")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    z, f, zt, ft = make_inputs()
    tasks = [(z, f[:, k], [zt]) for k in range(f.shape[1])]
    versions = {"before": _module_at(args.before), "compiled": _gbt}
    _gbt._compiled()
    best, results = {}, {}
    for _ in range(args.repeats):
        for name, module in versions.items():
            start = time.perf_counter()
            results[name] = module.fit_predict_each(tasks, n_jobs=1)
            best[name] = min(best.get(name, np.inf), time.perf_counter() - start)
            print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    for (imp_a, preds_a), (imp_b, preds_b) in zip(results["before"], results["compiled"]):
        assert np.array_equal(imp_a, imp_b) and all(np.array_equal(a, b) for a, b in zip(preds_a, preds_b))
    print(f"DCI's 5 fits, one core: before {best['before']:.1f} s, compiled {best['compiled']:.1f} s, "
          f"x{best['before'] / best['compiled']:.2f}; importances and predictions identical")


if __name__ == "__main__":
    main()
