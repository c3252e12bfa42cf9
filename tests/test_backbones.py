"""The backbone contract, walked for every backbone in the registry through one code path; the import
rules; run directories written before the contract still resume, evaluate and report."""
import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.data import DATASETS
from disentanglement.evaluate import evaluate_run
from disentanglement.models import BACKBONES, Axis, Backbone
from disentanglement.report import write_report
from disentanglement.runs import Run, load_trained
from disentanglement.train import train
from disentanglement.viz import save_traversal

SRC = Path(__file__).parent.parent / "src" / "disentanglement"
LEGACY = Path(__file__).parent / "fixtures" / "legacy_runs"
SMALL = {"vae": ["vae.latent_dim=3"], "ada_gvae": ["ada_gvae.latent_dim=3"], "ada_mlvae": ["ada_mlvae.latent_dim=3"],
         "infogan": ["infogan.noise_dim=2", "infogan.continuous=2"], "ib_gan": ["ib_gan.noise_dim=3", "ib_gan.r_dim=2"],
         "qlae": ["qlae.latent_dim=3", "qlae.values=4"], "tripod": ["tripod.latent_dim=3", "tripod.levels=4"],
         "causal_vae": ["causal_vae.latent_dim=6"], "distib": ["distib.label_dim=2", "distib.sample_dim=2"],
         "dr_gan": ["dr_gan.identity=shape", "dr_gan.pose=posX", "dr_gan.feature_dim=4", "dr_gan.noise_dim=2"],
         "causal_infogan": ["causal_infogan.state_dim=2", "causal_infogan.noise_dim=1"],
         "diffusion_ae": ["diffusion_ae.code_dim=4", "diffusion_ae.unet_channels=8,16", "diffusion_ae.ddim_steps=2"],
         "hypercoder": ["hypercoder.latent_dim=2", "hypercoder.encoder_cells=4", "hypercoder.stage1_steps=2",
                        "hypercoder.prior_samples=50", "batch_size=16"]}
# a backbone supervised by concepts trains on a dataset that has them; one that reads behaviour, on the bandit agents
DATASET = {"causal_vae": "shadows", "hypercoder": "bandit", "distib": "glyphs", "dr_gan": "glyphs",
           "causal_infogan": "rooms"}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    """One factor predictor of the squares, trained here into the session's cache (tests/conftest.py) and
    loaded by every report below, as a user's runs share it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("predictor") / "run"
    train(make_config({"model": "vae", "dataset": "squares", "steps": 1}, SMALL["vae"]), run, progress=False,
          tensorboard=False)
    write_report(run, progress=False, steps=3, score_seeds=2)
    torch.set_num_threads(threads)       # later tests compare against subprocesses on the default threads
    from disentanglement.viz.factor_predictor import cache_dir
    return next(cache_dir().glob("factor_predictor_squares_*.pt"))


def _config(name, steps):
    return make_config({"model": name, "dataset": DATASET.get(name, "squares"), "steps": steps, "lr": 1e-3, "log_every": 1,
                        "checkpoint_every": 2}, SMALL[name])


def _weights(path):
    return torch.load(Path(path) / "checkpoint.pt", weights_only=True)["model"]


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_backbone_trains_resumes_traverses_reports_and_evaluates(name, tmp_path, predictor):
    torch.manual_seed(0)
    config = _config(name, 2)
    untrained = {k: v.clone() for k, v in BACKBONES[name].build(config, DATASETS[config.dataset]()).state_dict().items()}
    train(_config(name, 2), tmp_path / "split", progress=False, tensorboard=False)
    after = _weights(tmp_path / "split")
    assert any(not torch.equal(untrained[k], after[k]) for k in untrained), "two steps changed no weight"
    train(_config(name, 4), tmp_path / "split", progress=False, tensorboard=False)      # resumed from step 2
    train(_config(name, 4), tmp_path / "straight", progress=False, tensorboard=False)
    a, b = _weights(tmp_path / "split"), _weights(tmp_path / "straight")
    assert all(torch.equal(a[k], b[k]) for k in a), "resume is not bit-identical"
    assert all(np.isfinite(r["loss"]) for r in Run(tmp_path / "split").read_log())

    _, dataset, model, step = load_trained(tmp_path / "split")
    assert isinstance(model, Backbone) and step == 4
    images = torch.from_numpy(dataset.sample(64, np.random.default_rng(0))[0])
    axes = model.axes(images, steps=5)
    assert axes and all(isinstance(a, Axis) for a in axes)
    anchors = model.anchors(images[:2])
    assert anchors.ndim == 2 and len(anchors) == 2
    sweep = model.traverse(anchors, axes[0])
    assert sweep.shape == (2, axes[0].steps, *dataset.observation_shape) and 0 <= sweep.min() and sweep.max() <= 1
    assert model.representation(images).shape[0] == 64
    assert save_traversal(model, anchors[:1], axes, tmp_path / "t.png").exists()

    page = write_report(tmp_path / "split", progress=False, steps=3, score_seeds=2).read_text()
    assert "Traversal grids" in page and "Traversal score" in page
    record = evaluate_run(tmp_path / "split", metrics=["mig"], progress=False)
    assert 0 <= record["metrics"]["mig"] <= 1


def test_pairs_reach_the_pair_backbones_only(tmp_path):
    for name in BACKBONES:
        config = _config(name, 1)
        model = BACKBONES[name].build(config, DATASETS[config.dataset]())
        expected = "transition" if name == "causal_infogan" else -1 if name.startswith("ada_") else None
        assert (model.pairs == expected) if expected != -1 else isinstance(model.pairs, int), name


# ---- imports flow one way -----------------------------------------------------------------------------
LAYERS = [  # a module may import from its own layer's package or from lower layers, never higher
    {"errors", "params", "metrics"},
    {"data"},
    {"nets", "penalties"},
    {"models"},
    {"speed", "registry"},
    {"config"},
    {"runs"},
    {"train", "viz", "pretrained"},
    {"evaluate", "report", "aggregate", "pack"},
    {"sweep"},
    {"cli", "__main__", "__init__"},
]
CONCRETE_MODELS = {"models.vae", "models.infogan", "models.ib_gan", "models.gan", "models.qlae", "models.tripod", "models.ada_gvae",
                   "models.causal_vae", "models.hypercoder", "models.distib", "models.dr_gan",
                   "models.causal_infogan"}


def _imports():
    """(module, imported module, at module level?) for every import inside the package."""
    out = []
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        module = ".".join(parts)
        package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
        tree = ast.parse(path.read_text())
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = list(package[:len(package) - node.level + 1])
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" if target else a.name for a in node.names] if not node.module else [target]
                for name in names:
                    out.append((module, name, id(node) in top))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("disentanglement"):
                out.append((module, node.module.split(".", 1)[1] if "." in node.module else "__init__", id(node) in top))
    return out


def _layer(module: str) -> int:
    head = module.split(".")[0]
    return next(i for i, layer in enumerate(LAYERS) if head in layer)


def test_no_import_inside_a_function_hides_a_cycle():
    hidden = [(m, t) for m, t, top in _imports() if not top]
    assert hidden == []


def test_imports_flow_one_way():
    backwards = [(m, t) for m, t, _ in _imports() if _layer(t) > _layer(m) and t.split(".")[0] != m.split(".")[0]]
    assert backwards == []


def test_viz_report_and_evaluate_import_no_concrete_model():
    users = [(m, t) for m, t, _ in _imports() if (m.startswith("viz") or m in ("report", "evaluate"))
             and (t in CONCRETE_MODELS or t == "models")]
    assert users == []


# ---- run directories written before the backbone contract -----------------------------------------
@pytest.mark.parametrize("name, section", [("beta_tcvae_squares", "vae"), ("infogan_squares", "infogan")])
def test_legacy_run_directory_resumes_evaluates_and_reports(name, section, tmp_path, predictor, capsys):
    run = tmp_path / name
    shutil.copytree(LEGACY / name, run)
    config = Run(run).read_config()
    assert config.backbone_name == section and config.fast is True
    if section == "vae":
        assert config.backbone.latent_dim == 3 and config.penalty.beta == 4.0 and config.backbone.penalty == "beta_tcvae"
    else:
        assert config.backbone.noise_dim == 2 and config.backbone.continuous == 2 and config.penalty is None
    before = _weights(run)
    steps = Run(run).read_log()[-1]["step"]
    assert main(["train", "--resume", str(run), "--steps", str(steps + 2), "--no-progress", "--no-report"]) == 0
    assert f"step {steps + 2}/{steps + 2}" in capsys.readouterr().out
    assert any(not torch.equal(before[k], v) for k, v in _weights(run).items())
    assert main(["evaluate", str(run), "--metrics", "mig", "--no-progress"]) == 0
    assert 0 <= json.loads((run / "metrics.json").read_text())["metrics"]["mig"] <= 1
    assert main(["report", str(run), "--no-progress"]) == 0 and (run / "report.html").exists()
