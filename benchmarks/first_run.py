"""A first run that shows: the settings tried for the README's first command (issue 23, item 1).

Each setting trains a dSprites model through our own CLI, stopping at each of ``--at`` steps to score it:
MIG on the study's 10,000 codes (random_state 0), the report's traversal score, and the traversal image kept
under ``RUN/at_<step>/``.  Train seconds are the CLI's own (log.jsonl), so a table row says what that many
steps cost on this machine with ``--threads`` torch threads.  Resumable: a finished (setting, seed, step) is
skipped.  Prints one Markdown row per scored step.

    OMP_NUM_THREADS=1 python benchmarks/first_run.py --out /work/first_run --settings slim_tc6 --seeds 0 --at 4000,8000,12000
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

COMMON = ["--dataset", "dsprites", "--no-progress"]
SETTINGS = {  # name -> CLI arguments; the study's net unless net=conv64_slim
    "study_tc6": ["--model", "beta_tcvae", "--set", "penalty.beta=6", "--set", "lr=5e-4"],      # the README's before
    "slim_tc6": ["--model", "beta_tcvae", "--set", "penalty.beta=6", "--set", "lr=5e-4", "--set", "vae.net=conv64_slim"],
    "slim_tc6_lr1e-3": ["--model", "beta_tcvae", "--set", "penalty.beta=6", "--set", "lr=1e-3", "--set", "vae.net=conv64_slim"],
    "slim_tc6_b128": ["--model", "beta_tcvae", "--set", "penalty.beta=6", "--set", "lr=7e-4", "--set", "batch_size=128",
                      "--set", "vae.net=conv64_slim"],
    "slim_tc10": ["--model", "beta_tcvae", "--set", "penalty.beta=10", "--set", "lr=5e-4", "--set", "vae.net=conv64_slim"],
    "slim_tc6_d6": ["--model", "beta_tcvae", "--set", "penalty.beta=6", "--set", "lr=5e-4", "--set", "vae.net=conv64_slim",
                    "--set", "vae.latent_dim=6"],
    "slim_fvae35": ["--model", "factor_vae", "--set", "penalty.gamma=35", "--set", "lr=5e-4", "--set", "vae.net=conv64_slim"],
    "slim_dip_ii": ["--model", "dip_vae", "--set", "penalty.type=ii", "--set", "penalty.lambda_od=5", "--set", "lr=5e-4",
                    "--set", "vae.net=conv64_slim"],
}


def cli(*args: str, threads: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "disentanglement", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def mig_of(run: Path) -> float:
    import numpy as np
    from disentanglement.evaluate import mean_encoder
    from disentanglement.metrics import mig, sample_codes
    from disentanglement.runs import load_trained
    _, dataset, model, _ = load_trained(run)
    return float(mig(*sample_codes(dataset, mean_encoder(model, "cpu"), 10000,
                                   random_state=np.random.RandomState(0)))["mig"])


def seconds_to(run: Path, step: int) -> float:
    """Training seconds up to ``step``: log.jsonl's ``time`` restarts in each process, so add each one's last."""
    log = [r for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if r["step"] <= step]
    return sum(r["time"] for i, r in enumerate(log) if i + 1 == len(log) or log[i + 1]["time"] < r["time"])


def one(out: Path, name: str, seed: int, step: int, threads: int) -> dict:
    run = out / f"{name}_seed{seed}"
    done = run / f"at_{step}" / "record.json"
    if done.exists():
        return {**json.loads(done.read_text()), "train_s": round(seconds_to(run, step))}
    if (run / "config.yaml").exists():
        cli("train", "--resume", str(run), "--steps", str(step), "--no-report", "--no-progress", threads=threads)
    else:
        cli("train", *SETTINGS[name], *COMMON, "--steps", str(step), "--seed", str(seed), "--out", str(run),
            "--set", "checkpoint_every=1000", "--no-report", threads=threads)
    start = time.perf_counter()
    cli("report", str(run), "--no-progress", threads=threads)
    report_s = time.perf_counter() - start
    train_s = seconds_to(run, step)
    score = json.loads((run / "figures" / "traversal_score.json").read_text())["traversal_score"]
    keep = run / f"at_{step}"
    keep.mkdir(exist_ok=True)
    shutil.copy(run / "figures" / "traversal_seed0.png", keep / "traversal.png")   # the report's first traversal
    record = {"setting": name, "seed": seed, "step": step, "train_s": round(train_s), "report_s": round(report_s),
              "mig": round(mig_of(run), 3), "traversal_score": round(score, 3)}
    done.write_text(json.dumps(record, indent=2))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/first_run")
    parser.add_argument("--settings", default="slim_tc6")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--at", default="4000,8000,12000", help="steps at which to score")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = parser.parse_args()
    print("| setting | seed | step | train s | report s | MIG | traversal score |", flush=True)
    for name in args.settings.split(","):
        for seed in map(int, args.seeds.split(",")):
            for step in map(int, args.at.split(",")):
                r = one(Path(args.out), name, seed, step, args.threads)
                print(f"| {name} | {seed} | {step} | {r['train_s']} | {r['report_s']} | {r['mig']:.3f} | "
                      f"{r['traversal_score']:.3f} |", flush=True)


if __name__ == "__main__":
    main()
