"""The behavioural hypercoder (Dezfouli et al. 2019) on the bandit agents (issue 28, item 2): MIG and DCI of its
codes against the agents' learning rate, inverse temperature and perseveration, with and without the
disentanglement term, over seeds — and behaviour as one latent is turned.

    OMP_NUM_THREADS=1 python benchmarks/behaviour_bandit.py --seeds 0,1,2 --out runs/behaviour --workers 2

Variants: ``full`` (the paper's model: L_DIS weight β = 1, separation h = 1 in stage 2), ``no_dis`` (β = 0: the
same model without the disentanglement term, separation kept), ``plain`` (β = 0, h = 0: the hypernetwork
autoencoder alone).  Each run is a normal run directory (``disentangle train`` / ``evaluate``): rerunning skips
what is done and a killed run resumes.  Scores: ``evaluate --metrics mig,dci`` (10,000 fresh subjects; the study's
settings).  Behaviour: for each latent, 400 learners with that latent at each of 9 values in [-2, 2] and the
others at 0 play the task (the model's ``decode``); the three signatures of ``data/bandit.py`` of their choices,
and the *signature matrix*: how far each signature moves (max - min over the 9 values) as each latent is turned.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from disentanglement.data.bandit import SIGNATURES, signatures
from disentanglement.runs import load_trained

VARIANTS = {"full": ["hypercoder.beta=1", "hypercoder.separation=1"],
            "no_dis": ["hypercoder.beta=0", "hypercoder.separation=1"],
            "plain": ["hypercoder.beta=0", "hypercoder.separation=0"]}
VALUES = np.linspace(-2, 2, 9)


def run_one(out: Path, variant: str, seed: int, steps: int, stage1: int) -> dict:
    run = out / f"{variant}_s{seed}"
    metrics = run / "metrics.json"
    if not metrics.exists():
        sets = [*VARIANTS[variant], f"hypercoder.stage1_steps={stage1}", "checkpoint_every=250"]
        args = ["train", "--model", "hypercoder", "--dataset", "bandit", "--steps", str(steps), "--seed", str(seed),
                "--no-report", "--no-progress"]
        if (run / "config.yaml").exists():
            args = ["train", "--resume", str(run), "--steps", str(steps), "--no-report", "--no-progress"]
        else:
            args += ["--out", str(run)] + [x for s in sets for x in ("--set", s)]
        subprocess.run([sys.executable, "-m", "disentanglement", *args], check=True)
        subprocess.run([sys.executable, "-m", "disentanglement", "evaluate", str(run), "--metrics", "mig,dci",
                        "--no-progress"], check=True)
    record = json.loads(metrics.read_text())
    return {"variant": variant, "seed": seed, "run": str(run), **record["metrics"]}


@torch.no_grad()
def signature_matrix(run: Path, subjects: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """(curves (D, 9, 3): each signature at each value of each latent, others at 0; the matrix (D, 3) of ranges)."""
    _, _, model, _ = load_trained(run)
    model.eval()
    d = model.params.latent_dim
    curves = np.zeros((d, len(VALUES), len(SIGNATURES)))
    for i in range(d):
        for j, v in enumerate(VALUES):
            points = torch.zeros(subjects, d)
            points[:, i] = v
            sig = signatures(model.decode(points, torch.Generator().manual_seed(j)).numpy())
            curves[i, j] = [sig[name] for name in SIGNATURES.values()]
    return curves, curves.max(1) - curves.min(1)


def figure(curves: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(SIGNATURES.values())
    variants = list(curves)
    d = max(c.shape[0] for c in curves.values())
    fig, axes = plt.subplots(len(variants), d, figsize=(3.2 * d, 2.6 * len(variants)), squeeze=False, sharey=True)
    for r, variant in enumerate(variants):
        for i in range(d):
            ax = axes[r, i]
            for k, name in enumerate(names):
                ax.plot(VALUES, curves[variant][i, :, k], marker="o", ms=3, label=name.replace("_", " "))
            ax.set_title(f"{variant}: turning z{i}", fontsize=9)
            ax.set_xlabel("latent value")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Simulated behaviour as one latent is turned (others at 0); 400 learners per point")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="full,no_dis")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=3250)
    parser.add_argument("--stage1", type=int, default=2500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="runs/behaviour")
    parser.add_argument("--figure", default="docs/hypercoder_behaviour.png")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(v, int(s)) for v in args.variants.split(",") for s in args.seeds.split(",")]
    with ThreadPoolExecutor(args.workers) as pool:
        rows = list(pool.map(lambda job: run_one(out, job[0], job[1], args.steps, args.stage1), jobs))

    keys = ["mig", "dci.disentanglement", "dci.completeness", "dci.informativeness_test"]
    lines = [f"Steps {args.steps} (stage 1: {args.stage1}); MIG and DCI on 10,000 fresh subjects.", "",
             "| variant | seed | " + " | ".join(keys) + " | signature matrix (rows z_i; columns " +
             ", ".join(SIGNATURES.values()) + ") |", "|---" * (len(keys) + 3) + "|"]
    curves = {}
    for row in rows:
        c, matrix = signature_matrix(Path(row["run"]))
        if row["seed"] == int(args.seeds.split(",")[0]):
            curves[row["variant"]] = c
        m = "; ".join(" ".join(f"{x:.2f}" for x in r) for r in matrix)
        lines.append(f"| {row['variant']} | {row['seed']} | " + " | ".join(f"{row[k]:.3f}" for k in keys) + f" | {m} |")
    lines += ["", "| variant | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        vals = [[r[k] for r in rows if r["variant"] == variant] for k in keys]
        lines.append(f"| {variant} | " + " | ".join(f"{np.mean(v):.3f} ± {np.std(v):.3f}" for v in vals) + " |")
    text = "\n".join(lines)
    (out / "table.md").write_text(text + "\n")
    print(text)
    figure(curves, Path(args.figure))
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
