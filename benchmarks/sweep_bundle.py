"""Carry a sweep directory off a borrowed machine in a few small files, and unpack it at home.

    python benchmarks/sweep_bundle.py pack SWEEP_DIR OUT_DIR [--max-mb 15] [--no-weights]   # on the GPU machine
    python benchmarks/sweep_bundle.py unpack OUT_DIR SWEEP_DIR                   # here; then `disentangle sweep`

A run whose training finished (its checkpoint at the config's ``steps``) travels with its weights alone (the
optimiser's moments are a resume's, not an evaluation's: two thirds of the file); an unfinished one with its
whole checkpoint, so that it resumes. Files are packed into tar archives of at most ``--max-mb`` MB each (a lease
returns a few files of bounded size); what does not fit in ``--max-files`` archives is named and left behind.
"""
from __future__ import annotations

import argparse
import io
import json
import tarfile
from pathlib import Path

import torch
import yaml


def _members(sweep: Path, weights: bool = True):
    """(archive name, bytes) of every file of the sweep, weights-only checkpoints for finished runs (none at all
    without ``weights``: runs evaluated where they trained, whose weights are too big to carry)."""
    for path in sorted(sweep.rglob("*")):
        if not path.is_file() or (path.name == "checkpoint.pt" and not weights):
            continue
        name = str(path.relative_to(sweep))
        if path.name == "checkpoint.pt":
            state = torch.load(path, map_location="cpu", weights_only=True)
            steps = yaml.safe_load((path.parent / "config.yaml").read_text())["steps"]
            if state["step"] >= steps:
                state = {**state, "optimizers": {}}          # evaluate reads the model; nothing resumes a finished run
                buffer = io.BytesIO()
                torch.save(state, buffer)
                yield name, buffer.getvalue()
                continue
        yield name, path.read_bytes()


def pack(sweep: Path, out: Path, max_mb: float, max_files: int, weights: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    bins: list[list[tuple[str, bytes]]] = [[]]
    sizes = [0]
    left: list[str] = []
    for name, data in sorted(_members(sweep, weights), key=lambda m: -len(m[1])):      # largest first, first fit
        fit = next((i for i, s in enumerate(sizes) if s + len(data) + 1024 <= max_mb * 1e6), None)
        if fit is None and len(bins) < max_files:
            bins.append([]), sizes.append(0)
            fit = len(bins) - 1
        if fit is None:
            left.append(name)
            continue
        bins[fit].append((name, data))
        sizes[fit] += len(data) + 1024
    for i, members in enumerate(bins):
        with tarfile.open(out / f"sweep_{i}.tar", "w") as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    print(json.dumps({"archives": len(bins), "mb": [round(s / 1e6, 1) for s in sizes], "left_behind": left}))


def unpack(src: Path, sweep: Path) -> None:
    sweep.mkdir(parents=True, exist_ok=True)
    for archive in sorted(src.glob("sweep_*.tar")):
        with tarfile.open(archive) as tar:
            tar.extractall(sweep, filter="data")
    print(f"unpacked {len(list(src.glob('sweep_*.tar')))} archives into {sweep}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    p = sub.add_parser("pack")
    p.add_argument("sweep", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--max-mb", type=float, default=15.0)
    p.add_argument("--max-files", type=int, default=5)
    p.add_argument("--no-weights", action="store_true", help="leave every checkpoint behind (runs evaluated there)")
    u = sub.add_parser("unpack")
    u.add_argument("src", type=Path)
    u.add_argument("sweep", type=Path)
    args = parser.parse_args()
    if args.verb == "pack":
        pack(args.sweep, args.out, args.max_mb, args.max_files, not args.no_weights)
    else:
        unpack(args.src, args.sweep)


if __name__ == "__main__":
    main()
