"""A small version of the large-scale study (Locatello et al. 2019) on the generated dSprites.

Trains each penalty at one study setting for ``--steps`` steps (resumable: re-running
continues or skips finished runs; a larger --steps trains them further), then
scores every run with the metric suite (MIG, FactorVAE score, DCI) at the study's
sample sizes — except the FactorVAE score, whose 10000 + 5000 votes of 64 images
each (960k encodings, ~15 min per model on 2 busy cores) are cut to
``--factor-vae-votes`` train and half as many eval votes — and writes a Markdown table.

    python benchmarks/study_small.py --steps 3000 --out runs/study_small

AnnealedVAE's capacity schedule is compressed with the run: the study reaches
C_max at 100k of 300k steps, here at steps / 3.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from disentanglement.config import make_config
from disentanglement.data import DSprites
from disentanglement.evaluate import mean_encoder
from disentanglement.models import build_model
from disentanglement.train import train

SETTINGS = {  # name -> (model, overrides); the study's values
    "VAE": ("beta_vae", ["penalty.beta=1"]),
    "beta-VAE b=4": ("beta_vae", ["penalty.beta=4"]),
    "AnnealedVAE C=25": ("annealed_vae", ["penalty.c_max=25"]),
    "beta-TCVAE b=6": ("beta_tcvae", ["penalty.beta=6"]),
    "FactorVAE g=40": ("factor_vae", ["penalty.gamma=40"]),
    "DIP-VAE-I l=5": ("dip_vae", ["penalty.type=i", "penalty.lambda_od=5"]),
    "DIP-VAE-II l=5": ("dip_vae", ["penalty.type=ii", "penalty.lambda_od=5"]),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/study_small")
    parser.add_argument("--factor-vae-votes", type=int, default=2000, help="train votes (study: 10000)")
    args = parser.parse_args()
    from disentanglement.metrics import dci, factor_vae_score, mig, sample_codes

    rows = []
    for label, (model, overrides) in SETTINGS.items():
        extra = [f"penalty.iterations={max(1, args.steps // 3)}"] if model == "annealed_vae" else []
        config = make_config({"model": model, "dataset": "dsprites", "steps": args.steps, "seed": args.seed},
                             overrides + extra)
        out = Path(args.out) / label.replace(" ", "_").replace("=", "")
        start = time.perf_counter()
        result = train(config, out, progress=True)
        train_s = time.perf_counter() - start
        net = build_model(config, DSprites())
        net.load_state_dict(torch.load(out / "checkpoint.pt", weights_only=True)["model"])
        net.eval()
        start = time.perf_counter()
        data, encode = DSprites(), mean_encoder(net, "cpu")
        rs = np.random.RandomState(0)                 # the study's sampling: 10000 train, then 5000 test codes
        train_codes = sample_codes(data, encode, 10000, random_state=rs)
        test_codes = sample_codes(data, encode, 5000, random_state=rs)
        scores = {**mig(*train_codes), **dci(*train_codes, *test_codes),
                  **factor_vae_score(data, encode, random_state=0, num_train=args.factor_vae_votes,
                                     num_eval=args.factor_vae_votes // 2)}
        eval_s = time.perf_counter() - start
        (out / "metrics.json").write_text(json.dumps({"metrics": scores, "random_state": 0,
                                                      "factor_vae_votes": args.factor_vae_votes}, indent=2))
        rows.append((label, scores, result.logs, train_s, eval_s))
        print(label, {k: round(v, 3) for k, v in scores.items() if isinstance(v, float)}, flush=True)

    keys = ["mig", "factor_vae.eval_accuracy", "dci.disentanglement"]
    lines = [f"| model | {' | '.join(keys)} | recon | kl | train s | eval s |", "|" + "---|" * (len(keys) + 5)]
    for label, scores, logs, train_s, eval_s in rows:
        vals = " | ".join(f"{scores[k]:.3f}" if k in scores else "–" for k in keys)
        lines.append(f"| {label} | {vals} | {logs.get('recon', float('nan')):.1f} | {logs.get('kl', float('nan')):.2f}"
                     f" | {train_s:.0f} | {eval_s:.0f} |")
    table = "\n".join(lines)
    (Path(args.out) / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
