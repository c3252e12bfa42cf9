"""Same science on the fast path: one fixed dSprites setting trained with each arithmetic at seeds 0, 1, 2,
scored by MIG (the study's 10000 codes) and the FactorVAE score (``--votes`` train votes, half as many
eval votes; the study's 10000 / 5000 encode nearly all of dSprites), random_state 0, and the report's traversal score.

Variants: ``fast`` (the default, what `disentangle train` picks on this machine), ``bf16`` (the fast path
with bf16 autocast, where the CPU has bf16 instructions) and ``fp32`` (``fast=false``, the eager fp32 path).
Each run is a normal run directory under ``--out``; re-running skips what is done.  Runs go ``--workers`` at
a time, each on one thread; prints a Markdown table (mean ± std over seeds, and every seed).

    python benchmarks/same_science.py --out runs/same_science --workers 2
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SETTING = ["--model", "beta_tcvae", "--dataset", "dsprites", "--set", "penalty.beta=6", "--set", "lr=5e-4"]   # the README demo
VARIANTS = {"fast": [], "bf16": ["--set", "precision=bf16"], "fp32": ["--set", "fast=false"]}
KEYS = ["mig", "factor_vae.eval_accuracy", "traversal_score"]


def cli(*args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "disentanglement", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def score(run: Path, votes: int) -> None:
    """MIG (study sizes) and the FactorVAE score on ``votes`` train / votes // 2 eval votes -> RUN/scores.json."""
    import numpy as np

    from disentanglement.evaluate import mean_encoder
    from disentanglement.metrics import factor_vae_score, mig, sample_codes
    from disentanglement.metrics._cache import cached_encoder
    from disentanglement.runs import load_trained

    _, dataset, model, _ = load_trained(run)
    encode = cached_encoder(dataset, mean_encoder(model, "cpu"), progress=False, expected=0)
    out = mig(*sample_codes(dataset, encode, 10000, random_state=np.random.RandomState(0)))
    out.update(factor_vae_score(dataset, encode, random_state=0, num_train=votes, num_eval=votes // 2))
    (run / "scores.json").write_text(json.dumps(out, indent=2))


def one(out: Path, variant: str, seed: int, steps: int, votes: int) -> dict:
    run = out / f"{variant}_seed{seed}"
    done = run / "summary.json"
    if done.exists():
        return json.loads(done.read_text())
    start = time.perf_counter()
    cli("train", *SETTING, *VARIANTS[variant], "--steps", str(steps), "--seed", str(seed), "--out", str(run),
        "--no-progress")                                          # trains and writes report.html
    seconds = time.perf_counter() - start
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, __file__, "--score", str(run), "--votes", str(votes)], check=True, env=env)
    metrics = json.loads((run / "scores.json").read_text())
    score = json.loads((run / "figures" / "traversal_score.json").read_text())["traversal_score"]
    record = {"variant": variant, "seed": seed, "train_and_report_s": round(seconds), **metrics,
              "traversal_score": score}
    done.write_text(json.dumps(record, indent=2))
    print(record, flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/same_science")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--votes", type=int, default=2000, help="FactorVAE score train votes (study: 10000)")
    parser.add_argument("--score", help=argparse.SUPPRESS)   # internal: score one run in a fresh process
    args = parser.parse_args()
    if args.score:
        return score(Path(args.score), args.votes)
    out = Path(args.out)
    jobs = list(itertools.product(args.variants.split(","), [int(s) for s in args.seeds.split(",")]))
    with ThreadPoolExecutor(args.workers) as pool:
        records = list(pool.map(lambda job: one(out, job[0], job[1], args.steps, args.votes), jobs))
    lines = [f"| variant | {' | '.join(KEYS)} | seeds ({', '.join(KEYS)}) |", "|---|" + "---|" * (len(KEYS) + 1)]
    for variant in args.variants.split(","):
        rows = [r for r in records if r["variant"] == variant]
        stats = [f"{statistics.mean(r[k] for r in rows):.3f} ± {statistics.pstdev(r[k] for r in rows):.3f}" for k in KEYS]
        seeds = "; ".join(f"s{r['seed']}: " + "/".join(f"{r[k]:.2f}" for k in KEYS) for r in rows)
        lines.append(f"| {variant} | {' | '.join(stats)} | {seeds} |")
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
