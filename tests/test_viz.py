"""Traversal grids, ordering by KL, the GIF, reconstructions and plots: shapes and values."""
import numpy as np
import pytest
import torch
from PIL import Image

from disentanglement import viz
from disentanglement.config import make_config
from disentanglement.data import Squares
from disentanglement.errors import UserError
from disentanglement.models import build_model


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only contend with the other jobs
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(make_config({"dataset": "squares", "latent_dim": 4}), Squares()).eval()


def image(factors=(4, 4, 1)):
    return torch.from_numpy(Squares().images(np.array([factors]))[0])       # (1, 16, 16)


class Stub:
    """encode: fixed posteriors; decode: an image whose pixel (0, d) is z_d (so traversals can be read)."""

    def __init__(self, mu, logvar):
        self.mu, self.logvar = torch.as_tensor(mu, dtype=torch.float32), torch.as_tensor(logvar, dtype=torch.float32)

    def encode(self, x):
        idx = x[:, 0, 0, 0].long() if len(self.mu) > 1 else torch.zeros(len(x), dtype=torch.long)  # x holds its row
        return self.mu[idx], self.logvar[idx]

    def decode(self, z):
        out = torch.zeros(len(z), 1, 4, 4)
        out[:, 0, 0, :z.shape[1]] = z
        return out


def test_traverse_shapes_and_only_one_latent_moves(model):
    grid = viz.traverse(model, image(), np.linspace(-2, 2, 5))
    assert grid.shape == (4, 5, 1, 16, 16) and grid.dtype == np.float32 and 0 <= grid.min() and grid.max() <= 1
    stub = Stub([[0.5, -1.0, 2.0]], [[0.0, 0.0, 0.0]])
    values = np.array([[-1.0, 0, 1], [-2, 0, 2], [-3, 0, 3]])              # (D, S)
    grid = viz.traverse(stub, torch.zeros(1, 4, 4), values, latents=[2, 0])  # rows: z2, then z0
    codes = grid[:, :, 0, 0, :3]                                            # (R, S, D)
    np.testing.assert_allclose(codes[0], [[0.5, -1, -1], [0.5, -1, 2], [0.5, -1, 5]])
    np.testing.assert_allclose(codes[1], [[-0.5, -1, 2], [0.5, -1, 2], [1.5, -1, 2]])


def test_latent_out_of_range_is_a_user_error(model):
    with pytest.raises(UserError, match="latent index 4 is out of range: this model has 4 latents"):
        viz.traverse(model, image(), np.linspace(-1, 1, 3), latents=[0, 4])


def test_posterior_stats_and_order_by_kl():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(200, 4)) * np.array([0.0, 3.0, 1.0, 2.0])
    logvar = np.full((200, 4), np.log(0.5))
    rows = torch.arange(200.0)[:, None, None, None].expand(200, 1, 4, 4)
    kl, std = viz.posterior_stats(Stub(mu, logvar), rows, batch=64)
    expected = 0.5 * (mu ** 2 + 0.5 - np.log(0.5) - 1).mean(0)
    np.testing.assert_allclose(kl, expected, rtol=1e-6)
    np.testing.assert_allclose(std, np.sqrt(mu.var(0) + 0.5), rtol=1e-5)
    assert viz.latent_order(kl).tolist() == [1, 3, 2, 0]
    assert viz.latent_order(np.array([1.0, 2.0, 1.0])).tolist() == [1, 0, 2]  # ties keep index order


def test_sweep_values_fixed_and_in_posterior_std():
    fixed = viz.sweep_values(3, limit=2, steps=5)
    assert fixed.shape == (3, 5) and np.allclose(fixed[1], [-2, -1, 0, 1, 2])
    scaled = viz.sweep_values(2, limit=1, steps=3, scale="std", std=np.array([0.5, 2.0]))
    np.testing.assert_allclose(scaled, [[-0.5, 0, 0.5], [-2, 0, 2]])
    with pytest.raises(UserError, match="unknown traversal scale 'sigma'"):
        viz.sweep_values(2, scale="sigma")
    with pytest.raises(UserError, match="steps >= 2"):
        viz.sweep_values(2, steps=1)


def test_save_traversal_keeps_its_layout(model, tmp_path):
    path = viz.save_traversal(model, image(), tmp_path / "t.png")
    assert Image.open(path).size == (40 + 9 * 66 + 2, 4 * 66 + 2)
    path = viz.save_traversal(model, image(), tmp_path / "o.png", steps=3, latents=[3, 1],
                              row_labels=["z3  KL 1.00", "z1  KL 0.50"], col_labels=["-2", "0", "+2"])
    width, height = Image.open(path).size
    assert height == 18 + 2 * 66 + 2 and width > 40 + 3 * 66 + 2       # header row, wider label column


def test_traversal_grid_array_for_tensorboard(model):
    array = viz.traversal_grid_array(model, image(), steps=5)
    assert array.dtype == np.uint8 and array.shape == (4 * 34 + 2, 40 + 5 * 34 + 2, 3)


def test_gif_has_a_frame_per_step_there_and_back(model, tmp_path):
    assert viz.frame_indices(5) == [0, 1, 2, 3, 4, 3, 2, 1]
    images = torch.stack([image(), image((1, 7, 2))])                       # (2, 1, 16, 16)
    path = viz.save_traversal_gif(model, images, tmp_path / "t.gif", values=viz.sweep_values(4, steps=5),
                                  latents=[2, 0, 1, 3], cell=32)
    gif = Image.open(path)
    assert gif.format == "GIF" and gif.n_frames == 8 and gif.info.get("loop") == 0
    assert gif.size[0] >= 4 * 34 and gif.size[1] == 18 + 2 * 34 + 2 + 22  # 4 columns, 2 seed rows, the bar


def test_reconstructions_put_originals_above(model, tmp_path):
    images = torch.from_numpy(Squares().sample(6, np.random.default_rng(0))[0])
    pair = viz.reconstruct(model, images)
    assert pair.shape == (2, 6, 1, 16, 16) and np.array_equal(pair[0], images.numpy())
    assert Image.open(viz.save_reconstructions(model, images, tmp_path / "r.png", cell=32)).size[1] == 2 * 34 + 2


def test_plots_are_written(tmp_path):
    kl = np.array([0.0, 2.5, 0.3])
    assert Image.open(viz.kl_bars(kl, tmp_path / "kl.png", order=[1, 2, 0])).size[0] > 300
    log = [{"step": s, "loss": 10 - s / 10, "recon": 8.0, "kl": 2.0, "time": 0.1} for s in range(10, 60, 10)]
    assert Image.open(viz.training_curves(log, tmp_path / "c.png")).size[0] > 600
    assert viz.training_curves([], tmp_path / "empty.png").exists()
    effect = np.array([[0.9, 0.0], [0.1, 0.5], [0.0, 0.0]])
    share = viz.traversal_score(effect)["share"]
    assert viz.effect_heatmap(effect, tmp_path / "h.png", factor_names=["posX", "size"], order=[0, 1, 2],
                              score=0.8, share=share).exists()
