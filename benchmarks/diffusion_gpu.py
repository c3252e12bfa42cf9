"""The diffusion autoencoder on a GPU at 64x64: training steps/s and images/s on dSprites, decode (DDIM)
images/s and the report's traversal score time, for DiffAE and FDAE conditioning — one prepared script.

    python benchmarks/diffusion_gpu.py [--steps 300] [--device cuda] [--out runs/diffusion_gpu]

The U-Net is 64,128,256,256 (4 levels, 2 residual blocks each, attention at 8x8 and in the middle), batch 32
(FDAE's batch), code 16 (FDAE: 4 concepts x 4 content dims, 8-dim masks), 20 DDIM steps per decode.  Training
runs through the library's trainer (``train``, fast path with ``precision=bf16`` asked for: bf16 autocast,
channels_last; compile off, so the first steps are not a compile), steps/s measured after a warm-up of 20 steps.  The published runs: FDAE 100k
steps at batch 32 (21 h on an RTX 3090); divide our steps by 100k for the fraction of their training.
Writes OUT/diffusion_gpu.json.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from disentanglement.config import make_config
from disentanglement.runs import load_trained
from disentanglement.train import train

GPU = ["diffusion_ae.code_dim=16", "diffusion_ae.concepts=4", "diffusion_ae.mask_dim=8",
       "diffusion_ae.unet_channels=64,128,256,256", "diffusion_ae.layers_per_block=2", "diffusion_ae.norm_groups=32",
       "diffusion_ae.attention=true", "diffusion_ae.ddim_steps=20"]
WARMUP = 20


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", default="runs/diffusion_gpu")
    parser.add_argument("--conditionings", default="diffae,fdae")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {"device": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device,
              "settings": GPU, "batch_size": 32, "steps": args.steps, "rows": []}
    for conditioning in args.conditionings.split(","):
        def cfg(steps):
            return make_config({"model": "diffusion_ae", "dataset": "dsprites", "steps": steps, "batch_size": 32,
                                "compile": "false", "precision": "bf16", "log_every": 50, "checkpoint_every": 10 ** 9},
                               [*GPU, f"diffusion_ae.conditioning={conditioning}"])
        run = out / conditioning
        train(cfg(WARMUP), run, device=args.device, progress=False, tensorboard=False)
        sync(args.device)
        start = time.perf_counter()
        result = train(cfg(WARMUP + args.steps), run, device=args.device, progress=False, tensorboard=False)
        sync(args.device)
        train_s = time.perf_counter() - start
        _, dataset, model, _ = load_trained(run, args.device)
        model.eval()
        images = torch.from_numpy(dataset.sample(256, np.random.default_rng(0))[0]).to(args.device)
        with torch.no_grad():
            points = model.anchors(images)
            model.decode(points[:8])                                       # warm-up
            sync(args.device)
            start = time.perf_counter()
            model.decode(points)                                           # 256 images, one batch
            sync(args.device)
            decode_s = time.perf_counter() - start
            axes = model.axes(images, steps=9)
            start = time.perf_counter()
            for axis in axes:                                              # the report's traversal score: 32 anchors
                model.traverse(points[:32], axis)
            sync(args.device)
            traverse_s = time.perf_counter() - start
        row = {"conditioning": conditioning, "steps_per_s": args.steps / train_s,
               "train_images_per_s": 32 * args.steps / train_s, "decode_images_per_s": 256 / decode_s,
               "traversal_score_decodes_s": traverse_s, "axes": len(axes),
               "fraction_of_fdae_training": (WARMUP + args.steps) / 100_000,
               "loss": result.logs.get("loss"), "describe": model.describe(),
               "hours_for_100k_steps": 100_000 / (args.steps / train_s) / 3600}
        record["rows"].append(row)
        print(json.dumps(row), flush=True)
        (out / "diffusion_gpu.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
