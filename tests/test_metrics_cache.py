"""The encoder cache: each factor combination encoded at most once, the same numbers as without it."""
from collections import Counter

import numpy as np
import pytest
import torch

from disentanglement import metrics as M
from disentanglement.config import make_config
from disentanglement.data import Glyphs, Squares
from disentanglement.evaluate import mean_encoder
from disentanglement.models import build_model

BETA = dict(batch_size=8, num_train=60, num_eval=30)
FACTOR = dict(batch_size=8, num_train=60, num_eval=30, num_variance_estimate=100)


class Counting:
    """A row-wise encoder (fixed random projection, float32) that counts every image it is given."""

    def __init__(self, dim: int = 4):
        self.seen: Counter = Counter()
        self.w = np.random.default_rng(0).normal(size=(256, dim)).astype(np.float32)  # (H*W, D)

    def __call__(self, images):
        x = np.asarray(images).reshape(len(images), -1)  # (n, 256)
        self.seen.update(row.tobytes() for row in x)
        return (x[:, :, None] * self.w).sum(axis=1)     # (n, D), each row on its own

    @property
    def total(self) -> int:
        return sum(self.seen.values())


def _sampler_values(data, encode):
    rs = np.random.RandomState(0)
    codes, factors = M.sample_codes(data, encode, 200, random_state=rs)
    return {**M.beta_vae_score(data, encode, random_state=0, **BETA),
            **M.factor_vae_score(data, encode, random_state=0, **FACTOR),
            "codes": codes.tobytes(), "factors": factors.tobytes()}


@pytest.mark.parametrize("dataset", [Squares, Glyphs])
@pytest.mark.parametrize("expected", [0, 10 ** 6])
def test_each_combination_encoded_at_most_once(dataset, expected):
    data = dataset()
    enc = Counting()
    cache = M.cached_encoder(data, enc, expected=expected)
    _sampler_values(data, cache)
    assert enc.seen and max(enc.seen.values()) == 1           # no image encoded twice
    assert cache.encoded == enc.total <= len(data)
    plain = Counting()
    _sampler_values(data, plain)
    assert plain.total == 2 * 8 * 90 + 100 + 8 * 90 + 200 > 8 * len(data)  # what the cache saves


def test_sampler_metrics_identical_with_and_without_cache():
    data = Squares()
    assert _sampler_values(data, M.cached_encoder(data, Counting())) == _sampler_values(data, Counting())
    # ... also through the suite, which wraps ``encode`` itself
    kw = dict(metrics=["mig", "sap", "modularity_explicitness", "irs", "unsupervised"], progress=False,
              num_train=300, num_test=100)
    assert M.evaluate(data, Counting(), **kw) == M.evaluate(data, Counting(), cache=False, **kw)


def test_whole_dataset_encoded_when_the_sample_exceeds_it():
    data = Squares()                                            # 300 combinations
    few = data.index_to_factors(np.array([3, 3, 7, 250]))
    small = M.cached_encoder(data, Counting(), expected=len(data) - 1)
    assert not small.whole and len(small.codes_of(few)) == 4 and small.encoded == 3
    big = M.cached_encoder(data, Counting(), expected=len(data))
    codes = big.codes_of(few)
    assert big.whole and big.encoded == len(data) and big.known.all()
    np.testing.assert_array_equal(codes, Counting()(data.images(few)))
    big.codes_of(data.sample_factors(500, np.random.RandomState(1)))
    assert big.encoded == len(data)                             # later requests are look-ups
    # the suite plans the whole study: 2.9 million draws > 300, so it encodes all 300 images once
    enc = Counting()
    M.evaluate(data, enc, metrics=["mig"], progress=False, num_train=300, num_test=100)
    assert M.planned_images(["mig"], num_train=300, num_test=100) == 400 and enc.total == len(data)


def test_planned_images_count_what_the_metrics_encode():
    data = Squares()
    for score, count, kw in ((M.beta_vae_score, M.beta_vae.num_images, BETA),
                             (M.factor_vae_score, M.factor_vae.num_images, FACTOR)):
        enc = Counting()
        score(data, enc, random_state=0, **kw)
        assert enc.total == count(**kw)
    assert M.planned_images(M.METRICS) == 2 * 64 * 15000 + 10000 + 64 * 15000 + 15000


def test_cached_encoder_wraps_only_indexable_datasets_once():
    class Duck:  # the sampler contract without a flat index
        factor_sizes = [3, 4]

    enc = Counting()
    assert M.cached_encoder(Duck(), enc) is enc
    data = Squares()
    cache = M.cached_encoder(data, enc)
    assert M.cached_encoder(data, cache) is cache
    assert isinstance(M.cached_encoder(Glyphs(), cache), M.CachedEncoder)  # another dataset: its own cache


def test_mean_encoder_codes_do_not_depend_on_the_batch():
    data = Squares()
    torch.manual_seed(0)
    model = build_model(make_config({"model": "beta_vae", "dataset": "squares", "vae": {"latent_dim": 4}}), data).eval()
    images = data.images(data.index_to_factors(np.arange(len(data))))
    threads = torch.get_num_threads()
    encode = mean_encoder(model, "cpu")
    full = encode(images)
    alone = np.concatenate([encode(images[i:i + 1]) for i in range(0, len(data), 37)])
    # exact, by design: every slice has the same shape (padded to the batch) and runs on one thread, so the
    # same kernels with the same blocking compute each row; only the row's position in the slice differs, and
    # a convolution or matrix product sums each output row in the same order wherever the row sits
    np.testing.assert_array_equal(alone, full[::37])
    np.testing.assert_array_equal(encode(images[::-1].copy())[::-1], full)
    np.testing.assert_array_equal(mean_encoder(model, "cpu", workers=3)(images), full)
    assert torch.get_num_threads() == threads                   # restored after each call
