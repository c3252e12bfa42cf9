"""Procedural dSprites: images rendered per second on one core (sample factors + render a batch).

    python benchmarks/dsprites_sampling.py [--batch 64] [--seconds 3]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from disentanglement.data import DSprites


def rate(data: DSprites, batch: int, seconds: float) -> float:
    rng = np.random.default_rng(0)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        data.images(data.sample_factors(batch, rng))
        count += batch
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    data = DSprites()
    build = time.perf_counter() - start
    data.images(data.sample_factors(args.batch, np.random.default_rng(0)))
    for batch in sorted({args.batch, 1024}):
        print(f"batch {batch:5d}: {rate(data, batch, args.seconds):,.0f} images/s (one core)")
    print(f"sprite bank built in {build:.2f} s (once per process)")


if __name__ == "__main__":
    main()
