"""Packs: K runs of one architecture trained as one stacked model, in one process (issue 24, item 2).

A batch of 64 small convolutions leaves a GPU idle between kernel launches; K runs stacked along a model
axis give each launch K times the work.  The members of a pack are the runs of a sweep that share the
architecture, dataset, batch size, optimiser and length, and differ in seed and in the penalty's numbers
(β, γ, ...).  Each member keeps everything a solo run has — its seed's initial weights, data stream, noise
generator, hyper-parameters, Adam state, run directory, log and checkpoints in the solo format — so
``evaluate``, ``report``, ``aggregate`` and ``train --resume`` see ordinary runs, and a member's losses equal
its solo run's (tests/test_pack.py: to 1e-5 over 50 fp32 steps; resume of a pack is exact).

How (PyTorch's model-ensembling recipe, Horace He et al., ``torch.func``):

- the members' parameters are stacked, ``(K, *shape)``, as leaf tensors; every phase's loss runs once under
  ``vmap(functional_call(template, stacked, ...))``, so each layer is one batched kernel for all members;
  the summed loss's gradient is each member's own (the members share nothing);
- Adam is elementwise, so one Adam over the stacked tensors is K Adams (members therefore share the
  optimiser's settings: the pack key includes them);
- a hyper-parameter that differs between members (a number in a ``Params`` dataclass held by a module, e.g.
  ``penalty.beta``) enters the vmapped call as a (K,) tensor; a model that branches in Python on such a number
  cannot be vmapped, and its members are re-packed by seed alone (``PackError``);
- noise: inside the call, every draw from the batch's generator is taken from each member's own generator
  with the same arguments and each member reads its own (a ``TorchFunctionMode``), so the numbers are the
  solo run's.

As a loop (the default on a CPU, where batched convolutions are slower than K plain ones) the members keep
their own models and optimisers and each phase runs member after member: the solo loop's computation, bit for
bit, in one process.

Where a member's loss turns non-finite it stops alone (its last checkpoint kept, its error returned) and the
others go on.  On CPU a pack is about as fast as its runs one after another; the gain is on a GPU
(benchmarks/train_gpu.py --packs).
"""
from __future__ import annotations

import copy
import dataclasses
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from tqdm.auto import tqdm

from .config import Config
from .data import BatchStream, open_dataset, pair_sampler
from .errors import UserError
from .models import Backbone, Batch, Phase, build_model
from .params import Params
from .runs import Run
from .speed import resolve as resolve_speed
from .train import (Result, device_renderer, diverged, make_optimizers, pick_device, resumable_checkpoint,
                    training_source)

PER_MEMBER = ("seed", "correlations", "holdout")   # config keys that may differ freely between members (each has its own data)
MODES = ("auto", "vmap", "loop")                 # config keys that may differ freely between members


class PackError(RuntimeError):
    """The members cannot run as one stacked model (e.g. the model branches on a hyper-parameter that differs)."""


# ---- which runs pack together ----------------------------------------------------------------------------
def pack_key(config: Config, *, by_seed_only: bool = False) -> str:
    """Runs with equal keys can share a pack: everything but the seed, the data's correlations and (unless
    ``by_seed_only``) the penalty's numbers must agree."""
    values = config.to_dict()
    for k in PER_MEMBER:
        values.pop(k, None)
    if not by_seed_only and isinstance(values.get("penalty"), dict):
        values["penalty"] = {k: (v if isinstance(v, bool) or not isinstance(v, (int, float)) else "*")
                             for k, v in values["penalty"].items()}
    return repr(sorted(values.items()))


def group(configs: Sequence[Config], size: int, *, by_seed_only: bool = False) -> list[list[int]]:
    """Indices of ``configs`` in packs of at most ``size`` compatible members, in order of first appearance."""
    if size < 1:
        raise UserError(f"--pack must be >= 1, got {size}")
    keys: dict[str, list[int]] = {}
    for i, c in enumerate(configs):
        keys.setdefault(pack_key(c, by_seed_only=by_seed_only), []).append(i)
    return [ids[j:j + size] for ids in keys.values() for j in range(0, len(ids), size)]


# ---- noise: each member draws from its own generator -------------------------------------------------------
class _MemberNoise(TorchFunctionMode):
    """Within a vmapped call: a draw from ``sentinel`` is drawn from every member's generator with the same
    arguments, and member k reads the k-th (``index`` is the vmapped member number)."""

    def __init__(self, sentinel: torch.Generator, generators: list[torch.Generator], index: torch.Tensor):
        super().__init__()
        self.sentinel, self.generators, self.index = sentinel, generators, index

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if kwargs.get("generator") is not self.sentinel:
            return func(*args, **kwargs)
        draws = torch.stack([func(*args, **{**kwargs, "generator": g}) for g in self.generators])  # (K, ...)
        return torch.index_select(draws, 0, self.index.reshape(1)).squeeze(0)


# ---- hyper-parameters that differ between members -----------------------------------------------------------
def _varying(models: list[nn.Module]) -> dict[tuple[str, str, str], list]:
    """{(module path, attribute, field): [value of each member]} for the ``Params`` attributes whose numbers differ."""
    out: dict[tuple[str, str], list] = {}
    named = [dict(m.named_modules()) for m in models]
    for path, module in named[0].items():
        for attr, value in vars(module).items():
            if not isinstance(value, Params):
                continue
            others = [getattr(n[path], attr) for n in named]
            if all(o == value for o in others):
                continue
            for f in dataclasses.fields(value):
                vals = [getattr(o, f.name) for o in others]
                if all(v == vals[0] for v in vals):
                    continue
                if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in vals):
                    raise PackError(f"{path or 'model'}.{attr}.{f.name} differs and is not a number")
                out[(path, attr, f.name)] = vals
    return out


def _with_numbers(module: nn.Module, attr: str, numbers: dict[str, torch.Tensor]) -> Params:
    """A copy of ``module.attr`` (a frozen Params) with fields replaced by (vmapped) numbers, unvalidated."""
    old = getattr(module, attr)
    new = copy.copy(old)
    for name, value in numbers.items():
        object.__setattr__(new, name, value)
    return new


# ---- shared values between phases (a dataclass such as Posterior holds tensors) ---------------------------
def _split(obj) -> tuple[list[torch.Tensor], Callable[[list], Any]]:
    """obj -> (its tensors, rebuild(tensors) -> obj with them); dicts and dataclasses are walked."""
    if isinstance(obj, torch.Tensor):
        return [obj], lambda t: t[0]
    if isinstance(obj, dict) or dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = obj.items() if isinstance(obj, dict) else ((f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj))
        keys, parts = zip(*[(k, _split(v)) for k, v in items]) if obj else ((), ())
        counts = [len(p[0]) for p in parts]

        def rebuild(tensors):
            values, at = {}, 0
            for k, (_, fn), n in zip(keys, parts, counts):
                values[k] = fn(tensors[at:at + n])
                at += n
            return values if isinstance(obj, dict) else dataclasses.replace(obj, **values)
        return [t for p in parts for t in p[0]], rebuild
    return [], lambda t: obj


class _Call(nn.Module):
    """The template model's phase ``i`` as a module call, for ``functional_call`` under ``vmap``."""

    def __init__(self, model: Backbone, phases: list[Phase]):
        super().__init__()
        self.model, self.phases = model, phases

    def forward(self, i: int, batch: Batch, numbers: dict, noise: _MemberNoise):
        """(loss, logs) of phase ``i`` on ``batch``, with the varying hyper-parameters set to ``numbers``
        ({(module path, attribute): {field: (K,) values}}) and the members' noise."""
        modules = dict(self.model.named_modules())
        saved = {}
        for (path, attr), value in numbers.items():
            saved[(path, attr)] = getattr(modules[path], attr)
            object.__setattr__(modules[path], attr, _with_numbers(modules[path], attr, value))
        try:
            with noise:
                return self.phases[i].loss(batch)
        finally:
            for (path, attr), value in saved.items():
                object.__setattr__(modules[path], attr, value)


# ---- state: stacked <-> one state per member ---------------------------------------------------------------
def _slice_state(state, k: int):
    """An optimiser state dict of stacked tensors -> member k's (0-dim tensors, e.g. Adam's step, are shared)."""
    if isinstance(state, torch.Tensor):
        return state[k].clone() if state.dim() else state.clone()
    if isinstance(state, dict):
        return {key: _slice_state(v, k) for key, v in state.items()}
    if isinstance(state, list):
        return [_slice_state(v, k) for v in state]
    return copy.deepcopy(state)


def _stack_state(states: list):
    """Member optimiser state dicts -> one of stacked tensors (0-dim tensors must agree: Adam's step)."""
    first = states[0]
    if isinstance(first, torch.Tensor):
        if first.dim() == 0:
            if not all(torch.equal(s, first) for s in states):
                raise PackError("members' optimiser steps differ; they cannot share a pack")
            return first.clone()
        return torch.stack(states)
    if isinstance(first, dict):
        return {key: _stack_state([s[key] for s in states]) for key in first}
    if isinstance(first, list):
        return [_stack_state([s[i] for s in states]) for i in range(len(first))]
    return copy.deepcopy(first)


class Stack:
    """K models of one architecture trained together, one optimiser per phase and member.

    Vmapped (``vmapped``): the members' parameters stacked as leaf tensors (K, *shape), each phase one vmapped
    call over them, one optimiser per phase over the stacks.  As a loop: the members' own models and optimisers,
    each phase run member after member — the solo loop's very computation.

    ``models``: the members, built (and loaded) as their solo runs would be; ``config``: the run settings they
    share (the optimisers'); ``opt_states``: each member's optimiser state dicts (solo format) to resume from.
    ``step(...)`` trains every member one step; ``member_state(j)`` is member j's (model, optimisers) in the
    solo checkpoint's format; ``keep(positions)`` drops the others.
    """

    def __init__(self, models: list[Backbone], config: Config, device: torch.device, vmapped: bool,
                 opt_states: list[dict] | None = None):
        shapes = [{k: tuple(v.shape) for k, v in m.state_dict().items()} for m in models]
        if any(s != shapes[0] for s in shapes):
            raise PackError("the members' architectures differ")
        self.speed = resolve_speed(config, device)   # its arithmetic (bf16 autocast where it pays); standard layout
        self.config, self.device, self.vmapped = config, device, vmapped
        self.models = models
        self.member_phases = [m.phases() for m in models]
        self.member_opts = [make_optimizers(ph, config, self.speed.foreach) for ph in self.member_phases]
        hyper = [{n: dict(o.defaults) for n, o in opts.items()} for opts in self.member_opts]
        if any(h != hyper[0] for h in hyper):
            raise PackError("the members' optimiser settings differ")
        for m in models:
            m.train()
        if opt_states is not None:
            for opts, states in zip(self.member_opts, opt_states):
                for name, opt in opts.items():
                    opt.load_state_dict(states[name])
        if not vmapped:
            return
        self.varying = _varying(models)                  # {(path, attribute, field): [each member's number]}
        self.names = {id(p): n for n, p in self.template.named_parameters()}
        self.phases = self.member_phases[0]
        self.call = _Call(self.template, self.phases)
        self.sentinel = torch.Generator(device=device)
        self._restack([m.state_dict() for m in models], [{n: o.state_dict() for n, o in opts.items()}
                                                         for opts in self.member_opts] if opt_states else None)
        self.models, self.member_phases, self.member_opts = [self.template], [], []  # the template's weights are unused

    @property
    def template(self) -> Backbone:
        return self.models[0]

    def _restack(self, model_states: list[dict], opt_states: list[dict] | None) -> None:
        params = set(self.names.values())
        self.stacked = {name: torch.stack([s[name].to(self.device) for s in model_states]) for name in model_states[0]}
        for name in params:
            self.stacked[name].requires_grad_()
        self.index = torch.arange(len(model_states), device=self.device)
        phases = [Phase(ph.name, [self.stacked[self.names[id(p)]] for p in ph.parameters], ph.loss, ph.optimizer)
                  for ph in self.phases]
        self.opts = make_optimizers(phases, self.config, self.speed.foreach)
        if opt_states is not None:
            for name, opt in self.opts.items():
                opt.load_state_dict(_stack_state([s[name] for s in opt_states]))

    def member_state(self, j: int) -> tuple[dict, dict]:
        """Member j's (model state dict, {phase: optimiser state dict}), as its solo run would save them."""
        if not self.vmapped:
            return self.models[j].state_dict(), {n: o.state_dict() for n, o in self.member_opts[j].items()}
        return ({k: v[j].detach().clone() for k, v in self.stacked.items()},
                {n: _slice_state(o.state_dict(), j) for n, o in self.opts.items()})

    def keep(self, positions: list[int]) -> None:
        """Go on with the members at ``positions`` only (the others diverged)."""
        if not self.vmapped:
            self.models = [self.models[j] for j in positions]
            self.member_phases = [self.member_phases[j] for j in positions]
            self.member_opts = [self.member_opts[j] for j in positions]
            return
        states = [self.member_state(j) for j in positions]
        self.varying = {k: [v[j] for j in positions] for k, v in self.varying.items()}
        self._restack([m for m, _ in states], [o for _, o in states])

    def _numbers(self) -> dict:
        """The varying hyper-parameters {(path, attribute): {field: (K,) tensor}} for vmap."""
        out: dict = {}
        for (path, attr, name), vals in self.varying.items():
            out.setdefault((path, attr), {})[name] = torch.tensor(vals, dtype=torch.float32, device=self.device)
        return out

    def step(self, step: int, x: torch.Tensor, generators: list[torch.Generator], factors=None, x2=None,
             factors2=None) -> dict[str, torch.Tensor]:
        """One training step of every member: x (K, B, C, H, W) (and factors (K, B, F), pairs), each member's noise
        generator -> the phases' logs, (K,) each."""
        per = lambda t, j: None if t is None else t[j]                         # noqa: E731
        if not self.vmapped:   # member after member, each phase as the solo loop runs it
            logs: list[dict] = []
            for j, g in enumerate(generators):
                batch, out = Batch(x[j], step, g, per(factors, j), per(x2, j), per(factors2, j)), {}
                for phase in self.member_phases[j]:
                    with self.speed.context(self.device):
                        loss, phase_logs = phase.loss(batch)
                    self.member_opts[j][phase.name].zero_grad(set_to_none=True)
                    loss.backward()
                    self.member_opts[j][phase.name].step()
                    out.update({k: v.detach() for k, v in phase_logs.items()})
                logs.append(out)
            return {k: torch.stack([o[k] for o in logs]) for k in logs[0]}
        shared: tuple = ()
        rebuild: Callable = lambda t: {}                                       # noqa: E731
        out = {}
        for i, phase in enumerate(self.phases):
            with self.speed.context(self.device):
                loss, phase_logs, shared, rebuild = self._vmap_phase(i, step, generators, x, factors, x2, factors2,
                                                                     shared, rebuild)
            self.opts[phase.name].zero_grad(set_to_none=True)
            loss.sum().backward()
            self.opts[phase.name].step()
            out.update(phase_logs)
        return out

    def _vmap_phase(self, i, step, generators, x, factors, x2, factors2, shared, rebuild):
        """Phase ``i`` of every member in one vmapped call; what it leaves for the next phase comes back as
        tensors (``shared``) and a skeleton (``rebuild``)."""
        skeleton = {}

        def f(params, idx, x, factors, x2, factors2, shared_in, nums):
            batch = Batch(x, step, self.sentinel, factors, x2, factors2, rebuild(list(shared_in)))
            loss, logs = torch.func.functional_call(self.call, {f"model.{k}": v for k, v in params.items()},
                                                    (i, batch, nums, _MemberNoise(self.sentinel, generators, idx)))
            tensors, skeleton["rebuild"] = _split(batch.shared)
            return loss, logs, tuple(tensors)
        args = (self.stacked, self.index, x, factors, x2, factors2, shared, self._numbers())
        loss, logs, shared = torch.func.vmap(f, in_dims=tuple(None if a is None else 0 for a in args),
                                             randomness="same")(*args)
        return loss, {k: v.detach() for k, v in logs.items()}, shared, skeleton["rebuild"]


class _Member:
    """What one member owns besides its slice of the stacked tensors."""

    def __init__(self, config: Config, out: Path, device: torch.device):
        self.config, self.run = config, Run(out)
        self.rng = np.random.default_rng(config.seed)
        self.noise = torch.Generator(device=device).manual_seed(config.seed)
        self.data_state = None
        self.logs: dict[str, float] = {}
        self.error: Exception | None = None


def train_pack(configs: Sequence[Config], outs: Sequence[str | Path], *, device: str | None = None,
               progress: bool = True, tensorboard: bool = True, mode: str = "auto",
               say: Callable[[str], None] | None = None) -> list[Result | Exception]:
    """Train ``configs`` (one pack: see ``group``) into the run directories ``outs``, continuing from their
    checkpoints; return each member's ``Result``, or the ``UserError`` that stopped it (divergence).

    ``mode``: "vmap" runs each phase of all members as one vmapped call (one kernel per layer for the pack:
    the GPU's gain; equal to the solo runs up to float rounding), "loop" runs each member's phase on its
    slice of the stacked tensors (the solo run's kernels: bit for bit its numbers, and on a CPU its speed);
    "auto": vmap on CUDA, loop elsewhere.

    Raises ``PackError`` before the first step is taken when the members cannot be stacked (architectures,
    optimiser settings or checkpoint steps differ; under vmap, the model branches on a hyper-parameter that
    differs).
    """
    if mode not in MODES:
        raise UserError(f"unknown pack mode {mode!r}; choose one of: {', '.join(MODES)}")
    if len(configs) != len(outs) or not configs:
        raise ValueError("train_pack needs one output directory per config, and at least one config")
    if len({pack_key(c) for c in configs}) > 1:
        raise PackError("the members differ in more than their seed and penalty numbers; split them with pack.group")
    say = say or (lambda line: print(f"disentangle: {line}", file=sys.stderr))
    dev = pick_device(device)
    vmapped = mode == "vmap" or (mode == "auto" and dev.type == "cuda")
    config0 = configs[0]
    dataset = open_dataset(config0.dataset, config0.dataset_path, config0.image_size)
    render = device_renderer(config0, dataset, dev)    # one for the pack (the members share the dataset), or None
    members = [_Member(c, Path(o), dev) for c, o in zip(configs, outs)]

    models, states = [], []
    for m in members:
        m.run.create(m.config)
        state = resumable_checkpoint(m.run, m.config)
        torch.manual_seed(m.config.seed)
        models.append(build_model(m.config, dataset).to(dev))
        states.append(state)
    steps_at = {s["step"] if s else 0 for s in states}
    if len(steps_at) > 1:
        raise PackError(f"the members' checkpoints are at different steps ({sorted(steps_at)}); pack them by step")
    for m, mdl, state in zip(members, models, states):
        if state is not None:
            mdl.load_state_dict(state["model"])
            m.rng.bit_generator.state = state["rng"]["numpy"]
            m.noise.set_state(state["rng"]["torch"])
            m.run.truncate_log(state["step"])
        m.data_state = copy.deepcopy(m.rng.bit_generator.state)
    step = steps_at.pop()

    stack = Stack(models, config0, dev, vmapped, [s["optimizers"] for s in states] if states[0] is not None else None)
    del models
    alive = list(range(len(members)))

    def checkpoint() -> None:
        for j, i in enumerate(alive):
            m = members[i]
            model_state, opt_states = stack.member_state(j)
            m.run.save_checkpoint({"step": step, "model": model_state, "optimizers": opt_states,
                                   "rng": {"numpy": m.data_state, "torch": m.noise.get_state()},
                                   "config": m.config.to_dict()})

    def one_step(draws) -> dict[str, torch.Tensor]:
        def column(get):
            values = [get(d) for d in draws]
            return None if values[0] is None else torch.stack([torch.from_numpy(v) for v in values]).to(dev)

        def images(get, factors):                                       # (K, B, C, H, W)
            if render is None:
                return column(get)
            return None if factors is None else render(factors.flatten(0, 1)).unflatten(0, factors.shape[:2])
        factors, factors2 = column(lambda d: d.factors), column(lambda d: d.factors2)      # (K, B, F)
        return stack.step(step, images(lambda d: d.images, factors), [members[i].noise for i in alive], factors,
                          images(lambda d: d.images2, factors2), factors2)

    writers = {}
    if tensorboard:
        from torch.utils.tensorboard import SummaryWriter
        for m in members:
            writers[id(m)] = SummaryWriter(str(m.run.path / "tensorboard"), purge_step=step + 1 if step else None)
    steps = config0.steps
    bar = tqdm(total=steps, initial=step, disable=not progress, desc=f"pack of {len(members)}: {config0.model} on "
               f"{config0.dataset}", unit="step", dynamic_ncols=True, file=sys.stderr)
    start, start_step = time.perf_counter(), step
    template = stack.template
    sources = [training_source(m.config, dataset, template) for m in members]   # each its own correlations
    try:
        pairs = pair_sampler(dataset, template.pairs)
    except ValueError as err:
        raise UserError(f"--model {config0.model} on {config0.dataset}: {err}") from None
    with ExitStack() as streams_open:
        streams = [streams_open.enter_context(BatchStream(source, config0.batch_size, m.rng, pairs=pairs,
                                                          render=render is None))
                   for m, source in zip(members, sources)]
        while step < steps and alive:
            draws = [next(streams[i]) for i in alive]
            try:
                out = one_step(draws)
            except (RuntimeError, NotImplementedError, ValueError) as err:
                if vmapped and step == start_step:  # nothing written yet: the caller may run the pack as a loop
                    raise PackError(f"cannot vmap {config0.model}: {str(err).splitlines()[0][:160]}") from None
                raise
            for d, i in zip(draws, alive):
                members[i].data_state = d.rng_state
            step += 1
            bar.update(1)
            at_checkpoint = step % config0.checkpoint_every == 0 or step == steps
            if at_checkpoint or step % config0.log_every == 0:
                finite = torch.stack([torch.isfinite(v.detach().float()).reshape(len(alive), -1).all(1)
                                      for v in out.values()]).all(0)            # (K,)
                bad = [j for j in range(len(alive)) if not finite[j]]
                for j in bad:
                    m = members[alive[j]]
                    key = next(k for k, v in out.items() if not torch.isfinite(v.detach()[j]).all())
                    m.error = diverged(m.run, key, float(out[key].detach()[j].float().mean()), step)
                    say(f"{m.run.path}: {m.error}; its pack-mates go on")
                if bad:
                    keep = [j for j in range(len(alive)) if j not in bad]
                    out = {k: v.detach()[keep] for k, v in out.items()}
                    alive = [alive[j] for j in keep]
                    if not alive:
                        break
                    stack.keep(keep)
                for j, i in enumerate(alive):
                    m = members[i]
                    m.logs = {k: float(v.detach()[j].float().mean()) for k, v in out.items()}
                    m.run.append_log({"step": step, **m.logs, "time": round(time.perf_counter() - start, 3)})
                    if id(m) in writers:
                        for k, v in m.logs.items():
                            writers[id(m)].add_scalar(f"train/{k}", v, step)
            if at_checkpoint:
                checkpoint()
    bar.close()
    for w in writers.values():
        w.close()
    seconds = time.perf_counter() - start
    results: list[Result | Exception] = []
    for m in members:
        if m.error is not None:
            results.append(m.error)
            continue
        logs = m.logs or {k: v for k, v in (m.run.read_log() or [{}])[-1].items() if k not in ("step", "time")}
        results.append(Result(run=m.run, step=step, logs=logs, seconds=seconds if step > start_step else 0.0))
    return results


def train_packs(configs: Sequence[Config], outs: Sequence[str | Path], size: int, *, device: str | None = None,
                progress: bool = True, tensorboard: bool = True, mode: str = "auto",
                say: Callable[[str], None] | None = None) -> list[Result | Exception]:
    """Train every config into its directory in packs of at most ``size`` (``group``); return each run's
    ``Result`` or the exception that stopped it, in the order given.

    A pack that cannot be vmapped runs as a loop (one line says so); one whose members cannot share a pack
    (the model branches on a number that differs, optimiser settings differ, checkpoints at different steps)
    is split by seed alone and by checkpoint step; one that does not fit in device memory is halved.
    """
    say = say or (lambda line: print(f"disentangle: {line}", file=sys.stderr))
    results: list[Result | Exception | None] = [None] * len(configs)

    def run(ids: list[int], how: str, split_by_seed: bool) -> None:
        try:
            got = train_pack([configs[i] for i in ids], [outs[i] for i in ids], device=device, progress=progress,
                             tensorboard=tensorboard, mode=how, say=say)
            for i, r in zip(ids, got):
                results[i] = r
        except PackError as err:
            if str(err).startswith("cannot vmap") and how != "loop":
                say(f"{err}; running the pack of {len(ids)} as a loop (the solo runs' kernels, one after another)")
                return run(ids, "loop", split_by_seed)
            if len(ids) == 1:
                raise
            parts = _split_pack([configs[i] for i in ids], [outs[i] for i in ids], split_by_seed)
            say(f"{err}; splitting the pack of {len(ids)} into {len(parts)}")
            for part in parts:
                run([ids[j] for j in part], how, True)
        except torch.cuda.OutOfMemoryError:
            if len(ids) == 1:
                raise
            torch.cuda.empty_cache()
            half = len(ids) // 2
            say(f"a pack of {len(ids)} does not fit in device memory; trying packs of {len(ids) - half}")
            run(ids[:len(ids) - half], how, split_by_seed)
            run(ids[len(ids) - half:], how, split_by_seed)
        except Exception as err:    # recorded for each member; the other packs go on
            for i in ids:
                results[i] = err

    for ids in group(configs, size):
        run(ids, mode, False)
    return results  # type: ignore[return-value]


def _split_pack(configs: list[Config], outs: list, by_seed: bool) -> list[list[int]]:
    """Positions of a pack that failed to stack, in smaller packs: by seed alone first, then also by the
    checkpoint's step, then one each."""
    if not by_seed:
        parts = group(configs, len(configs), by_seed_only=True)
        if len(parts) > 1:
            return parts
    steps: dict[int, list[int]] = {}
    for j, out in enumerate(outs):
        state = Run(out).load_checkpoint()
        steps.setdefault(state["step"] if state else 0, []).append(j)
    return list(steps.values()) if len(steps) > 1 else [[j] for j in range(len(configs))]
