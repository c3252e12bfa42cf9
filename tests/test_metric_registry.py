"""The common metric test: every metric of the registry (metrics/registry.py) that scores codes — from the
study's train / test codes or from its own draws — scores perfect codes high and noise low, and is unchanged by
permuting or rescaling the code dimensions, where its entry says those hold; and the registry is what
evaluate, score, the parser and the help read."""
import numpy as np
import pytest

from disentanglement import metrics as M
from disentanglement.errors import UserError
from disentanglement.evaluate import FILE_METRICS, ONE_FACTOR_AT_A_TIME, parse_metrics
from disentanglement.metrics.registry import REGISTRY, Metric, help_line, names

SIZES = [4, 5, 3]
SCORED = names("codes", "split", "sampler")
# the sampler metrics at test sizes (their own keywords); the rest of their protocol is the study's
SMALL = {"beta_vae": dict(batch_size=16, num_train=300, num_eval=150),
         "factor_vae": dict(batch_size=16, num_train=300, num_eval=150, num_variance_estimate=500),
         "fairness": dict(num_train=300, num_test_points_per_class=10, n_jobs=1),
         "downstream": dict(num_train=(100,), n_jobs=1)}
PERMUTE, SCALE = [2, 0, 1], np.array([3.0, 0.5, 10.0])


class _Grid:
    """Three factors; an "image" is the factor values scaled to [0, 1]: the identity encoder is a perfect code."""
    factor_sizes = SIZES

    def sample_factors(self, n, rs):
        return np.stack([rs.randint(s, size=n) for s in SIZES], axis=1)

    def images(self, factors):
        return (factors / (np.array(SIZES) - 1.0))[:, None, None, :].astype(np.float32)


def _perfect(images):
    """A deterministic row-wise encoder (the sampler metrics cache codes by image): the factors, jittered."""
    x = images.reshape(len(images), -1).astype(np.float64)
    return x + 0.01 * np.sin(97.0 * x.sum(1, keepdims=True) + np.arange(x.shape[1]))


def _noise(images):
    return np.random.RandomState(len(images)).randn(len(images), 3)


def _codes(kind, factors, seed):
    """Codes of the study's train / test draws: the factors scaled to [0, 1] plus N(0, 0.05^2) (continuous, as a
    VAE's means are: the k-NN estimators need it), or noise."""
    rs = np.random.RandomState(seed)
    if kind == "noise":
        return rs.randn(len(factors), 3)
    return factors / (np.array(SIZES) - 1.0) + 0.05 * rs.randn(len(factors), 3)


def _score(name, kind, change=lambda z: z):
    """The metric on perfect or noise codes, after ``change`` of the code dimensions."""
    metric = REGISTRY[name]
    if metric.needs == "sampler":
        encode = _perfect if kind == "perfect" else _noise
        return metric.compute(_Grid(), lambda images: change(encode(images)), 0, 100, **SMALL.get(name, {}))
    rs = np.random.RandomState(0)
    train, test = _Grid().sample_factors(600, rs), _Grid().sample_factors(300, rs)
    codes = [change(_codes(kind, train, 1)), train]
    if metric.needs == "split":
        return metric.compute(*codes, change(_codes(kind, test, 2)), test)
    return metric.compute(*codes)


@pytest.mark.parametrize("name", [n for n in SCORED if REGISTRY[n].high or REGISTRY[n].low])
def test_perfect_codes_score_high_and_noise_low(name):
    perfect, noise = _score(name, "perfect"), _score(name, "noise")
    for key in REGISTRY[name].high:
        assert perfect[key] >= 0.9, (key, perfect[key])
    chance = 1 / len(SIZES) if name in ONE_FACTOR_AT_A_TIME else 0.0   # naming the fixed factor by guessing
    for key in REGISTRY[name].low:
        assert noise[key] <= chance + 0.2, (key, noise[key])


@pytest.mark.parametrize("name,change", [(n, c) for n in SCORED for c in REGISTRY[n].invariant])
def test_invariances_hold(name, change):
    how = {"permutation": lambda z: z[:, PERMUTE], "scale": lambda z: z * SCALE}[change]
    a, b = _score(name, "perfect"), _score(name, "perfect", how)
    assert a.keys() == b.keys()
    for key in a:
        assert b[key] == pytest.approx(a[key], abs=REGISTRY[name].tolerance), key


@pytest.mark.parametrize("name", SCORED)
def test_every_scoring_metric_runs_and_gives_finite_numbers(name):
    out = _score(name, "perfect")
    assert out and all(np.isfinite(v) for v in out.values() if isinstance(v, float))


def test_the_registry_is_what_the_library_reads():
    assert M.METRICS == ("beta_vae", "factor_vae", "mig", "sap", "dci", "modularity_explicitness", "irs",
                         "unsupervised")                                   # the study's suite, in its order
    assert set(M.EXTRA_METRICS) == {"fairness", "downstream", "infomec", "dci_es"}
    assert set(ONE_FACTOR_AT_A_TIME) == {"beta_vae", "factor_vae", "fairness"}
    assert set(FILE_METRICS) == set(names("codes", "split"))
    assert parse_metrics(",".join(REGISTRY)) == list(REGISTRY)            # every registered name parses
    with pytest.raises(UserError, match="unknown metric"):
        parse_metrics("mig,nope")
    assert all(n in help_line() for n in REGISTRY)
    assert M.planned_images(["mig"]) == 15000 and M.planned_images(["infomec", "mic"]) == 15000
    with pytest.raises(ValueError, match="needs must be one of"):
        Metric("x", "pixels", lambda z, f: {})
    with pytest.raises(ValueError, match="needs a compute"):
        Metric("x", "codes")
