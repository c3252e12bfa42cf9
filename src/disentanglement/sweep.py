"""Studies: many runs from one study file, on this machine (a process pool) or on a Ray cluster.

A study file (YAML) names the methods with their hyper-parameter grids, the seeds, datasets, steps and
metrics (``studies/small.yaml``, ``studies/locatello2019.yaml``)::

    name: small
    datasets: [squares]            # or dataset: squares
    dataset_paths: {}              # the user's file of each dataset read from one, e.g. {shapes3d: /data/3dshapes.h5}
    steps: 300
    seeds: [0, 1]
    metrics: [mig, dci]
    settings: {lr: 0.001}          # training settings shared by every run
    report: false                  # write each run's report.html (trains a factor predictor per dataset)
    methods:
      beta_vae:                    # a name of your choice
        model: beta_vae            # --model
        set: {vae.latent_dim: 4}   # fixed settings (--set)
        grid: {penalty.beta: [1, 4]}
        combine: product           # product (default) | zip

Every (method, grid point, dataset, seed) is a normal run directory under ``sweeps/NAME/runs/`` — trained,
evaluated and (optionally) reported by the same code as ``disentangle train / evaluate / report``.  Rerunning
the command skips finished runs and resumes interrupted ones from their checkpoints; a run that fails (an
exception, a NaN loss, a killed worker) is recorded in its ``status.json`` and the sweep goes on.  Every
config is built and checked before anything starts, so a typo fails in one line, not after an hour.
"""
from __future__ import annotations

import itertools
import json
import math
import re
import socket
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Optional

from tqdm.auto import tqdm

from .config import Config, load_yaml, make_config
from .errors import UserError
from .evaluate import evaluate_run
from .report import write_report
from .runs import Run, atomic_write_text
from .pack import group, train_packs
from .train import pick_device, train

STUDY_KEYS = ("name", "dataset", "datasets", "dataset_paths", "steps", "seeds", "metrics", "settings", "methods", "report")
METHOD_KEYS = ("model", "set", "grid", "combine")
# runs per pack on a GPU: the launch-bound study nets need many per launch. One H200 (BENCHMARKS.md, Packs):
# images/s x2.05 a solo run's at K = 4, x7.0 at 16, x15.3 at 64 — a study's wall time falls with K up to 64
DEFAULT_PACK = 64


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: its name (the run directory's), method, grid point and config."""

    name: str
    method: str
    point: dict
    config: Config
    metrics: Optional[list[str]]
    report: bool

    def task(self, root: Path, evaluate: bool = True) -> dict:
        """What a worker needs (plain values: it crosses process boundaries)."""
        return {"name": self.name, "dir": str(root / "runs" / self.name), "config": self.config.to_dict(),
                "metrics": self.metrics, "report": self.report, "cache": str(root / "cache"), "evaluate": evaluate}


@dataclass
class Study:
    name: str
    runs: list[RunSpec] = field(default_factory=list)


def _label(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def _points(method: str, grid: dict, combine: str) -> list[dict]:
    if not isinstance(grid, dict):
        raise UserError(f"methods.{method}.grid must map settings to lists of values, got {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"methods.{method}.grid.{key} is an empty grid: give a non-empty list of values")
    keys = list(grid)
    if combine == "product":
        return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))] if keys else [{}]
    if combine == "zip":
        lengths = {len(grid[k]) for k in keys}
        if len(lengths) > 1:
            raise UserError(f"methods.{method}: combine: zip needs lists of one length, got {sorted(lengths)}")
        return [dict(zip(keys, combo)) for combo in zip(*(grid[k] for k in keys))] if keys else [{}]
    raise UserError(f"methods.{method}.combine must be product or zip, got {combine!r}")


def load_study(path: str | Path) -> Study:
    """Read and expand a study file; every run's config is built (and so checked) here."""
    data = load_yaml(path)
    unknown = sorted(set(data) - set(STUDY_KEYS))
    if unknown:
        raise UserError(f"{path}: unknown study key {unknown[0]!r}; valid: {', '.join(STUDY_KEYS)}")
    methods = data.get("methods") or {}
    if not isinstance(methods, dict) or not methods:
        raise UserError(f"{path}: no methods: add `methods:` with at least one method (see studies/small.yaml)")
    datasets = data.get("datasets") or ([data["dataset"]] if "dataset" in data else ["dsprites"])
    paths = data.get("dataset_paths") or {}
    if not isinstance(paths, dict) or set(paths) - set(datasets):
        raise UserError(f"{path}: dataset_paths must map datasets of the study to files, e.g. "
                        f"{{shapes3d: /data/3dshapes.h5}}; got {paths!r} for datasets {datasets}")
    seeds = data.get("seeds", [0])
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seeds:
        raise UserError(f"{path}: seeds is empty: give a list (e.g. [0, 1]) or a count")
    settings = dict(data.get("settings") or {})
    if "steps" in data:
        settings["steps"] = data["steps"]
    metrics = data.get("metrics")
    study = Study(str(data.get("name") or Path(path).stem))
    seen: dict[str, str] = {}
    for method, spec in methods.items():
        spec = spec or {}
        bad = sorted(set(spec) - set(METHOD_KEYS))
        if bad:
            raise UserError(f"{path}: unknown key methods.{method}.{bad[0]}; valid: {', '.join(METHOD_KEYS)}")
        fixed = [f"{k}={_label(v)}" for k, v in (spec.get("set") or {}).items()]
        for point in _points(method, spec.get("grid") or {}, spec.get("combine", "product")):
            for dataset in datasets:
                for seed in seeds:
                    values = {**settings, "model": spec.get("model", method), "dataset": dataset, "seed": seed,
                              "dataset_path": paths.get(dataset)}
                    overrides = fixed + [f"{k}={_label(v)}" for k, v in point.items()]
                    try:
                        config = make_config(values, overrides)
                    except UserError as err:
                        raise UserError(f"{path}: methods.{method}: {err}") from None
                    tag = "_".join(f"{k.split('.')[-1]}{_label(v)}" for k, v in point.items())
                    name = re.sub(r"[^A-Za-z0-9_.=,-]+", "-", "_".join(
                        p for p in (method, tag, dataset if len(datasets) > 1 else "", f"seed{seed}") if p))
                    if name in seen:
                        raise UserError(f"{path}: two runs would share the directory {name!r} ({seen[name]} and "
                                        f"{method}): make the method names or grids distinct")
                    seen[name] = method
                    study.runs.append(RunSpec(name, method, point, config, metrics, bool(data.get("report", False))))
    return study


# ---- one run, in a worker ------------------------------------------------------------------------------
def run_task(task: dict) -> dict:
    """Train (resuming), evaluate and report one run; never raises: failures come back as records."""
    import torch

    torch.set_num_threads(1)                     # a worker per core
    start = time.perf_counter()
    record = {"name": task["name"], "status": "done", "resumed": False, "error": None}
    try:
        config = make_config(task["config"])
        if _needs_training(task, config, record):
            train(config, task["dir"], progress=False, tensorboard=False)
        record["status"] = _complete(task)
    except BaseException as err:  # recorded, and the sweep goes on
        _failed(record, err)
    return _record(task, record, start)


def run_pack_task(tasks: list[dict]) -> list[dict]:
    """Train the runs of one pack together (pack.py), then evaluate and report each; never raises."""
    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    records = [{"name": t["name"], "status": "done", "resumed": False, "error": None} for t in tasks]
    configs, errors = [], {}
    for i, t in enumerate(tasks):
        try:
            configs.append(make_config(t["config"]))
        except BaseException as err:
            configs.append(None)
            errors[i] = err
    todo = []
    for i in range(len(tasks)):
        try:
            if i not in errors and _needs_training(tasks[i], configs[i], records[i]):
                todo.append(i)
        except BaseException as err:   # a damaged checkpoint
            errors[i] = err
    notes: list[str] = []            # what the pack said (a split, a loop, a smaller K): kept in each status.json
    try:
        results = train_packs([configs[i] for i in todo], [tasks[i]["dir"] for i in todo], max(1, len(todo)),
                              progress=False, tensorboard=False, say=notes.append)
        errors.update({i: r for i, r in zip(todo, results) if isinstance(r, BaseException)})
    except BaseException as err:
        errors.update({i: err for i in todo})
    for i, t in enumerate(tasks):
        records[i].update({"pack": [u["name"] for u in tasks], "notes": notes} if len(tasks) > 1 else {})
        try:
            if i in errors:
                raise errors[i]
            records[i]["status"] = _complete(t)
        except BaseException as err:
            _failed(records[i], err)
        _record(t, records[i], start)
    return records


def _needs_training(task: dict, config: Config, record: dict) -> bool:
    state = Run(task["dir"]).load_checkpoint()
    record["resumed"] = state is not None and state["step"] < config.steps
    return state is None or state["step"] < config.steps


def _complete(task: dict) -> str:
    """After training: refuse a non-finite last loss, evaluate, and (if asked) report; the run's status —
    "trained" under ``--train-only`` (the next sweep without it evaluates the run), else "done"."""
    path = Path(task["dir"])
    run = Run(path)
    last = (run.read_log() or [{}])[-1]
    bad = [k for k, v in last.items() if isinstance(v, float) and not math.isfinite(v)]
    if bad:
        raise FloatingPointError(f"{bad[0]} is {last[bad[0]]} at step {last.get('step')}")
    if not task.get("evaluate", True):
        return "trained"
    if not run.metrics_path.exists():
        # the codes on the training device (a GPU encodes a dataset in seconds); the metrics on the CPU as always
        evaluate_run(path, metrics=task["metrics"], progress=False, device=str(pick_device(None)))
    if task["report"] and not (path / "report.html").exists():
        write_report(path, progress=False, predictor_cache=Path(task["cache"]))
    return "done"


def _failed(record: dict, err: BaseException) -> None:
    record.update(status="failed", error=f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}",
                  traceback="".join(traceback.format_exception(err, limit=5)))


def _record(task: dict, record: dict, start: float) -> dict:
    record["seconds"] = round(time.perf_counter() - start, 2)
    path = Path(task["dir"])
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / "status.json", json.dumps(record, indent=2) + "\n")
    return record


def _finished(root: Path, spec: RunSpec) -> bool:
    status = root / "runs" / spec.name / "status.json"
    return status.exists() and json.loads(status.read_text()).get("status") == "done"


# ---- backends --------------------------------------------------------------------------------------------
def run_unit(tasks: list[dict]) -> list[dict]:
    """What a worker runs: one run alone, or a pack of runs trained together."""
    return [run_task(tasks[0])] if len(tasks) == 1 else run_pack_task(tasks)


def _local(units: list[list[dict]], workers: int, on_done: Callable[[dict], None]) -> None:
    """A process pool (spawned workers: no forked torch state); a killed worker fails its runs, not the sweep."""
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(run_unit, u): u for u in units}
        seen = set()
        try:
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, return_when=FIRST_COMPLETED)
                for f in done:
                    records = f.result()
                    seen.add(f)
                    for record in records:
                        on_done(record)
        except BrokenProcessPool:
            for f, unit in futures.items():
                if f in seen:
                    continue
                if f.done() and f.exception() is None:
                    for record in f.result():
                        on_done(record)
                    continue
                for t in unit:
                    record_failure(t, "worker killed (BrokenProcessPool); rerun the sweep to resume it")
                    on_done({"name": t["name"], "status": "failed", "error": "worker killed; rerun the sweep to resume it"})


def record_failure(task: dict, error: str) -> None:
    path = Path(task["dir"])
    path.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path / "status.json", json.dumps({"name": task["name"], "status": "failed", "error": error},
                                                       indent=2) + "\n")


def connect_ray(address: str):
    """Import Ray and join (or start, for "local") a cluster; one-line errors when it cannot be had."""
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'disentanglement[ray]' (or pip install ray)") from None
    if address not in ("local", "auto"):           # Ray itself waits minutes on an address nobody answers
        host, _, port = address.removeprefix("ray://").rpartition(":")
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=3).close()
        except (OSError, ValueError) as err:
            raise UserError(f"--ray {address}: nothing answers there ({err}); give HOST:PORT of a running Ray head "
                            "(`ray start --head` prints it), auto for the cluster on this machine, or no address "
                            "for a local Ray") from None
    try:
        ray.init(address=None if address == "local" else address, ignore_reinit_error=True, include_dashboard=False,
                 log_to_driver=False)
    except (ConnectionError, ValueError, RuntimeError) as err:
        raise UserError(f"--ray {address}: cannot reach a Ray cluster there ({str(err).splitlines()[0]}); "
                        "start one with `ray start --head`, or give no address for a local Ray") from None
    return ray


def _ray(ray, units: list[list[dict]], on_done: Callable[[dict], None]) -> None:
    """One Ray task per run (or pack), with a GPU each where the cluster has GPUs, else one CPU (Ray schedules them)."""
    gpus = ray.cluster_resources().get("GPU", 0)
    remote = ray.remote(num_gpus=1 if gpus else 0, num_cpus=0 if gpus else 1, max_retries=0)(run_unit)
    refs = {remote.remote(u): u for u in units}
    remaining = list(refs)
    while remaining:
        done, remaining = ray.wait(remaining, num_returns=1)
        for ref in done:
            try:
                records = ray.get(ref)
            except Exception as err:  # the worker died under the task
                records = []
                for t in refs[ref]:
                    record_failure(t, f"{type(err).__name__}: worker lost; rerun the sweep to resume it")
                    records.append({"name": t["name"], "status": "failed", "error": f"{type(err).__name__}: worker lost"})
            for record in records:
                on_done(record)


# ---- the command ---------------------------------------------------------------------------------------------
def sweep(study_path: str | Path, out: str | Path, *, workers: int = 1, ray: Optional[str] = None,
          progress: bool = True, pack: Optional[int] = None, evaluate: bool = True) -> dict:
    """Run every run of the study not yet done; return and write the summary (``out/summary.json``).

    ``evaluate`` False (``--train-only``): train every run and stop, its status "trained"; the same sweep run
    again with evaluation (say on a CPU machine, after training on a GPU one) evaluates and reports them.

    ``pack``: train up to this many compatible runs (same architecture, data and optimiser; any seed and
    penalty numbers) as one stacked model in one worker (pack.py); None: ``DEFAULT_PACK`` on CUDA, else 1.
    """
    study = load_study(study_path)
    if ray is None and workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    if pack is not None and pack < 1:
        raise UserError(f"--pack must be >= 1, got {pack}")
    if pack is None:
        import torch
        pack = DEFAULT_PACK if torch.cuda.is_available() else 1
    cluster = connect_ray(ray) if ray is not None else None
    root = Path(out)
    (root / "runs").mkdir(parents=True, exist_ok=True)
    atomic_write_text(root / "study.json", json.dumps(
        {"name": study.name, "file": str(study_path), "runs": [{"name": r.name, "method": r.method, "point": r.point}
                                                                for r in study.runs]}, indent=2) + "\n")
    todo = [r for r in study.runs if not _finished(root, r)]
    counts = {"done": 0, "failed": 0, "resumed": 0, "skipped": len(study.runs) - len(todo)}
    failures: list[dict] = []
    slots = len(todo) if ray is not None else workers
    bar = tqdm(total=len(study.runs), initial=counts["skipped"], desc=f"sweep {study.name}", unit="run",
               disable=not progress)
    bar.set_postfix(running=min(slots, len(todo)), failed=0)

    def on_done(record: dict) -> None:
        counts["failed" if record["status"] == "failed" else "done"] += 1
        counts["resumed"] += bool(record.get("resumed"))
        if record["status"] == "failed":
            failures.append({"name": record["name"], "error": record.get("error")})
        left = len(todo) - counts["done"] - counts["failed"]
        bar.update(1)
        bar.set_postfix(running=min(slots, left), failed=counts["failed"])

    tasks = [r.task(root, evaluate) for r in todo]
    units = [[tasks[i] for i in ids] for ids in group([r.config for r in todo], pack)]
    if pack > 1 and units:
        bar.write(f"sweep {study.name}: {len(todo)} runs in {len(units)} pack(s) of up to {pack} (runs pack together "
                  f"when they differ only in seed and penalty numbers)")
    if units:
        if cluster is not None:
            _ray(cluster, units, on_done)
        else:
            _local(units, workers, on_done)
    bar.close()
    summary = {"study": study.name, "runs": len(study.runs), "finished": counts["done"], "failed": counts["failed"],
               "resumed": counts["resumed"], "skipped_done": counts["skipped"], "failures": failures,
               "backend": f"ray {ray}" if ray is not None else f"local, {workers} worker(s)",
               "packs": len(units), "pack": pack, "evaluated": evaluate}
    atomic_write_text(root / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
