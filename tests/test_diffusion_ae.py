"""The diffusion autoencoder (DiffAE / FDAE): deterministic DDIM decoding, the AdaGN form, FDAE's masks and
losses, encode -> decode after a short training, group axes, bad input; FDAE's vector-wise protocol."""
import json
import math

import numpy as np
import pytest
import torch

from disentanglement.cli import main
from disentanglement.config import make_config
from disentanglement.data import Glyphs, Squares
from disentanglement.metrics import mig
from disentanglement.metrics.vector_wise import group_pca, vector_wise_codes, vector_wise_mig
from disentanglement.models import build_model
from disentanglement.models.diffusion_ae import decorrelation_loss, mask_entropy_loss
from disentanglement.nets import unet as nets
from disentanglement.runs import load_trained
from disentanglement.train import train

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ["diffusion_ae.code_dim=4", "diffusion_ae.concepts=2", "diffusion_ae.mask_dim=2",
        "diffusion_ae.unet_channels=8,16", "diffusion_ae.ddim_steps=3"]


def _model(*sets, dataset=Squares):
    torch.manual_seed(0)
    config = make_config({"model": "diffusion_ae", "dataset": dataset.name}, [*TINY, *sets])
    return build_model(config, dataset()).eval()


def _images(n, dataset=Squares, seed=0):
    return torch.from_numpy(dataset().sample(n, np.random.default_rng(seed))[0])


@pytest.mark.parametrize("sets", [["diffusion_ae.conditioning=diffae"], ["diffusion_ae.conditioning=fdae"],
                                  ["diffusion_ae.conditioning=diffae", "diffusion_ae.loss=edm"]])
def test_ddim_decoding_from_a_fixed_noise_is_deterministic(sets):
    model = _model(*sets).double()
    points = model.anchors(_images(5).double())
    with torch.no_grad():
        first, again = model.decode(points), model.decode(points)
        alone = model.decode(points[3:4])                                   # the same noise for every point
        other = _model(*sets, "diffusion_ae.noise_seed=1").double().decode(points)
    assert torch.equal(first, again)                                        # same call, same kernels: same bits
    # One point alone and in a batch of five run different convolution kernels (oneDNN picks its blocking by
    # batch size and by processor), so they round differently: in float32 they differed by 1.02e-5 on an AMD
    # EPYC (float32's step is 6e-8: the U-Net and the DDIM steps amplify it ~100x), past a bound read off an
    # Intel machine.  In float64 the same amplification leaves ~1e-14 (measured: at most 1.6e-14 over the three
    # settings), while a point decoded from other noise differs by 0.5 or more.  So decode in float64 and allow
    # 1e-9: four decades above the rounding, eight below a real difference.
    torch.testing.assert_close(alone, first[3:4], atol=1e-9, rtol=0)
    assert first.shape == (5, 1, 16, 16) and 0 <= first.min() and first.max() <= 1
    assert not torch.allclose(first, other)                                 # the noise is what noise_seed says


def test_adagn_is_the_papers_scale_of_the_time_scale_shift():
    """h = (1 + c)((1 + t_s) GN(h) + t_b): the hook turns time_emb_proj's (t_s, t_b) into
    ((1 + c)(1 + t_s) - 1, (1 + c) t_b), which diffusers' block applies as GN(h)(1 + s) + b."""
    model = _model()
    block = next(m for m in model.denoiser.unet.modules() if isinstance(m, nets.ResnetBlock2D))
    proj, affine = block.time_emb_proj, model.denoiser.adagn[0]
    temb = torch.randn(3, proj.in_features)
    code = torch.randn(3, 4)
    with torch.no_grad():
        t_s, t_b = proj(temb).chunk(2, 1)                                   # no code: the plain projection
        model.denoiser._code = code
        s, b = proj(temb).chunk(2, 1)
        model.denoiser._code = None
        c = affine(torch.nn.functional.silu(code))
        gn = torch.randn(3, t_s.shape[1])
        # the same float32 quantities multiplied in another order: a few float32 steps (2**-24) of values ~10
        torch.testing.assert_close(gn * (1 + s) + b, (1 + c) * ((1 + t_s) * gn + t_b), atol=1e-5, rtol=1e-5)
    assert len(model.denoiser.adagn) == sum(isinstance(m, nets.ResnetBlock2D) for m in model.denoiser.modules())


def test_fdae_masks_partition_each_pixel_and_the_regularisers_measure_what_they_say():
    model = _model("diffusion_ae.conditioning=fdae")
    with torch.no_grad():
        cond, content, masks = model.condition(model.anchors(_images(4)))
    assert content.shape == (4, 2, 2) and masks.shape == (4, 2, 16, 16)
    torch.testing.assert_close(masks.sum(1), torch.ones(4, 16, 16))
    assert cond["cond_map"].shape == (4, 8, 16, 16)                         # added after conv_in (width 8)
    uniform = torch.full((2, 3, 4, 4), 1 / 3)
    assert float(mask_entropy_loss(uniform)) == pytest.approx(math.log(3))
    assert float(mask_entropy_loss(torch.nn.functional.one_hot(torch.zeros(2, 4, 4).long(), 3).permute(0, 3, 1, 2)
                                   .float())) == pytest.approx(0.0, abs=1e-6)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(256, 1, 8, generator=g)
    same = torch.cat([a, a], 1)                                             # two groups carrying the same code
    independent = torch.cat([a, torch.randn(256, 1, 8, generator=g)], 1)
    assert float(decorrelation_loss(same)) > 20 * float(decorrelation_loss(independent))


def test_axes_one_per_code_dimension_or_per_concept_and_mask_group():
    images = _images(64)
    diffae = _model()
    axes = diffae.axes(images, steps=3)
    assert sorted(a.name for a in axes) == ["z0", "z1", "z2", "z3"]
    assert [a.amount for a in axes] == sorted((a.amount for a in axes), reverse=True)
    fdae = _model("diffusion_ae.conditioning=fdae")
    axes = fdae.axes(images, steps=5)
    assert sorted(a.name for a in axes) == ["concept 0", "concept 1", "mask 0", "mask 1"]
    assert all(a.values.shape == (5, 2) and a.columns.stop - a.columns.start == 2 for a in axes)
    mask1 = next(a for a in axes if a.name == "mask 1")
    assert (mask1.columns.start, mask1.columns.stop) == (4 + 2, 4 + 4)      # after the 4 content columns
    points = fdae.anchors(images[:2])
    assert points.shape == (2, 4 + 2 * 2)                                   # content codes, then mask codes
    assert fdae.representation(images).shape == (64, 4 + 2 * 2)            # what FDAE's evaluation scores
    assert fdae.representation_groups == [2, 2, 2, 2] and diffae.representation_groups is None
    fdae.double()                        # a batch of 10 against one of 2: decode in float64 (see the DDIM test)
    points = fdae.anchors(images[:2].double())
    sweep = fdae.traverse(points, axes[0])                                  # float32 of float64 decodes
    assert sweep.shape == (2, 5, 1, 16, 16)
    # the middle value does not move: the two float64 decodes agree to ~1e-14, so their float32 roundings are
    # equal or one float32 step apart (2**-24 ~ 6e-8 for values in [0.5, 1]); other points differ by ~0.5
    torch.testing.assert_close(sweep[:, 2], fdae.decode(points).float(), atol=2 ** -24, rtol=0)


def test_encode_decode_after_a_short_training_is_closest_to_its_input(tmp_path):
    """FDAE, 300 steps on the glyphs (~30 s on one thread): a reconstruction is nearer its own input than any
    other image.  (DiffAE's AdaGN code takes longer to matter: see benchmarks/diffusion_toy.py.)"""
    config = make_config({"model": "diffusion_ae", "dataset": "glyphs", "steps": 300, "lr": 3e-3, "batch_size": 32,
                          "checkpoint_every": 300, "log_every": 300},
                         ["diffusion_ae.conditioning=fdae", "diffusion_ae.code_dim=4", "diffusion_ae.concepts=2",
                          "diffusion_ae.unet_channels=16,32", "diffusion_ae.ddim_steps=10"])
    train(config, tmp_path / "run", progress=False, tensorboard=False)
    _, _, model, _ = load_trained(tmp_path / "run")
    x = _images(16, Glyphs, seed=1)
    with torch.no_grad():
        recon = model.reconstruct(x)
    d = (recon[:, None] - x[None]).pow(2).flatten(2).sum(-1)                # (reconstruction, input)
    own, others = d.diag(), d[~torch.eye(16, dtype=torch.bool)].view(16, 15)
    assert float(own.mean()) < 0.25 * float(others.mean())
    assert float((own[:, None] < others).all(1).float().mean()) >= 0.75


def test_evaluate_adds_the_vector_wise_protocol_for_fdae_only(tmp_path, capsys):
    fdae = make_config({"model": "diffusion_ae", "dataset": "glyphs", "steps": 1}, [*TINY, "diffusion_ae.conditioning=fdae"])
    train(fdae, tmp_path / "fdae", progress=False, tensorboard=False)
    assert main(["evaluate", str(tmp_path / "fdae"), "--metrics", "mig", "--protocol", "vector_wise", "--no-progress"]) == 0
    record = json.loads((tmp_path / "fdae" / "metrics.json").read_text())
    assert record["protocol"] == "vector_wise" and {"mig", "vector_wise.mig", "vector_wise.dci.disentanglement"} <= set(record["metrics"])
    assert 0.0 <= record["metrics"]["vector_wise.mig"] <= 1.0
    vae = make_config({"model": "beta_vae", "dataset": "glyphs", "steps": 1}, ["vae.latent_dim=3"])
    train(vae, tmp_path / "vae", progress=False, tensorboard=False)
    assert main(["evaluate", str(tmp_path / "vae"), "--metrics", "mig", "--protocol", "vector_wise", "--no-progress"]) == 2
    assert "scores a representation made of groups" in capsys.readouterr().err


def test_bad_settings_are_one_line(capsys, tmp_path, monkeypatch):
    for sets, needle in ((["diffusion_ae.conditioning=crossattn"], "choose one of: diffae, fdae"),
                         (["diffusion_ae.conditioning=fdae", "diffusion_ae.concepts=3"], "does not divide code_dim=16"),
                         (["diffusion_ae.unet_channels=8,16,16,16,16"], "multiples of 16 and at least 32, got 16x16"),
                         (["diffusion_ae.norm_groups=3"], "must divide every U-Net width"),
                         (["diffusion_ae.loss=vlb"], "auto, epsilon, edm")):
        argv = ["train", "--model", "diffusion_ae", "--dataset", "squares", "--out", str(tmp_path / "r")]
        assert main([*argv, *[a for s in sets for a in ("--set", s)]]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
    monkeypatch.setattr(nets, "DIFFUSERS_MISSING", "the diffusion backbone needs diffusers (No module named "
                        "'diffusers'): pip install 'disentanglement[diffusion]'")
    assert main(["train", "--model", "diffusion_ae", "--dataset", "squares", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'disentanglement[diffusion]'" in err, err


# ---- FDAE's vector-wise protocol ------------------------------------------------------------------------
def _grouped_codes(n=2000, seed=0):
    """Two factors, each written into its own 3-dim group through a random rotation, plus a little noise."""
    rng = np.random.default_rng(seed)
    factors = rng.integers(0, 5, size=(n, 2))
    groups = []
    for k in range(2):
        rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        embedded = np.stack([factors[:, k], 0.05 * rng.normal(size=n), 0.05 * rng.normal(size=n)], 1)
        groups.append(embedded @ rotation)
    return np.concatenate(groups, 1), factors


def test_vector_wise_mig_scores_groups_not_dimensions():
    codes, factors = _grouped_codes()
    score = vector_wise_mig(codes, factors, groups=2, dims=1)["vector_wise.mig"]
    assert score > 0.9
    assert mig(codes, factors)["mig"] < 0.5 * score                         # the per-dimension MIG misses the rotation
    swapped = np.concatenate([codes[:, 3:], codes[:, :3]], 1)               # permuting groups changes nothing
    assert vector_wise_mig(swapped, factors, groups=2, dims=1)["vector_wise.mig"] == pytest.approx(score)
    noise = np.random.default_rng(1).normal(size=codes.shape)
    assert vector_wise_mig(noise, factors, groups=2, dims=1)["vector_wise.mig"] < 0.05
    clustered = vector_wise_mig(codes, factors, groups=2, dims=3, num_bins=5)["vector_wise.mig"]
    assert clustered > 0.9                                                  # k-means finds the 5 values


def test_vector_wise_codes_and_pca_shapes_and_errors():
    codes, _ = _grouped_codes(300)
    assert vector_wise_codes(codes, 2, dims=2, num_bins=4).shape == (300, 2)
    train, test = group_pca(codes, 2, dims=2, codes_test=codes[:10])
    assert train.shape == (300, 4) and np.allclose(train[:10], test)
    assert np.var(train[:, 0]) >= np.var(train[:, 1])                       # leading component first
    with pytest.raises(ValueError, match="groups=4 must be a positive integer dividing the code width 6"):
        vector_wise_codes(codes, 4)


def test_quick_decoding_runs_fewer_ddim_steps_and_restores_the_run_s():
    model = _model("diffusion_ae.ddim_steps=6")
    points = model.anchors(_images(2))
    calls = []
    model.denoiser.register_forward_hook(lambda *a: calls.append(1))
    with torch.no_grad():
        model.decode(points)
        full = len(calls)
        with model.quick_decoding(2) as said:
            model.decode(points)
        with model.quick_decoding(6) as nothing:                     # already at most 6: nothing shortened
            pass
    assert full == 6 and len(calls) == 6 + 2 and model.params.ddim_steps == 6
    assert said == "decoded with 2 DDIM steps instead of the run's 6" and nothing is None


def test_a_diffusion_report_is_quick_and_says_so_unless_full(tmp_path):
    config = make_config({"model": "diffusion_ae", "dataset": "squares", "steps": 2}, [*TINY, "diffusion_ae.ddim_steps=12"])
    train(config, tmp_path / "run", progress=False, tensorboard=False)
    from disentanglement.report import write_report
    page = write_report(tmp_path / "run", progress=False, steps=3, score_seeds=2).read_text()
    assert "A quick report:" in page and "decoded with 10 DDIM steps instead of the run&#x27;s 12" in page
    assert "128 pairs" in page
    page = write_report(tmp_path / "run", progress=False, steps=3, score_seeds=2, full=True).read_text()
    assert "A quick report:" not in page and "256 pairs" in page
