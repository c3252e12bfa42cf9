"""The study's numbers at length: each study method at a published setting on the generated dSprites,
trained round-robin in chunks of ``--every`` steps, the full metric suite (study sizes, random_state 0)
after each chunk, written to a metrics-vs-steps table and plot beside the published values.

Resumable: every run is an ordinary run directory (``--out/<method>``); re-running the command continues
each from its checkpoint and skips evaluations already written (``--out/<method>/metrics_<step>.json``).
Meant to run for hours in the background on one core:

    OMP_NUM_THREADS=1 nohup python benchmarks/fidelity.py --out runs/fidelity > runs/fidelity.log 2>&1 &

Published values (seed distributions, study settings, 300k steps): Locatello et al. 2019 (ICML), Fig. 7 /
Table 2 medians as read off their figures, and Chen et al. 2018 (NeurIPS), Table 1 / Fig. 4 for β-TCVAE —
see ``PUBLISHED``; they are anchors, not exact targets.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from disentanglement.config import make_config
from disentanglement.evaluate import evaluate_run
from disentanglement.train import train

METHODS = {  # name -> (model, overrides): the setting each method's paper used on dSprites
    "beta_vae": ("beta_vae", ["penalty.beta=4"]),                                # Higgins et al. 2017
    "beta_tcvae": ("beta_tcvae", ["penalty.beta=6"]),                            # Chen et al. 2018
    "factor_vae": ("factor_vae", ["penalty.gamma=35"]),                          # Kim & Mnih 2018
    "dip_vae_i": ("dip_vae", ["penalty.type=i", "penalty.lambda_od=10"]),        # Kumar et al. 2018 (λ_d = 10 λ_od)
    "annealed_vae": ("annealed_vae", ["penalty.c_max=25", "penalty.iterations=100000"]),  # Burgess et al. 2018
}
KEYS = ["mig", "factor_vae.eval_accuracy", "beta_vae.eval_accuracy", "dci.disentanglement", "sap",
        "modularity"]
PUBLISHED = {  # method -> {metric: value}; the anchors quoted in BENCHMARKS.md
    "beta_vae": {"mig": 0.21},
    "beta_tcvae": {"mig": 0.45},
    "factor_vae": {"factor_vae.eval_accuracy": 0.82},
}


def evaluations(run: Path) -> dict[int, dict]:
    out = {}
    for f in run.glob("metrics_*.json"):
        out[int(f.stem.split("_")[1])] = json.loads(f.read_text())["metrics"]
    return dict(sorted(out.items()))


def write_table(root: Path, methods: list[str]) -> str:
    lines = ["| method | step | " + " | ".join(KEYS) + " |", "|" + "---|" * (len(KEYS) + 2)]
    for m in methods:
        for step, scores in evaluations(root / m).items():
            lines.append(f"| {m} | {step} | " + " | ".join(f"{scores.get(k, float('nan')):.3f}" for k in KEYS) + " |")
        if m in PUBLISHED:
            lines.append(f"| {m} (published, 300k) | — | " +
                         " | ".join(f"{PUBLISHED[m][k]:.2f}" if k in PUBLISHED[m] else "—" for k in KEYS) + " |")
    text = "\n".join(lines) + "\n"
    (root / "fidelity.md").write_text(text)
    return text


def write_plot(root: Path, methods: list[str]) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key in zip(axes, ["mig", "factor_vae.eval_accuracy", "dci.disentanglement"]):
        for i, m in enumerate(methods):
            ev = evaluations(root / m)
            line, = ax.plot(list(ev), [s.get(key, float("nan")) for s in ev.values()], "o-", label=m)
            if key in PUBLISHED.get(m, {}):
                ax.axhline(PUBLISHED[m][key], ls="--", color=line.get_color(), lw=1)
        ax.set(title=key + " (dashed: published)", xlabel="step")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(root / "fidelity.png", dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/fidelity")
    parser.add_argument("--steps", type=int, default=300000, help="final length (the study's: 300k)")
    parser.add_argument("--every", type=int, default=10000, help="evaluate every this many steps")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root, methods = Path(args.out), args.methods.split(",")
    for target in range(args.every, args.steps + 1, args.every):
        for m in methods:
            model, sets = METHODS[m]
            run = root / m
            if (run / f"metrics_{target}.json").exists():
                continue
            config = make_config({"model": model, "dataset": "dsprites", "steps": target, "seed": args.seed},
                                 [*sets, "checkpoint_every=1000"])
            start = time.perf_counter()
            train(config, run, progress=False)
            trained = time.perf_counter() - start
            record = evaluate_run(run, progress=False)
            (run / f"metrics_{target}.json").write_text(json.dumps(record, indent=2) + "\n")
            print(f"{m} step {target}: train {trained:.0f}s, eval {record['seconds']:.0f}s, "
                  + ", ".join(f"{k} {record['metrics'][k]:.3f}" for k in KEYS if k in record["metrics"]), flush=True)
            write_plot(root, methods)
            print(write_table(root, methods), flush=True)


if __name__ == "__main__":
    main()
