"""Colour, noisy and scream dSprites draw exactly the reference's random numbers; metrics on a dataset that
draws while rendering sample in the reference's order; bad backgrounds are one-line errors."""
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from disentanglement.config import make_config
from disentanglement.data import DSprites, open_dataset
from disentanglement.errors import UserError
from disentanglement.metrics import cached_encoder, sample_codes
from disentanglement.metrics._utils import Observations
from disentanglement.train import train

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = FIXTURES / "dsprites_variants_reference.npz"          # tools/reference_variants.py: the reference's own code
BACKGROUND = FIXTURES / "scream_background.png"
VARIANTS = ("color_dsprites", "noisy_dsprites", "scream_dsprites")


def _open(name):
    return open_dataset(name, str(BACKGROUND) if name == "scream_dsprites" else None)


@pytest.fixture(scope="module")
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_variant_matches_the_reference_draw_for_draw(name, seed, golden):
    dataset = _open(name)
    images, factors = dataset.sample(len(golden[f"{name}/{seed}/factors"]), np.random.RandomState(seed))
    np.testing.assert_array_equal(factors, golden[f"{name}/{seed}/factors"])
    assert images.shape == (len(factors), 3, 64, 64) and images.dtype == np.float32
    # float32 pixels in [0, 1] from a few float32 operations: 1e-6 is ~16 float32 steps at 1.0, room for another
    # processor's vectorised numpy rounding the noise differently, far below a wrong draw (~0.1)
    np.testing.assert_allclose(images.transpose(0, 2, 3, 1), golden[f"{name}/{seed}/images"], atol=1e-6)
    assert 0.0 <= images.min() and images.max() <= 1.0


@pytest.mark.parametrize("name", VARIANTS)
def test_rendering_in_chunks_draws_what_one_call_draws(name):
    dataset = _open(name)
    factors = dataset.sample_factors(7, np.random.RandomState(3))
    whole = dataset.images(factors, np.random.RandomState(9))
    rs = np.random.RandomState(9)
    parts = np.concatenate([dataset.images(factors[:3], rs), dataset.images(factors[3:], rs)])
    np.testing.assert_array_equal(whole, parts)
    again = dataset.images(factors, np.random.default_rng(1))       # a Generator works too, reproducibly
    np.testing.assert_array_equal(again, dataset.images(factors, np.random.default_rng(1)))


def test_variant_keeps_the_sprite_where_dsprites_draws_it():
    factors = DSprites().sample_factors(5, np.random.RandomState(0))
    sprite = DSprites().images(factors)[:, 0] == 1                                   # (5, 64, 64)
    colour = _open("color_dsprites").images(factors, np.random.RandomState(0))
    assert ((colour.max(1) > 0) == sprite).all()                                     # colour only on the sprite
    scream = _open("scream_dsprites").images(factors, np.random.RandomState(0))
    assert scream.std() > 0.05 and not np.allclose(scream[0], scream[1])           # a real background, per image


def test_stochastic_dataset_needs_the_generator():
    dataset = _open("noisy_dsprites")
    with pytest.raises(ValueError, match="draws random numbers while rendering"):
        dataset.images(dataset.sample_factors(2, np.random.RandomState(0)))


def _encode(images):                      # a deterministic, row-wise "encoder": channel means of 4 quadrants
    x = np.asarray(images).reshape(len(images), images.shape[1], 2, 32, 2, 32)
    return x.mean(axis=(3, 5)).reshape(len(images), -1)


def test_sample_codes_draws_factors_then_images_batch_by_batch_as_the_reference():
    dataset = _open("noisy_dsprites")
    codes, factors = sample_codes(dataset, _encode, 40, random_state=np.random.RandomState(5), batch_size=16)
    rs, expect_codes, expect_factors = np.random.RandomState(5), [], []
    for size in (16, 16, 8):          # generate_batch_factor_code: ground_truth_data.sample(size, random_state)
        images, f = dataset.sample(size, rs)
        expect_codes.append(_encode(images))
        expect_factors.append(f)
    np.testing.assert_array_equal(factors, np.concatenate(expect_factors))
    np.testing.assert_allclose(codes, np.concatenate(expect_codes), rtol=1e-6)


def test_observations_keep_the_reference_order_and_no_cache_for_stochastic_data():
    dataset = _open("color_dsprites")
    assert cached_encoder(dataset, _encode, expected=10 ** 9) is _encode
    f = dataset.sample_factors(6, np.random.RandomState(0))
    sink = Observations(dataset, _encode, np.random.RandomState(2), chunk=4)
    sink.add(f[:3])
    sink.add(f[3:])
    rs = np.random.RandomState(2)
    expect = np.concatenate([_encode(dataset.images(f[:3], rs)), _encode(dataset.images(f[3:], rs))])
    np.testing.assert_allclose(sink.codes(), expect, rtol=1e-6)


def test_train_two_steps_on_a_variant(tmp_path, one_thread):
    config = make_config({"model": "beta_vae", "dataset": "scream_dsprites", "dataset_path": str(BACKGROUND),
                          "steps": 2, "batch_size": 4, "log_every": 1}, ["vae.latent_dim=3"])
    result = train(config, tmp_path / "run", progress=False, tensorboard=False)
    assert result.step == 2 and all(np.isfinite(v) for v in result.logs.values())


def test_bad_backgrounds_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="is read from your file: an RGB image"):
        make_config({"dataset": "scream_dsprites"})
    with pytest.raises(UserError, match="does not exist"):
        make_config({"dataset": "scream_dsprites", "dataset_path": str(tmp_path / "nope.jpg")})
    (tmp_path / "text.jpg").write_text("not an image")
    with pytest.raises(UserError, match="not a readable image"):
        open_dataset("scream_dsprites", str(tmp_path / "text.jpg"))
    Image.new("RGB", (60, 200)).save(tmp_path / "thin.png")
    with pytest.raises(UserError, match="more than 64"):
        open_dataset("scream_dsprites", str(tmp_path / "thin.png"))
    with pytest.raises(UserError, match="generated and reads no file"):
        make_config({"dataset": "noisy_dsprites", "dataset_path": str(BACKGROUND)})
    with pytest.raises(UserError, match="generated and reads no file"):
        open_dataset("noisy_dsprites", str(BACKGROUND))
