"""`disentangle` — a thin command line over the library.  User mistakes: one line, exit code 2."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

from . import config as cfg
from . import pretrained
from .errors import UserError
from .aggregate import aggregate
from .evaluate import evaluate_run, parse_metrics, score_file, table
from .metrics.registry import help_line
from .data import DSprites, DSpritesFile
from .data.download import SOURCES, download
from .data.dsprites_file import compare as compare_dsprites
from .registry import BACKBONES, DATASETS, PENALTIES
from .report import write_report
from .runs import Run
from .sweep import DEFAULT_PACK, sweep
from .train import pick_device, summary, train
from .viz import tensorboard_traversal


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise UserError(f"{self.prog}: {message} (see {self.prog} --help)")


def _train(args) -> int:
    if args.list:
        print(_listing())
        return 0
    if args.resume:
        given = [flag for flag, v in (("--model", args.model), ("--dataset", args.dataset), ("--seed", args.seed),
                                      ("--config", args.config), ("--out", args.out)) if v is not None]
        if given or args.set:
            raise UserError(f"--resume continues a run with its own config; drop {', '.join(given) or '--set'} "
                            "(only --steps, to train longer, --dataset-path, where the data file moved, and --device may be given)")
        overrides = {k: v for k, v in (("steps", args.steps), ("dataset_path", args.dataset_path)) if v is not None}
        config = Run(args.resume).read_config(overrides)      # train longer; the data file moved
        out = args.resume
    else:
        values = cfg.load_yaml(args.config) if args.config else {}
        for key in ("model", "dataset", "dataset_path", "steps", "seed"):
            if getattr(args, key) is not None:
                values[key] = getattr(args, key)
        config = cfg.make_config(values, args.set)
        out = args.out or f"runs/{config.model}_{config.dataset}_seed{config.seed}"
    result = train(config, out, device=args.device, progress=not args.no_progress, hooks=[tensorboard_traversal])
    page = None if args.no_report else write_report(result.run.path, device=str(pick_device(args.device)),
                                                    progress=not args.no_progress)
    print(summary(result, config, page))
    return 0


def _datasets_listing() -> list[str]:
    lines = []
    for name, cls in DATASETS.items():
        factors = ", ".join(f"{n}={s}" for n, s in zip(cls.factor_names, cls.factor_sizes))
        origin = "generated" if cls.source is None else \
            f"generated, or read from {cls.source.split(' (optional')[0]}" if cls.source_optional else f"needs {cls.source}"
        drawn = "; draws a nuisance while rendering" if cls.stochastic else ""
        if cls.resizable:   # a folder: its size, shape and factors are the user's
            lines.append(f"  {name:<16} {'CxSxS':<8} {'your':>9} images       factors: from attributes.csv, "
                         f"CelebA's list_attr_celeba.txt, or none (S: --set image_size, 64)")
            lines.append(f"  {'':<16} {origin}")
            continue
        lines.append(f"  {name:<16} {'x'.join(map(str, cls.observation_shape)):<8} {_size(cls):>9} "
                     f"combinations  factors: {factors}")
        lines.append(f"  {'':<16} {origin}{drawn}")
    return lines


def _size(cls) -> str:
    """The number of factor combinations, from the class (a file's dataset may differ: inferred when read)."""
    return f"{int(np.prod(cls.factor_sizes)):,}"


def _listing() -> str:
    def shown(value):
        return ",".join(map(str, value)) if isinstance(value, tuple) else value

    def settings(section, cls):
        return ", ".join(f"{section}.{f.name}={shown(f.default)}" for f in dataclasses.fields(cls.Params))

    lines = ["backbones (--model NAME; settings via --set NAME.KEY=VALUE):"]
    for name, cls in BACKBONES.items():
        lines.append(f"  {name:<12} {settings(name, cls)}")
    lines.append("VAE penalties (--model NAME = the vae backbone with vae.penalty=NAME; settings via --set penalty.KEY=VALUE):")
    for name, cls in PENALTIES.items():
        lines.append(f"  {name:<12} {settings('penalty', cls)}")
    lines += ["datasets (--dataset NAME):", *_datasets_listing(), "training settings (--set KEY=VALUE):"]
    lines.append("  " + ", ".join(f"{f.name}={f.default}" for f in dataclasses.fields(cfg.Config)
                                  if f.name not in ("model", "dataset", "backbone", "penalty")))
    return "\n".join(lines)


def _datasets(args) -> int:
    if args.download:
        name, root = args.download[0], (args.download[1] if len(args.download) > 1 else "data")
        if len(args.download) > 2:
            raise UserError("--download takes NAME and an optional DIR, e.g. --download shapes3d ~/data")
        path = download(name, root, progress=not args.no_progress)
        print(f"{name}: {path}\ntrain on it with --dataset {SOURCES[name].dataset} --dataset-path {path}")
        return 0
    if args.compare:
        report = compare_dsprites(DSpritesFile(args.compare, progress=not args.no_progress), DSprites(),
                                  progress=not args.no_progress)
        print(json.dumps(report, indent=2))
        return 0
    print("datasets (--dataset NAME; a file via --dataset-path PATH):")
    print("\n".join(_datasets_listing()))
    return 0


def _evaluate(args) -> int:
    record = evaluate_run(args.run, metrics=parse_metrics(args.metrics), random_state=args.seed,
                          device=str(pick_device(args.device)), progress=not args.no_progress, protocol=args.protocol)
    print(f"scored on {record['scored_on']}")
    reasons: dict[str, list[str]] = {}
    for name, why in record.get("skipped", {}).items():
        reasons.setdefault(why, []).append(name)
    for why, names in reasons.items():      # one line per reason
        print(f"skipped {', '.join(names)}: {why}")
    print(table(record["metrics"]))
    print(f"wrote {args.run}/metrics.json (step {record['step']}, random_state {args.seed}, {record['seconds']:.0f}s)")
    return 0


def _report(args) -> int:
    print(f"wrote {write_report(args.run, device=str(pick_device(args.device)), progress=not args.no_progress, full=args.full)}")
    return 0


def _score(args) -> int:
    scores = score_file(args.file, parse_metrics(args.metrics) if args.metrics else None)
    print(json.dumps(scores, indent=2) if args.json else table(scores))
    return 0


def _pretrained(args) -> int:
    if args.name is None:
        if args.out:
            raise UserError("--out needs a NAME: `disentangle pretrained NAME --out DIR` (see `disentangle pretrained`)")
        print(pretrained.listing())
        return 0
    out = args.out or f"runs/pretrained_{args.name}"
    run, card = pretrained.install(args.name, out)
    print(f"wrote {run.path}: {card['description']}, {card['steps']:,} steps (card: {run.path}/card.yaml); "
          f"`disentangle report {run.path}` draws its traversals")
    return 0


def _sweep(args) -> int:
    out = args.out or f"sweeps/{Path(args.study).stem}"
    summary = sweep(args.study, out, workers=args.workers, ray=args.ray, progress=not args.no_progress, pack=args.pack,
                    evaluate=not args.train_only)
    print(f"sweep {summary['study']}: {summary['runs']} runs — {summary['finished']} "
          f"{'finished' if summary['evaluated'] else 'trained (not evaluated: rerun without --train-only)'} now "
          f"({summary['resumed']} resumed), {summary['skipped_done']} already done, {summary['failed']} failed"
          f" ({summary['backend']}); {out}/summary.json")
    for failure in summary["failures"]:
        print(f"  failed: {failure['name']}: {failure['error']}")
    return 1 if summary["failed"] else 0


def _aggregate(args) -> int:
    print(f"wrote {aggregate(args.sweep, udr=not args.no_udr)} and {args.sweep}/table.csv, table.parquet")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="disentangle", description="Disentangled representation learning.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model into a run directory (resumes if it has a checkpoint)")
    t.add_argument("--model", help="backbone or VAE penalty name (see --list); default beta_vae")
    t.add_argument("--dataset", help="dataset name (see --list); default dsprites")
    t.add_argument("--dataset-path", metavar="PATH",
                   help="the dataset's file (or folder), for a dataset read from one (see `disentangle datasets`)")
    t.add_argument("--steps", type=int, help="optimiser steps; default 3000")
    t.add_argument("--seed", type=int, help="seed of weights, data and noise; default 0")
    t.add_argument("--out", help="run directory; default runs/<model>_<dataset>_seed<seed>")
    t.add_argument("--config", help="YAML file of config values, or a shipped preset by name (chen2018_dsprites: "
                                    "Chen et al. 2018's protocol); flags and --set override it")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting, e.g. penalty.beta=4, vae.latent_dim=6 or lr=3e-4 (repeatable)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    t.add_argument("--device", help="cpu, cuda or cuda:N; default cuda when available")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--no-report", action="store_true", help="skip report.html at the end (see `disentangle report`)")
    t.add_argument("--list", action="store_true", help="list models, datasets and settings with defaults")
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="score a run with the study's metric suite; writes RUN/metrics.json")
    e.add_argument("run", metavar="RUN_DIR")
    e.add_argument("--metrics", help=f"comma-separated, e.g. mig,dci; default: the study's suite (and mic where the "
                                     f"dataset has concepts); any of: {help_line()}")
    e.add_argument("--seed", type=int, default=0, help="random_state of the metrics (study: 0)")
    e.add_argument("--protocol", choices=["standard", "vector_wise"], default="standard",
                   help="vector_wise: also FDAE's group-wise MIG / DCI, for a code made of groups (default standard)")
    e.add_argument("--device", help="cpu, cuda or cuda:N; default cuda when available")
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(func=_evaluate)

    s = sub.add_parser("score", help="score codes from any framework: FILE.npz with codes, factors[, codes_test, factors_test]")
    s.add_argument("file", metavar="FILE.npz")
    s.add_argument("--metrics", help=f"comma-separated subset of: {help_line('codes', 'split')} (split metrics need "
                                     f"codes_test, factors_test)")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=_score)

    r = sub.add_parser("report", help="write RUN/report.html: traversals, traversal score, metrics, curves, config")
    r.add_argument("run", metavar="RUN_DIR")
    r.add_argument("--device", help="cpu, cuda or cuda:N; default cuda when available")
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--full", action="store_true",
                   help="decode as the run does (a diffusion model's every DDIM step) and score from every anchor; "
                        "by default a slow decoder gets a quick report that says what it shortened")
    r.set_defaults(func=_report)

    p = sub.add_parser("pretrained", help="list the models shipped with the package, or write one into a run "
                                          "directory that evaluate and report read")
    p.add_argument("name", nargs="?", metavar="NAME", help="the model to write (no NAME: list them)")
    p.add_argument("--out", help="run directory; default runs/pretrained_<NAME>")
    p.set_defaults(func=_pretrained)

    w = sub.add_parser("sweep", help="run a study file: every (method, setting, dataset, seed) as a run directory")
    w.add_argument("study", metavar="STUDY.yaml")
    w.add_argument("--out", help="sweep directory; default sweeps/<study file name>")
    w.add_argument("--workers", type=int, default=1, help="local processes, one run (or pack) each (default 1)")
    w.add_argument("--pack", type=int, metavar="K",
                   help="train up to K compatible runs (differing in seed and penalty numbers) as one stacked model "
                        f"per worker; default {DEFAULT_PACK} on a GPU, 1 elsewhere (on a CPU a pack is no faster)")
    w.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="run on Ray: a local Ray (no address) or an existing cluster (ADDRESS, e.g. auto or ray://host:10001)")
    w.add_argument("--train-only", action="store_true",
                   help="train every run and stop; the same sweep rerun without it evaluates and reports them "
                        "(e.g. train on a GPU machine, evaluate on CPUs)")
    w.add_argument("--no-progress", action="store_true")
    w.set_defaults(func=_sweep)

    a = sub.add_parser("aggregate", help="one table and the study's plots of a sweep; writes SWEEP/report.html")
    a.add_argument("sweep", metavar="SWEEP_DIR")
    a.add_argument("--no-udr", action="store_true", help="skip UDR (it encodes 1000 images with every model)")
    a.set_defaults(func=_aggregate)

    d = sub.add_parser("datasets", help="list the datasets: factors, sizes, generated or read from which file")
    d.add_argument("--compare", metavar="DSPRITES.npz",
                   help="how the generated dSprites differs from the original file, per factor combination")
    d.add_argument("--download", nargs="+", metavar=("NAME", "DIR"),
                   help=f"fetch a dataset's files into DIR/NAME (default DIR: data), resumable and checked: "
                        f"{', '.join(SOURCES)}")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=_datasets)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except UserError as err:
        print(f"disentangle: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("disentangle: interrupted; the last checkpoint is kept — run the same command to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:   # output piped into a reader that stopped (`| head`): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
