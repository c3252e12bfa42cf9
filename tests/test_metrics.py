"""Properties of the metrics beyond the common test (tests/test_metric_registry.py) and loud failures on bad input."""
import numpy as np
import pytest

from disentanglement import metrics

SIZES = [4, 5, 3]


def _data(n, seed=0, noise=0.05):
    rs = np.random.RandomState(seed)
    f = np.stack([rs.randint(s, size=n) for s in SIZES], axis=1)
    return f / (np.array(SIZES) - 1.0) + noise * rs.randn(n, 3), f


@pytest.fixture(scope="module")
def perfect():
    (z, f), (zt, ft) = _data(600), _data(300, seed=1)
    return z, f, zt, ft


# perfect high, noise low, permutation and rescaling: tests/test_metric_registry.py walks every metric
def test_duplicated_codes_score_low(perfect):
    z, f, zt, ft = perfect
    dup, dup_t = np.repeat(z[:, :1], 3, axis=1), np.repeat(zt[:, :1], 3, axis=1)
    assert metrics.mig(dup, f)["mig"] <= 0.1
    assert metrics.dci(dup, f, dup_t, ft)["dci.completeness"] <= 0.5


def test_dci_in_processes_equals_in_process(perfect):
    assert metrics.dci(*perfect, n_jobs=2) == metrics.dci(*perfect, n_jobs=1)


def test_unsupervised_independent_codes_near_zero():
    s = metrics.unsupervised(np.random.RandomState(0).randn(2000, 4))
    assert abs(s["gaussian_total_correlation"]) < 0.01
    assert s["gaussian_wasserstein_correlation_norm"] < 0.01


def test_quirks_are_reported_with_corrections(perfect):
    z, f, _, _ = perfect
    s = metrics.irs(z, f)
    assert s["irs.num_active_dims"] == pytest.approx(z.sum())  # the reference's bug, kept
    assert s["irs.num_active_dims_corrected"] == 3


@pytest.mark.parametrize("fn", ["mig", "irs", "unsupervised", "sap", "dci", "modularity_explicitness"])
def test_nan_codes_raise(perfect, fn):
    z, f, zt, ft = perfect
    bad = z.copy()
    bad[5, 1] = np.nan
    args = {"mig": (bad, f), "irs": (bad, f), "unsupervised": (bad,)}.get(fn, (bad, f, zt, ft))
    with pytest.raises(ValueError, match="NaN"):
        getattr(metrics, fn)(*args)


def test_bad_inputs_raise_one_line_errors(perfect):
    z, f, zt, ft = perfect
    cases = [
        (lambda: metrics.mig(z[:-1], f), "same samples"),
        (lambda: metrics.mig(z, f + 0.5), "integer"),
        (lambda: metrics.mig(z[:, :1], f), "at least 2"),
        (lambda: metrics.mig(z, np.c_[f, np.zeros(len(f), int)]), "single value"),
        (lambda: metrics.sap(z, f, zt[:, :2], ft), "dims"),
        (lambda: metrics.modularity_explicitness(np.c_[z, np.ones(len(z))], f,
                                                 np.c_[zt, np.ones(len(zt))], ft), "constant"),
        (lambda: metrics.unsupervised(z[:, :1]), "at least 2"),
        (lambda: metrics.beta_vae_score(None, None, random_state=1.5), "random_state"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message) as err:
            call()
        assert "\n" not in str(err.value)


class _Toy:
    factor_sizes = [3, 4]

    def sample_factors(self, n, rs):
        return np.stack([rs.randint(s, size=n) for s in self.factor_sizes], axis=1)

    def images(self, factors):
        return (factors / 3.0)[:, None, None, :].astype(np.float32)


def _encode(images):
    x = images.reshape(len(images), -1)
    return np.c_[x, 0.5 * x[:, :1] + x[:, 1:]]


def test_sampler_metrics_perfect_and_seeded():
    kw = dict(batch_size=16, num_train=200, num_eval=100)
    a = metrics.beta_vae_score(_Toy(), _encode, random_state=0, **kw)
    b = metrics.beta_vae_score(_Toy(), _encode, random_state=np.random.RandomState(0), **kw)
    assert a == b and a["beta_vae.eval_accuracy"] >= 0.9
    s = metrics.factor_vae_score(_Toy(), _encode, random_state=0, num_variance_estimate=300, **kw)
    assert s["factor_vae.num_active_dims_corrected"] == 3  # every dim active (D = 3)


def test_factor_vae_counts_active_dims():
    """Dims of std < threshold are pruned: the corrected count drops them, the reference's stays D."""
    def encode(images):  # 3 active dims, then a constant one and one of std 0.01 * std(x_0) < 0.05
        z = _encode(images)
        return np.c_[z, np.zeros(len(z)), 0.01 * z[:, :1]]
    s = metrics.factor_vae_score(_Toy(), encode, random_state=0, num_variance_estimate=300,
                                 batch_size=16, num_train=50, num_eval=20)
    assert s["factor_vae.num_active_dims_corrected"] == 3
    assert s["factor_vae.num_active_dims"] == 5  # the reference's quirk: len of the mask, D


def test_evaluate_returns_every_key():
    keys = set(metrics.evaluate(_Toy(), _encode, metrics=["mig", "irs", "unsupervised"], progress=False,
                                num_train=300, num_test=100))
    assert keys >= {"mig", "irs", "irs.num_active_dims", "mutual_info_score"}
    with pytest.raises(ValueError, match="unknown"):
        metrics.evaluate(_Toy(), _encode, metrics=["nope"])
