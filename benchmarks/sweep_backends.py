"""Wall time of the small study (studies/small.yaml) on each backend — local with 1 and 2 workers, a local Ray —
and each backend's per-run overhead, measured on a study of 8 one-step runs (what is left is starting
workers, importing, scheduling, writing the run directory).

    python benchmarks/sweep_backends.py --out runs/sweep_bench

Every measurement starts from an empty sweep directory.  Ray's first call also starts the local cluster;
its start-up is reported apart (the time of `ray.init`).
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import time
from pathlib import Path

TRIVIAL = """name: trivial
dataset: squares
steps: 1
seeds: [0, 1, 2, 3]
metrics: [mig]
settings: {log_every: 1, checkpoint_every: 1}
methods:
  a: {model: beta_vae, set: {vae.latent_dim: 3}}
  b: {model: beta_tcvae, set: {vae.latent_dim: 3}}
"""


def timed(study: Path, out: Path, **backend) -> float:
    from disentanglement.sweep import sweep

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = sweep(study, out, progress=False, **backend)
    assert summary["failed"] == 0, summary["failures"]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/sweep_bench")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trivial = out / "trivial.yaml"
    trivial.write_text(TRIVIAL)
    small = Path(__file__).parent.parent / "studies" / "small.yaml"
    backends = {"local, 1 worker": {"workers": 1}, "local, 2 workers": {"workers": 2}}
    rows = {}
    if not args.no_ray:
        import ray

        start = time.perf_counter()
        ray.init(include_dashboard=False, log_to_driver=False)
        rows["ray start-up (ray.init)"] = {"seconds": round(time.perf_counter() - start, 1)}
        backends["Ray (local cluster, 2 CPUs)"] = {"ray": "local"}
    for name, backend in backends.items():
        small_s = timed(small, out / "small", **backend)
        trivial_s = timed(trivial, out / "trivial", **backend)
        rows[name] = {"small study s": round(small_s, 1), "8 one-step runs s": round(trivial_s, 1),
                      "overhead per run s": round(trivial_s / 8, 2)}
        print(name, rows[name], flush=True)
    record = {"machine": platform.processor() or platform.machine(), "rows": rows}
    (out / "sweep_backends.json").write_text(json.dumps(record, indent=2) + "\n")
    print("| backend | small study (8 runs × 600 steps) | 8 one-step runs | per run |\n|---|---|---|---|")
    for name, r in rows.items():
        if "small study s" in r:
            print(f"| {name} | {r['small study s']} s | {r['8 one-step runs s']} s | {r['overhead per run s']} s |")


if __name__ == "__main__":
    main()
