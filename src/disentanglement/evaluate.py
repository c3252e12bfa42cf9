"""Score representations: a run directory (`disentangle evaluate`) or codes from any framework
(`disentangle score FILE.npz`).  Both print a table; the first writes ``metrics.json``."""
from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import metrics as M
from . import viz
from .data import Split
from .errors import UserError
from .metrics.vector_wise import vector_wise_dci, vector_wise_mig
from .runs import Run, atomic_write_text, load_trained


def mean_encoder(model, device, batch: int | None = None, workers: int | None = None):
    """images (n, C, H, W) -> the model's representation (n, D) numpy: a VAE's encoder means (the
    study's choice), an InfoGAN's Q-head code — whatever ``model.representation`` returns.

    The network always sees ``batch`` rows (a short last slice is padded with zeros), in inference
    mode, so a row's code does not depend on the other rows of the call: the metrics' encoder cache,
    which encodes each factor combination once, gives the numbers of encoding every draw.  On a CPU
    each slice runs on one torch thread, ``workers`` slices at a time (default: torch's thread
    count, which is 1 while a call runs): the codes then do not depend on the number of cores
    either.  Default batch: 32 on a CPU, 2048 elsewhere.  Measured on conv64, one core: ~7,000
    images/s in slices of 32, ~2,500 in slices of 512-4096 (their activations land in fresh pages
    each time); two threads sharing one slice wait at every layer, ~200 images/s when another
    process holds a core."""
    device = torch.device(device)
    on_cpu = device.type == "cpu"
    batch = batch or (32 if on_cpu else 2048)
    workers = workers or (torch.get_num_threads() if on_cpu else 1)

    def encode_slice(rows: torch.Tensor) -> torch.Tensor:  # (n <= batch, C, H, W) -> (n, D)
        n = len(rows)
        if n < batch:
            rows = torch.cat([rows, rows.new_zeros((batch - n, *rows.shape[1:]))])  # (batch, C, H, W)
        with torch.inference_mode():  # thread-local: set in each worker
            return model.representation(rows.to(device))[:n]

    def encode(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(images))  # (n, C, H, W)
        slices = [x[i:i + batch] for i in range(0, len(x), batch)]
        if not on_cpu:
            return torch.cat([encode_slice(s) for s in slices]).float().cpu().numpy()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if workers == 1 or len(slices) == 1:
                out = [encode_slice(s) for s in slices]
            else:
                with ThreadPoolExecutor(workers) as pool:  # torch releases the GIL inside each layer
                    out = list(pool.map(encode_slice, slices))
        finally:
            torch.set_num_threads(threads)
        return torch.cat(out).float().numpy()
    return encode


CONCEPT_METRICS = M.names("concepts")      # need concept labels (pendulum, flow): MIC / TIC of each concept's block
MODEL_METRICS = M.names("model")           # need the model, not only codes (opt-in); computed below
SAMPLED_MIG_MAX = 2_000_000   # grid points whose posteriors mig_sampled holds (dSprites: 737,280)
# fix one factor and redraw the rest (or the reverse): their scenes leave a held-out split
ONE_FACTOR_AT_A_TIME = tuple(n for n, m in M.REGISTRY.items() if m.one_factor_at_a_time)


def parse_metrics(names: str | None) -> list[str] | None:
    """A comma-separated subset of the metrics, or None for the default: the study's suite (and the concept
    metrics where the dataset has concepts)."""
    if not names:
        return None
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    known = tuple(M.REGISTRY)
    unknown = [n for n in chosen if n not in known]
    if unknown or not chosen:
        raise UserError(f"unknown metric {unknown[0] if unknown else names!r}; choose from: {', '.join(known)}")
    return chosen


def fitting_metrics(dataset, names: list[str], dataset_name: str) -> tuple[list[str], dict[str, str]]:
    """(the metrics of ``names`` that ``dataset`` can feed, {each other one: why not, one line}): a folder of images
    without factors feeds only the metrics of the codes alone; one whose factors are not a full grid, none that
    renders combinations of its own choosing."""
    skipped = {}
    for name in names:
        metric = M.REGISTRY[name]
        if not dataset.has_factors and metric.uses_factors:
            skipped[name] = (f"needs factors; {dataset_name} has none (give the folder an attributes.csv: file name, "
                             f"then integer columns)")
        elif not dataset.complete and metric.needs_grid:
            skipped[name] = (f"renders factor combinations of its own choosing; {dataset_name}'s attribute table has "
                             f"images for {dataset.present:,} of its {len(dataset):,} combinations")
    return [n for n in names if n not in skipped], skipped


def concept_scores(dataset, encode, *, random_state: int = 0, num: int = 1000) -> dict:
    """MIC / TIC (metrics.mic) between each concept's latent block and the concept's true value, on ``num``
    scenes drawn without replacement (RandomState(random_state)) — from the held-out scenes when ``dataset``
    is a ``Split``; D split evenly into the C concepts' blocks in order, as CausalVAE's latent is laid out (a
    VAE's latents are taken in the same blocks).  Adds ``mic.block_mean`` / ``tic.block_mean``: each block
    averaged into one code first (``reduce="mean"``, as a CausalVAE-derived evaluation script does)."""
    rs = np.random.RandomState(random_state)
    scenes = dataset.index if isinstance(dataset, Split) else np.arange(len(dataset))    # (n,) flat indices
    index = np.sort(scenes[rs.choice(len(scenes), size=min(num, len(scenes)), replace=False)])
    factors = dataset.index_to_factors(index)
    codes = np.asarray(encode(dataset.images(factors)))
    concepts = np.asarray(dataset.concepts(factors), dtype=np.float64)
    if codes.shape[1] % concepts.shape[1]:
        raise UserError(f"mic splits the {codes.shape[1]} code dimensions into the dataset's {concepts.shape[1]} "
                        f"concepts: train with a latent size that is a multiple of {concepts.shape[1]}")
    averaged = M.mic(codes, concepts, reduce="mean")
    return {**M.mic(codes, concepts), "mic.block_mean": averaged["mic"], "tic.block_mean": averaged["tic"]}


def sampled_mig_scores(dataset, model, device, *, seed: int = 0, progress: bool = True, batch: int = 512) -> dict:
    """Chen et al.'s sampled MIG (metrics.mig_sampled) of the model's posterior over every factor combination; on
    dSprites not conditioned on the shape, as they do."""
    n = int(np.prod(dataset.factor_sizes))
    mus, logvars = [], []
    with torch.inference_mode():
        for start in tqdm(range(0, n, batch), desc="mig_sampled: encoding the grid", disable=not progress, unit="batch"):
            factors = dataset.index_to_factors(np.arange(start, min(start + batch, n)))
            mu, logvar = model.encode(torch.from_numpy(dataset.images(factors)).to(device))
            mus.append(mu.float().cpu())
            logvars.append(logvar.float().cpu())
    names = list(dataset.factor_names)
    condition = [k for k, name in enumerate(names) if not ("dsprites" in dataset.name and name == "shape")]
    result = M.mig_sampled(torch.cat(mus).numpy(), torch.cat(logvars).numpy(), dataset.factor_sizes,
                           condition=condition, seed=seed, device=device, progress=progress)
    return {"mig_sampled": result["mig_sampled"],
            **{f"mig_sampled.{names[k]}": result[f"mig_sampled.{k}"] for k in condition}}


PROTOCOLS = ("standard", "vector_wise")


def vector_wise_scores(dataset, encode, groups, *, random_state: int = 0, num_train: int = 10000,
                       num_test: int = 5000) -> dict:
    """FDAE's vector-wise MIG and DCI (metrics.vector_wise) on the study's train / test codes: the same
    ``num_train`` then ``num_test`` draws from RandomState(random_state) as the standard suite's."""
    rs = np.random.RandomState(random_state)
    codes, factors = M.sample_codes(dataset, encode, num_train, random_state=rs)
    test = M.sample_codes(dataset, encode, num_test, random_state=rs)
    return {**vector_wise_mig(codes, factors, groups=groups), **vector_wise_dci(codes, factors, *test, groups=groups)}


def evaluate_run(path: str | Path, *, metrics: list[str] | None = None, random_state: int = 0,
                 device: str = "cpu", progress: bool = True, protocol: str = "standard") -> dict:
    """Run the study's metric suite on a trained run; write and return ``metrics.json``'s content.

    ``protocol="vector_wise"`` adds FDAE's group-wise MIG and DCI (``vector_wise.*``) for a representation
    made of groups (``Backbone.representation_groups``); the standard per-dimension scores stay."""
    if protocol not in PROTOCOLS:
        raise UserError(f"unknown protocol {protocol!r}; choose one of: {', '.join(PROTOCOLS)}")
    config, dataset, model, step = load_trained(path, device)
    groups = model.representation_groups
    if protocol == "vector_wise" and not groups:
        raise UserError(f"the vector-wise protocol scores a representation made of groups (FDAE's concept codes: "
                        f"--model diffusion_ae --set diffusion_ae.conditioning=fdae); {config.model}'s is scored per "
                        f"dimension, by the standard protocol")
    has_concepts = hasattr(dataset, "concepts")
    names = metrics or [n for n, m in M.REGISTRY.items() if m.default and (has_concepts or m.needs != "concepts")]
    names, skipped = fitting_metrics(dataset, names, config.dataset)
    if not names:
        raise UserError(f"none of the metrics asked for can score {config.dataset}: "
                        f"{'; '.join(f'{n} {why}' for n, why in skipped.items())}")
    if not has_concepts and set(names) & set(CONCEPT_METRICS):
        raise UserError(f"{', '.join(sorted(set(names) & set(CONCEPT_METRICS)))} needs a dataset with concept labels "
                        f"(pendulum, flow, shadows); {config.dataset} has none")
    if "intervention" in names:   # before anything is computed or written: a one-line refusal
        if not hasattr(dataset, "do"):
            raise UserError(f"intervention needs a dataset with a causal graph and a renderer that takes concept "
                            f"values (pendulum, flow, shadows); {config.dataset} has none")
        try:
            with torch.no_grad():
                probe = torch.from_numpy(dataset.sample(8, np.random.default_rng(0))[0]).to(device)
                viz.intervention_axes(model, probe, dataset.concept_names)
        except ValueError as err:
            raise UserError(f"{path}: {err}") from None
    if "mig_sampled" in names:
        grid = int(np.prod(dataset.factor_sizes))
        if not callable(getattr(model, "encode", None)):
            raise UserError(f"mig_sampled estimates entropies of a Gaussian posterior q(z|x); {config.model} has none: "
                            f"use mig")
        if model.supervised:
            raise UserError(f"mig_sampled samples the whole factor grid, which includes the scenes whose labels "
                            f"trained {config.model}; use mig (scored on the held-out scenes)")
        if grid > SAMPLED_MIG_MAX:
            raise UserError(f"mig_sampled encodes every factor combination: {config.dataset} has {grid:,}, more than "
                            f"{SAMPLED_MIG_MAX:,}; use mig (the histogram estimator on sampled codes)")
    if model.supervised:          # labels supervised the training: score on the held-out scenes only
        dataset = Split(dataset, "test")
        leaving = [n for n in names if n in ONE_FACTOR_AT_A_TIME]
        if metrics and leaving:
            raise UserError(f"{', '.join(leaving)} vary one factor at a time from drawn scenes, which leaves the "
                            f"held-out split {config.model} must be scored on; choose among the others")
        names = [n for n in names if n not in ONE_FACTOR_AT_A_TIME]
    scored_on = (f"held-out scenes ({len(dataset.index)} of {len(dataset.dataset)}; {config.model} was trained on "
                 f"the others' labels)" if isinstance(dataset, Split) else
                 dataset.describe())
    start = time.perf_counter()
    encode = mean_encoder(model, device)
    suite = [n for n in names if n in M.METRICS or n in M.EXTRA_METRICS]
    encode = M.cached_encoder(dataset, encode, progress=progress,     # shared by the suite and vector_wise_scores
                              expected=M.planned_images(suite, dataset_sizes=list(dataset.factor_sizes)))
    try:
        scores = (M.evaluate(dataset, encode, random_state=random_state, metrics=suite, progress=progress)
                  if suite else {})
    except ValueError as err:  # the metrics' one-line input checks (e.g. a factor too small for downstream)
        raise UserError(f"{path}: {err}") from None
    if "mic" in names:
        scores.update(concept_scores(dataset, encode, random_state=random_state))
    if protocol == "vector_wise":
        scores.update(vector_wise_scores(dataset, encode, groups, random_state=random_state))
    aligned = {}
    if "interchange" in names:   # the report's factor predictor (trained once, user cache) reads the decoded images
        whole = dataset.dataset if isinstance(dataset, Split) else dataset       # trained on every scene
        predictor, _ = viz.load_or_train(whole, device=device)
        with torch.no_grad():
            result = viz.model_interchange_accuracy(model, dataset, predictor.classes, seed=random_state)
        aligned = {k: v for k, v in result.items() if k.endswith(".block")}     # which block each factor got
        scores.update({k: v for k, v in result.items() if k not in aligned})
    if "mig_sampled" in names:
        scores.update(sampled_mig_scores(dataset, model, device, seed=random_state, progress=progress))
    effect = {}
    if "intervention" in names:   # do(concept i) read by a concept readout, against the true graph
        readout, _ = viz.concept_readout(dataset, device=device)
        result = viz.model_intervention_effects(model, dataset, readout.readout, seed=random_state)
        scores["intervention.consistency"] = result["intervention.consistency"]
        effect = {"intervention_effect": {"concepts": list(result["concepts"]),
                                          "effect": np.round(result["intervention.effect"], 4).tolist(),
                                          "true_effect": np.round(result["truth"], 4).tolist(),
                                          "noise_floor": np.round(result["floor"], 4).tolist()}}
    record = {"metrics": scores, "random_state": random_state, "requested": names, "protocol": protocol, "step": step,
              "scored_on": scored_on, **({"skipped": skipped} if skipped else {}), **({"interchange_blocks": aligned} if aligned else {}), **effect,
              "representation": model.representation_name, "settings": "disentanglement_lib study defaults",
              "seconds": round(time.perf_counter() - start, 2)}
    atomic_write_text(Run(path).metrics_path, json.dumps(record, indent=2) + "\n")
    return record


FILE_METRICS = M.names("codes", "split")        # what a file of codes can be scored by
def score_file(path: str | Path, metrics: list[str] | None = None) -> dict:
    """Score ``codes`` / ``factors`` (and optional ``codes_test`` / ``factors_test``) from an .npz file."""
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except (ValueError, OSError) as err:
        raise UserError(f"{path} is not a readable .npz file ({err})") from None
    missing = [k for k in ("codes", "factors") if k not in data.files]
    if missing:
        raise UserError(f"{path} lacks {', '.join(missing)}; save it with np.savez(path, codes=(N, D) floats, "
                        f"factors=(N, K) integers[, codes_test=..., factors_test=...]); it has: {', '.join(data.files)}")
    has_test = "codes_test" in data.files and "factors_test" in data.files
    split = set(M.names("split"))
    names = [m for m in (metrics or M.names("codes", "split", default=True)) if m in FILE_METRICS]
    if metrics and (set(metrics) - set(names)):
        raise UserError(f"{', '.join(sorted(set(metrics) - set(names)))} need a dataset to sample from; "
                        f"from a file choose among: {', '.join(FILE_METRICS)}")
    if metrics and not has_test and set(names) & split:
        raise UserError(f"{', '.join(sorted(set(names) & split))} need codes_test and factors_test in {path}")
    codes, factors = data["codes"], data["factors"]
    out: dict = {}
    try:
        for name in names:
            if name not in split:
                out.update(M.REGISTRY[name].compute(codes, factors))
            elif has_test:
                out.update(M.REGISTRY[name].compute(codes, factors, data["codes_test"], data["factors_test"]))
    except ValueError as err:  # the metrics' one-line input checks
        raise UserError(f"{path}: {err}") from None
    return out


def table(scores: dict) -> str:
    width = max(map(len, scores), default=0)
    return "\n".join(f"{k:<{width}}  {v:.4f}" if isinstance(v, float) else f"{k:<{width}}  {v}"
                     for k, v in scores.items())
