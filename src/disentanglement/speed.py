"""The fast training path: channels_last, foreach Adam, bf16 autocast where it pays, torch.compile on request.

``fast=True`` (the default) picks, for the device at hand, what makes a training step faster without
changing the method: the nets' matrix products in bfloat16 under ``torch.autocast`` where that pays (CPUs
with AMX or AMD's AVX512-BF16 — not CUDA, where the study's nets are launch-bound and bf16 measured slower;
``precision=bf16`` asks for it on a GPU or any CPU with bf16 instructions) (weights, optimiser
state and losses stay float32: mixed precision, Micikevicius et al. 2018, with bf16's float32 range so no
loss scaling is needed), images and conv weights in channels_last memory layout (1.10x on an H200), and
Adam's multi-tensor (``foreach``) update; ``torch.compile`` of the nets when asked (``compile=true``).
``fast=False`` is the float32 eager path, with the numbers of the library before the fast path existed.

``precision`` (auto | bf16 | fp32) and ``compile`` (auto | true | false) refine the fast path.  What the
hardware cannot do is never a crash in the middle of a run: bf16 asked for on a processor without bf16
instructions trains in fp32, compile asked for without a compiler runs eagerly — and one line says so.
"""
from __future__ import annotations

import copy
import shutil
from contextlib import nullcontext
from dataclasses import dataclass, replace
from functools import lru_cache

import torch
from torch import nn

PRECISIONS = ("auto", "bf16", "fp32")
COMPILE_CHOICES = ("auto", "true", "false")


@lru_cache(maxsize=None)
def _cpuinfo() -> tuple[str, frozenset]:
    """(vendor, flags) of this CPU from /proc/cpuinfo; empty where there is none."""
    try:
        with open("/proc/cpuinfo") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return "", frozenset()
    field = lambda name: next((l.split(":", 1)[1].strip() for l in lines if l.startswith(name)), "")  # noqa: E731
    return field("vendor_id"), frozenset(field("flags").split())


def cpu_has_bf16() -> bool:
    """Native bf16 arithmetic on this CPU (AVX512-BF16 or AMX-BF16); elsewhere bf16 is emulated and slow."""
    return bool({"avx512_bf16", "amx_bf16"} & _cpuinfo()[1])


def cpu_bf16_pays() -> bool:
    """Whether bf16 autocast makes the study's conv VAE faster on this CPU (what precision=auto follows).

    Measured (BENCHMARKS.md): on an Intel Xeon with AVX512-BF16 but no AMX, oneDNN's bf16 convolutions were
    slower than fp32 (0.9x); on an AMD EPYC with AVX512-BF16 bf16 + channels_last made the loop 1.5-1.75x
    faster (issue 10); AMX tiles are built for bf16 matrix products.
    """
    vendor, flags = _cpuinfo()
    return "amx_bf16" in flags or ("avx512_bf16" in flags and vendor == "AuthenticAMD")


def bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_bf16()


def bf16_pays(device: torch.device) -> bool:
    """Whether ``precision=auto`` takes bf16 here: on the CPUs where it paid (``cpu_bf16_pays``), not on CUDA.

    Measured on an NVIDIA H200 (BENCHMARKS.md, ``benchmarks/train_gpu.py --ablation``): the study's conv VAE at
    batch 64 is bound by kernel launches, not arithmetic (~1 TFLOP/s of a 51 TFLOP/s fp32 limit), so bf16
    autocast only adds casts: 0.92x alone, 0.76x with torch.compile.  Larger nets may gain: ask with
    ``precision=bf16``."""
    return bf16_supported(device) and device.type == "cpu" and cpu_bf16_pays()


def compiler_missing(device: torch.device) -> str | None:
    """Why torch.compile cannot run here, or None.  Inductor needs a C++ compiler (CPU) or Triton (CUDA)."""
    if device.type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return "Triton is not installed"
        return None
    if not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")):
        return "no C++ compiler (g++/clang++) on PATH"
    return None


@dataclass(frozen=True)
class Speed:
    """What the trainer does: ``autocast`` dtype (None: fp32), memory layout, compile, optimiser update."""

    autocast: torch.dtype | None = None
    channels_last: bool = False
    compile: bool = False
    foreach: bool | None = None          # None: torch's default update (the fp32 eager path)
    notes: tuple[str, ...] = ()          # one line each: a request the hardware could not honour

    def context(self, device: torch.device):
        """The autocast context a training phase runs in (a no-op in fp32)."""
        return torch.autocast(device.type, dtype=self.autocast) if self.autocast else nullcontext()

    def describe(self) -> str:
        parts = ["bf16 autocast" if self.autocast == torch.bfloat16 else "fp32"]
        parts += ["channels_last"] if self.channels_last else []
        parts += ["compiled"] if self.compile else ["eager"]
        parts += ["foreach Adam"] if self.foreach else []
        return ", ".join(parts)

    def prepare(self, model: nn.Module) -> nn.Module:
        """Apply the memory layout and compile the model's nets (each child module with parameters)."""
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        if self.compile:
            for child in model.children():
                if any(True for _ in child.parameters()):
                    child.compile()
        return model

    @staticmethod
    def uncompile(model: nn.Module) -> None:
        """Back to eager calls (after training: figures and reports use other batch shapes)."""
        for child in model.children():
            child._compiled_call_impl = None

    def eager(self, model: nn.Module, reason: str) -> "Speed":
        """Undo ``compile`` on ``model`` after it failed; the returned Speed records why."""
        self.uncompile(model)
        return replace(self, compile=False, notes=(*self.notes, f"torch.compile failed ({reason}); running eagerly"))

    def batch(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x


def resolve(config, device: torch.device) -> Speed:
    """The Speed for ``config.fast`` / ``precision`` / ``compile`` on ``device``."""
    if not config.fast:
        return Speed()
    notes = []
    bf16 = bf16_supported(device)
    if config.precision == "bf16" and not bf16:
        notes.append(f"precision=bf16: {device.type} here has no native bf16 arithmetic; training in fp32")
    use_bf16 = bf16 and (config.precision == "bf16" or (config.precision == "auto" and bf16_pays(device)))
    missing = compiler_missing(device)
    if config.compile == "true" and missing:
        notes.append(f"compile=true: {missing}; running eagerly")
    # compile=auto is off everywhere (BENCHMARKS.md): on an H200 it gave 0.99x per step (the loop is
    # launch-bound, and the default mode keeps every launch; CUDA graphs gave 1.36x but need static shapes the
    # trainer does not promise); on a CPU the convolutions are oneDNN's either way and it gave 1.12x per step
    # for ~1 min of building on 2 cores — ask for it on long runs with compile=true.
    wanted = config.compile == "true"
    return Speed(autocast=torch.bfloat16 if use_bf16 else None, channels_last=True,
                 compile=wanted and missing is None, foreach=True, notes=tuple(notes))


def is_compile_error(err: BaseException) -> bool:
    """An exception raised by torch.compile's machinery (not by the model's own code)."""
    module = type(err).__module__ or ""
    return module.startswith(("torch._dynamo", "torch._inductor"))


def snapshot(model: nn.Module, optimizers: dict, generator: torch.Generator) -> tuple:
    return copy.deepcopy(model.state_dict()), copy.deepcopy({k: o.state_dict() for k, o in optimizers.items()}), \
        generator.get_state()


def restore(state: tuple, model: nn.Module, optimizers: dict, generator: torch.Generator) -> None:
    weights, opts, noise = state
    model.load_state_dict(weights)
    for k, o in optimizers.items():
        o.load_state_dict(opts[k])
    generator.set_state(noise)
