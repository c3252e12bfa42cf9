"""Run configuration: one frozen dataclass of plain values, YAML files, dotted overrides.

Training settings are top-level (``--set lr=3e-4``).  A model's own settings sit in a section named for
what they are: the backbone's under its name (``--set vae.latent_dim=6``, ``--set infogan.noise_dim=3``),
a VAE penalty's under ``penalty`` (``--set penalty.beta=4``).  ``--model beta_tcvae`` is the VAE backbone
with ``vae.penalty=beta_tcvae``.  Values are converted to the field's type; unknown keys, settings under
the wrong section and out-of-range values raise ``UserError`` naming the choices.
"""
from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml

from .data.correlated import parse_correlations, parse_holdout
from .errors import UserError
from .models.vae import VAEParams
from .params import Params
from .penalties.beta_vae import BetaVAEParams
from .registry import BACKBONES, DATASETS, MODELS, PENALTIES, backbone_of
from .speed import COMPILE_CHOICES, PRECISIONS


@dataclass(frozen=True)
class Config:
    model: str = "beta_vae"          # a backbone (registry.BACKBONES) or a VAE penalty (registry.PENALTIES)
    dataset: str = "dsprites"        # a key of registry.DATASETS
    dataset_path: Optional[str] = None   # the user's file (or folder) for a dataset read from one; stored absolute
    image_size: int = 64             # --dataset images: the side each image is centre-cropped and resized to
    steps: int = 3000                # optimiser steps (the study trains 300k)
    seed: int = 0
    batch_size: int = 64             # Locatello et al. 2019
    lr: float = 1e-4                 # Adam, as in the study
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    fast: bool = True                # bf16 autocast / channels_last / compile where they pay (speed.py); false: fp32 eager
    precision: str = "auto"          # auto | bf16 | fp32 (the fast path's arithmetic)
    compile: str = "auto"            # auto | true | false (torch.compile of the nets; auto: off, as measured)
    log_every: int = 50
    checkpoint_every: int = 500
    # train on correlated factors (data/correlated.py; Roth et al. 2023): "posX:posY=0.1,shape:scale=0.1", each
    # pair weighted exp(-(c_i - c_j)^2 / 2σ^2); the metrics are computed on the uncorrelated data
    correlations: str = ""
    # factor combinations never trained on (data/correlated.py): "shape==0&scale>=0.5;..." on the factors' [0, 1]
    # values; the metrics see every combination
    holdout: str = ""
    # render each batch on the training device from its factors (a dataset whose images are a gather: dSprites),
    # not in the CPU thread: the same images bit for bit, no host rendering or copy — for big batches on a GPU
    data_on_device: bool = False
    backbone: Params = field(default_factory=VAEParams)        # the section named backbone_name
    penalty: Optional[Params] = field(default_factory=BetaVAEParams)  # a VAE's penalty; None for other backbones

    @property
    def backbone_name(self) -> str:
        return backbone_of(self.model)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for YAML, the backbone's section under its name: tuples become lists."""
        def plain(v):
            return {k: plain(x) for k, x in v.items()} if isinstance(v, dict) else \
                [plain(x) for x in v] if isinstance(v, (list, tuple)) else v
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("backbone", "penalty")}
        out[self.backbone_name] = dataclasses.asdict(self.backbone)
        if self.penalty is not None:
            out["penalty"] = dataclasses.asdict(self.penalty)
        return plain(out)


# `steps` may change between a run and its continuation (training longer); nothing else may.
RESUMABLE_FIELDS = ("steps", "dataset_path")   # dataset_path: the same file, moved


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


def _check_positive(config: Config) -> None:
    for key in ("steps", "batch_size", "log_every", "checkpoint_every"):
        if getattr(config, key) <= 0:
            raise UserError(f"{key} must be a positive integer, got {getattr(config, key)}")
    for key in ("lr",):
        if getattr(config, key) <= 0:
            raise UserError(f"{key} must be > 0, got {getattr(config, key)}")
    for key in ("adam_beta1", "adam_beta2"):
        if not 0 <= getattr(config, key) < 1:
            raise UserError(f"{key} must lie in [0, 1), got {getattr(config, key)}")


def _section_params(cls: type, values: dict, section: str) -> Params:
    """Build a settings dataclass from a section's values; one-line errors prefixed with the section."""
    fields = _fields(cls)
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise UserError(f"unknown setting {section}.{unknown[0]}; valid: {', '.join(f'{section}.' + k for k in fields) or 'none'}")
    try:
        return cls(**{k: _convert(v, fields[k], f"{section}.{k}") for k, v in values.items()})
    except ValueError as err:
        message = str(err)
        if not message.startswith(f"{section}."):   # name the field as the user spells it
            message = re.sub(rf"\b({'|'.join(map(re.escape, fields))})\b", rf"{section}.\1", message, count=1)
        raise UserError(message) from None


def _home_of(key: str) -> list[str]:
    """The sections (backbones, penalty) that have a setting named ``key``."""
    homes = [name for name, cls in BACKBONES.items() if key in _fields(cls.Params)]
    return homes + ["penalty"] * any(key in _fields(cls.Params) for cls in PENALTIES.values())


def make_config(values: dict[str, Any] | None = None, overrides: Iterable[str] = ()) -> Config:
    """Build and validate a Config from a (YAML-like) dict plus ``key=value`` / ``section.key=value`` overrides."""
    values = dict(values or {})
    sections = {k: dict(values.pop(k) or {}) for k in list(values) if isinstance(values[k], dict) or
                (k in ("penalty", *BACKBONES) and values[k] is None)}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set expects KEY=VALUE (e.g. penalty.beta=4), got {item!r}")
        section, dot, sub = key.partition(".")
        if dot:
            sections.setdefault(section, {})[sub] = value
        else:
            values[key] = value

    top = {k: v for k, v in _fields(Config).items() if k not in ("backbone", "penalty")}
    model = str(values.get("model", Config.model))
    if model not in MODELS:
        raise UserError(f"unknown model {model!r}; choose one of: {', '.join(MODELS)}")
    name = backbone_of(model)
    cls = BACKBONES[name]
    unknown = sorted(set(values) - set(top))
    if unknown:
        homes = _home_of(unknown[0])
        if homes:
            here = name if name in homes else "penalty" if ("penalty" in homes and cls.uses_penalty) else homes[0]
            raise UserError(f"{unknown[0]} is a setting of a section, not a top-level key: use --set "
                            f"{here}.{unknown[0]}={values[unknown[0]]} (or `{here}:` in a config file)")
        raise UserError(f"unknown config key {unknown[0]!r}; valid keys: {', '.join(top)}, "
                        f"{name}.<setting>{', penalty.<setting>' if cls.uses_penalty else ''}")
    converted = {k: _convert(v, top[k], k) for k, v in values.items()}
    for key in ("precision", "compile"):   # YAML's true/false and BF16 read as the choices' spelling
        if key in converted:
            converted[key] = converted[key].lower()
    dataset = converted.get("dataset", Config.dataset)
    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")
    converted["dataset_path"] = _dataset_path(DATASETS[dataset], converted.get("dataset_path"))

    valid = [name] + ["penalty"] * cls.uses_penalty
    for section in sections:
        if section in valid:
            continue
        own = f"{name}.*" + (", penalty.*" if cls.uses_penalty else "")
        key = next(iter(sections[section]), "")
        if key and name in _home_of(key):
            raise UserError(f"{section}.{key} is a setting of {name}: use --set {name}.{key}=... (its sections: {own})")
        what = f"are the settings of --model {section}" if section in BACKBONES else \
            "are a VAE penalty's settings" if section == "penalty" else "is not a section"
        raise UserError(f"{section}.{key or '*'} does not apply to --model {model}: {section}.* {what}; its settings "
                        f"are {own}: {', '.join(f'{name}.' + k for k in _fields(cls.Params))}")

    backbone_values = sections.get(name, {})
    if model in PENALTIES:
        chosen = backbone_values.setdefault("penalty", model)
        if chosen != model:
            raise UserError(f"--model {model} is the VAE with penalty {model}, but {name}.penalty={chosen}; "
                            f"drop one (or use --model vae --set vae.penalty={chosen})")
    backbone = _section_params(cls.Params, backbone_values, name)
    penalty = _section_params(PENALTIES[backbone.penalty].Params, sections.get("penalty", {}), "penalty") \
        if cls.uses_penalty else None
    for key, value in {**cls.config_defaults, **cls.dataset_defaults.get(dataset, {})}.items():
        converted.setdefault(key, value)
    config = Config(**converted, backbone=backbone, penalty=penalty)
    _check_positive(config)
    for key, choices in (("precision", PRECISIONS), ("compile", COMPILE_CHOICES)):
        if getattr(config, key) not in choices:
            raise UserError(f"unknown {key} {getattr(config, key)!r}; choose one of: {', '.join(choices)}")
        if not config.fast and getattr(config, key) != "auto":
            raise UserError(f"{key}={getattr(config, key)} refines the fast path, but fast=false already means "
                            f"fp32 eager; drop {key}, or set fast=true")
    data = DATASETS[dataset]
    if config.image_size != Config.image_size and not data.resizable:
        raise UserError(f"image_size applies to --dataset images (a folder of your images); {dataset} renders "
                        f"{'x'.join(map(str, data.observation_shape[1:]))} images: drop image_size")
    if config.image_size < 8:
        raise UserError(f"image_size must be at least 8, got {config.image_size}")
    if data.resizable and (config.correlations or config.holdout):
        raise UserError(f"correlations and holdout reshape a grid of known factors; --dataset {dataset} reads "
                        f"its factors from your attribute table: drop them")
    if config.correlations:
        parse_correlations(config.correlations, DATASETS[dataset].factor_names)   # one-line errors now
    if config.holdout:
        parse_holdout(config.holdout, DATASETS[dataset].factor_names)
    for key in ("correlations", "holdout"):
        if getattr(config, key) and cls.supervised:
            raise UserError(f"{key}: --model {model} trains on labelled scenes of a held-in split; training it on "
                            f"a reshaped factor distribution is not supported — drop {key}")
    try:
        check_run(config)
    except ValueError as err:
        raise UserError(str(err)) from None
    return config


def _dataset_path(cls, path: Optional[str]) -> Optional[str]:
    """The absolute path of an existing file for a dataset read from one; a one-line error otherwise."""
    name = cls.name
    if path is None:
        if cls.source is not None and not cls.source_optional:
            raise UserError(f"dataset {name} is read from your file: {cls.source}; "
                            f"pass --dataset-path PATH (or --set dataset_path=PATH)")
        return None
    if cls.source is None:
        raise UserError(f"dataset {name} is generated and reads no file; drop dataset_path={path}")
    full = Path(path).expanduser().resolve()
    if not full.exists():
        raise UserError(f"dataset_path {path} does not exist; dataset {name} expects {cls.source}")
    return str(full)


def check_run(config: Config) -> list[str]:
    """The backbone's verdict on a run of ``config`` (``Backbone.check``): ValueError, or one-line notes."""
    return BACKBONES[config.backbone_name].check(config, DATASETS[config.dataset])


LEGACY_KEYS = ("latent_dim", "net", "reconstruction")


def upgrade_legacy(values: dict[str, Any]) -> dict[str, Any]:
    """A config written before the backbone sections (commit 89c929c and earlier) -> today's layout:
    top-level ``latent_dim`` / ``net`` / ``reconstruction`` move into the backbone's section, and a
    backbone's settings written under ``penalty`` (InfoGAN's) move to its own section."""
    values = dict(values)
    model = values.get("model", Config.model)
    if model not in MODELS or not any(k in values for k in LEGACY_KEYS):
        return values
    name = backbone_of(model)
    section = {k: values.pop(k) for k in LEGACY_KEYS if k in values}
    section = {k: v for k, v in section.items() if v is not None and k in _fields(BACKBONES[name].Params)}
    if not BACKBONES[name].uses_penalty:
        section.update(values.pop("penalty", None) or {})
    values[name] = {**section, **(values.get(name) or {})}
    return values


PRESETS = Path(__file__).parent / "presets"      # config files shipped with the package: --config NAME


def presets() -> list[str]:
    """Names of the shipped presets (``--config NAME``), e.g. chen2018_dsprites."""
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file — or a shipped preset by name (``presets()``) — into a dict (validated later by
    ``make_config``)."""
    if not Path(path).exists() and (PRESETS / f"{path}.yaml").exists():
        path = PRESETS / f"{path}.yaml"
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise UserError(f"config file {path} does not exist (shipped presets: {', '.join(presets())})") from None
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
