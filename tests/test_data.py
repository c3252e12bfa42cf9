import numpy as np
import pytest
import torch

from disentanglement.data import DSprites, Squares


@pytest.fixture(scope="module")
def dsprites():
    return DSprites()


def test_dsprites_grid(dsprites):
    assert dsprites.factor_names == ("shape", "scale", "orientation", "posX", "posY")
    assert dsprites.factor_sizes == (3, 6, 40, 32, 32)
    assert len(dsprites) == 737_280
    assert dsprites.observation_shape == (1, 64, 64)
    np.testing.assert_allclose(dsprites.factor_values[1], np.linspace(0.5, 1, 6))
    np.testing.assert_allclose(dsprites.factor_values[2][[0, -1]], [0, 2 * np.pi])


def test_images_deterministic_binary_float(dsprites):
    f = dsprites.sample_factors(50, np.random.default_rng(3))
    a, b = dsprites.images(f), dsprites.images(f.copy())
    assert a.shape == (50, 1, 64, 64) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 1.0}
    # one image at a time gives the same as the batch
    assert np.array_equal(dsprites.images(f[7:8])[0], a[7])


def test_sample_factors_matches_reference_protocol(dsprites):
    f = dsprites.sample_factors(10, np.random.RandomState(0))
    rs = np.random.RandomState(0)
    expected = np.stack([rs.randint(s, size=10) for s in dsprites.factor_sizes], 1)
    assert f.dtype == np.int64 and np.array_equal(f, expected)
    g = dsprites.sample_factors(1000, np.random.default_rng(0))
    assert (g.min(0) == 0).all() and (g.max(0) == np.array(dsprites.factor_sizes) - 1).all()


def test_index_roundtrip(dsprites):
    idx = np.random.default_rng(1).integers(len(dsprites), size=500)
    f = dsprites.index_to_factors(idx)
    assert np.array_equal(dsprites.factors_to_index(f), idx)
    assert np.array_equal(dsprites.index_to_factors([0, 1, 32, len(dsprites) - 1]),
                          [[0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [2, 5, 39, 31, 31]])


def test_pixel_mean_calibrated(dsprites):
    assert abs(dsprites.pixel_mean() - 0.0425) < 0.004
    sampled = dsprites.images(dsprites.sample_factors(20000, np.random.default_rng(0))).mean()
    assert abs(sampled - dsprites.pixel_mean()) < 0.002


def _all_sprites(pos_x, pos_y):
    s, k, o = np.meshgrid(np.arange(3), np.arange(6), np.arange(40), indexing="ij")
    n = s.size
    return np.stack([s.ravel(), k.ravel(), o.ravel(), np.full(n, pos_x), np.full(n, pos_y)], 1)


@pytest.mark.parametrize("pos", [(0, 0), (31, 31), (0, 31), (31, 0)])
def test_no_sprite_touches_border(dsprites, pos):
    img = dsprites.images(_all_sprites(*pos))[:, 0]  # (720, 64, 64) every shape/scale/orientation
    assert img.sum((1, 2)).min() > 0
    border = img[:, 0, :].sum() + img[:, -1, :].sum() + img[:, :, 0].sum() + img[:, :, -1].sum()
    assert border == 0


@pytest.mark.parametrize("axis", [3, 4])
def test_every_position_step_changes_image(dsprites, axis):
    base = _all_sprites(0, 0)
    for p in range(31):
        a, b = base.copy(), base.copy()
        a[:, axis], b[:, axis] = p, p + 1
        a[:, 7 - axis] = b[:, 7 - axis] = (p * 7) % 32   # vary the other coordinate too
        diff = np.abs(dsprites.images(a) - dsprites.images(b)).sum((1, 2, 3))
        assert diff.min() > 0, f"a step of factor {axis} at {p} leaves some sprite unchanged"


def test_each_factor_changes_image(dsprites):
    base = np.array([[1, 3, 5, 10, 20]])
    for k, size in enumerate(dsprites.factor_sizes):
        other = base.copy()
        other[0, k] = (base[0, k] + 1) % size
        assert np.abs(dsprites.images(base) - dsprites.images(other)).sum() > 0, dsprites.factor_names[k]


def test_shapes_look_like_their_names(dsprites):
    f = np.array([[s, 5, 0, 15, 15] for s in range(3)])
    square, ellipse, heart = dsprites.images(f)[:, 0]

    def box(img):
        rows, cols = np.nonzero(img)
        return rows.min(), rows.max(), cols.min(), cols.max()

    r0, r1, c0, c1 = box(square)          # axis-aligned filled square
    assert square[r0:r1 + 1, c0:c1 + 1].all() and abs((r1 - r0) - (c1 - c0)) <= 1
    r0, r1, c0, c1 = box(ellipse)         # twice as wide as tall, corners empty
    assert 1.7 < (c1 - c0 + 1) / (r1 - r0 + 1) < 2.3
    assert not ellipse[r0, c0] and not ellipse[r1, c1]
    assert ellipse.sum() < 0.85 * (r1 - r0 + 1) * (c1 - c0 + 1)
    r0, r1, c0, c1 = box(heart)           # mirror-symmetric, two lobes on top, a point below
    crop = heart[r0:r1 + 1, c0:c1 + 1]
    assert np.array_equal(crop, crop[:, ::-1])
    mid = (c0 + c1) // 2
    top_mid = np.nonzero(heart[:, mid])[0].min()
    assert top_mid > r0 + 1                # the notch between the lobes
    assert heart[r1].sum() <= 3 and heart[r0 + 2].sum() > 10


def test_bad_factors_rejected(dsprites):
    with pytest.raises(ValueError, match="out of range"):
        dsprites.images(np.array([[3, 0, 0, 0, 0]]))
    with pytest.raises(ValueError, match="shape"):
        dsprites.images(np.zeros((2, 4), np.int64))
    with pytest.raises(ValueError, match="integer"):
        dsprites.images(np.zeros((2, 5)))


def test_torch_view(dsprites):
    view = dsprites.as_torch()
    assert len(view) == len(dsprites)
    image, factors = view[33]
    assert image.shape == (1, 64, 64) and image.dtype == torch.float32
    assert factors.tolist() == [0, 0, 0, 1, 1]
    assert torch.equal(image, torch.from_numpy(dsprites.images(factors[None].numpy())[0]))


def test_squares_toy():
    toy = Squares()
    assert len(toy) == 300 and toy.observation_shape == (1, 16, 16)
    all_f = toy.index_to_factors(np.arange(len(toy)))
    img = toy.images(all_f)[:, 0]
    assert img[:, [0, -1], :].sum() == 0 and img[:, :, [0, -1]].sum() == 0
    assert np.array_equal(img.sum((1, 2)), (all_f[:, 2] + 2) ** 2)      # side 2, 3, 4
    assert len({im.tobytes() for im in img}) == len(toy)                 # every factor combination differs
