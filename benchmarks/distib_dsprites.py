"""DisTIB (Dang et al. 2024) on dSprites with shape as the label (issue 27, item 5), beside the plain variational
information bottleneck on the same nets (``distib.objective=vib``), over seeds.  Three questions, all on the
held-out scenes (``data/split.py``: the fifth of dSprites the label never supervised):

1. **Prediction**: does the label-related code A predict the label as well as the supervised baseline?
   The model's own classifier q(y | mu_A).
2. **Exclusion**: does the sample-specific code Z carry no more of the label than a probe finds in noise?
   An MLP probe (sklearn, 64 hidden, the same split of 4,000 / 1,000 scenes) on mu_Z, on mu_A, and on Gaussian
   noise of Z's width (the probe's floor: chance plus what it overfits).
3. **Swapping**: decode (a of a base scene, z of a source scene) and read the image with the dataset's factor
   predictor (the report's readout, trained on rendered scenes): the share whose shape is read as the base's
   ("label kept", divided by the readout's own accuracy on the rendered base scenes), and how the decoded
   position follows the source (Pearson r of the readout's posX / posY with the source's, and with the base's).

    OMP_NUM_THREADS=1 python benchmarks/distib_dsprites.py --seeds 0,1,2 --out runs/distib --workers 2

Variants: ``distib`` (the paper's objective, w_y = w_rec = 1), ``distib_w50`` (the label term weighted 50),
``vib`` (Alemi et al. 2017 on A, the same nets); all at β (``--beta``, 0.01), Adam ``--lr`` 1e-3, batch 64.

Each run is a normal run directory (``disentangle train``): rerunning skips what is done, a killed run resumes.
Writes ``OUT/table.md`` and a figure of swaps per variant (``--figure`` + ``_VARIANT.png``, the first seed).
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
from sklearn.neural_network import MLPClassifier

from disentanglement.data import Split
from disentanglement.runs import load_trained
from disentanglement.viz.factor_predictor import load_or_train

# the paper's objective (w_y = w_rec = 1), the same with the label weighted up, the plain VIB on the same nets
VARIANTS = {"distib": [], "distib_w50": ["distib.label_weight=50"], "vib": ["distib.objective=vib"]}
SCENES, PROBE_TRAIN, PAIRS = 5000, 4000, 1000


def train_one(out: Path, variant: str, seed: int, steps: int, lr: float, beta: float) -> Path:
    run = out / f"{variant}_s{seed}"
    if (run / "config.yaml").exists():
        args = ["train", "--resume", str(run), "--steps", str(steps)]
    else:
        args = ["train", "--model", "distib", "--dataset", "dsprites", "--steps", str(steps), "--seed", str(seed),
                "--out", str(run), "--set", f"lr={lr}", "--set", f"distib.beta={beta}", "--set", "checkpoint_every=500"]
        args += [x for s in VARIANTS[variant] for x in ("--set", s)]
    subprocess.run([sys.executable, "-m", "disentanglement", *args, "--no-report", "--no-progress"], check=True)
    return run


def probe(features: np.ndarray, labels: np.ndarray, seed: int) -> float:
    """Held-out accuracy of an MLP probe trained on the first PROBE_TRAIN rows."""
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=600, random_state=seed)
    clf.fit(features[:PROBE_TRAIN], labels[:PROBE_TRAIN])
    return float(clf.score(features[PROBE_TRAIN:], labels[PROBE_TRAIN:]))


@torch.no_grad()
def score(run: Path, predictor) -> dict:
    done = run / "distib_scores.json"
    if done.exists():
        return json.loads(done.read_text())
    config, dataset, model, step = load_trained(run)
    p, k = model.params, model.label_column
    test = Split(dataset, "test")
    rng = np.random.default_rng(0)
    f = test.sample_factors(SCENES, rng)                                         # (N, K) held-out scenes
    x = torch.from_numpy(dataset.images(f, rng))
    mu = torch.cat([model.encode(x[i:i + 500])[0] for i in range(0, len(x), 500)]).float().numpy()   # (N, C1+C2)
    y = f[:, k]
    predicted = torch.cat([model.predict(x[i:i + 500]) for i in range(0, len(x), 500)]).numpy()
    noise = np.random.default_rng(1).standard_normal((SCENES, p.sample_dim))
    out = {"run": run.name, "variant": run.name.rsplit("_s", 1)[0], "seed": config.seed, "step": step,
           "accuracy": float((predicted == y).mean()),
           "probe_a": probe(mu[:, :p.label_dim], y, 0), "probe_z": probe(mu[:, p.label_dim:], y, 0),
           "probe_noise": probe(noise, y, 0), "chance": float(np.bincount(y).max() / len(y))}
    # swaps: (a of base, z of source) for PAIRS pairs of different scenes
    base, source = mu[:PAIRS], mu[PAIRS:2 * PAIRS]
    mixed = np.concatenate([base[:, :p.label_dim], source[:, p.label_dim:]], 1)
    images = model.decode(torch.from_numpy(mixed)).float()
    read = predictor.classes(images).numpy()                                     # (PAIRS, K)
    rendered = predictor.classes(x[:PAIRS]).numpy()
    ceiling = float((rendered[:, k] == f[:PAIRS, k]).mean())
    out["label_kept"] = float((read[:, k] == f[:PAIRS, k]).mean()) / ceiling
    out["label_from_source"] = float((read[:, k] == f[PAIRS:2 * PAIRS, k]).mean()) / ceiling
    names = list(dataset.factor_names)
    for factor in ("posX", "posY"):
        j = names.index(factor)
        out[f"{factor}_r_source"] = float(np.corrcoef(read[:, j], f[PAIRS:2 * PAIRS, j])[0, 1])
        out[f"{factor}_r_base"] = float(np.corrcoef(read[:, j], f[:PAIRS, j])[0, 1])
    done.write_text(json.dumps(out, indent=2))
    return out


@torch.no_grad()
def figure(run: Path, path: Path, n: int = 6) -> None:
    """Rows: base scenes; columns: sources; each cell decode(a of the row's base, z of the column's source)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    _, dataset, model, _ = load_trained(run)
    rng = np.random.default_rng(3)
    f = Split(dataset, "test").sample_factors(n, rng)
    x = torch.from_numpy(dataset.images(f, rng))
    mu = model.encode(x)[0].float()
    c1 = model.params.label_dim
    fig, axes = plt.subplots(n + 1, n + 1, figsize=(1.3 * (n + 1), 1.3 * (n + 1)))
    for ax in axes.flat:
        ax.axis("off")
    for j in range(n):
        axes[0, j + 1].imshow(x[j, 0], cmap="gray", vmin=0, vmax=1)
        axes[0, j + 1].set_title("z from", fontsize=7)
    for i in range(n):
        axes[i + 1, 0].imshow(x[i, 0], cmap="gray", vmin=0, vmax=1)
        axes[i + 1, 0].set_title("a from", fontsize=7)
        points = torch.cat([mu[i:i + 1, :c1].repeat(n, 1), mu[:, c1:]], 1)
        for j, img in enumerate(model.decode(points).float()):
            axes[i + 1, j + 1].imshow(img[0], cmap="gray", vmin=0, vmax=1)
    fig.suptitle(f"DisTIB swaps ({run.name}): a row's label code with a column's sample code", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--beta", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="runs/distib")
    parser.add_argument("--figure", default="docs/distib_swaps.png")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(v, int(s)) for v in args.variants.split(",") for s in args.seeds.split(",")]
    with ThreadPoolExecutor(args.workers) as pool:
        runs = list(pool.map(lambda job: train_one(out, job[0], job[1], args.steps, args.lr, args.beta), jobs))
    _, dataset, _, _ = load_trained(runs[0])
    predictor, accuracy = load_or_train(dataset)
    rows = [score(run, predictor) for run in runs]
    keys = ["accuracy", "probe_a", "probe_z", "probe_noise", "label_kept", "label_from_source",
            "posX_r_source", "posX_r_base", "posY_r_source", "posY_r_base"]
    lines = [f"dSprites, label shape; {args.steps} steps, lr {args.lr}, β {args.beta}; held-out scenes ({SCENES:,}; probes "
             f"{PROBE_TRAIN:,} / {SCENES - PROBE_TRAIN:,}; {PAIRS:,} swaps); readout accuracy per factor "
             + ", ".join(f"{a:.2f}" for a in accuracy) + ".", "",
             "| variant | seed | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    lines += [f"| {r['variant']} | {r['seed']} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |" for r in rows]
    lines += ["", "| variant | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for variant in dict.fromkeys(r["variant"] for r in rows):
        vals = [[r[k] for r in rows if r["variant"] == variant] for k in keys]
        lines.append(f"| {variant} | " + " | ".join(f"{np.mean(v):.3f} ± {np.std(v):.3f}" for v in vals) + " |")
    text = "\n".join(lines)
    (out / "table.md").write_text(text + "\n")
    print(text)
    first = {}
    for job, run in zip(jobs, runs):
        first.setdefault(job[0], run)
    for variant, run in first.items():          # one figure per variant, its first seed
        path = Path(args.figure).with_name(f"{Path(args.figure).stem}_{variant}.png")
        figure(run, path)
        print(f"figure: {path}")


if __name__ == "__main__":
    main()
