"""Pretrained models shipped with the package: list them, write one into a run directory.

Each model is three files in ``zoo/``: ``NAME.pt`` (the model's weights only, fp32, no optimiser state),
``NAME.jsonl`` (its training log, every 500th step, for the report's curves) and ``NAME.yaml``, its card —
what it is, the exact command that trained it, steps, seed, time taken, machine, the full config, the SHA-256
of the weights and the metric suite `disentangle evaluate` gave it.  ``install`` checks the weights against the
card before it writes anything and writes an ordinary run directory (``config.yaml``, ``checkpoint.pt``,
``log.jsonl``, ``card.yaml``) that `evaluate` and `report` read as any run; it cannot be trained further (no
optimiser state), which `train` says.

    disentangle pretrained                              # the list
    disentangle pretrained beta_tcvae_dsprites --out runs/pretrained_tcvae
"""
from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch
import yaml

from .config import make_config
from .errors import UserError
from .runs import Run, atomic_save, atomic_write_text

ZOO = Path(__file__).parent / "zoo"
MAX_BYTES = 4 * 2**20          # a shipped weight file stays under 4 MiB
CARD_KEYS = ("name", "description", "command", "steps", "seed", "seconds", "machine", "date", "sha256", "config",
             "metrics")


def available(root: Path | None = None) -> dict[str, dict[str, Any]]:
    """name -> card of every model in ``root`` (a card without its weight file is not listed)."""
    cards = {}
    for card_path in sorted(Path(root or ZOO).glob("*.yaml")):
        if card_path.with_suffix(".pt").exists():
            cards[card_path.stem] = yaml.safe_load(card_path.read_text())
    return cards


def listing(root: Path | None = None) -> str:
    cards = available(root)
    if not cards:
        return "no pretrained models in this installation"
    lines = ["pretrained models (`disentangle pretrained NAME --out DIR`):"]
    for name, card in cards.items():
        m = card.get("metrics", {})
        scores = ", ".join(f"{k} {m[k]:.3f}" for k in ("mig", "factor_vae.eval_accuracy", "dci.disentanglement") if k in m)
        lines.append(f"  {name:<24} {card['description']}; {card['steps']:,} steps, seed {card['seed']}; {scores}")
    return "\n".join(lines)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_weights(name: str, root: Path | None = None) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(card, state dict) of the shipped model ``name``; an unknown name lists the others, a weight file whose
    SHA-256 differs from its card's is refused."""
    cards = available(root)
    if name not in cards:
        names = ", ".join(cards) or "none in this installation"
        raise UserError(f"no pretrained model {name!r}; available: {names}")
    card, path = cards[name], Path(root or ZOO) / f"{name}.pt"
    data = path.read_bytes()
    if sha256(data) != card["sha256"]:
        raise UserError(f"pretrained weights {path} are damaged (SHA-256 differs from its card); "
                        "reinstall the package (pip install --force-reinstall disentanglement)")
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as err:
        raise UserError(f"pretrained weights {path} cannot be read ({type(err).__name__}); reinstall the package") from None
    return card, state


def install(name: str, out: str | Path, root: Path | None = None) -> tuple[Run, dict[str, Any]]:
    """Write the shipped model ``name`` into the run directory ``out`` (which must not hold anything yet);
    return the run and the model's card."""
    card, state = load_weights(name, root)           # refused before anything is written
    run = Run(out)
    if run.path.exists() and (not run.path.is_dir() or any(run.path.iterdir())):
        raise UserError(f"--out {run.path} exists and is not empty; choose another --out")
    config = make_config(card["config"])
    run.create(config)
    atomic_save({"step": card["steps"], "model": state["model"], "optimizers": {}, "rng": None,
                 "pretrained": name}, run.checkpoint_path)
    log = Path(root or ZOO) / f"{name}.jsonl"
    if log.exists():
        atomic_write_text(run.log_path, log.read_text())
    atomic_write_text(run.path / "card.yaml", yaml.safe_dump(card, sort_keys=False))
    return run, card


def export(run_dir: str | Path, name: str, description: str, command: str, seconds: float, machine: str, date: str,
           root: Path | None = None, log_every: int = 500) -> dict[str, Any]:
    """Make ``root/NAME.pt``, ``NAME.jsonl`` and ``NAME.yaml`` from a trained run with ``metrics.json`` (run
    `evaluate` first): weights only, in fp32, at most ``MAX_BYTES``; the log's lines every ``log_every`` steps."""
    run = Run(run_dir)
    config, state = run.read_config(), run.load_checkpoint()
    if state is None or not run.metrics_path.exists():
        raise UserError(f"{run.path} needs a checkpoint and metrics.json (run `disentangle evaluate {run.path}`)")
    record = json.loads(run.metrics_path.read_text())
    if record["step"] != state["step"]:
        raise UserError(f"{run.metrics_path} scores step {record['step']}, the checkpoint is at {state['step']}; "
                        "evaluate again")
    weights = {k: v.detach().float().contiguous() for k, v in state["model"].items()}
    buffer = io.BytesIO()
    torch.save({"model": weights}, buffer)
    data = buffer.getvalue()
    if len(data) > MAX_BYTES:
        raise UserError(f"{name}: {len(data) / 2**20:.1f} MiB of weights, over the {MAX_BYTES / 2**20:.0f} MiB a "
                        "shipped model may take")
    card = {"name": name, "description": description, "command": command, "steps": int(state["step"]),
            "seed": config.seed, "seconds": round(seconds), "machine": machine, "date": date, "sha256": sha256(data),
            "config": config.to_dict(), "metrics": record["metrics"], "scored_on": record.get("scored_on")}
    root = Path(root or ZOO)
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{name}.pt").write_bytes(data)
    (root / f"{name}.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    kept = [r for r in run.read_log() if r["step"] % log_every == 0 or r["step"] == card["steps"]]
    (root / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in kept))
    return card
