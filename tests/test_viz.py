"""Axes, traversal grids, ordering by KL, the GIF, reconstructions, samples and plots: shapes and values."""
import numpy as np
import pytest
import torch
from PIL import Image

from disentanglement import viz
from disentanglement.config import make_config
from disentanglement.data import Squares
from disentanglement.models import Axis, Backbone, build_model
from disentanglement.models.vae import latent_order, posterior_stats


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(make_config({"dataset": "squares", "vae": {"latent_dim": 4}}), Squares()).eval()


def image(factors=(4, 4, 1)):
    return torch.from_numpy(Squares().images(np.array([factors]))[0])       # (1, 16, 16)


class Stub:
    """encode: fixed posteriors (x holds its row index in pixel 0)."""

    def __init__(self, mu, logvar):
        self.mu, self.logvar = torch.as_tensor(mu, dtype=torch.float32), torch.as_tensor(logvar, dtype=torch.float32)

    def encode(self, x):
        idx = x[:, 0, 0, 0].long() if len(self.mu) > 1 else torch.zeros(len(x), dtype=torch.long)
        return self.mu[idx], self.logvar[idx]


class Pixels(Backbone):
    """A backbone whose decoded image shows its point: pixel (0, p) of a 1x8 image is point[p]."""

    def decode(self, points):
        out = torch.zeros(len(points), 1, 1, 8)
        out[:, 0, 0, :points.shape[1]] = points
        return out


def test_axis_moves_shift_set_and_category():
    points = torch.tensor([[0.5, -1.0, 2.0, 0.0, 0.0]])
    shift = Axis("z2", slice(2, 3), np.array([-1.0, 0, 1]))
    np.testing.assert_allclose(shift.apply(points)[0, :, 2], [1, 2, 3])
    assert torch.equal(shift.apply(points)[0, :, :2], points[:, :2].repeat(3, 1))      # the others held
    put = Axis("c", slice(0, 1), np.array([-1.0, 1.0]), "set")
    np.testing.assert_allclose(put.apply(points)[0, :, 0], [-1, 1])
    cat = Axis("cat", slice(2, 5), np.arange(3), "category")
    assert torch.equal(cat.apply(points)[0, :, 2:], torch.eye(3))
    with pytest.raises(ValueError, match="unknown axis move"):
        Axis("x", slice(0, 1), np.zeros(2), "twist")


def test_traversal_grid_turns_one_axis_and_pads_short_rows():
    axes = [Axis("z2", slice(2, 3), np.array([-3.0, 0, 3])), Axis("z0", slice(0, 1), np.array([-1.0, 0, 1])),
            Axis("cat", slice(3, 5), np.arange(2), "category")]
    grid = viz.traversal_grid(Pixels(), torch.tensor([[0.5, -1.0, 2.0, 0.0, 0.0]]), axes)
    assert grid.shape == (3, 3, 1, 1, 8)
    codes = grid[:, :, 0, 0, :]                                             # (R, S, P)
    np.testing.assert_allclose(codes[0, :, :3], [[0.5, -1, -1], [0.5, -1, 2], [0.5, -1, 5]])
    np.testing.assert_allclose(codes[1, :, :3], [[-0.5, -1, 2], [0.5, -1, 2], [1.5, -1, 2]])
    np.testing.assert_allclose(codes[2, :2, 3:5], [[1, 0], [0, 1]])
    assert np.all(grid[2, 2] == 1.0)                                        # past a 2-way code's end: white


def test_posterior_stats_and_order_by_kl():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(200, 4)) * np.array([0.0, 3.0, 1.0, 2.0])
    logvar = np.full((200, 4), np.log(0.5))
    rows = torch.arange(200.0)[:, None, None, None].expand(200, 1, 4, 4)
    kl, std = posterior_stats(Stub(mu, logvar), rows, batch=64)
    expected = 0.5 * (mu ** 2 + 0.5 - np.log(0.5) - 1).mean(0)
    # float32 means of 200 rows (in batches of 64) against float64: rounding grows ~ 2**-24 per added row,
    # ~1e-6 relative at worst for the KL; the standard deviation adds a variance and a square root: 1e-5
    np.testing.assert_allclose(kl, expected, rtol=1e-6)
    np.testing.assert_allclose(std, np.sqrt(mu.var(0) + 0.5), rtol=1e-5)
    assert latent_order(kl).tolist() == [1, 3, 2, 0]
    assert latent_order(np.array([1.0, 2.0, 1.0])).tolist() == [1, 0, 2]  # ties keep index order


def test_vae_axes_ordered_by_kl_and_scaled_by_std(model):
    images = torch.from_numpy(Squares().sample(128, np.random.default_rng(0))[0])
    kl, std = posterior_stats(model, images)
    axes = model.axes(images, steps=5, limit=2.0)
    assert [a.name for a in axes] == [f"z{d}" for d in latent_order(kl)]
    for a in axes:
        d = int(a.name[1:])
        np.testing.assert_allclose(a.values, np.linspace(-2, 2, 5) * std[d])
        assert a.amount == pytest.approx(kl[d]) and a.labels[0] == "-2.0 sd" and a.columns == slice(d, d + 1)
    fixed = model.axes(images, steps=3, limit=1.0, scale="fixed")
    np.testing.assert_allclose(fixed[0].values, [-1, 0, 1])
    with pytest.raises(ValueError, match="unknown traversal scale 'sigma'"):
        model.axes(images, scale="sigma")
    with pytest.raises(ValueError, match="steps >= 2"):
        model.axes(images, steps=1)


def _axes(model, steps=9):
    return model.axes(torch.from_numpy(Squares().sample(64, np.random.default_rng(0))[0]), steps=steps)


def test_save_traversal_keeps_its_layout(model, tmp_path):
    axes = _axes(model)
    anchor = model.anchors(image()[None])
    path = viz.save_traversal(model, anchor, axes, tmp_path / "t.png")
    width, height = Image.open(path).size
    assert height == 18 + 4 * 66 + 2 and width > 9 * 66 + 2                # header row, 4 latents, 9 steps
    path = viz.save_traversal(model, anchor, _axes(model, 3)[:2], tmp_path / "o.png")
    assert Image.open(path).size[1] == 18 + 2 * 66 + 2


def test_traversal_grid_array_for_tensorboard(model):
    images = torch.from_numpy(Squares().sample(64, np.random.default_rng(0))[0])
    array = viz.traversal_grid_array(model, images, steps=5)
    assert array.dtype == np.uint8 and array.shape[0] == 4 * 34 + 2 and array.shape[1] > 5 * 34 + 2


def test_gif_has_a_frame_per_step_there_and_back(model, tmp_path):
    assert viz.frame_indices(5) == [0, 1, 2, 3, 4, 3, 2, 1]
    anchors = model.anchors(torch.stack([image(), image((1, 7, 2))]))      # (2, D)
    path = viz.save_traversal_gif(model, anchors, _axes(model, 5), tmp_path / "t.gif", cell=32)
    gif = Image.open(path)
    assert gif.format == "GIF" and gif.n_frames == 8 and gif.info.get("loop") == 0
    assert gif.size[0] >= 4 * 34 and gif.size[1] == 18 + 2 * 34 + 2 + 22  # 4 columns, 2 seed rows, the bar


def test_reconstructions_put_originals_above_and_samples_below_data(model, tmp_path):
    images = torch.from_numpy(Squares().sample(6, np.random.default_rng(0))[0])
    path = viz.save_reconstructions(model, images, tmp_path / "r.png", cell=32)
    assert Image.open(path).size[1] == 2 * 34 + 2
    assert viz.save_reconstructions(Pixels(), images, tmp_path / "none.png") is None   # no reconstruct: no figure
    path = viz.save_samples(model, images.numpy(), tmp_path / "s.png", cell=32)
    assert Image.open(path).size[1] == 3 * 34 + 2


def test_plots_are_written(tmp_path):
    axes = [Axis(f"z{d}", slice(d, d + 1), np.zeros(3), amount=k, amount_name="KL", active=k > 0.01)
            for d, k in ((1, 2.5), (2, 0.3), (0, 0.0))]
    assert Image.open(viz.axis_bars(axes, tmp_path / "kl.png")).size[0] > 300
    log = [{"step": s, "loss": 10 - s / 10, "recon": 8.0, "kl": 2.0, "time": 0.1} for s in range(10, 60, 10)]
    assert Image.open(viz.training_curves(log, tmp_path / "c.png")).size[0] > 600
    assert viz.training_curves([], tmp_path / "empty.png").exists()
    effect = np.array([[0.9, 0.0], [0.1, 0.5], [0.0, 0.0]])
    share = viz.traversal_score(effect)["share"]
    assert viz.effect_heatmap(effect, tmp_path / "h.png", factor_names=["posX", "size"], order=[0, 1, 2],
                              score=0.8, share=share).exists()
