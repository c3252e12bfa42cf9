"""Plots of a run (matplotlib, Agg, no pyplot state): KL per latent, training curves, the effect heat map."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


AMOUNT_LABELS = {"KL": "KL(q(z_d|x) || p(z_d)) [nats]"}


def axis_bars(axes, path: str | Path) -> Path:
    """Bar chart of how much each axis carries (``Axis.amount``: a VAE latent's mean KL), in the axes' order;
    active axes in colour."""
    values = [a.amount if a.amount is not None else 0.0 for a in axes]
    what = axes[0].amount_name if axes else ""
    fig = Figure(figsize=(max(4.0, 0.45 * len(axes) + 1.5), 3.2))
    ax = fig.add_subplot()
    ax.bar(range(len(axes)), values, color=["tab:blue" if a.active else "lightgray" for a in axes])
    ax.set_xticks(range(len(axes)), [a.name for a in axes])
    ax.set_xlabel("axis (most informative first)")
    ax.set_ylabel(AMOUNT_LABELS.get(what, what))
    ax.set_title(f"{what} per axis: {sum(a.active for a in axes)} of {len(axes)} active")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def training_curves(records: list[dict], path: str | Path) -> Path:
    """One panel per logged quantity of log.jsonl (loss, reconstruction, each penalty term) against step."""
    keys = [k for k in dict.fromkeys(k for r in records for k in r) if k not in ("step", "time")]
    cols = min(3, max(1, len(keys)))
    rows = max(1, math.ceil(len(keys) / cols))
    fig = Figure(figsize=(4.2 * cols, 2.8 * rows), layout="constrained")
    if not keys:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no training log (log.jsonl is empty)", ha="center", va="center")
        ax.set_axis_off()
        return _save(fig, path)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(rows, cols, i + 1)
        points = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float)) and "step" in r]
        if points:
            ax.plot(*zip(*points), marker="." if len(points) < 30 else None, color=f"C{i % 10}")
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.set_ylabel("nats per image" if key in ("loss", "recon", "kl") else key)
        ax.grid(alpha=0.3)
    fig.suptitle("Training curves (log.jsonl)")
    return _save(fig, path)


def effect_heatmap(effect: np.ndarray, path: str | Path, *, factor_names: Sequence[str],
                   order: Sequence[int] | None = None, score: float | None = None,
                   share: np.ndarray | None = None, row_names: Sequence[str] | None = None,
                   weight: np.ndarray | None = None, floor: np.ndarray | None = None) -> Path:
    """Heat map of effect (D, K): how much turning latent d moves factor k (share of the factor's range).

    Rows are named ``z{d}`` unless ``row_names`` (D,) names them (the axes' names); a row's
    label carries its ``share`` on its main factor and its ``weight`` in the score.  Given the predictor's
    noise ``floor`` (K,), already subtracted from ``effect``, it is drawn as a last row below a line."""
    effect = np.asarray(effect, dtype=float)
    order = list(range(len(effect))) if order is None else list(order)
    m = effect[order]                                                     # (D, K), rows in display order
    names = list(row_names) if row_names is not None else [f"z{d}" for d in range(len(effect))]
    labels = []
    for d in order:
        parts = [] if share is None or np.isnan(share[d]) else [f"{share[d]:.0%}"]
        parts += [] if weight is None or not parts else [f"w {weight[d]:.2f}"]
        labels.append(names[d] + (f"  ({', '.join(parts)})" if parts else ""))
    if floor is not None:
        m = np.vstack([m, np.asarray(floor, dtype=float)[None]])          # (D + 1, K)
        labels.append("noise floor")
    fig = Figure(figsize=(1.1 * len(factor_names) + 3.0, 0.42 * len(m) + 1.8))
    ax = fig.add_subplot()
    image = ax.imshow(m, cmap="viridis", vmin=0, vmax=max(1e-9, float(m.max(initial=0)), 0.25), aspect="auto")
    ax.set_xticks(range(len(factor_names)), list(factor_names))
    ax.set_yticks(range(len(m)), labels)
    if floor is not None:
        ax.axhline(len(order) - 0.5, color="white", linewidth=3)
    ax.set_xlabel("factor (read by the factor predictor)")
    ax.set_ylabel("axis (share on its main factor" + (", weight in the score)" if weight is not None else ")"))
    for (r, c), v in np.ndenumerate(m):
        ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if v < 0.6 * m.max() else "black")
    title = "How much turning each axis moves each factor"
    if score is not None:
        title += "\nno active axis" if np.isnan(score) else f"\ntraversal score {score:.3f}"
        title += " (effect-weighted, noise floor subtracted)" if floor is not None else ""
    ax.set_title(title)
    label = "factor movement" + (" above the noise floor" if floor is not None else "") + " (share of its range)"
    fig.colorbar(image, ax=ax, label=label)
    return _save(fig, path)


def graph_plot(learned: np.ndarray, true: np.ndarray | None, names: Sequence[str], path: str | Path, *,
               threshold: float = 0.3) -> Path:
    """The learned causal graph beside the true one: concepts on a circle, an arrow j -> i for each
    |A[j, i]| > ``threshold`` (labelled with A[j, i], width by |A|), and the adjacency matrices below."""
    learned = np.asarray(learned, dtype=float)
    panels = [("learned A", learned)] + ([("true graph", np.asarray(true, dtype=float))] if true is not None else [])
    n = len(names)
    angle = np.pi / 2 - 2 * np.pi * np.arange(n) / n
    xy = np.stack([np.cos(angle), np.sin(angle)], 1)                     # (C, 2) node positions
    fig = Figure(figsize=(4.4 * len(panels), 8.0), layout="constrained")
    for k, (title, m) in enumerate(panels):
        ax = fig.add_subplot(2, len(panels), k + 1)
        for j, i in zip(*np.nonzero(np.abs(m) > threshold)):
            if i == j:
                continue
            ax.annotate("", xy=xy[i] * 0.82 + xy[j] * 0.18, xytext=xy[j] * 0.82 + xy[i] * 0.18,
                        arrowprops=dict(arrowstyle="-|>", lw=0.8 + 2.5 * min(1.0, abs(m[j, i])),
                                        color="tab:blue" if title.startswith("learned") else "black"))
            if title.startswith("learned"):
                mid = (xy[i] + xy[j]) / 2
                ax.text(*mid, f"{m[j, i]:.2f}", fontsize=8, color="tab:blue", ha="center", va="center",
                        bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
        for p, name in zip(xy, names):
            ax.text(*p, name.replace("_", "\n"), ha="center", va="center", fontsize=9,
                    bbox=dict(boxstyle="round", facecolor="#f4f4f4", edgecolor="gray"))
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(-1.4, 1.4)
        ax.set_axis_off()
        ax.set_title(title + (f" (edges: |A| > {threshold:g})" if title.startswith("learned") else ""))
        mat = fig.add_subplot(2, len(panels), len(panels) + k + 1)
        mat.imshow(np.abs(m), cmap="Greys", vmin=0, vmax=max(1e-9, float(np.abs(m).max())))
        mat.set_xticks(range(n), list(names), rotation=45, ha="right")
        mat.set_yticks(range(n), list(names))
        mat.set_xlabel("effect")
        mat.set_ylabel("cause")
        for (r, c), v in np.ndenumerate(m):
            mat.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=8, color="tab:red")
    return _save(fig, path)


def intervention_heatmap(truth: np.ndarray, effect: np.ndarray, reach: np.ndarray, names: Sequence[str],
                         path: str | Path, *, consistency: float | None = None) -> Path:
    """The intervention-effect matrices side by side: the renderer under the true SCM and the model, both net of
    the readout's noise floor (row: do(concept i), column: concept j read); true descendants are outlined."""
    fig = Figure(figsize=(2.2 * len(names) + 2.5, 0.9 * len(names) + 1.8), layout="constrained")
    short = [n.replace("_", "\n") for n in names]
    top = max(1e-9, float(np.max(truth)), float(np.max(effect)))
    for k, (title, m) in enumerate((("the renderer (true SCM)", truth), ("the model", effect))):
        ax = fig.add_subplot(1, 2, k + 1)
        ax.imshow(m, cmap="viridis", vmin=0, vmax=top)
        ax.set_xticks(range(len(names)), short, fontsize=8)
        ax.set_yticks(range(len(names)), [f"do({n})" for n in names], fontsize=8)
        for (r, c), v in np.ndenumerate(m):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize=8, color="white" if v < 0.6 * top else "black")
            if reach[r, c]:
                ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="tab:red", lw=2))
        ax.set_xlabel("concept read (share of its range moved)")
        ax.set_title(title if k == 0 or consistency is None else f"{title}: consistency {consistency:.2f}")
    return _save(fig, path)
