"""What length gives (issue 23, item 5): MIG, the FactorVAE score and the traversal score of a long run at each
weight snapshot that ``benchmarks/pretrained_train.sh`` kept (``RUN/snapshots/step_<N>.pt``).

Each snapshot becomes a run directory ``RUN/curve/step_<N>/`` (the run's config, the snapshot's weights) scored
by `evaluate` (MIG on the study's 10,000 codes, the FactorVAE score at the study's 10,000 / 5,000 votes,
random_state 0) and `report` (its traversal score, and the traversal image to look at).  Resumable: a scored
snapshot is skipped.  Writes ``OUT/curve.md`` (one table of all runs) and ``OUT/curve.png``.

    OMP_NUM_THREADS=1 python benchmarks/pretrained_curve.py /work/pretrained/beta_tcvae /work/pretrained/beta_vae --out docs

``--recorded FILE.json`` adds rows scored by this script in an earlier session whose snapshots are gone (a list
of records as the script writes them: run, step and the three scores); they are drawn and tabled beside the
new ones, and the table marks them.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import torch

from disentanglement.evaluate import evaluate_run
from disentanglement.report import write_report
from disentanglement.runs import atomic_save

KEYS = ["mig", "factor_vae.eval_accuracy", "traversal_score"]


def score(run: Path, snapshot: Path) -> dict:
    step = int(snapshot.stem.split("_")[1])
    out = run / "curve" / f"step_{step}"
    done = out / "record.json"
    if done.exists():
        return json.loads(done.read_text())
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(run / "config.yaml", out / "config.yaml")
    weights = torch.load(snapshot, map_location="cpu", weights_only=True)
    atomic_save({"step": step, "model": weights["model"], "optimizers": {}, "rng": None, "pretrained": "snapshot"},
                out / "checkpoint.pt")
    metrics = evaluate_run(out, metrics=["mig", "factor_vae"], progress=False)["metrics"]
    write_report(out, progress=False)
    traversal = json.loads((out / "figures" / "traversal_score.json").read_text())["traversal_score"]
    record = {"run": run.name, "step": step, "mig": metrics["mig"],
              "factor_vae.eval_accuracy": metrics["factor_vae.eval_accuracy"], "traversal_score": traversal}
    done.write_text(json.dumps(record, indent=2))
    print(record, flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--recorded", type=Path, default=None, help="earlier records (JSON list) to include")
    args = parser.parse_args()
    records: dict[str, list[dict]] = {}
    for r in json.loads(args.recorded.read_text()) if args.recorded else []:
        records.setdefault(r["run"], []).append({**r, "recorded": True})
    for run in args.runs:
        snaps = sorted(run.glob("snapshots/step_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
        records.setdefault(run.name, []).extend(score(run, s) for s in snaps)
        records[run.name].sort(key=lambda r: r["step"])
    lines = ["| run | step | MIG | FactorVAE score | traversal score |", "|---|---|---|---|---|"]
    for name, rows in records.items():
        lines += [f"| {name} | {r['step']:,}{' (recorded)' if r.get('recorded') else ''} | " +
                  " | ".join(f"{r[k]:.3f}" for k in KEYS) + " |" for r in rows]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "curve.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    for ax, key, title in zip(axes, KEYS, ["MIG", "FactorVAE score", "traversal score"]):
        for name, rows in records.items():
            ax.plot([r["step"] for r in rows], [r[key] for r in rows], "o-", label=name)
        ax.set(title=title, xlabel="step")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(args.out / "curve.png", dpi=100)


if __name__ == "__main__":
    main()
