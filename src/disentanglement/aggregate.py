"""`disentangle aggregate SWEEP`: one table of every run of a study and the study's views (Locatello et al. 2019).

- ``table.csv`` / ``table.parquet``: a row per run — method, grid point, model, dataset, seed, steps, status,
  every metric, and UDR (Duan et al. 2020) computed across the seeds of each setting;
- ``figures/violin_<metric>.png``: per metric, one violin per method across settings and seeds (Fig. 7);
- ``figures/spearman.png``: the Spearman rank correlation between metrics across runs (Fig. 3);
- ``figures/hyper_<method>.png``: each metric against the method's hyper-parameter, mean and seed spread;
- ``figures/udr.png``: UDR against the supervised metrics (Duan et al. 2020, Fig. 2);
- ``report.html``: all of it, linking each run's own report.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import metrics as M
from .errors import UserError
from .runs import Run, atomic_write_text, load_trained

UDR_SAMPLES = 1000      # images every model of a setting encodes for UDR (disentanglement_lib: 1000)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def collect(sweep_dir: Path) -> list[dict]:
    """A row per run of the study: identity, grid point, status and metrics."""
    study_file = sweep_dir / "study.json"
    if not study_file.exists():
        raise UserError(f"{sweep_dir} is not a sweep directory (no study.json); run `disentangle sweep STUDY.yaml "
                        f"--out {sweep_dir}` first")
    study = json.loads(study_file.read_text())
    rows = []
    for spec in study["runs"]:
        path = sweep_dir / "runs" / spec["name"]
        status = json.loads((path / "status.json").read_text()) if (path / "status.json").exists() else {}
        row = {"run": spec["name"], "method": spec["method"],
               **{f"param.{k}": v for k, v in spec["point"].items()}, "status": status.get("status", "not run")}
        if (path / "config.yaml").exists():
            config = Run(path).read_config()
            row.update(model=config.model, dataset=config.dataset, seed=config.seed, steps=config.steps)
        if (path / "metrics.json").exists():
            row.update({k: v for k, v in json.loads((path / "metrics.json").read_text())["metrics"].items()
                        if isinstance(v, (int, float))})
        rows.append(row)
    return rows


@torch.no_grad()
def udr_scores(sweep_dir: Path, rows: list[dict], *, samples: int = UDR_SAMPLES) -> dict[str, float]:
    """UDR of each finished run, against the other seeds of its setting (same method, grid point, dataset)."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        if row["status"] == "done":
            key = (row["method"], row.get("dataset"), *sorted((k, str(v)) for k, v in row.items() if k.startswith("param.")))
            groups.setdefault(key, []).append(row)
    out = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        codes, kls = [], []
        for row in members:
            _, dataset, model, _ = load_trained(sweep_dir / "runs" / row["run"])
            images = torch.from_numpy(dataset.sample(samples, np.random.RandomState(0))[0])
            codes.append(model.representation(images).float().numpy())
            amounts = [a.amount for a in sorted(model.axes(images), key=lambda a: a.columns.start)]
            kls.append(np.asarray(amounts, dtype=np.float64) if None not in amounts and
                       len(amounts) == codes[-1].shape[1] else None)
        try:
            scores = M.udr(codes, kl=None if any(k is None for k in kls) else kls)["udr.scores"]
        except ValueError:          # a collapsed model (no latent above the KL threshold): no UDR for this setting
            continue
        out.update({row["run"]: float(s) for row, s in zip(members, scores)})
    return out


def _metric_columns(df) -> list[str]:
    skip = {"seed", "steps"}
    return [c for c in df.columns if c not in skip and not c.startswith("param.") and
            df[c].dtype.kind in "fi" and df[c].notna().sum() > 1 and df[c].nunique() > 1]


def aggregate(sweep_dir: str | Path, *, udr: bool = True) -> Path:
    """Write the table, the figures and the sweep's report.html; return the report's path."""
    import pandas as pd

    root = Path(sweep_dir)
    rows = collect(root)
    if udr:
        scores = udr_scores(root, rows)
        for row in rows:
            if row["run"] in scores:
                row["udr"] = scores[row["run"]]
    df = pd.DataFrame(rows)
    df.to_csv(root / "table.csv", index=False)
    df.to_parquet(root / "table.parquet", index=False)
    done = df[df["status"] == "done"]
    metrics = _metric_columns(done)
    fig_dir = root / "figures"
    figures: list[tuple[str, Path]] = []
    methods = list(dict.fromkeys(done["method"]))
    for metric in metrics:
        fig = Figure(figsize=(1.2 * len(methods) + 2.5, 3.2))
        ax = fig.add_subplot()
        data = [done.loc[done["method"] == m, metric].dropna().to_numpy() for m in methods]
        keep = [i for i, d in enumerate(data) if len(d)]
        if len(keep) and any(len(data[i]) > 1 for i in keep):
            ax.violinplot([data[i] for i in keep], positions=keep, showmedians=True)
        for i in keep:
            ax.scatter(np.full(len(data[i]), i), data[i], s=10, color="black", zorder=3)
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right")
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
        figures.append((f"{metric} per method", _save(fig, fig_dir / f"violin_{metric}.png")))
    if len(metrics) > 1 and len(done) > 2:
        corr = done[metrics].corr(method="spearman").to_numpy()
        fig = Figure(figsize=(0.6 * len(metrics) + 3, 0.6 * len(metrics) + 2.5))
        ax = fig.add_subplot()
        image = ax.imshow(corr, cmap="RdBu_r", vmin=-1, vmax=1)
        ax.set_xticks(range(len(metrics)), metrics, rotation=90)
        ax.set_yticks(range(len(metrics)), metrics)
        for (r, c), v in np.ndenumerate(corr):
            if np.isfinite(v):
                ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=7)
        fig.colorbar(image, ax=ax, label="Spearman rank correlation across runs")
        figures.append(("Rank correlation between metrics", _save(fig, fig_dir / "spearman.png")))
    for method in methods:
        sub = done[done["method"] == method]
        params = [c for c in sub.columns if c.startswith("param.") and sub[c].notna().any() and sub[c].nunique() > 1]
        if len(params) != 1 or not metrics:
            continue
        fig = Figure(figsize=(3.2 * min(4, len(metrics)), 3.0), layout="constrained")
        for k, metric in enumerate(metrics[:4]):
            ax = fig.add_subplot(1, min(4, len(metrics)), k + 1)
            stats = sub.groupby(params[0])[metric].agg(["mean", "std"]).reset_index()
            ax.errorbar(stats[params[0]].astype(str), stats["mean"], yerr=stats["std"].fillna(0), marker="o", capsize=3)
            ax.set_xlabel(params[0][len("param."):])
            ax.set_title(metric)
        figures.append((f"{method}: metrics against {params[0][len('param.'):]} (mean ± sd over seeds)",
                        _save(fig, fig_dir / f"hyper_{method}.png")))
    if "udr" in done and done["udr"].notna().any():
        others = [m for m in metrics if m != "udr"][:4]
        if others:
            fig = Figure(figsize=(3.2 * len(others), 3.0), layout="constrained")
            for k, metric in enumerate(others):
                ax = fig.add_subplot(1, len(others), k + 1)
                for i, m in enumerate(methods):
                    sel = done["method"] == m
                    ax.scatter(done.loc[sel, "udr"], done.loc[sel, metric], s=14, label=m, color=f"C{i}")
                ax.set_xlabel("UDR")
                ax.set_ylabel(metric)
            fig.axes[0].legend(fontsize=7)
            figures.append(("UDR against the supervised metrics", _save(fig, fig_dir / "udr.png")))
    return _write_report(root, df, figures)


def _write_report(root: Path, df, figures) -> Path:
    def img(path: Path) -> str:
        return f'<img src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'

    links = "".join(f'<li><a href="runs/{html.escape(r)}/report.html">{html.escape(r)}</a> — {html.escape(s)}</li>'
                    for r, s in zip(df["run"], df["status"]))
    body = (f"<h1>{html.escape(root.name)}</h1><p>{len(df)} runs · {int((df['status'] == 'done').sum())} done · "
            f"table: <a href='table.csv'>table.csv</a>, table.parquet</p>"
            + "".join(f"<section><h2>{html.escape(t)}</h2>{img(p)}</section>" for t, p in figures)
            + f"<section><h2>Table</h2>{df.to_html(index=False, float_format=lambda v: f'{v:.4f}')}</section>"
            + f"<section><h2>Runs</h2><ul>{links}</ul></section>")
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(root.name)} · sweep</title>'
            "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
            "table{border-collapse:collapse;font-size:.8em}td,th{padding:.2em .5em;border-bottom:1px solid #ddd}"
            f"img{{max-width:100%}}</style></head><body>{body}</body></html>\n")
    out = root / "report.html"
    atomic_write_text(out, page)
    return out
