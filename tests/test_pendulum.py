"""Pendulum and Flow (CausalVAE's scenes, generated): grids, images, geometry, concepts and causal graphs."""
import math

import numpy as np
import pytest

from disentanglement.data.pendulum import (FIREBRICK, LIGHTSKYBLUE, ORANGE, FLOW_H_RAW, FLOW_HOLE, FLOW_R,
                                           PENDULUM_I, PENDULUM_J, Flow, Pendulum, is_dag)


@pytest.fixture(scope="module")
def pend():
    return Pendulum()


@pytest.fixture(scope="module")
def flow():
    return Flow()


def pend_factors(*ij):
    """(n, 2) factor classes of authors' steps (i, j)."""
    return np.array([[int(np.flatnonzero(PENDULUM_I == i)[0]), int(np.flatnonzero(PENDULUM_J == j)[0])] for i, j in ij])


def flow_factors(*rhk):
    return np.array([[int(np.flatnonzero(FLOW_R == r)[0]), int(np.flatnonzero(FLOW_H_RAW == h)[0]),
                      int(np.flatnonzero(FLOW_HOLE == k)[0])] for r, h, k in rhk])


def colour_weight(img, colour):
    """(H, W) in [0, 1]: how much of each pixel is ``colour`` on white (from the channel most unlike white)."""
    c = np.asarray(colour, np.float32)[:, None, None]
    k = int(np.argmin(c[:, 0, 0]))                           # the channel furthest from white
    w = (1 - img[k]) / (1 - c[k, 0, 0])
    close = np.abs(img - (1 - w[None] * (1 - c))).max(axis=0) < 0.08   # a mix of colour and white only
    return np.where(close, np.clip(w, 0, 1), 0.0)


def centroid(weight):
    rows, cols = np.indices(weight.shape)
    return (weight * rows).sum() / weight.sum(), (weight * cols).sum() / weight.sum()


# ---- grids -------------------------------------------------------------------------------------------
def test_grids(pend, flow):
    assert pend.factor_sizes == (84, 87) and len(pend) == 7308
    assert flow.factor_sizes == (30, 30, 9) and len(flow) == 8100
    assert PENDULUM_I[0] == -40 and PENDULUM_I[-1] == 43 and len(PENDULUM_I) == 84
    assert PENDULUM_J[0] == 60 and PENDULUM_J[-1] == 147 and 100 not in PENDULUM_J and len(PENDULUM_J) == 87
    assert (FLOW_R[[0, -1]] == [5, 34]).all() and (FLOW_H_RAW[[0, -1]] == [10, 39]).all()
    assert (FLOW_HOLE[[0, -1]] == [6, 14]).all()
    assert pend.name == "pendulum" and flow.name == "flow"


@pytest.mark.parametrize("cls", [Pendulum, Flow])
@pytest.mark.parametrize("size", [96, 64])
def test_images_shape_range_deterministic(cls, size):
    ds = cls(size=size)
    assert ds.observation_shape == (3, size, size)
    f = ds.sample_factors(6, np.random.default_rng(size))
    a = ds.images(f)
    assert a.shape == (6, 3, size, size) and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert a.max() == 1.0 and a.min() < 0.05               # white background, black strokes
    assert np.array_equal(a, ds.images(f.copy()))
    assert np.array_equal(ds.images(f[2:3])[0], a[2])     # one at a time == in a batch
    image, factors = ds.as_torch()[len(ds) - 1]
    assert tuple(image.shape) == (3, size, size)
    assert factors.tolist() == [n - 1 for n in ds.factor_sizes]


@pytest.mark.parametrize("cls", [Pendulum, Flow])
def test_scenes_drawn_once_are_the_scenes_drawn(cls, monkeypatch):
    ds = cls(size=24)
    f = ds.sample_factors(40, np.random.default_rng(7))
    f[-1] = f[0]                                             # a scene twice in one batch
    drawn = []
    render = type(ds)._render
    monkeypatch.setattr(type(ds), "_render", lambda self, x: drawn.append(len(x)) or render(self, x))
    first = ds.images(f)
    assert np.array_equal(first, render(ds, f))              # bit for bit the fresh drawing
    again = cls(size=24).images(f[::-1])                      # another instance: kept, not drawn again
    assert np.array_equal(again, first[::-1]) and sum(drawn) == len(np.unique(ds.factors_to_index(f)))
    again[:] = 0                                             # the caller's copy, not the kept scenes
    assert np.array_equal(ds.images(f), first)
    monkeypatch.setattr("disentanglement.data.pendulum.SCENE_MEMO_BYTES", 0)
    assert cls(size=23)._memo() is None and np.array_equal(cls(size=23).images(f[:2]), render(cls(size=23), f[:2]))


def test_bad_size_and_factors(pend):
    with pytest.raises(ValueError):
        Pendulum(size=2)
    with pytest.raises(ValueError):
        pend.images(np.array([[84, 0]]))


# ---- pendulum geometry ---------------------------------------------------------------------------------
def test_shadow_hand_cases(pend):
    r2 = math.sqrt(2) - 1                                   # 1 / tan(3 pi / 8)
    c = pend.concepts(pend_factors((0, 75), (0, 125), (20, 120)))
    # i = 0, j = 75: intercepts 10 - 11 (sqrt2 - 1) (pivot) and 10 - 1.5 (sqrt2 - 1) (radius 9.5)
    np.testing.assert_allclose(c[0], [0, 75, 9.5 * r2, 10 - 6.25 * r2], atol=1e-9)
    # mirror image: the light on the other side
    np.testing.assert_allclose(c[1], [0, 125, 9.5 * r2, 10 + 6.25 * r2], atol=1e-9)
    # phi - theta = pi / 2: the rod lies along the rays, both intercepts at 10 + 11 tan(pi / 10); length clamped to 3
    np.testing.assert_allclose(c[2], [20, 120, 3.0, 10 + 11 * math.tan(math.pi / 10)], atol=1e-9)


def test_shadow_closed_form_on_the_grid(pend):
    f = pend.index_to_factors(np.arange(len(pend)))
    c = pend.concepts(f)
    assert c.shape == (7308, 4) and c.dtype == np.float64
    theta, phi = c[:, 0] * np.pi / 200, c[:, 1] * np.pi / 200
    np.testing.assert_allclose(c[:, 2], np.maximum(3, 9.5 * np.abs(np.cos(phi - theta)) / np.sin(phi)), atol=1e-9)
    np.testing.assert_allclose(c[:, 3], 10 + 4.75 * np.sin(theta) - (11 - 4.75 * np.cos(theta)) / np.tan(phi), atol=1e-9)
    # sign conventions: light on the right (j < 100) throws the shadow to the left of the pivot, and vice versa
    g = pend.geometry(f)
    left = c[:, 1] < 100
    assert (g["light_x"][left] > 10).all() and (g["light_x"][~left] < 10).all()
    assert (c[left & (c[:, 0] == 0), 3] < 10).all() and (c[~left & (c[:, 0] == 0), 3] > 10).all()


@pytest.mark.parametrize("size", [96, 64])
def test_bob_light_and_shadow_drawn_where_the_geometry_says(size):
    ds = Pendulum(size=size)
    f = pend_factors((-40, 60), (0, 80), (25, 130), (43, 110), (-20, 90))
    imgs, g = ds.images(f), ds.geometry(f)
    col = lambda x: x / 20 * size - 0.5                     # data -> pixel-centre coordinates
    row = lambda y: (21 - y) / 22 * size - 0.5
    for k, img in enumerate(imgs):
        r, c = centroid(colour_weight(img, FIREBRICK))
        assert abs(r - row(g["bob_y"][k])) < 0.3 and abs(c - col(g["bob_x"][k])) < 0.3
        if 3.5 < g["light_x"][k] < 16.5:                    # light not clipped left / right (it is at the top)
            _, c = centroid(colour_weight(img, ORANGE))
            assert abs(c - col(g["light_x"][k])) < 0.3
        # the shadow: the darkness on the row through y = -0.5 spans position -+ length / 2 (clipped to the canvas)
        dark = 1 - img[:, int(round(row(-0.5)))].mean(axis=0)
        lo = max(g["shadow_position"][k] - g["shadow_length"][k] / 2, 0.0)
        hi = min(g["shadow_position"][k] + g["shadow_length"][k] / 2, 20.0)
        assert abs(dark.sum() - (hi - lo) / 20 * size) < 0.2                      # its length, in pixels
        assert abs((dark * np.arange(size)).sum() / dark.sum() - col((lo + hi) / 2)) < 0.2   # its centre


def test_pendulum_graph_and_classes(pend):
    names = pend.concept_names
    assert names == ("pendulum_angle", "light_angle", "shadow_length", "shadow_position")
    a = pend.adjacency
    assert a.shape == (4, 4)
    edges = {(names[i], names[j]) for i, j in zip(*np.nonzero(a))}
    assert edges == {("pendulum_angle", "shadow_length"), ("pendulum_angle", "shadow_position"),
                     ("light_angle", "shadow_length"), ("light_angle", "shadow_position")}
    f = pend.index_to_factors(np.arange(len(pend)))
    k = pend.concept_classes(f)
    assert k.dtype == np.int64 and k.shape == (7308, 4)
    assert np.array_equal(k[:, :2], f)                      # the angles: their factor indices
    assert pend.concept_num_classes() == (84, 87, 20, 20)
    c = pend.concepts(f)
    for q in (2, 3):                                         # 20 equal-width bins, all used, monotone in the value
        assert k[:, q].min() == 0 and k[:, q].max() == 19
        order = np.argsort(c[:, q], kind="stable")
        assert (np.diff(k[order, q]) >= 0).all()
        width = (c[:, q].max() - c[:, q].min()) / 20
        np.testing.assert_allclose(np.minimum(np.floor((c[:, q] - c[:, q].min()) / width), 19), k[:, q])


# ---- graphs ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [Pendulum, Flow])
def test_adjacency_is_a_dag(cls):
    a = np.asarray(cls.adjacency)
    assert set(np.unique(a)) <= {0, 1} and np.trace(a) == 0
    assert not np.linalg.matrix_power(a, len(a)).any()     # nilpotent: no directed cycle
    assert is_dag(a)


def test_is_dag_detects_cycles():
    assert not is_dag(np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]]))
    assert is_dag(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]]))


# ---- flow --------------------------------------------------------------------------------------------------
def test_flow_concepts_graph_and_classes(flow):
    assert flow.concept_names == ("ball_size", "water_height", "hole", "water_flow")
    names, a = flow.concept_names, flow.adjacency
    assert {(names[i], names[j]) for i, j in zip(*np.nonzero(a))} == {
        ("ball_size", "water_height"), ("water_height", "water_flow"), ("hole", "water_flow")}
    c = flow.concepts(flow_factors((30, 20, 9), (5, 10, 6), (34, 39, 14)))
    np.testing.assert_allclose(c[0], [30, 1 + 2.0, 9, math.sqrt(2 * 0.98 * 3.0 * 2.5)], atol=1e-12)
    np.testing.assert_allclose(c[1, 1], (5 / 30) ** 3 + 1.0, atol=1e-12)
    np.testing.assert_allclose(c[2, 1], (34 / 30) ** 3 + 3.9, atol=1e-12)
    np.testing.assert_allclose(c[2, 3], math.sqrt(2 * 0.98 * c[2, 1] * (14 / 3 - 0.5)), atol=1e-12)
    f = flow.index_to_factors(np.arange(len(flow)))
    k = flow.concept_classes(f)
    assert flow.concept_num_classes() == (30, 20, 9, 20)
    assert np.array_equal(k[:, [0, 2]], f[:, [0, 2]])
    assert (k >= 0).all() and (k < np.array(flow.concept_num_classes())).all()
    assert k[:, 1].max() == 19 and k[:, 3].max() == 19 and k[:, 1].min() == 0 and k[:, 3].min() == 0


def water_level(img, size):
    """The water surface's height in canvas units, from the water column at x = 3.9 (left of the ball)."""
    col = int(3.9 / 20 * size)
    cover = colour_weight(img, LIGHTSKYBLUE)[:, col]
    dy = 20 / size
    first = int(np.floor((20 - 1.0) / dy))                  # rows 0..first-1 lie wholly above y = 1
    return 20 - first * dy + cover[:first].sum() * dy


@pytest.mark.parametrize("size", [96, 64])
def test_flow_water_level_and_jet_follow_h(size):
    ds = Flow(size=size)
    h_raws = (10, 20, 30, 39)
    f = flow_factors(*[(20, h, 12) for h in h_raws])
    imgs, h = ds.images(f), ds.concepts(f)[:, 1]
    levels = np.array([water_level(img, size) for img in imgs])
    assert (np.diff(levels) > 0).all()
    # the surface is drawn at 5 + h (plus half of matplotlib's 1 pt outline, 0.18 canvas units)
    np.testing.assert_allclose(levels, 5 + h + 0.18, atol=0.08)
    # the jet: on the row through y = 1.5 its light-blue centre lies at x = 8 + sqrt(2 g h (hole/3 - 1.5))
    rr = int((20 - 1.5) / 20 * size)
    y = 20 - (rr + 0.5) * 20 / size
    for img, hk in zip(imgs, h):
        w = colour_weight(img, LIGHTSKYBLUE)[rr]
        w[: int(8.6 / 20 * size)] = 0                       # right of the cup only
        x = ((np.arange(size) + 0.5) * w).sum() / w.sum() * 20 / size
        assert abs(x - (8 + math.sqrt(2 * 0.99 * hk * (4 - y)))) < 0.25
    # the hole: the right wall is open between hole/3 and hole/3 + 0.4, closed above
    img = imgs[0]
    c8 = int(8 / 20 * size)
    at = lambda yy: img[:, int((20 - yy) / 20 * size), c8 - 1:c8 + 1].mean()
    assert at(4.2) > 0.4 and at(6.0) < 0.3
