"""DR-GAN (Tran et al. 2017) on the generated identities in poses (issue 26, item 4): is f(x) pose-invariant, and
does G redraw an identity in a new pose?  Everything on the held-out scenes (``data/split.py``), over seeds.

1. **Identification across poses** (the paper's protocol in miniature: a frontal gallery, probes in every other
   pose): the gallery is each identity at pose 0° (the middle pose) and the middle position, encoded by f; every
   held-out scene in another pose is a probe, identified by the gallery's nearest neighbour in cosine similarity.
   Rank-1 accuracy per pose, beside the same protocol on raw pixels and on their first 64 principal components
   (fitted on training scenes) — what a representation that ignores pose must beat.
2. **Pose transfer**: each held-out scene redrawn in a random other pose, G(f(x), c, z = 0), read by the dataset's
   factor predictor (the report's readout, trained on rendered scenes): the share read as x's identity (divided by
   the readout's own identity accuracy on the rendered scenes) and the share read in the target pose (divided by
   its pose accuracy).

    OMP_NUM_THREADS=1 python benchmarks/dr_gan_identities.py --seeds 0,1,2 --out runs/dr_gan --workers 2

Each run is a normal run directory (``disentangle train``): rerunning skips what is done, a killed run resumes.
Writes ``OUT/table.md`` and ``--figure`` (pose transfers of the first seed).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from disentanglement.data import Split
from disentanglement.runs import load_trained
from disentanglement.viz.factor_predictor import load_or_train

PROBES, PREDICTOR_STEPS = 2000, 3000
MIN_READOUT = 0.5                   # the readout's own accuracy below which its reading of a drawing means nothing


def train_one(out: Path, seed: int, steps: int) -> Path:
    run = out / f"dr_gan_s{seed}"
    if (run / "config.yaml").exists():
        args = ["train", "--resume", str(run), "--steps", str(steps)]
    else:
        args = ["train", "--model", "dr_gan", "--dataset", "identities", "--steps", str(steps), "--seed", str(seed),
                "--out", str(run), "--set", "checkpoint_every=500"]
    subprocess.run([sys.executable, "-m", "disentanglement", *args, "--no-report", "--no-progress"], check=True)
    return run


def rank1(gallery: np.ndarray, probes: np.ndarray, probe_identity: np.ndarray) -> np.ndarray:
    """(G, D) gallery rows (row i = identity i), (N, D) probes -> (N,) bool: nearest gallery row by cosine is right."""
    g = gallery / np.linalg.norm(gallery, axis=1, keepdims=True).clip(1e-12)
    p = probes / np.linalg.norm(probes, axis=1, keepdims=True).clip(1e-12)
    return (p @ g.T).argmax(1) == probe_identity


def encode(fn, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([fn(x[i:i + 500]) for i in range(0, len(x), 500)]).float().numpy()


def identification(dataset, represent) -> dict:
    """Rank-1 per pose of ``represent`` (images (N, C, H, W) tensor -> (N, D) array) on the held-out probes."""
    poses, middle = dataset.factor_sizes[1], dataset.factor_sizes[1] // 2
    gallery_f = np.array([[i, middle, 1, 1] for i in range(dataset.factor_sizes[0])])
    test = Split(dataset, "test")
    probe_f = test.dataset.index_to_factors(test.index)
    probe_f = probe_f[probe_f[:, 1] != middle]
    probe_f = probe_f[np.random.default_rng(0).permutation(len(probe_f))[:PROBES]]
    gallery, probes = (represent(torch.from_numpy(dataset.images(f))) for f in (gallery_f, probe_f))
    right = rank1(gallery, probes, probe_f[:, 0])
    out = {f"rank1.pose{p}": float(right[probe_f[:, 1] == p].mean()) for p in range(poses) if p != middle}
    out["rank1"] = float(right.mean())
    out["rank1.extreme"] = float(right[(probe_f[:, 1] == 0) | (probe_f[:, 1] == poses - 1)].mean())
    return out


def pixel_baselines(dataset) -> dict:
    """The identification protocol on raw pixels and on 64 principal components of training scenes."""
    train = Split(dataset, "train")
    fit = dataset.images(train.sample_factors(3000, np.random.default_rng(0))).reshape(3000, -1)
    mean = fit.mean(0)
    components = np.linalg.svd(fit - mean, full_matrices=False)[2][:64]                     # (64, pixels)
    pixels = identification(dataset, lambda x: x.flatten(1).numpy())
    pca = identification(dataset, lambda x: (x.flatten(1).numpy() - mean) @ components.T)
    return {"pixels": pixels, "pca64": pca}


@torch.no_grad()
def transfer(run: Path, predictor) -> dict:
    _, dataset, model, _ = load_trained(run)
    test = Split(dataset, "test")
    rng = np.random.default_rng(1)
    f = test.sample_factors(PROBES, rng)
    x = torch.from_numpy(dataset.images(f))
    target = (f[:, 1] + rng.integers(1, dataset.factor_sizes[1], len(f))) % dataset.factor_sizes[1]   # another pose
    points = torch.cat([model.anchors(x[i:i + 500]) for i in range(0, len(x), 500)])
    p = model.params
    points[:, p.feature_dim:p.feature_dim + model.poses] = torch.nn.functional.one_hot(
        torch.from_numpy(target), model.poses).float()
    drawn = torch.cat([model.decode(points[i:i + 500]) for i in range(0, len(points), 500)])
    read = predictor.classes(drawn).numpy()
    rendered = predictor.classes(x).numpy()
    ceiling_identity = float((rendered[:, 0] == f[:, 0]).mean())
    ceiling_pose = float((rendered[:, 1] == f[:, 1]).mean())
    # a readout that cannot tell the factor itself (below MIN_READOUT) gives no ratio: NaN, not a large number
    return {"identity_kept": float((read[:, 0] == f[:, 0]).mean()) / ceiling_identity
            if ceiling_identity >= MIN_READOUT else float("nan"),
            "pose_changed": float((read[:, 1] == target).mean()) / ceiling_pose if ceiling_pose >= MIN_READOUT
            else float("nan"),
            "readout_identity": ceiling_identity, "readout_pose": ceiling_pose}


def score(run: Path, predictor) -> dict:
    done = run / "dr_gan_scores.json"
    if done.exists():
        return json.loads(done.read_text())
    config, dataset, model, step = load_trained(run)
    out = {"run": run.name, "seed": config.seed, "step": step,
           **identification(dataset, lambda x: encode(model.features, x)), **transfer(run, predictor)}
    done.write_text(json.dumps(out, indent=2))
    return out


@torch.no_grad()
def figure(run: Path, path: Path, n: int = 6) -> None:
    """Rows: held-out scenes; columns: the scene, then G's drawing of it in each of the poses."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    _, dataset, model, _ = load_trained(run)
    rng = np.random.default_rng(3)
    f = Split(dataset, "test").sample_factors(n, rng)
    x = torch.from_numpy(dataset.images(f))
    axis = model.axes(x)[0]                                                       # the pose axis
    drawn = model.traverse(model.anchors(x), axis)                               # (n, N_p, C, H, W)
    fig, axes = plt.subplots(n, model.poses + 1, figsize=(1.1 * (model.poses + 1), 1.15 * n))
    for i in range(n):
        axes[i, 0].imshow(x[i, 0], cmap="gray", vmin=0, vmax=1)
        for j in range(model.poses):
            axes[i, j + 1].imshow(drawn[i, j, 0], cmap="gray", vmin=0, vmax=1)
    for ax in axes.flat:
        ax.axis("off")
    axes[0, 0].set_title("scene", fontsize=7)
    for j in range(model.poses):
        axes[0, j + 1].set_title(f"pose {j}", fontsize=7)
    fig.suptitle(f"DR-GAN pose transfers ({run.name}, held-out scenes)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="runs/dr_gan")
    parser.add_argument("--figure", default="docs/dr_gan_pose_transfer.png")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    with ThreadPoolExecutor(args.workers) as pool:
        runs = list(pool.map(lambda s: train_one(out, s, args.steps), seeds))
    _, dataset, _, _ = load_trained(runs[0])
    predictor, accuracy = load_or_train(dataset, steps=PREDICTOR_STEPS)
    rows = [score(run, predictor) for run in runs]
    base = pixel_baselines(dataset)
    keys = ["rank1", "rank1.extreme", "identity_kept", "pose_changed"]
    lines = [f"identities, {args.steps} steps; {PROBES:,} held-out probes in the 8 non-frontal poses; readout "
             f"({PREDICTOR_STEPS} steps) accuracy per factor " + ", ".join(f"{a:.2f}" for a in accuracy) + ".", "",
             "| representation | seed | rank-1 (all poses) | rank-1 (±80°) | identity kept | pose changed |",
             "|---|---|---|---|---|---|"]
    lines += [f"| DR-GAN f(x) | {r['seed']} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |" for r in rows]
    lines.append("| DR-GAN f(x), mean ± sd | — | " + " | ".join(
        f"{np.mean([r[k] for r in rows]):.3f} ± {np.std([r[k] for r in rows]):.3f}" for k in keys) + " |")
    for name, r in base.items():
        lines.append(f"| {name} | — | {r['rank1']:.3f} | {r['rank1.extreme']:.3f} | — | — |")
    per_pose = sorted(k for k in rows[0] if k.startswith("rank1.pose"))
    lines += ["", "Rank-1 per probe pose (DR-GAN mean over seeds; pixels):", "",
              "| | " + " | ".join(k.split(".")[1] for k in per_pose) + " |", "|---" * (len(per_pose) + 1) + "|",
              "| DR-GAN f(x) | " + " | ".join(f"{np.mean([r[k] for r in rows]):.3f}" for k in per_pose) + " |",
              "| pixels | " + " | ".join(f"{base['pixels'][k]:.3f}" for k in per_pose) + " |"]
    text = "\n".join(lines)
    (out / "table.md").write_text(text + "\n")
    print(text)
    figure(runs[0], Path(args.figure))
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
