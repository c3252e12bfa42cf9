"""The run directory: the only thing the stages after training read.

    runs/<name>/config.yaml      the full Config
                checkpoint.pt    model, optimisers, step, every RNG state (written atomically)
                log.jsonl        one JSON line per logging step
                figures/         traversal.png, ...
                metrics.json     written by `disentangle evaluate`
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .config import Config, differences, dump_yaml, load_yaml, make_config, upgrade_legacy
from .data import open_dataset
from .errors import UserError
from .models import build_model


class Run:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")
    log_path = property(lambda self: self.path / "log.jsonl")
    figures = property(lambda self: self.path / "figures")
    metrics_path = property(lambda self: self.path / "metrics.json")

    # ---- config ------------------------------------------------------------
    def read_config(self, overrides: dict[str, Any] | None = None) -> Config:
        """The run's config; ``overrides``: values that replace the stored ones (a resume's --steps, a moved
        --dataset-path) before the config is checked."""
        if not self.config_path.exists():
            raise UserError(f"{self.path} is not a run directory (no config.yaml); train one with `disentangle train --out {self.path}`")
        values = upgrade_legacy(load_yaml(self.config_path))   # written before the backbone sections
        values.setdefault("fast", False)  # written before the fast path existed: trained, so resumed, in fp32 eager
        values.update(overrides or {})
        try:
            return make_config(values)
        except UserError as err:
            raise UserError(f"{self.config_path}: {err}") from None

    def create(self, config: Config) -> None:
        """Make the directory for ``config``; refuse to mix with another run or foreign files."""
        if self.config_path.exists():
            old = self.read_config({"dataset_path": config.dataset_path})   # the stored file may have moved
            diff = differences(old, config)
            if diff:
                raise UserError(f"{self.path} holds a run with a different config ({'; '.join(diff)}); "
                                f"choose another --out, or resume it with --resume {self.path}")
            if old.steps != config.steps or load_yaml(self.config_path).get("dataset_path") != config.dataset_path:
                atomic_write_text(self.config_path, dump_yaml(config))
            return
        if self.path.exists() and not self.path.is_dir():
            raise UserError(f"--out {self.path} is a file, not a directory; choose another --out")
        if self.path.is_dir():          # a run killed while its first config was being written left only a temp file
            for leftover in self.path.glob(f".{self.config_path.name}.*.tmp"):
                leftover.unlink()
        if self.path.is_dir() and any(self.path.iterdir()):
            raise UserError(f"--out {self.path} is not empty and holds no run (no config.yaml); choose another --out")
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.config_path, dump_yaml(config))

    # ---- checkpoint --------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        atomic_save(state, self.checkpoint_path)

    def load_checkpoint(self, map_location="cpu") -> dict[str, Any] | None:
        """The last checkpoint, or None if there is none; a damaged file is a UserError."""
        if not self.checkpoint_path.exists():
            return None
        try:
            state = torch.load(self.checkpoint_path, map_location=map_location, weights_only=True)
            if not isinstance(state, dict) or not {"step", "model", "optimizers", "rng"} <= set(state):
                raise ValueError("missing keys")
        except Exception as err:  # torch raises many kinds on a truncated zip
            raise UserError(f"checkpoint {self.checkpoint_path} is corrupt or truncated ({type(err).__name__}); "
                            "move it away to restart the run from step 0, or restore a copy") from None
        return state

    # ---- log ---------------------------------------------------------------
    def append_log(self, record: dict[str, Any]) -> None:
        with open(self.log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def read_log(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        records = []
        for line in self.log_path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut by a kill: everything after it is lost anyway
        return records

    def truncate_log(self, step: int) -> None:
        """Keep the log lines up to ``step`` (a resumed run re-logs the steps after its checkpoint)."""
        if self.log_path.exists():
            kept = [r for r in self.read_log() if r.get("step", 0) <= step]
            atomic_write_text(self.log_path, "".join(json.dumps(r) + "\n" for r in kept))


def _atomic(path: Path, write) -> None:
    """Write through a temporary file in the same directory, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_save(obj: Any, path: Path) -> None:
    _atomic(Path(path), lambda fh: torch.save(obj, fh))


def atomic_write_text(path: Path, text: str) -> None:
    _atomic(Path(path), lambda fh: fh.write(text.encode()))


def load_trained(path: str | Path, device: str | torch.device = "cpu"):
    """(config, dataset, model in eval mode, step) of a run directory with a checkpoint."""
    run = Run(path)
    config = run.read_config()
    state = run.load_checkpoint()
    if state is None:
        raise UserError(f"{run.path} has no checkpoint.pt yet; train it first with `disentangle train --resume {run.path}`")
    dataset = open_dataset(config.dataset, config.dataset_path, config.image_size)
    model = build_model(config, dataset)
    model.load_state_dict(state["model"])
    return config, dataset, model.to(device).eval(), int(state["step"])
