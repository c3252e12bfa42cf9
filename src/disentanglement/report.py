"""`disentangle report RUN`: one self-contained report.html per run (every image inlined as a data: URI).

One pipeline for every backbone: it renders what the model declares (``models/base.py``) — the traversal
animation and grids of its axes (a VAE's latents ordered by KL, an InfoGAN's codes), the traversal score
and its heat map, the metric table (if metrics.json exists), reconstructions where the model reconstructs,
samples beside the data, how much each axis carries where the model says, training curves and the config.
Figures are also kept as files under RUN/figures/; the factor predictor is trained once per dataset and
kept in the user's cache (~/.cache/disentanglement, or $DISENTANGLE_CACHE).
"""
from __future__ import annotations

import base64
import html
import json
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import viz
from .data import Split
from .runs import Run, atomic_write_text, load_trained

PAIRS = 256             # interchange pairs
QUICK_CALLS = viz.traversal.QUICK_CALLS   # a quick report: network calls per decoded image (DDIM steps) ...
QUICK_SCORE_SEEDS = 8   # ... anchors of the traversal score ...
QUICK_SCORE_STEPS = 5   # ... values along each of its sweeps ...
QUICK_PAIRS = 128       # ... and interchange pairs

CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.1em} .sub{color:#666;margin-top:0} section{margin:2em 0} img{max-width:100%;image-rendering:pixelated}
table{border-collapse:collapse} td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}
.score{font-size:2.2em;font-weight:600} pre{background:#f6f6f6;padding:1em;overflow:auto} .note{color:#666}"""


def _img(path: Path, alt: str) -> str:
    mime = {".gif": "image/gif", ".png": "image/png"}[path.suffix]
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:{mime};base64,{data}">'


def _table(rows) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def write_report(run_dir: str | Path, *, device: str = "cpu", progress: bool = True, steps: int = 9, seeds: int = 3,
                 score_seeds: int = 32, predictor_cache: Path | None = None, full: bool = False) -> Path:
    """Make every figure under RUN/figures/ and write RUN/report.html; return the report's path.

    Traversals turn each of the model's axes through ``steps`` values around ``seeds`` anchors.  The factor
    predictor is trained once per dataset and kept in the user's cache (``viz.factor_predictor.cache_dir``), or in
    ``predictor_cache`` (a folder shared by the runs of a sweep).

    A decoder that spends many network calls per image (a diffusion model) is shown quickly unless ``full``:
    at most QUICK_CALLS sampler steps per image, the traversal score from QUICK_SCORE_SEEDS anchors of
    QUICK_SCORE_STEPS values and the
    interchange accuracy from QUICK_PAIRS pairs; the report says so."""
    run = Run(run_dir)
    config, dataset, model, step = load_trained(run.path, device)
    with (nullcontext(None) if full else model.quick_decoding(QUICK_CALLS)) as shortened:
        return _write(run, config, dataset, model, step, device=device, progress=progress, steps=steps, seeds=seeds,
                      score_seeds=min(score_seeds, QUICK_SCORE_SEEDS) if shortened else score_seeds,
                      pairs=QUICK_PAIRS if shortened else PAIRS, predictor_cache=predictor_cache, shortened=shortened)


def _write(run: Run, config, dataset, model, step: int, *, device, progress: bool, steps: int, seeds: int,
           score_seeds: int, pairs: int, predictor_cache, shortened: str | None) -> Path:
    fig = run.figures
    bar = tqdm(total=5, desc=f"report {run.path.name}", disable=not progress, unit="part")
    with torch.no_grad():
        stats_images = torch.from_numpy(dataset.sample(512, np.random.default_rng(0))[0]).to(device)  # (512, C, H, W)
        axes = model.axes(stats_images, steps=steps)
        anchors = model.anchors(stats_images[:seeds], torch.Generator().manual_seed(0))              # (seeds, P)
    sweeps = viz.traversal_sweeps(model, anchors, axes)                      # every frame decoded once
    grids = [viz.save_traversal(model, anchors[i:i + 1], axes, fig / f"traversal_seed{i}.png",
                                rows=[sweep[i] for sweep in sweeps]) for i in range(seeds)]
    bar.update()
    gif = viz.save_traversal_gif(model, anchors, axes, fig / "traversal.gif", sweeps=sweeps)
    bar.update()
    recon = viz.save_reconstructions(model, stats_images[seeds:seeds + 10], fig / "reconstructions.png")
    samples = viz.save_samples(model, stats_images[-10:].float().cpu().numpy(), fig / "samples.png")
    amounts = viz.axis_bars(axes, fig / "axes.png") if any(a.amount is not None for a in axes) else None
    curves = viz.training_curves(run.read_log(), fig / "curves.png")
    graph = model.graph()
    graph_png = viz.graph_plot(*graph, fig / "graph.png") if graph is not None else None
    bar.update()
    score_steps = min(steps, QUICK_SCORE_STEPS) if shortened else steps
    if score_steps != steps:
        with torch.no_grad():
            axes_scored = model.axes(stats_images, steps=score_steps)
    else:
        axes_scored = axes
    scored = [a for a in axes_scored if not a.intervene]   # an intervention is meant to move what it causes
    cache = (Path(predictor_cache) / f"factor_predictor_{config.dataset}.pt") if predictor_cache else None
    score_html = _score_section(run, dataset, model, scored, device, score_seeds, score_steps, bar, cache, pairs)
    intervention_html = _intervention_section(run, dataset, model, device) \
        if hasattr(dataset, "do") and any(a.intervene for a in axes) else ""
    bar.update()

    ordered = axes[0].amount is not None
    sweeps = "; ".join(dict.fromkeys(f"{a.name}: {a.labels[0]} … {a.labels[-1]}" if a.move != "category" else
                                     f"{a.name}: categories 0 … {a.steps - 1}" for a in axes[:3]))
    rows_note = ("rows are anchors" + (" (encoded data images)" if recon is not None else " (draws from the prior)"))
    body = f"""<h1>{html.escape(run.path.name)}</h1>
<p class="sub">{html.escape(config.model)} on {html.escape(config.dataset)} · step {step} of {config.steps} · {html.escape(model.describe())}</p>
{f'<p class="note"><b>A quick report:</b> {html.escape(shortened)}; the traversal score from {score_seeds} anchors × {score_steps} values, the interchange accuracy from {pairs} pairs. <code>disentangle report --full</code> decodes as the run does.</p>' if shortened else ""}
<section><h2>Traversal animation</h2><p class="note">Every axis turns at once, one column each{", most informative first" if ordered else ""};
{rows_note}; sweeps such as {html.escape(sweeps)}.</p>{_img(gif, "traversal animation")}</section>
{score_html}
<section><h2>Metrics</h2><p class="note">The representation scored is {html.escape(model.representation_name)}.</p>
{_metrics_html(run)}</section>
{intervention_html}
{f'<section><h2>Causal graph</h2><p class="note">The learned adjacency |A| (row: cause, column: effect) beside the true graph.</p>{_img(graph_png, "causal graph")}</section>' if graph_png else ""}
<section><h2>Traversal grids</h2><p class="note">One axis per row, the others held at the anchor; one grid per anchor.{" A row do(c) is the intervention on concept c: its descendants follow through the learned graph, unlike the plain traversal of c above it." if any(a.intervene for a in axes) else ""}</p>
{"".join(f"<h3>anchor {i}</h3>" + _img(p, f"traversal grid anchor {i}") for i, p in enumerate(grids))}</section>
{f'<section><h2>Reconstructions</h2><p class="note">Inputs above, decoded posterior means below.</p>{_img(recon, "reconstructions")}</section>' if recon else ""}
<section><h2>Samples</h2><p class="note">Data above, draws from the model's prior below.</p>{_img(samples, "samples")}</section>
{f'<section><h2>Which axes are active</h2>{_img(amounts, "amount per axis")}</section>' if amounts else ""}
<section><h2>Training curves</h2>{_img(curves, "training curves")}</section>
<section><h2>Config</h2><pre>{html.escape(run.config_path.read_text())}</pre></section>"""
    out = _write_page(run, body)
    bar.update()
    bar.close()
    return out


def _metrics_html(run: Run) -> str:
    metrics = json.loads(run.metrics_path.read_text()) if run.metrics_path.exists() else None
    metrics = metrics.get("metrics", metrics) if isinstance(metrics, dict) else None  # evaluate's layout, or flat
    return _table((k, _fmt(v)) for k, v in metrics.items()) if metrics else \
        f'<p class="note">no metrics.json yet: run <code>disentangle evaluate {html.escape(str(run.path))}</code></p>'


def _write_page(run: Run, body: str) -> Path:
    page = f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(run.path.name)} · report</title>' \
           f"<style>{CSS}</style></head><body>{body}</body></html>\n"
    out = run.path / "report.html"
    atomic_write_text(out, page)
    return out


def _score_section(run: Run, dataset, model, axes, device, seeds: int, steps: int, bar, cache, pairs: int) -> str:
    """Train (or load) the factor predictor, compute the traversal score, draw its heat map: an HTML section."""
    if not dataset.has_factors or not dataset.complete:
        why = "has no known factors" if not dataset.has_factors else \
            f"has images for {dataset.present:,} of its {len(dataset):,} factor combinations"
        return (f'<section><h2>Traversal score</h2><p class="note">Skipped: the score compares each axis with sweeps '
                f'of one true factor, rendered by the dataset, which needs every combination of the factors; this '
                f'dataset {why}.</p></section>')
    bar.set_postfix_str("factor predictor")
    predictor, accuracy = viz.load_or_train(dataset, cache, device=device)
    result = viz.model_traversal_score(model, dataset, predictor.readout, axes=axes, seeds=seeds, steps=steps,
                                       device=device)
    sweeps = f"turn it around {seeds} anchors"
    html_ = _score_html(run, dataset, result, accuracy, sweeps, "axis", row_names=[a.name for a in axes])
    return html_ + _interchange_html(model, dataset, predictor, pairs)


def _intervention_section(run: Run, dataset, model, device) -> str:
    """do() of each concept read by a concept readout (viz/intervention.py): the rows of one held-out scene beside
    the renderer's, the effect matrices and the intervention consistency."""
    scenes = Split(dataset, "test") if model.supervised else dataset
    readout, accuracy = viz.concept_readout(dataset, device=device)
    with torch.no_grad():
        result = viz.model_intervention_effects(model, scenes, readout.readout)
        grid, names = viz.intervention_grid(model, scenes, result)
    rows = run.figures / "interventions.png"
    viz.grid_image(grid, names, cell=80, pad=3, background=(190, 190, 190)).save(rows)
    heat = viz.intervention_heatmap(result["truth"], result["intervention.effect"], result["descendants"],
                                    result["concepts"], run.figures / "intervention_effect.png",
                                    consistency=result["intervention.consistency"])
    acc = ", ".join(f"{n} {a:.0%}" for n, a in zip(result["concepts"], accuracy))
    return f"""<section><h2>Interventions</h2><p class="score">{result["intervention.consistency"]:.3f}</p>
<p class="note">Intervention consistency: how well the effects of do(concept i) on concept j separate the true graph's
descendants (outlined) from the rest (area under the ROC curve; 1: interventions move exactly what they cause, 0.5: no
separation, as a model whose do() moves only the concept itself).  Effects are the range of each concept's reading
along a sweep of do(concept i) over its range, averaged over 64 {"held-out " if model.supervised else ""}scenes, read by
a readout trained on scenes whose concepts are drawn independently (exact-bin accuracy {html.escape(acc)}) and net of
its noise floor (what it reads of a concept along the renderer's sweeps that do not move it).  do() moves its own
concept {result["intervention.own"]:.0%} as far as the renderer's does, on average.</p>
{_img(heat, "intervention effect matrices")}
<p class="note">One held-out scene under do() of each concept: the renderer under the true causal model, then the model.</p>
{_img(rows, "interventions of one scene")}</section>"""


def _interchange_html(model, dataset, predictor, pairs: int) -> str:
    """The interchange intervention accuracy (viz/interchange.py) per factor, as a short table."""
    scenes = Split(dataset, "test") if model.supervised else dataset          # never the scenes that supervised it
    with torch.no_grad():
        result = viz.model_interchange_accuracy(model, scenes, predictor.classes, pairs=pairs)
    rows = [(name, f"{result[f'interchange.{name}']:.3f} (block {result[f'interchange.{name}.block']})")
            for name in dataset.factor_names]
    return f"""<section><h2>Interchange interventions</h2><p class="note">Encode a base and a source scene, put the
source's block aligned with factor k into the base's point, decode, and read every factor of the result with the same
predictor: the share read as the counterfactual (the base with factor k from the source), divided by the share the
predictor reads right on the rendered counterfactual (1: the model decodes it as well as the renderer; Geiger et al.
2021).  {pairs} pairs{", held-out scenes" if model.supervised else ""}; mean {result["interchange"]:.3f}.</p>
{_table(rows)}</section>"""


def _score_html(run: Run, dataset, result: dict, accuracy, sweeps: str, knob: str, *, order=None,
                row_names=None) -> str:
    """Heat map, traversal_score.json and the HTML section of a traversal score (viz.traversal_score)."""
    names = list(dataset.factor_names)
    rows = list(row_names) if row_names is not None else [f"z{d}" for d in range(len(result["effect"]))]
    heat = viz.effect_heatmap(result["effect"], run.figures / "traversal_score.png", factor_names=names,
                              order=order, score=result["score"], share=result["share"], row_names=row_names,
                              weight=result["weight"], floor=result["floor"])

    def named(values) -> dict:
        return dict(zip(names, np.asarray(values, dtype=float).round(4).tolist()))
    record = {"traversal_score": result["score"],
              "formula": "sum_d max_k effect[d,k] / sum_d sum_k effect[d,k] over active rows; "
                         "effect = max(raw_effect - noise_floor, 0)",
              "factor_names": names, "axes": rows, "effect": result["effect"].tolist(),
              "raw_effect": result["raw_effect"].tolist(), "noise_floor": named(result["floor"]),
              "ground_truth_effect": result["truth"].tolist(), "weight": result["weight"].tolist(),
              "share": [None if np.isnan(v) else v for v in result["share"].tolist()],
              "main_factor": [names[k] if k >= 0 else None for k in result["main_factor"]],
              "active": result["active"].tolist(), "predictor_accuracy": named(accuracy)}
    atomic_write_text(run.figures / "traversal_score.json", json.dumps(record, indent=2) + "\n")
    score = f"no active {knob}" if np.isnan(result["score"]) else f"{result['score']:.3f}"
    acc = ", ".join(f"{n} {a:.0%}" for n, a in zip(names, accuracy))
    floor = ", ".join(f"{n} {f:.2f}" for n, f in zip(names, result["floor"]))
    return f"""<section><h2>Traversal score</h2><p class="score">{score}</p>
<p class="note">For each {knob}, {html.escape(sweeps)}, read the factors of the images with a predictor trained on
the dataset (held-out accuracy: {html.escape(acc)}), and measure how far each factor moves (share of its range).
From that we subtract the predictor's noise floor — the most it reads of a factor along true sweeps of one other
factor, rendered by the dataset ({html.escape(floor)}; last row of the heat map). The score is the share of all
remaining movement that falls on each {knob}'s main factor (each {knob}'s share weighted by its total effect,
w): 1 means every {knob} turns exactly one factor; a near-silent {knob} weighs next to nothing.</p>
{_img(heat, "traversal score heat map")}</section>"""
