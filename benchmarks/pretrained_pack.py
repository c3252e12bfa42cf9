"""Pack a long run as a shipped pretrained model (issue 23, item 2): the full study suite by `evaluate` (if the
run's metrics.json is not of its last step), its report (the traversal goes to ``docs/pretrained_<NAME>.png``),
then ``pretrained.export`` into the package's ``zoo/`` — weights only, the card with the command, steps, seed,
training seconds (summed from log.jsonl), machine and metrics.

    python benchmarks/pretrained_pack.py /work/pretrained/beta_tcvae beta_tcvae_dsprites \\
        "beta-TCVAE (beta = 6) on dSprites, the study's conv net" "$(cat /work/pretrained/beta_tcvae.command)"
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import shutil
from pathlib import Path

import torch

from disentanglement import pretrained
from disentanglement.evaluate import evaluate_run
from disentanglement.report import write_report
from disentanglement.runs import Run


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def train_seconds(run: Run) -> float:
    """The log's ``time`` restarts at 0 in each process that trained the run: add each process's last value."""
    log = run.read_log()
    return sum(r["time"] for i, r in enumerate(log) if i + 1 == len(log) or log[i + 1]["time"] < r["time"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("name")
    parser.add_argument("description")
    parser.add_argument("command", help="the exact command(s) that trained it")
    parser.add_argument("--machine", default=f"{cpu_name()}, {torch.get_num_threads()} threads available")
    args = parser.parse_args()
    run = Run(args.run)
    step = run.load_checkpoint()["step"]
    if not run.metrics_path.exists() or json.loads(run.metrics_path.read_text())["step"] != step:
        evaluate_run(run.path)
    write_report(run.path)
    docs = Path(__file__).parent.parent / "docs"
    shutil.copy(run.figures / "traversal_seed0.png", docs / f"pretrained_{args.name}.png")
    card = pretrained.export(run.path, args.name, args.description, args.command, train_seconds(run), args.machine,
                             datetime.date.today().isoformat())
    print(json.dumps({k: v for k, v in card.items() if k != "config"}, indent=2))


if __name__ == "__main__":
    main()
