"""The training loop: plain PyTorch, atomic checkpoints, exact resume, a progress bar.

Every source of randomness is a generator owned by the loop — numpy's for the
data, a torch ``Generator`` for the reparameterisation noise — and all of them
are in each checkpoint, so on CPU a run killed at any moment and resumed ends
with weights bit-identical to an uninterrupted run with the same seed — in fp32 (``fast=false``) and,
on the same machine and thread count, on the bf16 fast path too (tests/test_train.py).
"""
from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from typing import Callable, Iterable

from .config import Config, check_run
from .data import BatchStream, Correlated, HeldOut, Split, pair_sampler, open_dataset, parse_correlations, parse_holdout
from .errors import UserError
from .models import Backbone, Batch, Phase, build_model
from .runs import Run
from .speed import is_compile_error, restore, snapshot
from .speed import resolve as resolve_speed

# called after each checkpoint with (model in eval mode, dataset, step, TensorBoard writer or None)
CheckpointHook = Callable[[Backbone, object, int, object], None]


@dataclass
class Result:
    run: Run
    step: int
    logs: dict[str, float]
    seconds: float


def resumable_checkpoint(run: Run, config: Config) -> dict | None:
    """The run's checkpoint to continue from (None: a fresh start); one-line refusals for a pretrained model's
    weights (no optimiser state) and for a run already past ``config.steps``."""
    state = run.load_checkpoint()
    if state is not None and state.get("pretrained"):
        raise UserError(f"{run.path} holds the pretrained model {state['pretrained']!r}: weights without optimiser "
                        f"state, for evaluate and report; to train, start a new run (its card.yaml has the command)")
    if state is not None and state["step"] > config.steps:
        raise UserError(f"{run.path} is already at step {state['step']} > steps={config.steps}; "
                        f"pass --steps {state['step']} or more")
    return state


def diverged(run: Run, key: str, value: float, step: int) -> UserError:
    """The one-line error of a run whose logged ``key`` turned non-finite at ``step``."""
    kept = (f"the last checkpoint ({run.checkpoint_path}) is kept" if run.checkpoint_path.exists()
            else "no checkpoint was written")
    return UserError(f"training diverged: {key} is {value} at step {step}; {kept} — lower lr and train again")


def pick_device(name: str | None) -> torch.device:
    if name is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"unknown device {name!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name}: CUDA is not available on this machine; use --device cpu")
    return device


def make_optimizers(phases: list[Phase], config: Config, foreach: bool | None = None) -> dict[str, torch.optim.Optimizer]:
    """One optimiser per phase: the phase's own, or Adam with the run's ``lr`` and betas."""
    def default(params):
        return torch.optim.Adam(params, lr=config.lr, betas=(config.adam_beta1, config.adam_beta2), foreach=foreach)
    return {ph.name: (ph.optimizer or default)(ph.parameters) for ph in phases}


def say(line: str) -> None:
    print(f"disentangle: {line}", file=sys.stderr)


def train(config: Config, out: str | Path, *, device: str | None = None, progress: bool = True,
          tensorboard: bool = True, hooks: Iterable[CheckpointHook] = ()) -> Result:
    """Train ``config`` into the run directory ``out``, continuing from its checkpoint if it has one.

    Writes TensorBoard scalars every ``log_every`` steps under ``tensorboard/`` (``tensorboard``) and
    calls each of ``hooks`` after every checkpoint (the command line adds a traversal image to
    TensorBoard that way; figures and the report are later stages: ``viz``, ``report``).  None of these
    draws random numbers.  ``config.fast`` chooses the arithmetic (``speed.py``); the batches are rendered
    ahead in a thread (``BatchStream``), with the pairs the model asks for (``Backbone.pairs``).
    """
    dev = pick_device(device)
    dataset = open_dataset(config.dataset, config.dataset_path, config.image_size)   # a bad data file fails before anything is written
    speed = resolve_speed(config, dev)
    torch.manual_seed(config.seed)                      # weight initialisation
    model = build_model(config, dataset)
    source = training_source(config, dataset, model)    # refuses a model the dataset's factors cannot feed,
    render = device_renderer(config, source, dev)       # and data_on_device a dataset that cannot render there
    run = Run(out)                                      # (None: the stream's thread renders), before anything is written
    run.create(config)
    state = resumable_checkpoint(run, config)  # on the CPU; load_state_dict moves it
    for note in [*dataset.notes, *check_run(config), *speed.notes]:
        say(note)
    model = model.to(dev)
    try:
        pairs = pair_sampler(dataset, model.pairs)
    except ValueError as err:
        raise UserError(f"--model {config.model} on {config.dataset}: {err}") from None
    phases = model.phases()                             # the optimiser steps of one training step, in order
    opts = make_optimizers(phases, config, speed.foreach)
    rng = np.random.default_rng(config.seed)            # data: drawn by the BatchStream's thread from here on
    noise = torch.Generator(device=dev).manual_seed(config.seed)  # eps, permutations, GAN codes
    step = 0
    if state is not None:
        model.load_state_dict(state["model"])
        for name, opt in opts.items():
            opt.load_state_dict(state["optimizers"][name])
        rng.bit_generator.state = state["rng"]["numpy"]
        noise.set_state(state["rng"]["torch"])
        step = state["step"]
        run.truncate_log(step)
    speed.prepare(model)
    data_state = copy.deepcopy(rng.bit_generator.state)  # the data generator after the last batch consumed

    writer = None
    if tensorboard:
        from torch.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(str(run.path / "tensorboard"), purge_step=step + 1 if step else None)

    def checkpoint():
        run.save_checkpoint({
            "step": step, "model": model.state_dict(),
            "optimizers": {name: opt.state_dict() for name, opt in opts.items()},
            "rng": {"numpy": data_state, "torch": noise.get_state()},
            "config": config.to_dict(),
        })

    def one_step(x: torch.Tensor, factors: torch.Tensor, drawn) -> dict:
        batch, out = Batch(x, step, noise, factors), {}
        if drawn.factors2 is not None:
            batch.factors2 = torch.from_numpy(drawn.factors2).to(dev)
            batch.x2 = speed.batch(images_on(drawn.images2, batch.factors2, render, dev))
        for phase in phases:
            if phase.active is not None and not phase.active(step):
                continue
            with speed.context(dev):
                loss, phase_logs = phase.loss(batch)
            opt = opts[phase.name]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if phase.clip_norm is not None:
                torch.nn.utils.clip_grad_norm_(phase.parameters, phase.clip_norm)
            if phase.lr is not None:
                for group in opt.param_groups:
                    group["lr"] = phase.lr(step)
            opt.step()
            out.update(phase_logs)
        return out

    bar = tqdm(total=config.steps, initial=step, disable=not progress, desc=f"{config.model} on {config.dataset}",
               unit="step", dynamic_ncols=True, file=sys.stderr)
    if progress and step < config.steps:
        bar.write(f"disentangle: {config.model} on {dev.type}: {speed.describe()}", file=sys.stderr)
    logs: dict[str, float] = {}
    start, start_step = time.perf_counter(), step
    model.train()
    with BatchStream(source, config.batch_size, rng, pairs=pairs, render=render is None) as stream:
        while step < config.steps:
            drawn = next(stream)
            factors = torch.from_numpy(drawn.factors).to(dev)                       # (B, K)
            x = speed.batch(images_on(drawn.images, factors, render, dev))          # (B, C, H, W)
            if speed.compile and step == start_step:      # the first call compiles: fall back if it cannot
                before = snapshot(model, opts, noise)
                try:
                    out = one_step(x, factors, drawn)
                except Exception as err:
                    if not is_compile_error(err):
                        raise
                    restore(before, model, opts, noise)
                    speed = speed.eager(model, f"{type(err).__name__}: {str(err).splitlines()[0][:120]}")
                    bar.write(f"disentangle: {speed.notes[-1]}", file=sys.stderr)
                    out = one_step(x, factors, drawn)
            else:
                out = one_step(x, factors, drawn)
            data_state = drawn.rng_state
            step += 1
            bar.update(1)
            at_checkpoint = step % config.checkpoint_every == 0 or step == config.steps
            if (at_checkpoint or step % config.log_every == 0) and not all(
                    torch.isfinite(v.detach()).all() for v in out.values()):
                bad = next(k for k, v in out.items() if not torch.isfinite(v.detach()).all())
                raise diverged(run, bad, float(out[bad].detach().float().mean()), step)
            if step % config.log_every == 0 or step == config.steps:
                logs = {k: float(v.detach()) for k, v in out.items()}
                run.append_log({"step": step, **logs, "time": round(time.perf_counter() - start, 3)})
                bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items()}, refresh=False)
                if writer is not None:
                    for k, v in logs.items():
                        writer.add_scalar(f"train/{k}", v, step)
            if at_checkpoint:
                checkpoint()
                if hooks:
                    model.eval()
                    with torch.no_grad():
                        for hook in hooks:
                            hook(model, dataset, step, writer)
                    model.train()
    bar.close()
    if writer is not None:
        writer.close()
    seconds = time.perf_counter() - start
    speed.uncompile(model)
    if not logs:  # nothing left to train: report the last logged values
        logs = {k: v for k, v in (run.read_log() or [{}])[-1].items() if k not in ("step", "time")}
    return Result(run=run, step=step, logs=logs, seconds=seconds if step > start_step else 0.0)


def device_renderer(config: Config, source, dev: torch.device):
    """The dataset's renderer on ``dev`` where ``data_on_device`` asks for one (refused in one line where the
    dataset has none); None: batches are rendered in the stream's thread and copied."""
    if not config.data_on_device:
        return None
    render = source.torch_renderer(dev)
    if render is None:
        raise UserError(f"data_on_device: {config.dataset} cannot render its images on the device (dsprites can); "
                        "drop --set data_on_device=true")
    return render


def images_on(images, factors: torch.Tensor, render, dev: torch.device) -> torch.Tensor:
    """A batch on ``dev`` (B, C, H, W): rendered there from its (B, K) factors (already on ``dev``), or the
    stream thread's images copied."""
    if render is not None:
        return render(factors)
    return torch.from_numpy(images).to(dev, non_blocking=True)


def training_source(config: Config, dataset, model: Backbone):
    """What the batches are drawn from: a model that reads labels sees only the train split's scenes (evaluate
    scores it on the held-out ones); with ``correlations`` the factors are drawn correlated, with ``holdout`` some
    combinations never (data/correlated.py; evaluate scores the whole dataset).  Labels and pairs need a grid of
    known factors: a folder of images without attributes, or whose attributes are not a full grid, is refused."""
    if model.supervised or model.pairs is not None:
        why = "has no factors" if not dataset.has_factors else \
            "" if dataset.complete else "has factors that are not a full grid (combinations without an image)"
        if why:
            need = "labelled scenes of a held-in split" if model.supervised else "pairs that differ in k factors"
            raise UserError(f"--model {config.model} trains on {need}; {config.dataset} {why}: choose an "
                            f"unsupervised model (e.g. beta_tcvae)")
    for key in ("correlations", "holdout"):
        if getattr(config, key) and model.pairs is not None:
            raise UserError(f"{key}: --model {config.model} trains on pairs, whose second image would be drawn from "
                            f"the whole grid; pairs on a reshaped distribution are not supported — drop {key}")
    source = Split(dataset, "train") if model.supervised else dataset
    if config.correlations:
        source = Correlated(source, parse_correlations(config.correlations, dataset.factor_names))
    if config.holdout:                                   # outermost: a held-out combination is redrawn
        source = HeldOut(source, parse_holdout(config.holdout, dataset.factor_names))
    return source


def summary(result: Result, config: Config, report: Path | None = None) -> str:
    """The one-line summary printed at the end of `disentangle train`."""
    values = " ".join(f"{k} {v:.4g}" for k, v in result.logs.items())
    figure = f", report {report}" if report else ""
    return (f"{config.model} on {config.dataset}: step {result.step}/{config.steps} in {result.seconds:.0f}s | "
            f"{values} | run {result.run.path}{figure}")
