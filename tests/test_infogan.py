"""InfoGAN: nets, the two phases, exact resume, the Q-head representation, code traversals, the report,
and the evidence that a categorical code finds the toy's discrete factor."""
import itertools
import json
import math

import numpy as np
import pytest
import torch

from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.data import DSprites, Glyphs
from disentanglement.models import Batch, InfoGAN, build_model
from disentanglement.nets import DCGANDiscriminatorBody, DCGANGenerator, build_gan_nets
from disentanglement.runs import Run, atomic_save, load_trained
from disentanglement.train import make_optimizers, train
from disentanglement.viz import axes_effects, save_traversal, traversal_grid
from disentanglement.viz.factor_predictor import cache_dir, cache_key, train_factor_predictor

TOY = {"model": "infogan", "dataset": "glyphs", "log_every": 5, "checkpoint_every": 10}
LAYOUT = ["infogan.categorical=3", "infogan.continuous=2", "infogan.noise_dim=2"]


def _config(steps=10, *overrides, **values):
    return make_config({**TOY, "steps": steps, **values}, [*LAYOUT, *overrides])


def test_dcgan_layout_for_64x64_and_smaller_sides():
    g, d = DCGANGenerator(12, 1, 64), DCGANDiscriminatorBody(1, True, 64)
    x = g(torch.rand(3, 12))
    assert x.shape == (3, 1, 64, 64) and 0 <= x.min() and x.max() <= 1
    assert d(x).shape == (3, 128)
    assert [m.out_channels for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)] == [64, 32, 32, 1]
    assert [m.out_channels for m in d.modules() if isinstance(m, torch.nn.Conv2d)] == [32, 32, 64, 64]
    assert [m.out_features for m in g.modules() if isinstance(m, torch.nn.Linear)] == [128, 1024]
    g16, d16 = build_gan_nets("auto", (1, 16, 16), 7)
    assert g16(torch.rand(2, 7)).shape == (2, 1, 16, 16) and d16(torch.rand(2, 1, 16, 16)).shape == (2, 128)
    with pytest.raises(ValueError, match="square images"):
        build_gan_nets("dcgan", (1, 12, 20), 7)


def test_config_defaults_and_layout_round_trip(tmp_path):
    config = make_config({"model": "infogan"})
    assert (config.lr, config.adam_beta1, config.penalty, config.backbone_name) == (2e-4, 0.5, None, "infogan")
    assert config.backbone.categorical == (3,) and config.backbone.continuous == 4
    assert "vae" not in config.to_dict() and "penalty" not in config.to_dict()
    two = make_config({"model": "infogan"}, ["infogan.categorical=10,3", "lr=1e-3"])
    assert two.backbone.categorical == (10, 3) and two.lr == 1e-3
    assert make_config({"model": "infogan", "infogan": {"categorical": [4, 2]}}).backbone.categorical == (4, 2)
    assert make_config({"model": "infogan"}, ["infogan.categorical="]).backbone.categorical == ()
    Run(tmp_path / "r").create(two)
    assert Run(tmp_path / "r").read_config() == two                         # YAML list -> tuple again


def test_phases_split_the_parameters_and_one_step_is_finite():
    torch.manual_seed(0)
    config = _config()
    model = build_model(config, Glyphs())
    phases = model.phases()
    assert [p.name for p in phases] == ["discriminator", "generator"]
    d_ids, g_ids = ({id(p) for p in ph.parameters} for ph in phases)
    assert not d_ids & g_ids and d_ids | g_ids == {id(p) for p in model.parameters()}
    assert {id(p) for p in model.q_head.parameters()} <= g_ids and {id(p) for p in model.body.parameters()} <= d_ids
    opts = make_optimizers(phases, config)
    assert opts["discriminator"].defaults["lr"] == config.backbone.d_lr and opts["generator"].defaults["lr"] == config.lr
    x = torch.from_numpy(Glyphs().images(Glyphs().sample_factors(16, np.random.default_rng(0))))
    batch, logs = Batch(x, 0, torch.Generator().manual_seed(0)), {}
    for ph in phases:
        loss, out = ph.loss(batch)
        assert torch.isfinite(loss)
        opts[ph.name].zero_grad()
        loss.backward()
        opts[ph.name].step()
        logs.update(out)
    assert {"d_loss", "g_loss", "info_loss", "mi_cat", "mi_cont"} <= set(logs)
    assert all(math.isfinite(float(v.detach())) for v in logs.values())
    # L_I <= H(c): a lower bound on the mutual information cannot exceed the code's entropy
    assert float(logs["mi_cat"]) <= math.log(3) + 1e-6


def test_training_changes_generator_discriminator_and_q(tmp_path):
    torch.manual_seed(0)
    before = build_model(_config(), Glyphs()).state_dict()
    train(_config(3), tmp_path / "r", progress=False, tensorboard=False)
    after = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert set(after["optimizers"]) == {"discriminator", "generator"}
    for part in ("generator.", "body.", "d_head.", "q_head."):
        weights = [k for k in before if k.startswith(part) and before[k].is_floating_point() and "_u" not in k
                   and "_v" not in k and "running" not in k]
        assert weights and all(not torch.equal(before[k], after["model"][k]) for k in weights), part


def test_resume_is_bit_identical(tmp_path):
    straight = tmp_path / "straight"
    train(_config(20), straight, progress=False, tensorboard=False)
    split = tmp_path / "split"
    train(_config(10), split, progress=False, tensorboard=False)
    train(_config(20), split, progress=False, tensorboard=False)
    a, b = (torch.load(p / "checkpoint.pt", weights_only=True) for p in (straight, split))
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["rng"]["torch"].equal(b["rng"]["torch"])
    assert Run(straight).read_log() != [] and [r["step"] for r in Run(split).read_log()] == [5, 10, 15, 20]


def test_representation_and_traversal_shapes(tmp_path):
    config = _config(2, "infogan.categorical=4,2", "infogan.continuous=3")
    train(config, tmp_path / "r", progress=False, tensorboard=False)
    _, ds, model, _ = load_trained(tmp_path / "r")
    x = torch.from_numpy(ds.images(ds.sample_factors(9, np.random.default_rng(0))))
    with torch.no_grad():
        rep = model.representation(x)
    assert rep.shape == (9, 2 + 3)
    assert torch.equal(rep[:, :2], rep[:, :2].round()) and rep[:, 0].max() < 4 and rep[:, 1].max() < 2
    axes = model.axes(x, steps=7)
    anchor = model.anchors(x[:1])
    assert anchor.shape == (1, model.input_dim) and torch.all(anchor[:, -3:] == 0)   # continuous codes at 0
    grid = traversal_grid(model, anchor, axes)
    assert grid.shape == (5, 7, 1, 16, 16) and [a.name for a in axes] == ["cat0", "cat1", "c0", "c1", "c2"]
    assert [a.steps for a in axes] == [4, 2, 7, 7, 7] and np.all(grid[1, 2:] == 1.0)  # a 2-way code: blank after 2
    assert not np.allclose(grid[2, 0], grid[2, -1])                # sweeping c0 changes the image
    one_hot = axes[0].apply(anchor)[0, :, 2:6]                     # cat0's block, one row per category
    assert torch.equal(one_hot, torch.eye(4))
    readout = lambda images: torch.stack([images.mean((1, 2, 3)), images[..., :8].mean((1, 2, 3))], 1)  # noqa: E731
    effect = axes_effects(model, model.anchors(x[:4]), model.axes(x, steps=5), readout)
    assert effect.shape == (5, 2) and np.all(effect >= 0) and effect.max() > 0
    png = save_traversal(model, anchor, axes, tmp_path / "t.png")
    assert png.exists() and png.stat().st_size > 0


def _quick_predictor_cache(dataset, folder, monkeypatch):
    """A report's factor predictor for ``dataset``, trained 30 steps instead of 1,200 and cached under the key of
    the full one in a folder of this test only: the GAN's report plumbing is under test here, not the readout
    (tests/test_viz_traversal_score.py tests that), and the full dSprites readout would cost this test ~100 s."""
    monkeypatch.setenv("DISENTANGLE_CACHE", str(folder))
    model, accuracy = train_factor_predictor(dataset, steps=30)
    key = cache_key(dataset, steps=1200, seed=0)
    atomic_save({"key": key, "model": model.state_dict(), "accuracy": accuracy},
                cache_dir() / f"factor_predictor_{dataset.name}_{key}.pt")


def test_cli_dsprites_end_to_end(capsys, tmp_path, monkeypatch):
    _quick_predictor_cache(DSprites(), tmp_path / "cache", monkeypatch)
    out = str(tmp_path / "gan")
    assert main(["train", "--model", "infogan", "--dataset", "dsprites", "--steps", "2", "--out", out,
                 "--no-progress", "--set", "batch_size=8", "--set", "checkpoint_every=1"]) == 0
    assert "infogan on dsprites: step 2/2" in capsys.readouterr().out
    page = (tmp_path / "gan" / "report.html").read_text()
    assert "Traversal grids" in page and "Traversal score" in page and page.count("data:image/png;base64,") >= 6
    assert "Reconstructions" not in page and "Samples" in page     # a GAN does not reconstruct
    score = json.loads((tmp_path / "gan" / "figures" / "traversal_score.json").read_text())
    assert score["axes"] == ["cat0", "c0", "c1", "c2", "c3"] and len(score["effect"]) == 5
    assert main(["evaluate", out, "--metrics", "mig,sap", "--no-progress"]) == 0
    record = json.loads((tmp_path / "gan" / "metrics.json").read_text())
    assert record["representation"].startswith("Q head") and 0 <= record["metrics"]["mig"] <= 1


def _shape_accuracy(model, dataset) -> tuple[float, float]:
    """Accuracy of Q's category for the shape factor under the best matching of categories to shapes,
    and the 99th percentile of the same statistic for shuffled shapes (chance)."""
    factors = np.array(list(itertools.product(*map(range, dataset.factor_sizes))))     # every image once
    with torch.no_grad():
        category = model.representation(torch.from_numpy(dataset.images(factors)))[:, 0].long().numpy()

    def best(shape):
        return max(np.mean(np.array(p)[category] == shape) for p in itertools.permutations(range(3)))
    rng = np.random.default_rng(0)
    chance = np.quantile([best(rng.permutation(factors[:, 0])) for _ in range(200)], 0.99)
    return best(factors[:, 0]), float(chance)


def test_categorical_code_learns_the_shape_factor(tmp_path):
    """The categorical code finds glyphs' shape: Q's category on real images matches shape far above chance.

    Measured (2000 steps, 1 thread, ~60 s per seed on an idle core): accuracy 0.653 / 0.720 for seeds 0 / 1;
    chance is 1/3 on average and 0.493 at its 99th percentile (best of 6 matchings on 75 images).  Per
    seed a GAN varies: over seeds 0-3, 2000 steps gave 0.65 0.72 0.52 0.53; 1500 steps 0.60 0.68 0.47
    0.55; 3000 steps 0.68 0.73 0.55 0.64.  At 2000 steps, seeds 0 / 1, the paper's G 1e-3 / D 2e-4
    without spectral norm gave 0.47 / 0.44, and a learned Q variance 0.37 / 0.39.  The test trains seed 0
    only (the suite's time: ~190 s of CI on a busy runner); seed 0's 0.653 clears chance + 0.1 by 0.06.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                      # the measured numbers are single-threaded, bit for bit
    try:
        # fast=false: the numbers above were measured on the fp32 eager path (a GAN's seeds land elsewhere
        # when channels_last / foreach Adam round differently)
        train(_config(2000, "fast=false", seed=0, log_every=500, checkpoint_every=2000), tmp_path / "s0",
              progress=False, tensorboard=False)
        _, dataset, model, _ = load_trained(tmp_path / "s0")
        accuracy, chance = _shape_accuracy(model, dataset)
    finally:
        torch.set_num_threads(threads)
    assert accuracy >= chance + 0.1, (accuracy, chance)
