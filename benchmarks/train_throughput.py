"""Training throughput of `disentangle train` vs a plain PyTorch loop of the same architecture.

Both train the study's conv β-VAE on procedural dSprites, batch 64, drawing
batches the same way; they alternate in one process so machine noise hits both.
The ratio is ours / plain in steps per second (>= 0.95 is the bar).

    python benchmarks/train_throughput.py [--steps 200] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

from disentanglement.config import make_config
from disentanglement.data import DSprites
from disentanglement.nets import Conv64Decoder, Conv64Encoder
from disentanglement.train import train


def plain_loop(steps: int, seed: int = 0) -> float:
    """The baseline: 20 lines of PyTorch, no checkpoints, no logging. Returns steps/s."""
    torch.manual_seed(seed)
    data, rng = DSprites(), np.random.default_rng(seed)
    enc, dec = Conv64Encoder(1, 10), Conv64Decoder(1, 10)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-4, betas=(0.9, 0.999))
    start = time.perf_counter()
    for _ in range(steps):
        x = torch.from_numpy(data.images(data.sample_factors(64, rng)))
        mu, logvar = enc(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").flatten(1).sum(1).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
        loss = recon + 4.0 * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps / (time.perf_counter() - start)


def ours(steps: int, seed: int = 0) -> float:
    config = make_config({"model": "beta_vae", "dataset": "dsprites", "steps": steps, "seed": seed}, ["penalty.beta=4"])
    with tempfile.TemporaryDirectory() as out:
        result = train(config, out, progress=True, figures=False)
    return steps / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    plain_loop(10), ours(10)  # warm up
    a, b = [], []
    for _ in range(args.repeats):
        a.append(plain_loop(args.steps))
        b.append(ours(args.steps))
    pa, pb = statistics.median(a), statistics.median(b)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps x {args.repeats}")
    print(f"plain loop        {pa:7.2f} steps/s  (runs: {', '.join(f'{v:.2f}' for v in a)})")
    print(f"disentangle train {pb:7.2f} steps/s  (runs: {', '.join(f'{v:.2f}' for v in b)})")
    print(f"ratio ours/plain  {pb / pa:.3f}")


if __name__ == "__main__":
    main()
