"""CausalVAE against β-VAE on the generated Pendulum (issue 12, 22): MIC / TIC between each concept's latent
block and the true concept on the held-out scenes, and the learned graph against the true one (structural
Hamming distance), with A learned from zero and with the true graph as its start — beside Yang et al. 2021's
Pendulum and Flow numbers.

    OMP_NUM_THREADS=1 python benchmarks/causal_pendulum.py --seeds 0,1,2 --out runs/causal22

Without --steps each run trains CausalVAE's default length on the dataset: the official code's 101 epochs of its
5,482 training scenes in batches of 64 = 8,686 steps on Pendulum (10,302 on Flow).  CausalVAE trains on the
authors' train split and every score here is on their held-out scenes (`evaluate` says so); β-VAE, which never
sees a label, is scored on the same held-out scenes for the MIC / TIC comparison.  MIC / TIC are given per
dimension (each dimension of a concept's block against the concept, averaged) and block-averaged (each block
averaged into one code first, as the derived script does; `metrics.mic(..., reduce="mean")`); the intervention
consistency and do()'s own effect (viz/intervention.py, models with do() only) and the interchange accuracy of the
two angles (viz/interchange.py), on the same held-out scenes.  ``--check-readouts`` trains nothing: it says what
the two readouts read (held-out accuracy) and scores the dataset's own renderer under its true causal model as the
decoder (its effect matrix, net of the readout's floor, and its intervention consistency: 1 when the readout sees
what moves, 0.5 when it sees nothing).  Each run is a
normal run directory (`disentangle train`, `evaluate`, `report`): rerunning skips what is done, and a killed
run resumes.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from disentanglement.config import make_config
from disentanglement.data import Split, open_dataset
from disentanglement.evaluate import concept_scores, mean_encoder
from disentanglement import viz
from disentanglement.runs import Run, load_trained
from disentanglement.viz.intervention import consistency, renderer_effects

# MIC / TIC in % (means; the table gives ± standard errors), Yang et al. 2021's MIC / TIC table, read from its image
# as reproduced in a course review (DSAILatKAIST/awesome-reviews-kaist, commit d857bbb,
# .gitbook/2022-spring-assets/panyu_2/results_all.png): second-hand, the paper itself was not readable here
PUBLISHED = {"pendulum": {"CausalVAE": (95.1, 81.6), "β-VAE": (22.6, 12.5)},
             "flow": {"CausalVAE": (72.1, 56.4), "β-VAE": (23.6, 12.5)}}
RUNS = {  # key -> (label, --model, settings)
    "causal_zero": ("CausalVAE, A from zero", "causal_vae", []),
    "causal_authors": ("CausalVAE, A from the authors' start", "causal_vae", ["causal_vae.init_authors=true"]),
    "causal_discovered": ("CausalVAE, A from the graph discovered in the labels", "causal_vae",
                          ["causal_vae.init_discovered=true"]),
    "causal_true": ("CausalVAE, A from the true graph", "causal_vae", ["causal_vae.init_graph=true"]),
    "beta_vae": ("β-VAE β = 4 (16 latents)", "beta_vae", ["vae.latent_dim=16", "penalty.beta=4"]),
}


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "disentanglement", *args], check=True)


def shd(learned: np.ndarray, true: np.ndarray, threshold: float) -> int:
    """Structural Hamming distance: edges to add, delete or reverse to turn the graph of |learned| > threshold
    into the true graph; a reversed edge counts once."""
    a = (np.abs(learned) > threshold).astype(int)
    np.fill_diagonal(a, 0)
    b = (np.asarray(true) != 0).astype(int)
    diff = np.abs(a - b)
    reversed_ = (a == 1) & (b.T == 1) & (b == 0)                  # j -> i learned where i -> j is true
    return int(diff.sum() - reversed_.sum())


def held_out_scores(run: Path) -> tuple[dict, object]:
    """MIC / TIC, interchange accuracy and (a model with do()) intervention consistency on the authors' held-out
    scenes (whatever the model), and the trained model."""
    _, dataset, net, _ = load_trained(run)
    test = Split(dataset, "test")
    scores = concept_scores(test, mean_encoder(net, "cpu"))
    with torch.no_grad():
        predictor, _ = viz.load_or_train(dataset)
        scores["interchange"] = viz.model_interchange_accuracy(net, test, predictor.classes)["interchange"]
        try:
            readout, _ = viz.concept_readout(dataset)
            effects = viz.model_intervention_effects(net, test, readout.readout)
            scores.update({k: effects[k] for k in ("intervention.consistency", "intervention.own")})
        except ValueError:                      # no do() (beta-VAE): not defined
            pass
    return scores, net


def check_readouts(name: str, anchors: int = 64, steps: int = 7) -> None:
    """The readouts' held-out accuracy, and the renderer as the decoder: its effect matrix and consistency."""
    dataset = open_dataset(name)
    np.set_printoptions(precision=2, suppress=True)
    predictor, factor_accuracy = viz.load_or_train(dataset)
    readout, concept_accuracy = viz.concept_readout(dataset)
    print(f"{name}: factor predictor, exact class on fresh scenes:",
          {k: round(a, 3) for k, a in zip(dataset.factor_names, factor_accuracy)})
    print(f"{name}: concept readout, exact bin of 20 on independently drawn concepts:",
          {k: round(a, 3) for k, a in zip(dataset.concept_names, concept_accuracy)})
    factors = Split(dataset, "test").sample_factors(anchors, np.random.default_rng(0))
    values = np.asarray(dataset.concepts(factors), dtype=np.float64)
    with torch.no_grad():
        _, net, floor = renderer_effects(dataset, values, readout.readout, steps)
    print("floor (share of each concept's range):", floor)
    print("renderer's effect matrix net of the floor, do(row) -> concept read (column):", *dataset.concept_names)
    print(net)
    print("renderer's intervention consistency:", round(consistency(net, dataset.adjacency), 3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="default: CausalVAE's length on the dataset")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--dataset", default="pendulum")
    parser.add_argument("--threshold", type=float, default=0.3, help="|A| above this is an edge")
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--out", default="runs/causal22")
    parser.add_argument("--check-readouts", action="store_true", help="the readouts and the renderer only")
    args = parser.parse_args()
    if args.check_readouts:
        return check_readouts(args.dataset)
    steps = args.steps or make_config({"model": "causal_vae", "dataset": args.dataset}).steps
    rows = []
    for key in args.runs.split(","):
        label, model, sets = RUNS[key]
        for seed in map(int, args.seeds.split(",")):
            run = Path(args.out) / f"{key}_seed{seed}"
            state = Run(run).load_checkpoint() if (run / "checkpoint.pt").exists() else None
            if state is None or state["step"] < steps:                     # new, or killed: resumes
                cli("train", "--model", model, "--dataset", args.dataset, "--steps", str(steps), "--seed", str(seed),
                    "--out", str(run), "--no-progress", "--no-report", *[a for s in sets for a in ("--set", s)])
            metrics, net = held_out_scores(run)
            graph = net.graph()
            distance = shd(graph[0], graph[1], args.threshold) if graph is not None else None
            rows.append((label, seed, metrics, distance, None if graph is None else np.round(graph[0], 2).tolist()))
            print(label, seed, {k: round(v, 3) for k, v in metrics.items() if isinstance(v, float)}, "SHD", distance,
                  "A", rows[-1][-1], flush=True)
    print(f"\n{args.dataset}, {steps} steps, held-out scenes; SHD counts edges |A| > {args.threshold:g}\n")
    print("| model | seed | MIC % | TIC % | MIC % (block mean) | TIC % (block mean) | SHD | intervention consistency "
          "| do() own effect | interchange (factors, jointly) |\n|---|---|---|---|---|---|---|---|---|---|")

    def cell(m, key, fmt="{:.2f}"):
        return fmt.format(m[key]) if key in m else "—"
    for label, seed, m, distance, _ in rows:
        print(f"| {label} | {seed} | {100 * m['mic']:.1f} | {100 * m['tic']:.1f} | {100 * m['mic.block_mean']:.1f} | "
              f"{100 * m['tic.block_mean']:.1f} | {'—' if distance is None else distance} | "
              f"{cell(m, 'intervention.consistency')} | {cell(m, 'intervention.own')} | {cell(m, 'interchange', '{:.3f}')} |")
    for label, (mic, tic) in PUBLISHED.get(args.dataset.removesuffix("64"), {}).items():
        print(f"| {label} (published) | — | {mic} | {tic} | — | — | — | — | — | — |")
    (Path(args.out) / f"causal_{args.dataset}.json").write_text(json.dumps(
        {"steps": steps, "threshold": args.threshold, "torch_threads": torch.get_num_threads(),
         "rows": [{"run": r[0], "seed": r[1], "metrics": r[2], "shd": r[3], "learned_A": r[4]} for r in rows]},
        indent=2) + "\n")


if __name__ == "__main__":
    main()
