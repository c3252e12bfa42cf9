"""Causal InfoGAN (Kurutach et al. 2018) against InfoGAN with interpolation (issue 26, item 3): are the visual plans
it imagines between two rooms feasible, move by move, as the domain's readout reads them back?

Both GANs train on ``rooms`` (an agent in two rooms joined by a door, ``data/rooms.py``) at the same length and
seed: Causal InfoGAN on pairs one move apart, InfoGAN on single scenes with as many continuous codes as Causal
InfoGAN has planning states (and the same noise width).  Each plans the same way, the authors' continuous planner:
start and goal scenes mapped to codes — by the authors' projection (the code, among 4,096 prior draws, whose
drawing with noise 0 is nearest the scene) and, in a second block, by the model's Q — the straight line between
them cut into ``--frames`` steps, each drawn by G with the noise at 0.  The start / goal pairs lie in different rooms (the wall is between
them), ``--plans`` of them from a fixed generator.

Each frame is read by the domain's readout (the nearest of the 100 rendered scenes) and judged legible when its
RMS distance to that scene is below half the distance between neighbouring scenes.  A plan is

- *feasible* when every step between consecutive frames is a feasible move (the same cell, or a neighbour not
  across the wall) — the issue's measure;
- *on target* when its first frame reads as the start and its last as the goal;
- *crossing* when some step passes the wall outside the door.

Two rows check the checker on plans whose answer is known: the shortest path (breadth-first search on the true
grid) rendered by the dataset scores 1 on everything; the straight line in the true (x, y), rendered, crosses the
wall whenever its rows miss the door.

    OMP_NUM_THREADS=1 python benchmarks/causal_infogan_rooms.py --seeds 0,1,2 --steps 5000 --out runs/cig --workers 2

Each run is a normal run directory (``disentangle train``): rerunning skips what is done, a killed run resumes.
Writes ``OUT/table.md`` and ``--figure`` (plans of the first seed).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from disentanglement.data import Rooms
from disentanglement.data.rooms import CELLS, NEIGHBOUR_RMS, WALL_AFTER, crosses_wall
from disentanglement.runs import load_trained

MODELS = {"causal_infogan": [], "infogan": ["infogan.categorical=[]", "infogan.noise_dim=2"]}
LABELS = {"causal_infogan": "Causal InfoGAN", "infogan": "InfoGAN"}
# (how the plan's ends are located, the planner): the authors' projection or Q's mean; the straight path or,
# for Causal InfoGAN, the graph search of its planning model judged by D
VARIANTS = {"causal_infogan": [("nearest", "line"), ("nearest", "graph"), ("q", "line")],
            "infogan": [("nearest", "line"), ("q", "line")]}
HOW = {"nearest.line": "nearest drawing, straight path", "nearest.graph": "nearest drawing, graph search judged by D",
       "q.line": "Q's mean, straight path"}
LEGIBLE = 0.5 * NEIGHBOUR_RMS           # half the RMS distance between neighbouring scenes


def train_one(out: Path, model: str, seed: int, steps: int, extra: list) -> Path:
    run = out / f"{model}_s{seed}"
    if (run / "config.yaml").exists():
        args = ["train", "--resume", str(run), "--steps", str(steps)]
    else:
        args = ["train", "--model", model, "--dataset", "rooms", "--steps", str(steps), "--seed", str(seed),
                "--out", str(run), "--set", "checkpoint_every=500", *[a for s in MODELS[model] + extra for a in ("--set", s)]]
    subprocess.run([sys.executable, "-m", "disentanglement", *args, "--no-report", "--no-progress"], check=True)
    return run


def tasks(n: int) -> np.ndarray:
    """(n, 2, 2) start and goal cells in different rooms, from a fixed generator."""
    rng = np.random.default_rng(0)
    left = np.stack([rng.integers(0, WALL_AFTER + 1, n), rng.integers(0, CELLS, n)], 1)
    right = np.stack([rng.integers(WALL_AFTER + 1, CELLS, n), rng.integers(0, CELLS, n)], 1)
    flip = rng.random(n) < 0.5
    start, goal = np.where(flip[:, None], right, left), np.where(flip[:, None], left, right)
    return np.stack([start, goal], 1)


def shortest_path(start, goal) -> list:
    """Breadth-first search on the true grid: the cells of a shortest feasible path from start to goal."""
    moves = [(1, 0), (-1, 0), (0, 1), (0, -1)]
    parent = {tuple(start): None}
    queue = deque([tuple(start)])
    while queue:
        cell = queue.popleft()
        if cell == tuple(goal):
            break
        for dx, dy in moves:
            nxt = (cell[0] + dx, cell[1] + dy)
            if 0 <= nxt[0] < CELLS and 0 <= nxt[1] < CELLS and nxt not in parent and \
                    not crosses_wall(np.array([cell]), np.array([nxt]))[0]:
                parent[nxt] = cell
                queue.append(nxt)
    path, cell = [], tuple(goal)
    while cell is not None:
        path.append(cell)
        cell = parent[cell]
    return path[::-1]


def judge(dataset: Rooms, frames: np.ndarray, start, goal) -> dict:
    """frames (T, 1, 32, 32) of one plan -> its verdicts."""
    cells, rms = dataset.read(frames)
    steps_ok = Rooms.feasible(cells[:-1], cells[1:])
    return {"feasible": bool(steps_ok.all()), "on_target": bool((cells[0] == start).all() and (cells[-1] == goal).all()),
            "crossing": bool(crosses_wall(cells[:-1], cells[1:]).any()), "legible": float((rms < LEGIBLE).mean())}


@torch.no_grad()
def infogan_locate(model, images: torch.Tensor, candidates: int = 4096) -> torch.Tensor:
    """InfoGAN's codes for images by the same search as ``CausalInfoGAN.locate``: the continuous code, among prior
    draws (noise 0), whose drawing is nearest in L2."""
    c = torch.rand(candidates, model.params.continuous, generator=torch.Generator().manual_seed(0)) * 2 - 1
    noise = torch.zeros(candidates, model.params.noise_dim)
    drawn = torch.cat([model.decode(part) for part in torch.cat([noise, c], 1).split(1024)])
    return c[torch.cdist(images.flatten(1), drawn.flatten(1)).argmin(1)]


@torch.no_grad()
def plans(run: Path, model_name: str, task: np.ndarray, frames: int, locate: str = "nearest", planner: str = "line"):
    """Every task's plan by the run's model: a list of (T, 1, 32, 32) arrays."""
    _, dataset, model, _ = load_trained(run)
    model.eval()
    images = torch.from_numpy(dataset.images(task.reshape(-1, 2)))                  # (2n, 1, 32, 32): start, goal, ...
    if locate == "nearest":
        located = (model.locate(images) if model_name == "causal_infogan" else infogan_locate(model, images))
    else:
        located = model.representation(images)
    out = []
    for t in range(len(task)):
        ends, codes = images[2 * t:2 * t + 2], located[2 * t:2 * t + 2]              # (2, ...) start, goal
        if model_name == "causal_infogan":
            drawn, _ = model.plan(ends[0], ends[1], steps=frames, planner=planner, ends=codes)
        else:
            t = torch.linspace(0, 1, frames + 1)[:, None]
            path = (1 - t) * codes[0] + t * codes[1]                               # (T, C)
            noise = torch.zeros(len(path), model.params.noise_dim)
            drawn = model.decode(torch.cat([noise, path], 1))
        out.append(drawn.numpy())
    return out


@torch.no_grad()
def own_pairs(run: Path, n: int = 2000) -> dict:
    """Causal InfoGAN's own transitions, read back: G's pairs (o, o') from s ~ P, s' ~ T(s'|s) (noise 0) — the share
    that are feasible moves (real pairs: 1), and whether G draws s' where it drew it as o': the share of s' whose o'
    (from G(s, s')) and o (from G(s', s')) read as the same cell — without that a path of small steps in s need not
    be a path of moves on the grid."""
    _, dataset, model, _ = load_trained(run)
    model.eval()
    code = model.sample_code(n, torch.Generator().manual_seed(2), torch.device("cpu"))
    code.z.zero_()
    pair = model.generate(code).numpy()                                             # (n, 2, 32, 32)
    first, _ = dataset.read(pair[:, :1])
    second, _ = dataset.read(pair[:, 1:])
    again, _ = dataset.read(model.decode(torch.cat([code.z, code.s_next], 1)).numpy())
    return {"pairs_feasible": float(Rooms.feasible(first, second).mean()),
            "pairs_moving": float((first != second).any(1).mean()),
            "same_cell": float((second == again).all(1).mean())}


def summarise(dataset: Rooms, drawn: list, task: np.ndarray) -> dict:
    verdicts = [judge(dataset, frames, s, g) for frames, (s, g) in zip(drawn, task)]
    out = {k: float(np.mean([v[k] for v in verdicts])) for k in ("feasible", "on_target", "crossing", "legible")}
    out["feasible_on_target"] = float(np.mean([v["feasible"] and v["on_target"] for v in verdicts]))
    return out


def score(run: Path, model_name: str, task: np.ndarray, frames: int) -> dict:
    done = run / "plan_scores.json"
    if done.exists():
        saved = json.loads(done.read_text())
        if saved.get("frames") == frames and saved.get("plans") == len(task) and (
                model_name != "causal_infogan" or "same_cell" in saved):
            return saved
    config, dataset, _, step = load_trained(run)
    out = {"run": run.name, "model": model_name, "seed": config.seed, "step": step, "frames": frames, "plans": len(task)}
    if model_name == "causal_infogan":
        out.update(own_pairs(run))
    for locate, planner in VARIANTS[model_name]:
        out[f"{locate}.{planner}"] = summarise(dataset, plans(run, model_name, task, frames, locate, planner), task)
    done.write_text(json.dumps(out, indent=2))
    return out


def known_rows(task: np.ndarray, frames: int) -> dict:
    """The checker on rendered plans: the shortest path, and the straight line in the true (x, y)."""
    dataset = Rooms()
    bfs = [dataset.images(np.array(shortest_path(s, g))) for s, g in task]
    t = np.linspace(0, 1, frames + 1)[:, None]
    line = [dataset.images(np.rint((1 - t) * s + t * g).astype(np.int64)) for s, g in task]
    return {"shortest path, rendered": summarise(dataset, bfs, task),
            "straight line in (x, y), rendered": summarise(dataset, line, task)}


def figure(runs: dict, task: np.ndarray, frames: int, path: Path, n: int = 3, columns: int = 25) -> None:
    """Rows: the first n tasks planned by each model and planner (located by the nearest drawing); columns:
    ``columns`` frames evenly spaced along each plan (a graph plan has as many frames as its path has states)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [(f"{LABELS[name]}, {HOW['nearest.' + planner].split(', ')[1]}", i, drawn)
            for name, planner in (("causal_infogan", "line"), ("causal_infogan", "graph"), ("infogan", "line"))
            for i, drawn in enumerate(plans(runs[name], name, task[:n], frames, "nearest", planner))]
    fig, axes = plt.subplots(len(rows), columns, figsize=(0.62 * columns, 0.8 * len(rows)))
    for r, (label, i, drawn) in enumerate(rows):
        for c, f in enumerate(np.rint(np.linspace(0, len(drawn) - 1, columns)).astype(int)):
            axes[r, c].imshow(drawn[f, 0], cmap="gray", vmin=0, vmax=1)
            axes[r, c].axis("off")
        start, goal = (tuple(int(v) for v in cell) for cell in task[i])
        axes[r, 0].set_title(f"{label} ({len(drawn)} frames): {start} → {goal}", fontsize=7, loc="left")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.97, bottom=0.01, hspace=0.5, wspace=0.05)
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--frames", type=int, default=48, help="steps of each plan (frames - 1 transitions + 1)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--state-dim", type=int, default=4, help="Causal InfoGAN's states = InfoGAN's continuous codes")
    parser.add_argument("--set", action="append", default=[], help="a setting of Causal InfoGAN (causal_infogan.*)")
    parser.add_argument("--out", default="runs/causal_infogan")
    parser.add_argument("--figure", default="docs/causal_infogan_plans.png")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(m, s) for s in seeds for m in MODELS]
    with ThreadPoolExecutor(args.workers) as pool:
        extra = {"causal_infogan": [f"causal_infogan.state_dim={args.state_dim}", *args.set],
                 "infogan": [f"infogan.continuous={args.state_dim}"]}
        runs = list(pool.map(lambda job: train_one(out, job[0], job[1], args.steps, extra[job[0]]), jobs))
    task = tasks(args.plans)
    rows = [score(run, m, task, args.frames) for run, (m, _) in zip(runs, jobs)]
    keys = ["feasible", "on_target", "feasible_on_target", "crossing", "legible"]
    lines = [f"rooms, {args.steps} steps; {args.plans} start/goal pairs in different rooms, {args.frames} steps a plan; "
             f"a frame is legible at RMS < {LEGIBLE:.3f} from its nearest scene; ends located by the nearest drawing "
             f"(the authors' projection) or by Q's mean; the straight path between them, or (Causal InfoGAN) a graph search "
             f"of its planning model with edges judged by its discriminator", "",
             "| model | ends, path | seed | feasible | on target | feasible and on target | crosses the wall | legible frames |",
             "|---|---|---|---|---|---|---|---|"]
    for variant, how in HOW.items():
        for name in MODELS:
            mine = [r for r in rows if r["model"] == name and variant in r]
            if not mine:
                continue
            lines += [f"| {LABELS[name]} | {how} | {r['seed']} | " + " | ".join(f"{r[variant][k]:.3f}" for k in keys) + " |"
                      for r in mine]
            lines.append(f"| {LABELS[name]}, mean ± sd | {how} | — | " + " | ".join(
                f"{np.mean([r[variant][k] for r in mine]):.3f} ± {np.std([r[variant][k] for r in mine]):.3f}"
                for k in keys) + " |")
    for name, r in known_rows(task, args.frames).items():
        lines.append(f"| {name} | — | — | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    mine = [r for r in rows if r["model"] == "causal_infogan"]
    lines += ["", "Causal InfoGAN's own transitions (2,000 prior draws, noise 0), read back: the share of G's pairs that are "
              "feasible moves, that move at all, and of next states drawn as the same cell in both places:", "",
              "| seed | pairs feasible | pairs moving | s' drawn as one cell |", "|---|---|---|---|"]
    lines += [f"| {r['seed']} | {r['pairs_feasible']:.3f} | {r['pairs_moving']:.3f} | {r['same_cell']:.3f} |" for r in mine]
    text = "\n".join(lines)
    (out / "table.md").write_text(text + "\n")
    print(text)
    first = {m: run for run, (m, s) in zip(runs, jobs) if s == seeds[0]}
    figure(first, task, args.frames, Path(args.figure))
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
