"""Run configuration: one frozen dataclass of plain values, YAML files, dotted overrides.

``--set penalty.beta=4`` sets a field of the penalty's own ``Params`` dataclass;
``--set lr=3e-4`` sets a top-level field.  Values are converted to the field's
type; unknown keys and out-of-range values raise ``UserError`` naming the choices.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from .errors import UserError
from .penalties.base import Params


@dataclass(frozen=True)
class Config:
    model: str = "beta_vae"          # a key of registry.MODELS
    dataset: str = "dsprites"        # a key of registry.DATASETS
    steps: int = 3000                # optimiser steps (the study trains 300k)
    seed: int = 0
    batch_size: int = 64             # Locatello et al. 2019
    lr: float = 1e-4                 # Adam, as in the study
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    latent_dim: Optional[int] = 10   # VAEs; None for models that do not use it (InfoGAN: penalty.*)
    net: str = "auto"                # auto | conv64 | mlp (VAE); auto | dcgan | mlp (GAN)
    reconstruction: Optional[str] = "bernoulli"  # bernoulli | gaussian (VAEs)
    fast: bool = True                # bf16 autocast / channels_last / compile where they pay (speed.py); false: fp32 eager
    precision: str = "auto"          # auto | bf16 | fp32 (the fast path's arithmetic)
    compile: str = "auto"            # auto | true | false (torch.compile of the nets; auto: on CUDA)
    log_every: int = 50
    checkpoint_every: int = 500
    penalty: Params = field(default_factory=Params)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for YAML: tuples become lists."""
        def plain(v):
            return {k: plain(x) for k, x in v.items()} if isinstance(v, dict) else \
                [plain(x) for x in v] if isinstance(v, (list, tuple)) else v
        return plain(dataclasses.asdict(self))


# `steps` may change between a run and its continuation (training longer); nothing else may.
RESUMABLE_FIELDS = ("steps",)


def _convert(value: Any, kind: type, key: str) -> Any:
    """Convert a string (from --set) or YAML value to ``kind``; one-line error otherwise."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):   # Optional[X]: "none" or an X
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            return None
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if typing.get_origin(kind) is tuple:                              # tuple[int, ...]: "3,10", [3, 10] or 3
        item = typing.get_args(kind)[0]
        if isinstance(value, str):
            value = [v for v in value.replace(" ", "").strip("()[]").split(",") if v]
        elif not isinstance(value, (list, tuple)):
            value = [value]
        try:
            return tuple(_convert(v, item, key) for v in value)
        except UserError:
            raise UserError(f"{key} must be a comma-separated list of {item.__name__}s (e.g. 3,10), "
                            f"got {value!r}") from None
    try:
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                return value.lower() in ("true", "1", "yes")
            return bool(value)
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            if isinstance(value, bool):
                raise ValueError
            return int(value) if not isinstance(value, str) else int(value.strip())
        if kind is float:
            out = float(value)
            if not math.isfinite(out):
                raise ValueError
            return out
        return str(value)
    except (TypeError, ValueError):
        raise UserError(f"{key} must be {'a finite ' if kind is float else 'an ' if kind is int else 'a '}"
                        f"{kind.__name__}, got {value!r}") from None


def _fields(cls) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _check_positive(config: Config, unused: Iterable[str] = ()) -> None:
    for key in ("steps", "batch_size", "latent_dim", "log_every", "checkpoint_every"):
        if key in unused:
            continue
        if getattr(config, key) is None or getattr(config, key) <= 0:
            raise UserError(f"{key} must be a positive integer, got {getattr(config, key)}")
    for key in ("lr",):
        if getattr(config, key) <= 0:
            raise UserError(f"{key} must be > 0, got {getattr(config, key)}")
    for key in ("adam_beta1", "adam_beta2"):
        if not 0 <= getattr(config, key) < 1:
            raise UserError(f"{key} must lie in [0, 1), got {getattr(config, key)}")


def make_config(values: dict[str, Any] | None = None, overrides: Iterable[str] = ()) -> Config:
    """Build and validate a Config from a (YAML-like) dict plus ``key=value`` overrides."""
    from .models.vae import RECONSTRUCTIONS
    from .nets import ARCHITECTURES, GAN_ARCHITECTURES
    from .registry import DATASETS, GANS, MODELS
    from .speed import COMPILE_CHOICES, PRECISIONS

    values = dict(values or {})
    penalty_values = dict(values.pop("penalty", None) or {})
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set expects KEY=VALUE (e.g. penalty.beta=4), got {item!r}")
        if key.startswith("penalty."):
            penalty_values[key[len("penalty."):]] = value
        else:
            values[key] = value

    top = _fields(Config)
    unknown = sorted(set(values) - set(top) - {"penalty"})
    if unknown:
        keys = ", ".join(k for k in top if k != "penalty")
        raise UserError(f"unknown config key {unknown[0]!r}; valid keys: {keys}, penalty.<param>")
    converted = {k: _convert(v, top[k], k) for k, v in values.items()}
    for key in ("precision", "compile"):   # YAML's true/false and BF16 read as the choices' spelling
        if key in converted:
            converted[key] = converted[key].lower()
    model = converted.get("model", Config.model)
    if model not in MODELS:
        raise UserError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")
    dataset = converted.get("dataset", Config.dataset)
    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")

    model_cls = MODELS[model]
    unused = getattr(model_cls, "unused_config", ())
    for key in unused:
        if converted.get(key) is not None:
            raise UserError(f"{key} does not apply to --model {model}; its settings are: "
                            f"{', '.join('penalty.' + k for k in _fields(model_cls.Params))}")
        converted[key] = None
    for key, value in getattr(model_cls, "config_defaults", {}).items():
        converted.setdefault(key, value)

    params_cls = model_cls.Params
    pfields = _fields(params_cls)
    unknown = sorted(set(penalty_values) - set(pfields))
    if unknown:
        raise UserError(f"unknown parameter penalty.{unknown[0]} for model {model}; "
                        f"valid: {', '.join('penalty.' + k for k in pfields) or 'none'}")
    try:
        penalty = params_cls(**{k: _convert(v, pfields[k], f"penalty.{k}") for k, v in penalty_values.items()})
    except ValueError as err:
        raise UserError(str(err)) from None
    config = Config(**converted, penalty=penalty)
    _check_positive(config, unused)
    nets = GAN_ARCHITECTURES if model in GANS else ARCHITECTURES
    if config.net not in nets:
        raise UserError(f"unknown net {config.net!r} for --model {model}; choose one of: {', '.join(nets)}")
    for key, choices in (("precision", PRECISIONS), ("compile", COMPILE_CHOICES)):
        if getattr(config, key) not in choices:
            raise UserError(f"unknown {key} {getattr(config, key)!r}; choose one of: {', '.join(choices)}")
        if not config.fast and getattr(config, key) != "auto":
            raise UserError(f"{key}={getattr(config, key)} refines the fast path, but fast=false already means "
                            f"fp32 eager; drop {key}, or set fast=true")
    if "reconstruction" not in unused and config.reconstruction not in RECONSTRUCTIONS:
        raise UserError(f"unknown reconstruction {config.reconstruction!r}; choose one of: {', '.join(RECONSTRUCTIONS)}")
    return config


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file into a dict (validated later by ``make_config``)."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist") from None
    except yaml.YAMLError as err:
        raise UserError(f"config file {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"config file {path} must hold a mapping of keys to values, got {type(data).__name__}")
    return data


def dump_yaml(config: Config) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def differences(a: Config, b: Config, ignore: Iterable[str] = RESUMABLE_FIELDS) -> list[str]:
    """Flat ``key: a -> b`` lines where two configs differ (ignoring ``ignore``)."""
    def flat(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                yield from flat(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}", v
    fa, fb = dict(flat(a.to_dict())), dict(flat(b.to_dict()))
    keys = [k for k in dict.fromkeys([*fa, *fb]) if k not in ignore]
    return [f"{k}: {fa.get(k)!r} -> {fb.get(k)!r}" for k in keys if fa.get(k) != fb.get(k)]
