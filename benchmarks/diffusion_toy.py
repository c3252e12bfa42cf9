"""The diffusion autoencoder on a CPU at toy size: training steps/s, decode time, and the proof on a toy —
its codes carry the glyphs' factors (MIG / DCI of the trained encoder's codes against a random-init
encoder's), and FDAE's concept groups separate shape from position better than DiffAE's single code.

    OMP_NUM_THREADS=1 python benchmarks/diffusion_toy.py --steps 600 --seeds 0,1,2 --out runs/diffusion

Per conditioning (DiffAE: AdaGN code; FDAE: content + mask codes, N = 3 concepts) and seed: a normal run
directory trained on ``glyphs`` (16x16, 3 factors: shape, posX, posY), then the standard metrics (MIG, DCI
disentanglement, on codes of the study's sampler, 2000 train / 1000 test points) of its representation and of
the same architecture at initialisation (same seed), plus FDAE's vector-wise MIG (one discrete code per
group: FDAE's content and mask codes; DiffAE's dimensions, one group each), the per-factor MIG gaps of
shape and position, and by intervention — turning each knob and reading the factors of the decodes — the
shape-position separation and the traversal score (``separation``).  Reruns skip finished runs and resume unfinished ones; everything lands in OUT/diffusion_toy.json.

On a GPU machine the runs train side by side and are scored later, anywhere:

    python benchmarks/diffusion_toy.py --device cuda --jobs 5 --budget-s 300 --train-only --out OUT
    python benchmarks/diffusion_toy.py --score-only --steps N --out OUT      # N: the steps OUT's json records

``--budget-s`` picks the number of steps (a multiple of 1000, at most ``--steps``) that the runs, all
training at once, finish in that many seconds: two probes of 100 and 200 steps time them first.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
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
from disentanglement.viz import load_or_train, model_traversal_score

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


def separation(model, dataset, readout) -> dict:
    """Does each knob move shape or position, not both?  The traversal score's effects (``viz/traversal_score``:
    how far turning each axis — a DiffAE dimension; an FDAE content or mask code — moves each factor, as a
    share of its range, net of the factor predictor's noise floor), with position the larger of posX and posY:

        separation = Σ_d max(e_shape[d], e_position[d]) / Σ_d (e_shape[d] + e_position[d])   (active axes)

    1: every knob moves shape alone or position alone; 0.5: every knob moves both equally.  Also returns the
    traversal score over the three factors and the per-axis effects."""
    result = model_traversal_score(model, dataset, readout, seeds=32, steps=9)
    effect = result["effect"][result["active"]]                           # (active axes, 3): shape, posX, posY
    shape, position = effect[:, 0], effect[:, 1:].max(1)
    both = shape + position
    return {"separation": float(np.maximum(shape, position).sum() / both.sum()) if both.sum() > 0 else float("nan"),
            "traversal_score": result["score"], "active_axes": int(result["active"].sum()),
            "effects": np.round(result["effect"], 3).tolist()}


def steps_per_second(conditioning: str, out: Path, steps: int = 40) -> float:
    """Training steps/s at toy size (batch 32), the first 5 steps (warm-up) excluded."""
    run = out / f"speed_{conditioning}"
    train(config(conditioning, 0, 5, 1e-3), run, progress=False, tensorboard=False)
    start = time.perf_counter()
    train(config(conditioning, 0, 5 + steps, 1e-3), run, progress=False, tensorboard=False)
    return steps / (time.perf_counter() - start)


def _train(job: tuple) -> float:
    """One run to its config's steps (a worker process, one thread) -> seconds."""
    cfg, run, device = job
    torch.set_num_threads(1)
    start = time.perf_counter()
    train(cfg, run, device=device, progress=False, tensorboard=False)
    return time.perf_counter() - start


def train_all(runs: list, steps: int, args) -> tuple[int, dict]:
    """Train every (conditioning, seed, run) to ``steps`` (or, with ``--budget-s``, to what fits) ->
    (the steps reached, {run: seconds, "parallel_steps_per_s": ...})."""
    jobs = max(1, args.jobs)
    timing: dict = {}
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        def to(n: int) -> list[float]:
            work = [(config(c, seed, n, args.lr, args.set), run, args.device) for c, seed, run in runs]
            return list(pool.map(_train, work))
        if args.budget_s:
            begin = time.perf_counter()
            to(100)                                                          # process start, CUDA, warm-up
            probe = time.perf_counter()
            to(300)
            rate = 200 / (time.perf_counter() - probe)                       # steps/s of each run, all at once
            left = args.budget_s - (time.perf_counter() - begin)
            steps = min(steps, max(1000, math.floor((300 + 0.9 * rate * left) / 1000) * 1000))   # 10 % spare
            timing["parallel_steps_per_s"] = rate
            print(f"{len(runs)} runs at once: {rate:.1f} steps/s each -> {steps} steps", flush=True)
        for (c, seed, run), seconds in zip(runs, to(steps)):
            timing[str(run)] = seconds
    return steps, timing


def score_run(job: tuple) -> dict:
    """(conditioning, seed, run, cfg) -> the json row: trained and initial scores, traversal decode time."""
    conditioning, seed, run, cfg = job
    torch.set_num_threads(1)
    dataset = DATASETS["glyphs"]()
    readout = load_or_train(dataset, Path(run).parent / "factor_predictor_glyphs.pt")[0].readout
    _, _, model, step = load_trained(run)
    trained = {**scores(model, dataset), **separation(model, dataset, readout)}
    torch.manual_seed(seed)                                               # the same initialisation as the run
    initial = build_model(cfg, dataset).eval()
    untrained = {**scores(initial, dataset), **separation(initial, dataset, readout)}
    with torch.no_grad():
        images = torch.from_numpy(dataset.sample(8, np.random.default_rng(seed))[0])
        axes = model.axes(torch.from_numpy(dataset.sample(256, np.random.default_rng(0))[0]), steps=9)
        start = time.perf_counter()
        model.traverse(model.anchors(images), axes[0])                      # 72 decodes in one batch
        traverse_s = time.perf_counter() - start
    return {"conditioning": conditioning, "seed": seed, "steps": step, "trained": trained,
            "random_init": untrained, "traverse_72_images_s": round(traverse_s, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--out", default="runs/diffusion")
    parser.add_argument("--conditionings", default=",".join(CONDITIONINGS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="more diffusion_ae settings for every run, e.g. diffusion_ae.mask_entropy=0.01")
    parser.add_argument("--device", default="cpu", help="where the runs train (scoring is on the CPU)")
    parser.add_argument("--jobs", type=int, default=1, help="runs trained (and scored) at once, one process each")
    parser.add_argument("--budget-s", type=float, default=0,
                        help="train for as many steps (multiple of 1000, <= --steps) as fit in this many seconds")
    parser.add_argument("--train-only", action="store_true", help="train, don't score")
    parser.add_argument("--score-only", action="store_true", help="score the runs OUT holds at --steps")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")                          # the worker processes too
    conditionings = args.conditionings.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    runs = [(c, seed, out / f"{c}_seed{seed}") for c in conditionings for seed in seeds]
    path = out / "diffusion_toy.json"
    record = json.loads(path.read_text()) if args.score_only and path.exists() else {
        "steps": args.steps, "lr": args.lr, "batch_size": 32, "settings": TOY + args.set, "threads": 1,
        "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device,
        "machine": platform.processor() or platform.machine(), "speed": {}, "runs": []}
    if not args.score_only:
        if not args.budget_s and args.jobs == 1 and args.device == "cpu":
            for conditioning in conditionings:
                record["speed"][conditioning] = {"steps_per_s": steps_per_second(conditioning, out)}
                print(f"{conditioning}: {record['speed'][conditioning]['steps_per_s']:.2f} steps/s", flush=True)
        record["steps"], record["train_s"] = train_all(runs, args.steps, args)
        path.write_text(json.dumps(record, indent=2) + "\n")
    if args.train_only:
        return
    work = [(c, seed, run, config(c, seed, args.steps, args.lr, args.set)) for c, seed, run in runs]
    load_or_train(DATASETS["glyphs"](), out / "factor_predictor_glyphs.pt")   # once, before the workers read it
    before = {(r["conditioning"], r["seed"]): r for r in record["runs"]}
    with ProcessPoolExecutor(max(1, args.jobs), mp_context=get_context("spawn")) as pool:
        record["runs"] = [{**before.get((r["conditioning"], r["seed"]), {}), **r} for r in pool.map(score_run, work)]
    for row in record["runs"]:
        print(json.dumps(row), flush=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    columns = ("mig", "dci_d", "vector_wise_mig", "shape_gap", "position_gap", "separation", "traversal_score")
    print(f"| model | codes | {' | '.join(columns)} |\n|---|---|{'---|' * len(columns)}")
    for conditioning in conditionings:
        rows = [r for r in record["runs"] if r["conditioning"] == conditioning]
        for which in ("trained", "random_init"):
            mean = {k: statistics.mean(r[which][k] for r in rows) for k in columns}
            print(f"| {conditioning} | {which} | " + " | ".join(f"{mean[k]:.3f}" for k in columns) + " |")


if __name__ == "__main__":
    main()
