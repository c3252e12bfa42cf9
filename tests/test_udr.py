"""UDR (metrics/udr.py) against disentanglement_lib's ``compute_udr_sklearn`` and on sanity cases.

Golden values: disentanglement_lib's ``evaluation/udr/metrics/udr.py`` (commit a64b8b9,
the newest revision of that file) was run in a scratch folder outside this repo, its text
unchanged except that ``import gin.tf`` and the ``@gin.configurable`` line were
removed, under numpy 1.26.4 / scipy 1.12.0 / scikit-learn 1.4.2 (the same numbers to
1e-15 under numpy 2.4 / scipy 1.17 / scikit-learn 1.9).  ``compute_udr_sklearn`` was
called with ``RandomState(0)``, batch_size=10, num_data_points=1000 and the settings
below, on a stub dataset whose ``sample_observations`` hands out the row indices 0..999
in order and representation functions returning (codes[m][rows], kl[m]); so its
representations are exactly ``make_case``'s arrays.  Recorded: ``model_scores`` and
``pairwise_disentanglement_scores`` (trailing axis of 1 dropped).
"""
import numpy as np
import pytest

from disentanglement.metrics import udr
from disentanglement.metrics.udr import gaussian_kl, relative_strength

N = 1000
EXACT = 1e-9


def make_case(name):
    """(codes: list of (N, D) float64, kl: list of (D,) float64) of one seeded case."""
N = 1000


def make_case(name):
    """(codes: list of (N, D) float64, kl: list of (D,) float64) of one case."""
    if name == "aligned":  # 3 models: same 4 factors, permuted / flipped / scaled, 2 noise dims
        rs = np.random.RandomState(0)
        s = rs.randn(N, 4)
        codes, kls = [], []
        for _ in range(3):
            raw = np.concatenate([s + 0.3 * rs.randn(N, 4), 0.05 * rs.randn(N, 2)], axis=1)
            perm = rs.permutation(6)
            scale = rs.uniform(0.5, 2.0, 6) * rs.choice([-1.0, 1.0], 6)
            kl = np.concatenate([rs.uniform(0.5, 3.0, 4), [0.004, 0.03]])
            codes.append(raw[:, perm] * scale)
            kls.append(kl[perm])
        return codes, kls
    if name == "mixed":  # 4 models of rising entanglement, monotone warps, one quantised
        rs = np.random.RandomState(1)
        s = rs.randn(N, 5)
        codes, kls = [], []
        for m in range(4):
            a = rs.randn(5, 5)
            q, _ = np.linalg.qr(a - a.T)  # a rotation
            mix = np.eye(5) + 0.25 * m * (q - np.eye(5))
            z = s @ mix + 0.2 * rs.randn(N, 5)
            z[:, 0] = np.tanh(z[:, 0])
            if m == 2:
                z = np.round(z * 2) / 2  # ties for the ranks
            codes.append(z)
            kls.append(rs.uniform(0.02, 2.0, 5))
        return codes, kls
    if name == "independent":  # 3 models of unrelated noise
        rs = np.random.RandomState(2)
        return [rs.randn(N, 4) for _ in range(3)], [np.ones(4) for _ in range(3)]
    raise ValueError(name)


# (case, our settings, reference model_scores, reference pairwise scores)
GOLDEN = [
    ('aligned', {'correlation': 'lasso'},
     [0.6518579697192712, 0.6517789086342604, 0.6520173375884626],
     [[0.0, 0.6516195407650682, 0.6520963986734728], [0.6516195407650688, 0.0, 0.6519382765034523], [0.6520963986734738, 0.6519382765034525, 0.0]]),
    ('aligned', {'correlation': 'spearman'},
     [0.641565675465571, 0.6353493767798031, 0.6469733065695564],
     [[0.0, 0.6299417456758176, 0.6531896052553243], [0.6299417456758176, 0.0, 0.6407570078837886], [0.6531896052553243, 0.6407570078837886, 0.0]]),
    ('mixed', {'correlation': 'lasso'},
     [0.3668121213098963, 0.35578360397967057, 0.3049271804872513, 0.36329760783914217],
     [[0.0, 0.646409102209895, 0.2817225885353251, 0.36329760783914217], [0.7054480596910695, 0.0, 0.3049271804872513, 0.39346510177345084], [0.28747701298535266, 0.26901861858533566, 0.0, 0.32959884179573684], [0.3668121213098963, 0.35578360397967057, 0.32770054508366186, 0.0]]),
    ('mixed', {'correlation': 'spearman'},
     [0.34197796356117477, 0.339645031092565, 0.27623489230658005, 0.339645031092565],
     [[0.0, 0.5709819747957782, 0.2615074357333994, 0.34197796356117477], [0.5709819747957782, 0.0, 0.27623489230658005, 0.339645031092565], [0.2615074357333994, 0.27623489230658005, 0.0, 0.33342111197527247], [0.34197796356117477, 0.339645031092565, 0.33342111197527247, 0.0]]),
    ('independent', {'correlation': 'lasso'},
     [0.0, 0.0, 0.0],
     [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    ('independent', {'correlation': 'spearman'},
     [0.02196006005526668, 0.019996042803438425, 0.022984745403940424],
     [[0.0, 0.01897135745476468, 0.024948762655768682], [0.01897135745476468, 0.0, 0.02102072815211217], [0.024948762655768682, 0.02102072815211217, 0.0]]),
    ('aligned', {'correlation': 'lasso', 'filter_low_kl': False},
     [0.5432149747660593, 0.5431490905285503, 0.5433477813237187],
     [[0.0, 0.5430162839708901, 0.5434136655612273], [0.5430162839708906, 0.0, 0.5432818970862102], [0.543413665561228, 0.5432818970862104, 0.0]]),
    ('aligned', {'correlation': 'lasso', 'kl_threshold': 0.05},
     [0.814822462149089, 0.8147236357928254, 0.8150216719855782],
     [[0.0, 0.8145244259563351, 0.815120498341841], [0.814524425956336, 0.0, 0.8149228456293154], [0.8151204983418421, 0.8149228456293156, 0.0]]),
    ('aligned', {'correlation': 'lasso', 'kl_threshold': 0.002},
     [0.5432149747660593, 0.5431490905285503, 0.5433477813237187],
     [[0.0, 0.5430162839708901, 0.5434136655612273], [0.5430162839708906, 0.0, 0.5432818970862102], [0.543413665561228, 0.5432818970862104, 0.0]]),
    ('aligned', {'correlation': 'spearman', 'filter_low_kl': False},
     [0.0, 0.0, 0.0],
     [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
    ('aligned', {'correlation': 'spearman', 'kl_threshold': 0.05},
     [0.8223379723163727, 0.8185683075633542, 0.8307315940871354],
     [[0.0, 0.8101746857925916, 0.8345012588401539], [0.8101746857925916, 0.0, 0.8269619293341168], [0.8345012588401539, 0.8269619293341168, 0.0]]),
    ('aligned', {'correlation': 'spearman', 'kl_threshold': 0.002},
     [0.0, 0.0, 0.0],
     [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
]


@pytest.mark.parametrize("case,kwargs,scores,pairwise", GOLDEN,
                         ids=[f"{c}-" + "-".join(f"{k}={v}" for k, v in kw.items()) for c, kw, _, _ in GOLDEN])
def test_matches_reference(case, kwargs, scores, pairwise):
    codes, kl = make_case(case)
    out = udr(codes, kl=kl, **kwargs)
    assert out["udr.scores"] == pytest.approx(scores, abs=EXACT)
    np.testing.assert_allclose(out["udr.pairwise"], pairwise, atol=EXACT, rtol=0)


def test_raw_correlations_and_nan_quirk():
    """Spearman keeps the NaN rows / columns of zeroed dims in the raw matrices (the reference
    had 66 NaNs here: 6 ordered pairs x (6 + 6 - 1)); diagonal blocks are zeros."""
    codes, kl = make_case("aligned")
    raw = np.array(udr(codes, kl=kl, correlation="spearman", filter_low_kl=False)["udr.raw_correlations"])
    assert raw.shape == (3, 3, 6, 6)
    assert int(np.isnan(raw).sum()) == 66
    assert np.all(raw[[0, 1, 2], [0, 1, 2]] == 0)
    lasso = udr(codes, kl=kl, include_raw_correlations=False)
    assert "udr.raw_correlations" not in lasso and len(lasso["udr.scores"]) == 3


def _permuted_copy(z, rs):
    d = z.shape[1]
    return z[:, rs.permutation(d)] * rs.choice([-1.0, 1.0], d) * rs.uniform(0.5, 2.0, d)


@pytest.mark.parametrize("correlation,low,high", [("lasso", 0.9 - 1e-9, 0.9 + 1e-9), ("spearman", 0.95, 1.0)])
def test_same_code_up_to_permutation_and_sign_scores_high(correlation, low, high):
    """R is not normalised: Lasso's |coef| of a standardised copy is 1 - alpha = 0.9, which caps the
    score; Spearman's ~0.01 sample correlations off the matching entries cost a few hundredths."""
    rs = np.random.RandomState(3)
    z = rs.rand(N, 5)
    codes = [z] + [_permuted_copy(z, rs) for _ in range(2)]
    scores = udr(codes, correlation=correlation)["udr.scores"]
    assert low <= min(scores) and max(scores) <= high
    assert udr(codes, lasso_alpha=0.01)["udr.scores"] == pytest.approx([0.99] * 3, abs=1e-9)


@pytest.mark.parametrize("correlation,limit", [("lasso", 1e-12), ("spearman", 0.1)])
def test_independent_codes_score_low(correlation, limit):
    codes, kl = make_case("independent")
    assert max(udr(codes, kl=kl, correlation=correlation)["udr.scores"]) < limit


def test_disentangled_model_outranks_entangled_one():
    rs = np.random.RandomState(4)
    s = rs.randn(N, 4)
    q, _ = np.linalg.qr(rs.randn(4, 4))
    codes = [s + 0.1 * rs.randn(N, 4), _permuted_copy(s, rs) + 0.1 * rs.randn(N, 4),
             s[:, [1, 0, 3, 2]] + 0.1 * rs.randn(N, 4), s @ q + 0.1 * rs.randn(N, 4)]
    for correlation in ("lasso", "spearman"):
        scores = udr(codes, correlation=correlation)["udr.scores"]
        assert np.argmin(scores) == 3 and min(scores[:3]) > scores[3] + 0.2, (correlation, scores)


@pytest.mark.parametrize("correlation,tol", [("lasso", 1e-4), ("spearman", 1e-9)])
def test_permutation_invariance(correlation, tol):
    """Up to rounding, and for Lasso to its coordinate-descent tolerance (visits dims in order)."""
    codes, kl = make_case("mixed")
    base = udr(codes, kl=kl, correlation=correlation)
    # reorder the models: scores follow them
    order = [2, 0, 3, 1]
    moved = udr([codes[m] for m in order], kl=[kl[m] for m in order], correlation=correlation)
    np.testing.assert_allclose(moved["udr.scores"], np.array(base["udr.scores"])[order], atol=tol)
    # permute and flip the dims inside one model (with its KL): nothing changes
    rs = np.random.RandomState(5)
    perm, sign = rs.permutation(5), rs.choice([-1.0, 1.0], 5)
    codes[1], kl[1] = codes[1][:, perm] * sign, kl[1][perm]
    again = udr(codes, kl=kl, correlation=correlation)
    np.testing.assert_allclose(again["udr.scores"], base["udr.scores"], atol=tol)


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_inactive_dims_filtered(correlation):
    """As the reference's test_metric_kl: only dim 0 carries KL; the rest is noise."""
    rs = np.random.RandomState(6)
    x = rs.rand(N, 1)
    codes = [np.concatenate([x, rs.rand(N, 4)], axis=1) for _ in range(2)]
    kl = [np.array([1.0, 0, 0, 0, 0])] * 2
    assert max(udr(codes, kl=kl, correlation=correlation, filter_low_kl=False)["udr.scores"]) < 0.2
    assert min(udr(codes, kl=kl, correlation=correlation)["udr.scores"]) > 0.8
    # an extra inactive dim in one model (so the Ds differ) changes nothing
    codes3, kl3 = make_case("aligned")
    base = udr(codes3, kl=kl3, correlation=correlation)["udr.scores"]
    codes3[0] = np.concatenate([codes3[0], rs.randn(N, 1)], axis=1)
    kl3[0] = np.append(kl3[0], 0.001)
    np.testing.assert_allclose(udr(codes3, kl=kl3, correlation=correlation)["udr.scores"], base, atol=1e-9)


def test_kl_none_means_all_active():
    codes, _ = make_case("mixed")
    a = udr(codes, kl=None, correlation="spearman")["udr.scores"]
    b = udr(codes, kl=[np.ones(5)] * 4, correlation="spearman")["udr.scores"]
    assert a == b


def test_relative_strength_reference_cases():
    assert relative_strength(np.eye(3)) == 1.0
    assert relative_strength(np.array([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]])) == pytest.approx(2 / 3)
    assert relative_strength(np.ones((3, 3))) == pytest.approx(1 / 3)
    assert relative_strength(np.zeros((3, 3))) == 0.0
    assert relative_strength(np.array([[1.0, np.nan], [0.5, 0.2]])) == pytest.approx(((1 / 1.5 + 0) / 2 + (0 + 0.25 / 0.7) / 2) / 2)


def test_gaussian_kl():
    mean, logvar = np.zeros((3, 2)), np.zeros((3, 2))
    mean[:, 1] = 2.0
    np.testing.assert_allclose(gaussian_kl(mean, logvar), [0.0, 2.0])
    with pytest.raises(ValueError, match="one shape"):
        gaussian_kl(mean, logvar[:, :1])


@pytest.mark.parametrize("args,kwargs,match", [
    (lambda z: [z], {}, "at least 2 models"),
    (lambda z: z, {}, "list of"),
    (lambda z: [z, z[:-1]], {}, "samples"),
    (lambda z: [z, np.full_like(z, np.nan)], {}, "NaN"),
    (lambda z: [z, z], {"kl": [np.ones(3)]}, "one .D,. vector per model"),
    (lambda z: [z, z], {"kl": [np.ones(3), np.ones(2)]}, r"kl\[1\]"),
    (lambda z: [z, z], {"kl": [np.ones(3), np.zeros(3)]}, "no dimension"),
    (lambda z: [z, z], {"correlation": "pearson"}, "correlation"),
    (lambda z: [z, z], {"lasso_alpha": 0.0}, "lasso_alpha"),
])
def test_bad_input(args, kwargs, match):
    z = np.random.RandomState(7).randn(20, 3)
    with pytest.raises(ValueError, match=match):
        udr(args(z), **kwargs)
