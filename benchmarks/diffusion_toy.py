"""The diffusion autoencoder on a CPU at toy size: training steps/s, decode time, and the proof on a toy —
its codes carry the glyphs' factors (MIG / DCI of the trained encoder's codes against a random-init
encoder's), and FDAE's concept groups separate shape from position better than DiffAE's single code.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_toy.py --steps 600 --seeds 0,1,2 --out runs/diffusion

Per conditioning (DiffAE: AdaGN code; FDAE: content + mask codes, N = 3 concepts) and seed: a normal run
directory trained on ``glyphs`` (16x16, 3 factors: shape, posX, posY), then the standard metrics (MIG, DCI
disentanglement, on codes of the study's sampler, 2000 train / 1000 test points) of its representation and of
the same architecture at initialisation (same seed), plus FDAE's vector-wise MIG (one discrete code per
group: FDAE's content and mask codes; DiffAE's dimensions, one group each) and the per-factor MIG gaps of
shape and position.  Reruns skip finished runs and resume unfinished ones; everything lands in OUT/diffusion_toy.json.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from disentanglement.config import make_config
from disentanglement.data import DATASETS
from disentanglement.metrics import dci, mig, sample_codes
from disentanglement.metrics._utils import discrete_entropy, histogram_discretize, mutual_info_matrix
from disentanglement.metrics.vector_wise import vector_wise_codes
from disentanglement.models import build_model
from disentanglement.runs import load_trained
from disentanglement.train import train

TOY = ["diffusion_ae.code_dim=6", "diffusion_ae.concepts=3", "diffusion_ae.mask_dim=4",
       "diffusion_ae.unet_channels=16,32", "diffusion_ae.ddim_steps=10"]
CONDITIONINGS = ("diffae", "fdae")


def config(conditioning: str, seed: int, steps: int, lr: float, extra=()):
    return make_config({"model": "diffusion_ae", "dataset": "glyphs", "steps": steps, "seed": seed, "lr": lr,
                        "batch_size": 32, "log_every": 50, "checkpoint_every": 200},
                       [*TOY, *extra, f"diffusion_ae.conditioning={conditioning}"])


def gaps(discrete: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """discrete codes (N, U), factors (N, K) -> per-factor MIG gap (K,): (top MI - second MI) / H."""
    top = np.sort(mutual_info_matrix(discrete, factors), axis=0)[::-1]
    return (top[0] - top[1]) / discrete_entropy(factors)


def scores(model, dataset) -> dict:
    """MIG, DCI-D and the vector-wise MIG of ``model.representation`` on the glyphs (groups: FDAE's concept
    codes, content then mask; DiffAE: one per dimension)."""
    model.eval()
    encode = lambda x: model.representation(torch.from_numpy(x)).detach().numpy()  # noqa: E731
    rs = np.random.RandomState(0)
    codes, factors = sample_codes(dataset, encode, 2000, random_state=rs)
    codes_test, factors_test = sample_codes(dataset, encode, 1000, random_state=rs)
    groups = model.representation_groups
    grouped = vector_wise_codes(codes, groups, dims=1) if groups else histogram_discretize(codes)
    per_factor = gaps(grouped, factors)                                   # shape, posX, posY
    return {"mig": mig(codes, factors)["mig"],
            "dci_d": dci(codes, factors, codes_test, factors_test, n_jobs=1)["dci.disentanglement"],
            "vector_wise_mig": float(per_factor.mean()), "shape_gap": float(per_factor[0]),
            "position_gap": float(per_factor[1:].mean())}


def steps_per_second(conditioning: str, out: Path, steps: int = 40) -> float:
    """Training steps/s at toy size (batch 32), the first 5 steps (warm-up) excluded."""
    run = out / f"speed_{conditioning}"
    short = train(config(conditioning, 0, 5, 1e-3), run, progress=False, tensorboard=False)
    del short
    start = time.perf_counter()
    train(config(conditioning, 0, 5 + steps, 1e-3), run, progress=False, tensorboard=False)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--out", default="runs/diffusion")
    parser.add_argument("--conditionings", default=",".join(CONDITIONINGS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="more diffusion_ae settings for every run, e.g. diffusion_ae.mask_entropy=0.01")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    conditionings = args.conditionings.split(",")
    record = {"steps": args.steps, "lr": args.lr, "batch_size": 32, "settings": TOY + args.set, "threads": 1,
              "machine": platform.processor() or platform.machine(), "speed": {}, "runs": []}
    dataset = DATASETS["glyphs"]()
    for conditioning in conditionings:
        record["speed"][conditioning] = {"steps_per_s": steps_per_second(conditioning, out)}
        print(f"{conditioning}: {record['speed'][conditioning]['steps_per_s']:.2f} steps/s", flush=True)
    for conditioning in conditionings:
        for seed in (int(s) for s in args.seeds.split(",")):
            run = out / f"{conditioning}_seed{seed}"
            cfg = config(conditioning, seed, args.steps, args.lr, args.set)
            start = time.perf_counter()
            train(cfg, run, progress=False, tensorboard=False)
            seconds = time.perf_counter() - start
            _, _, model, _ = load_trained(run)
            trained = scores(model, dataset)
            torch.manual_seed(seed)                                       # the same initialisation as the run
            untrained = scores(build_model(cfg, dataset), dataset)
            with torch.no_grad():
                images = torch.from_numpy(dataset.sample(8, np.random.default_rng(seed))[0])
                axes = model.axes(torch.from_numpy(dataset.sample(256, np.random.default_rng(0))[0]), steps=9)
                start = time.perf_counter()
                model.traverse(model.anchors(images), axes[0])              # 72 decodes in one batch
                traverse_s = time.perf_counter() - start
            row = {"conditioning": conditioning, "seed": seed, "train_s": round(seconds, 1),
                   "trained": trained, "random_init": untrained, "traverse_72_images_s": round(traverse_s, 3)}
            record["runs"].append(row)
            print(json.dumps(row), flush=True)
            (out / "diffusion_toy.json").write_text(json.dumps(record, indent=2) + "\n")
    print("| model | codes | MIG | DCI-D | vector-wise MIG | shape gap | position gap |\n|---|---|---|---|---|---|---|")
    for conditioning in conditionings:
        rows = [r for r in record["runs"] if r["conditioning"] == conditioning]
        for which in ("trained", "random_init"):
            mean = {k: statistics.mean(r[which][k] for r in rows) for k in rows[0][which]}
            print(f"| {conditioning} | {which} | {mean['mig']:.3f} | {mean['dci_d']:.3f} | {mean['vector_wise_mig']:.3f} "
                  f"| {mean['shape_gap']:.3f} | {mean['position_gap']:.3f} |")


if __name__ == "__main__":
    main()
