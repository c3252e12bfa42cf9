"""What one training step of each backbone costs on dSprites, at its own defaults (nets, batch size), against the
study's β-VAE in the same process: images/s and the ratio.  Steps run through the models' own phases and
optimisers (``train.make_optimizers``) on batches drawn once from the generated dSprites (data drawing left out).

    OMP_NUM_THREADS=1 python benchmarks/backbone_cost.py --steps 5 --models beta_vae,infogan,ib_gan,qlae,tripod
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from disentanglement.config import make_config
from disentanglement.data import open_dataset
from disentanglement.models import Batch, build_model
from disentanglement.train import make_optimizers


def images_per_second(name: str, steps: int, repeats: int) -> tuple[float, int]:
    config = make_config({"model": name, "dataset": "dsprites", "fast": False})
    data = open_dataset("dsprites")
    torch.manual_seed(0)
    model = build_model(config, data).train()
    phases = model.phases()
    opts = make_optimizers(phases, config)
    x = torch.from_numpy(data.sample(config.batch_size, np.random.default_rng(0))[0])
    noise = torch.Generator().manual_seed(0)

    def step(i):
        batch = Batch(x=x, step=i, generator=noise)
        for ph in phases:
            loss, _ = ph.loss(batch)
            opts[ph.name].zero_grad(set_to_none=True)
            loss.backward()
            opts[ph.name].step()
    step(0)                                                                  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            step(i + 1)
        best = min(best, time.perf_counter() - start)
    return steps * config.batch_size / best, config.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", default="beta_vae,infogan,ib_gan,qlae,tripod")
    args = parser.parse_args()
    rows = [(name, *images_per_second(name, args.steps, args.repeats)) for name in args.models.split(",")]
    base = dict((n, r) for n, r, _ in rows).get("beta_vae")
    print(f"torch threads {torch.get_num_threads()}")
    print("| backbone | batch | images/s | vs β-VAE |")
    print("|---|---|---|---|")
    for name, rate, batch in rows:
        ratio = f"{rate / base:.3f}" if base else "—"
        print(f"| {name} | {batch} | {rate:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
