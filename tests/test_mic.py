"""MIC / TIC (Reshef et al. 2011; 2016) against the real minepy, and the CausalVAE wrapper.

Golden values: minepy 1.2.6 (the PyPI sdist; its shipped Cython output does not
compile on Python 3.11, so ``minepy/mine.pyx`` was re-cythonised with Cython
3.3.1 and the package built with ``pip install --no-build-isolation`` in a
scratch venv outside this repo, numpy 2.4, setuptools 65).  For each case,
``m = minepy.MINE(alpha, c, est="mic_approx"); m.compute_score(x, y)`` and the
numbers are ``repr(m.mic())``, ``repr(m.tic(norm=True))``, ``repr(m.tic())``, on
the arrays ``_data`` below builds (same seeds).  Our port reproduces minepy's
whole characteristic matrix (``m.get_score()``) to <= 5e-15 per cell on these
cases; the only differences are the summation order of the entropy terms, so
the tolerance is 1e-9 (unnormalised TIC, a sum of up to ~150 cells: 1e-8).
"""
import numpy as np
import pytest

from disentanglement.metrics import mic, mic_tic
from disentanglement.metrics.mic import characteristic_matrix


def _data(kind, n, seed=0):
    rs = np.random.RandomState(seed)
    x = rs.uniform(0, 1, n)
    if kind == "linear":
        y = 2 * x + 1
    elif kind == "parabola":
        y = (x - 0.5) ** 2
    elif kind == "sine":
        y = np.sin(4 * np.pi * x)
    elif kind == "noise":
        y = rs.uniform(0, 1, n)
    elif kind == "noisy_sine":
        y = np.sin(4 * np.pi * x) + 0.5 * rs.randn(n)
    elif kind == "ties":  # few distinct values on both axes: clumps of tied x spanning several y bins
        x = rs.randint(0, 5, n).astype(float)
        y = x + rs.randint(0, 3, n)
    return x, y


# (kind, n, alpha, c): (mic, tic normalised, tic unnormalised) from minepy 1.2.6, est="mic_approx"
GOLDEN = {
    ("linear", 300, 0.6, 15): (1.0000000000000002, 1.0, 52.0),
    ("linear", 1000, 0.6, 15): (1.0000000000000002, 0.9999995844971497, 147.99993850557814),
    ("parabola", 300, 0.6, 15): (1.0000000000000002, 0.7073248947940313, 36.780894529289625),
    ("parabola", 1000, 0.6, 15): (1.0000000000000002, 0.7392907939126633, 109.41503749907416),
    ("sine", 300, 0.6, 15): (1.0000000000000002, 0.5814276677507622, 30.234238723039635),
    ("sine", 1000, 0.6, 15): (1.0000000000000002, 0.6192953672859383, 91.65571435831886),
    ("noise", 300, 0.6, 15): (0.19179583633436417, 0.08853775312847284, 4.6039631626805875),
    ("noise", 1000, 0.6, 15): (0.13309036619165127, 0.050220405766903786, 7.43262005350176),
    ("noisy_sine", 300, 0.6, 15): (0.7156668359591606, 0.3466385697661056, 18.02520562783749),
    ("noisy_sine", 1000, 0.6, 15): (0.6596424536925565, 0.34264613518877257, 50.71162800793834),
    ("ties", 300, 0.6, 15): (0.5870171211968936, 0.5217793608862844, 27.13252676608679),
    ("ties", 1000, 0.6, 15): (0.6051164672867034, 0.5290020912954975, 78.29230951173362),
    ("noisy_sine", 500, 0.45, 5): (0.5815761303369922, 0.2924001571103558, 5.55560298509676),
    ("noisy_sine", 500, 12, 15): (0.5426469884318665, 0.28234742726191775, 3.388169127143013),  # B = alpha
    ("parabola", 20, 0.6, 15): (0.9999999999999996, 0.677753059955546, 2.033259179866638),  # B = max(n^a, 4)
    ("noise", 40, 0.6, 1): (0.2738654610595805, 0.2387052119833415, 1.432231271900049),  # c = 1: superclumps
}


@pytest.mark.parametrize("case", list(GOLDEN), ids=lambda c: "-".join(map(str, c)))
def test_matches_minepy(case):
    kind, n, alpha, c = case
    x, y = _data(kind, n)
    want_mic, want_tic, want_tic_sum = GOLDEN[case]
    got_mic, got_tic = mic_tic(x, y, alpha=alpha, c=c)
    assert got_mic == pytest.approx(want_mic, abs=1e-9)
    assert got_tic == pytest.approx(want_tic, abs=1e-9)
    assert mic_tic(x, y, alpha=alpha, c=c, normalize_tic=False)[1] == pytest.approx(want_tic_sum, abs=1e-8)


def test_characteristic_matrix_shape_is_the_xy_le_B_grids():
    x, y = _data("noisy_sine", 300)  # B = 300**0.6 = 30.6: rows y = 2..15, row y holds x = 2..floor(B/y)
    mat = characteristic_matrix(x, y)
    budget = 300 ** 0.6
    assert mat.shape == (14, 14)
    for i in range(14):
        width = int(budget // (i + 2)) - 1
        assert np.isfinite(mat[i, :width]).all() and np.isnan(mat[i, width:]).all()
    assert np.nanmin(mat) >= 0 and np.nanmax(mat) <= 1 + 1e-12


def test_published_properties():
    """Reshef et al. 2011 (Fig. 2, SOM): MIC -> 1 for noiseless functions, small for
    independent noise and shrinking with n; MIC is symmetric and rank-based."""
    rs = np.random.RandomState(5)
    x = rs.uniform(-1, 1, 500)
    for y in (3 * x - 2, np.cos(6 * np.pi * x), x ** 2, np.exp(x)):
        assert mic_tic(x, y)[0] >= 0.99
    noise = [mic_tic(rs.rand(n), rs.rand(n))[0] for n in (100, 400, 1600)]
    assert noise[0] > noise[1] > noise[2] and noise[0] < 0.45 and noise[2] < 0.15
    x, y = _data("noisy_sine", 400, seed=2)
    ref = mic_tic(x, y)
    assert mic_tic(y, x) == pytest.approx(ref, abs=1e-12)
    assert mic_tic(np.exp(3 * x), y ** 3 - 7) == pytest.approx(ref, abs=1e-12)
    # decreasing maps only nearly: the greedy equipartition runs from the smallest value up
    assert mic_tic(-x, y) == pytest.approx(ref, abs=0.01)


def test_mic_tic_rejects_bad_input():
    with pytest.raises(ValueError):
        mic_tic(np.zeros(10), np.zeros(9))
    with pytest.raises(ValueError):
        mic_tic(np.array([0.0, np.nan, 1.0]), np.arange(3.0))
    with pytest.raises(ValueError):
        mic_tic(np.arange(10.0), np.arange(10.0), alpha=2)
    assert mic_tic(np.ones(50), np.arange(50.0)) == (0.0, 0.0)  # constant: one bin, no information


@pytest.fixture(scope="module")
def concepts():
    rs = np.random.RandomState(0)
    return rs.uniform(size=(400, 2)), rs


def test_wrapper_perfect_high_shuffled_low(concepts):
    u, rs = concepts
    z = np.concatenate([u[:, :1] ** 3, np.log(u[:, :1]), np.exp(u[:, 1:]), 2 - u[:, 1:]], axis=1)
    z += 1e-6 * rs.randn(*z.shape)
    good = mic(z, u)
    assert set(good) == {"mic", "tic", "mic.0", "tic.0", "mic.1", "tic.1"}
    assert good["mic"] >= 0.99 and good["tic"] >= 0.9
    bad = mic(z[rs.permutation(len(z))], u)
    assert bad["mic"] <= 0.3 and bad["tic"] <= 0.15
    # per concept: the mean over the block's dims of the pairwise statistic
    pairs = [mic_tic(z[:, d], u[:, 1]) for d in (2, 3)]
    assert good["mic.1"] == pytest.approx(np.mean([p[0] for p in pairs]))
    assert good["tic.1"] == pytest.approx(np.mean([p[1] for p in pairs]))
    assert good["mic"] == pytest.approx((good["mic.0"] + good["mic.1"]) / 2)


def test_wrapper_blocks_and_reduce(concepts):
    u, rs = concepts
    z = np.concatenate([u + 0.3 * rs.randn(*u.shape), rs.randn(400, 2)], axis=1)  # concept i: dims (i, i + 2)
    interleaved = mic(z, u, blocks=[[0, 2], [1, 3]])
    contiguous = mic(z[:, [0, 2, 1, 3]], u)
    assert interleaved == pytest.approx(contiguous)
    mean = mic(z, u, blocks=[[0, 2], [1, 3]], reduce="mean")
    ref = mic_tic(z[:, [1, 3]].mean(axis=1), u[:, 1])
    assert (mean["mic.1"], mean["tic.1"]) == pytest.approx(ref)
    with pytest.raises(ValueError):
        mic(z[:, :3], u)  # 3 dims do not split into 2 blocks
    with pytest.raises(ValueError):
        mic(z, u[:-1])
    with pytest.raises(ValueError):
        mic(z, u, blocks=[[0, 1, 2, 3]])
