"""Interchange intervention accuracy: the renderer as decoder scores 1, a rotated (mixed) code scores low, the
alignment finds the block that carries each factor, and a trained model's score lies in [0, 1]."""
import numpy as np
import pytest
import torch

from disentanglement.config import make_config
from disentanglement.data import Squares
from disentanglement.models import build_model
from disentanglement.viz.interchange import align, interchange_accuracy, model_interchange_accuracy

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def squares():
    data = Squares()
    grid = data.index_to_factors(np.arange(len(data)))
    flat = data.images(grid).reshape(len(data), -1)                    # every scene, for exact look-ups

    def factors_of(images):                                           # (n, C, H, W) -> (n, K): the exact readout
        x = images.reshape(len(images), -1).numpy()[:, None, :]
        return torch.from_numpy(grid[np.abs(x - flat[None]).sum(2).argmin(1)])

    return data, factors_of


def _render(data, points):                                            # points (n, K) float -> the scenes' images
    f = np.clip(np.rint(points.numpy()), 0, np.array(data.factor_sizes) - 1).astype(np.int64)
    return torch.from_numpy(data.images(f))


def test_the_renderer_as_decoder_scores_one(squares):
    data, factors_of = squares
    blocks = [slice(k, k + 1) for k in range(3)]
    got = interchange_accuracy(lambda x: factors_of(x).float(), lambda p: _render(data, p), blocks, data, factors_of,
                               pairs=64)
    assert got["interchange"] == 1.0 and all(got[f"interchange.{n}"] == 1.0 for n in data.factor_names)
    assert [got[f"interchange.{n}.block"] for n in data.factor_names] == ["0:1", "1:2", "2:3"]


def test_a_mixed_code_scores_low(squares):
    data, factors_of = squares
    rotation = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))[0]
    scale = torch.tensor(data.factor_sizes, dtype=torch.float64)

    def encode(x):                                                    # each coordinate mixes all three factors
        return (factors_of(x).double() / scale) @ rotation

    def decode(p):
        return _render(data, (p.double() @ rotation.T) * scale)

    blocks = [slice(k, k + 1) for k in range(3)]
    got = interchange_accuracy(encode, decode, blocks, data, factors_of, pairs=64)
    assert got["interchange"] < 0.25                                   # swapping one mixed coordinate moves them all


def test_alignment_follows_information_not_order():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 8, size=(500, 2))
    points = np.stack([rng.normal(size=500), factors[:, 1] + 0.1 * rng.normal(size=500),
                       factors[:, 0] - 0.1 * rng.normal(size=500), rng.normal(size=500)], 1)
    blocks = [slice(0, 1), slice(1, 2), slice(2, 4)]                  # a two-column block holds factor 0
    assert align(points, factors, blocks) == [slice(2, 4), slice(1, 2)]


def test_a_trained_model_scores_within_bounds(squares):
    data, factors_of = squares
    torch.manual_seed(0)
    model = build_model(make_config({"dataset": "squares"}, ["vae.latent_dim=3"]), data).eval()
    got = model_interchange_accuracy(model, data, factors_of, pairs=32)
    assert 0.0 <= got["interchange"] <= 1.0 and set(got) >= {f"interchange.{n}" for n in data.factor_names}


def test_evaluate_adds_interchange_on_request(tmp_path):
    from disentanglement.evaluate import evaluate_run
    from disentanglement.train import train

    train(make_config({"dataset": "squares", "steps": 2}, ["vae.latent_dim=3"]), tmp_path / "v", progress=False,
          tensorboard=False)
    record = evaluate_run(tmp_path / "v", metrics=["mig", "interchange"], progress=False)
    m = record["metrics"]
    assert 0 <= m["interchange"] <= 1 and {"interchange.posX", "interchange.size"} <= set(m)
    assert set(record["interchange_blocks"]) == {f"interchange.{n}.block" for n in ("posX", "posY", "size")}
    from disentanglement.viz.factor_predictor import cache_dir
    assert list(cache_dir().glob("factor_predictor_squares_*.pt"))    # the report's predictor, trained once, shared
