"""Ada-GVAE / Ada-ML-VAE (pairs sharing all factors but one) against the unsupervised β-VAE on the generated
dSprites, at equal steps and equal β: MIG, DCI disentanglement (the study's sample sizes) and the report's
traversal score — the evidence of issue 11, beside Locatello et al. 2020's published numbers (BENCHMARKS.md).

    OMP_NUM_THREADS=1 python benchmarks/weak_dsprites.py --steps 3000 --seeds 0 --out runs/weak

Each run is a normal run directory (`disentangle train`, `evaluate`, `report`), so rerunning skips what is
done and resumes what is not.  An Ada step encodes and decodes both images of each pair: twice the images
of a β-VAE step.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

MODELS = {  # name -> --model, settings
    "β-VAE": ("beta_vae", []),
    "Ada-GVAE k=1": ("ada_gvae", ["ada_gvae.k=1"]),
    "Ada-ML-VAE k=1": ("ada_mlvae", ["ada_mlvae.k=1"]),
}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "disentanglement", *args], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", default="0", help="comma-separated")
    parser.add_argument("--beta", type=float, default=1.0, help="penalty.beta of every model (the paper's grid: 1..16)")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--out", default="runs/weak")
    args = parser.parse_args()
    rows = []
    for label in args.models.split(","):
        model, sets = MODELS[label]
        for seed in (int(s) for s in args.seeds.split(",")):
            run = Path(args.out) / f"{model}_seed{seed}"
            start = time.perf_counter()
            if not (run / "report.html").exists():
                cli("train", "--model", model, "--dataset", "dsprites", "--steps", str(args.steps), "--seed", str(seed),
                    "--out", str(run), "--no-progress", "--set", f"penalty.beta={args.beta}", "--set", f"lr={args.lr}",
                    *[a for s in sets for a in ("--set", s)])
            train_s = time.perf_counter() - start
            if not (run / "metrics.json").exists():
                cli("evaluate", str(run), "--metrics", "mig,dci", "--no-progress")
            metrics = json.loads((run / "metrics.json").read_text())["metrics"]
            score = json.loads((run / "figures" / "traversal_score.json").read_text())["traversal_score"]
            rows.append((label, seed, metrics["mig"], metrics["dci.disentanglement"], score, train_s))
            print(f"| {label} | {seed} | {metrics['mig']:.3f} | {metrics['dci.disentanglement']:.3f} | {score:.3f} |",
                  flush=True)
    record = {"steps": args.steps, "beta": args.beta, "lr": args.lr, "machine": platform.processor() or platform.machine(),
              "rows": [dict(zip(("model", "seed", "mig", "dci_disentanglement", "traversal_score", "train_and_report_s"), r))
                       for r in rows]}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "weak_dsprites.json").write_text(json.dumps(record, indent=2) + "\n")
    print("| model | seed | MIG | DCI disentanglement | traversal score |\n|---|---|---|---|---|")
    for label, seed, m, d, s, _ in rows:
        print(f"| {label} | {seed} | {m:.3f} | {d:.3f} | {s:.3f} |")


if __name__ == "__main__":
    main()
