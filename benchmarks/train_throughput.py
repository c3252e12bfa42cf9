"""Training throughput of `disentangle train` (fast path and fp32) vs a plain fp32 eager PyTorch loop.

All train the study's conv β-VAE (β = 4) on procedural dSprites, batch 64, drawing batches the same way;
they alternate in one process so machine noise hits each.  Prints steps/s, the ratio to the plain loop,
the FLOPs of one training image (torch's flop counter) and the fraction of the machine's FLOP limit
reached — the limit measured in the same run as the rate of a large matrix product in the same precision.

    python benchmarks/train_throughput.py [--steps 200] [--repeats 3] [--variants fast,fp32]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from disentanglement.config import make_config
from disentanglement.data import DSprites
from disentanglement.nets import Conv64Decoder, Conv64Encoder
from disentanglement.speed import cpu_has_bf16, resolve
from disentanglement.train import train

VARIANTS = {  # name -> --set overrides of `disentangle train`
    "fast": [],
    "fp32": ["fast=false"],
    "fast+compile": ["compile=true"],
    "bf16": ["precision=bf16"],
}


def vae_step(enc, dec, opt, x):
    mu, logvar = enc(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    recon = F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").flatten(1).sum(1).mean()
    kl = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
    loss = recon + 4.0 * kl
    opt.zero_grad()
    loss.backward()
    opt.step()


def plain_loop(steps: int, seed: int = 0) -> float:
    """The baseline: 20 lines of fp32 eager PyTorch, no checkpoints, no logging. Returns steps/s."""
    torch.manual_seed(seed)
    data, rng = DSprites(), np.random.default_rng(seed)
    enc, dec = Conv64Encoder(1, 10), Conv64Decoder(1, 10)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-4, betas=(0.9, 0.999))
    start = time.perf_counter()
    for _ in range(steps):
        vae_step(enc, dec, opt, torch.from_numpy(data.images(data.sample_factors(64, rng))))
    return steps / (time.perf_counter() - start)


def ours(steps: int, sets: list[str], seed: int = 0) -> float:
    config = make_config({"model": "beta_vae", "dataset": "dsprites", "steps": steps, "seed": seed},
                         ["penalty.beta=4", *sets])
    with tempfile.TemporaryDirectory() as out:
        result = train(config, out, progress=False)
    return steps / result.seconds


def uses_bf16(sets: list[str]) -> bool:
    config = make_config({"model": "beta_vae", "dataset": "dsprites"}, sets)
    return resolve(config, torch.device("cpu")).autocast == torch.bfloat16


def flops_per_image() -> float:
    enc, dec = Conv64Encoder(1, 10), Conv64Decoder(1, 10)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()])
    x = torch.from_numpy(DSprites().images(DSprites().sample_factors(64, np.random.default_rng(0))))
    with FlopCounterMode(display=False) as counter:
        vae_step(enc, dec, opt, x)
    return counter.get_total_flops() / 64


def matmul_peak(dtype: torch.dtype, n: int = 2048, reps: int = 10) -> float:
    """FLOP/s of an n x n matrix product in ``dtype``: the machine's practical FLOP limit."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - start)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", default="fast,fp32", help=f"comma-separated, of: {', '.join(VARIANTS)}")
    args = parser.parse_args()
    names = args.variants.split(",")
    plain_loop(10), [ours(10, VARIANTS[v]) for v in names]  # warm up
    rates: dict[str, list[float]] = {"plain": [], **{v: [] for v in names}}
    peaks: dict[str, list[float]] = {"fp32": [], "bf16": []}
    load = os.getloadavg()[0]
    for _ in range(args.repeats):
        rates["plain"].append(plain_loop(args.steps))
        for v in names:
            rates[v].append(ours(args.steps, VARIANTS[v]))
        peaks["fp32"].append(matmul_peak(torch.float32))
        if cpu_has_bf16():               # emulated bf16 products take minutes each and limit nothing we run
            peaks["bf16"].append(matmul_peak(torch.bfloat16))
    flops = flops_per_image()
    med = {k: statistics.median(v) for k, v in rates.items()}
    peak = {k: statistics.median(v) if v else float("nan") for k, v in peaks.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps x {args.repeats}, "
          f"load {load:.1f} -> {os.getloadavg()[0]:.1f}")
    print(f"training FLOPs per image: {flops / 1e6:.1f} M; matrix-product limit: fp32 {peak['fp32'] / 1e9:.0f} "
          f"GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s (nan: no native bf16, not measured)")
    print(f"processor: {platform.processor() or platform.machine()}; {cpu_model()}; native bf16: {cpu_has_bf16()}")
    for k, v in med.items():
        achieved = v * 64 * flops
        limit = peak["bf16"] if k != "plain" and uses_bf16(VARIANTS[k]) else peak["fp32"]
        print(f"{k:<14} {v:7.2f} steps/s  x{v / med['plain']:.2f} vs plain  {achieved / 1e9:6.1f} GFLOP/s = "
              f"{achieved / limit:5.1%} of its limit  (runs: {', '.join(f'{r:.2f}' for r in rates[k])})")


if __name__ == "__main__":
    main()
