"""`disentangle report RUN`: one self-contained report.html per run (every image inlined as a data: URI).

It holds the traversal animation and grids (latents ordered by KL), reconstructions, KL per latent,
training curves, the traversal score and its heat map, the metric table (if metrics.json exists) and the
config.  Figures are also kept as files under RUN/figures/; the factor predictor is cached in RUN/.
A model that generates from a structured code (InfoGAN) gets code traversals, samples, curves, metrics
and config instead: it has no posterior to take KLs of and no reconstructions.
"""
from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import viz
from .runs import Run, atomic_write_text, load_trained
from .viz.traversal_score import score_against_floor

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


def write_report(run_dir: str | Path, *, device: str = "cpu", progress: bool = True, limit: float = 2.0,
                 steps: int = 9, scale: str = "std", seeds: int = 3, score_seeds: int = 32) -> Path:
    """Make every figure under RUN/figures/ and write RUN/report.html; return the report's path.

    Traversals shift each latent by linspace(-limit, limit, steps), in aggregate-posterior standard
    deviations (``scale="std"``) or prior units (``scale="fixed"``).
    """
    run = Run(run_dir)
    config, dataset, model, step = load_trained(run.path, device)
    if viz.is_code_model(model):
        return _write_code_report(run, config, dataset, model, step, device=device, progress=progress, seeds=seeds,
                                  score_seeds=score_seeds)
    fig = run.figures
    bar = tqdm(total=6, desc=f"report {run.path.name}", disable=not progress, unit="part")
    rng = np.random.default_rng(0)
    with torch.no_grad():
        stats_images = torch.from_numpy(dataset.sample(512, rng)[0]).to(device)      # (512, C, H, W)
        kl, std = viz.posterior_stats(model, stats_images)                           # (D,) each
    order = viz.latent_order(kl)
    values = viz.sweep_values(len(kl), limit=limit, steps=steps, scale=scale, std=std)  # (D, S)
    unit = " sd" if scale == "std" else ""
    cols = [f"{v:+.1f}{unit}" for v in np.linspace(-limit, limit, steps)]
    rows = [f"z{d}  KL {kl[d]:.2f}" for d in order]
    seed_images = stats_images[:seeds]
    grids = [viz.save_traversal(model, img, fig / f"traversal_seed{i}.png", latents=order, values=values,
                                row_labels=rows, col_labels=cols) for i, img in enumerate(seed_images)]
    bar.update()
    gif = viz.save_traversal_gif(model, seed_images, fig / "traversal.gif", values=values, latents=order,
                                 col_labels=[f"z{d} ({kl[d]:.1f})" for d in order])
    bar.update()
    recon = viz.save_reconstructions(model, stats_images[seeds:seeds + 10], fig / "reconstructions.png")
    kl_png = viz.kl_bars(kl, fig / "kl.png", order=order)
    curves = viz.training_curves(run.read_log(), fig / "curves.png")
    bar.update()
    score_html = _score_section(run, dataset, model, values, order, kl, device, score_seeds, bar)
    bar.update()

    metric_html = _metrics_html(run)
    sweep = f"shifts from {-limit:g} to {limit:g} {'aggregate-posterior standard deviations' if scale == 'std' else 'prior units'} in {steps} steps"
    body = f"""<h1>{html.escape(run.path.name)}</h1>
<p class="sub">{html.escape(config.model)} on {html.escape(config.dataset)} · step {step} of {config.steps} · {len(kl)} latents</p>
<section><h2>Traversal animation</h2><p class="note">Every latent sweeps at once, one column each, ordered by KL
(nats in brackets); rows are seed images; {sweep}.</p>{_img(gif, "traversal animation")}</section>
{score_html}
<section><h2>Metrics</h2>{metric_html}</section>
<section><h2>Traversal grids</h2><p class="note">One latent per row, most informative first, with its mean KL; {sweep}.</p>
{"".join(f"<h3>seed {i}</h3>" + _img(p, f"traversal grid seed {i}") for i, p in enumerate(grids))}</section>
<section><h2>Reconstructions</h2><p class="note">Inputs above, decoded posterior means below.</p>{_img(recon, "reconstructions")}</section>
<section><h2>Which latents are active</h2>{_img(kl_png, "KL per latent")}</section>
<section><h2>Training curves</h2>{_img(curves, "training curves")}</section>
<section><h2>Config</h2><pre>{html.escape(run.config_path.read_text())}</pre></section>"""
    out = _write_page(run, body)
    bar.update(2)
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


def _write_code_report(run: Run, config, dataset, model, step: int, *, device, progress: bool, seeds: int,
                       score_seeds: int, samples: int = 10) -> Path:
    """The report of a model that generates from a structured code (InfoGAN): code traversals around a few
    fixed noise draws, the traversal score of the codes, random samples next to real images, curves,
    metrics, config."""
    fig = run.figures
    fig.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=4, desc=f"report {run.path.name}", disable=not progress, unit="part")
    anchors = viz.base_codes(model, seeds, seed=0)
    grids = []
    for i in range(seeds):
        grid, rows, cols = viz.code_traversal(model, anchors.rows(i, i + 1))
        path = fig / f"traversal_seed{i}.png"
        viz.grid_image(grid, rows, col_labels=cols).save(path)
        grids.append(path)
    bar.update()
    score_html = _code_score_section(run, dataset, model, device, score_seeds)
    bar.update()
    with torch.no_grad():
        prior = model.sample_code(2 * samples, torch.Generator().manual_seed(1), torch.device("cpu"))
        fake = model.generate(prior.to(device))
    real = dataset.sample(samples, np.random.default_rng(1))[0]
    sample_png = fig / "samples.png"
    viz.grid_image(np.stack([real, *fake.float().cpu().numpy().reshape(2, samples, *real.shape[1:])]),
                   ["data", "G", "G"]).save(sample_png)
    curves = viz.training_curves(run.read_log(), fig / "curves.png")
    bar.update()
    p = model.params
    layout = (f"{p.noise_dim} noise dims, categorical codes {list(p.categorical) or 'none'}, "
              f"{p.continuous} continuous codes")
    body = f"""<h1>{html.escape(run.path.name)}</h1>
<p class="sub">{html.escape(config.model)} on {html.escape(config.dataset)} · step {step} of {config.steps} · {html.escape(layout)}</p>
<section><h2>Code traversals</h2><p class="note">Each row sweeps one code with the noise and the other codes held:
a categorical code through its categories (column = category), a continuous code over [-1, 1] (its prior's range).
Continuous codes start at 0; one grid per fixed noise draw.</p>
{"".join(f"<h3>noise {i}</h3>" + _img(g, f"code traversal noise {i}") for i, g in enumerate(grids))}</section>
{score_html}
<section><h2>Metrics</h2><p class="note">The representation scored is {html.escape(model.representation_name)}.</p>
{_metrics_html(run)}</section>
<section><h2>Samples</h2><p class="note">Data above, generated images below (codes and noise from the prior).</p>
{_img(sample_png, "samples")}</section>
<section><h2>Training curves</h2>{_img(curves, "training curves")}</section>
<section><h2>Config</h2><pre>{html.escape(run.config_path.read_text())}</pre></section>"""
    out = _write_page(run, body)
    bar.update()
    bar.close()
    return out


def _code_score_section(run: Run, dataset, model, device, seeds: int) -> str:
    """The traversal score of a code model's codes (rows: categorical, then continuous codes): an HTML section."""
    if not getattr(dataset, "factor_sizes", ()):
        return '<section><h2>Traversal score</h2><p class="note">this dataset has no known factors.</p></section>'
    predictor, accuracy = viz.load_or_train(dataset, run.path / "factor_predictor.pt", device=device)
    raw = viz.code_traversal_effects(model, predictor.readout, seeds=seeds, steps=9)
    # the floor of a 9-step sweep; a categorical code's sweep has fewer steps, so its floor is if anything lower
    result = score_against_floor(raw, dataset, predictor.readout, steps=9, seeds=seeds, seed=1, device=device)
    sweeps = (f"generate sweeps around {seeds} draws of noise and codes from the prior (each code through its "
              "categories or over [-1, 1])")
    return _score_html(run, dataset, result, accuracy, sweeps, "code", row_names=model.code_names)


def _score_section(run: Run, dataset, model, values, order, kl, device, seeds: int, bar) -> str:
    """Train (or load) the factor predictor, compute the traversal score, draw its heat map: an HTML section."""
    if not getattr(dataset, "factor_sizes", ()):
        return '<section><h2>Traversal score</h2><p class="note">this dataset has no known factors.</p></section>'
    bar.set_postfix_str("factor predictor")
    predictor, accuracy = viz.load_or_train(dataset, run.path / "factor_predictor.pt", device=device)
    result = viz.model_traversal_score(model, dataset, predictor.readout, values=values, seeds=seeds,
                                       device=device, kl=kl)
    sweeps = f"decode sweeps from {seeds} seed codes"
    return _score_html(run, dataset, result, accuracy, sweeps, "latent", order=order)


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
              "factor_names": names, f"{knob}s": rows, "effect": result["effect"].tolist(),
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
