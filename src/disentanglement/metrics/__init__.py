"""Disentanglement metrics computed exactly as disentanglement_lib 1.5 (Locatello
et al. 2019) does, but fast.  Pure functions: codes (N, D) float, factors (N, K)
int, keyword-only settings with the study's defaults, flat dicts of floats.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from ._cache import CachedEncoder, cached_encoder
from ._utils import sample_codes
from .beta_vae import beta_vae_score
from .dci import dci
from .dci_es import dci_es
from .downstream import downstream_task
from .factor_vae import factor_vae_score
from .fairness import fairness
from .infomec import infomec
from .irs import irs
from .mic import mic, mic_tic
from .mig import mig
from .mig_sampled import mig_sampled
from .modularity_explicitness import modularity_explicitness
from .sap import sap
from .udr import udr
from .registry import DOWNSTREAM_SIZES, REGISTRY, Metric, names
from .unsupervised import unsupervised

# the study's suite (codes, splits and own draws; the default), and the opt-in ones (``--metrics``): fairness and
# the downstream tasks draw their own codes and fit boosted trees (minutes at study sizes); InfoMEC and DCI-ES
# are newer.  Concept and model metrics are computed from a run (evaluate.py).
METRICS = names("codes", "split", "sampler", default=True)
EXTRA_METRICS = names("codes", "split", "sampler", default=False)


def planned_images(chosen, *, num_train: int = 10000, num_test: int = 5000, dataset_sizes=None) -> int:
    """Images ``evaluate`` asks ``encode`` for with these metrics (before any caching)."""
    entries = [REGISTRY[n] for n in chosen if n in REGISTRY]
    total = sum(m.images(dataset_sizes, num_train, num_test) for m in entries)
    return total + (num_train + num_test if any(m.needs in ("codes", "split") for m in entries) else 0)


def evaluate(dataset, encode, *, random_state: int = 0, metrics=None, progress: bool = True,
             num_train: int = 10000, num_test: int = 5000, cache: bool = True) -> dict:
    """The study's metric suite on ``encode`` (images -> codes (n, D); use the encoder mean).

    As in the study, every metric gets a fresh ``RandomState(random_state)``;
    the code metrics all draw the same ``num_train`` train then ``num_test``
    test codes in batches of 16, so they are sampled once and shared (same
    numbers as sampling per metric).  With ``cache`` every factor combination
    is encoded at most once, and the whole dataset in index order when the
    metrics draw more images than it has (``CachedEncoder``; the same numbers
    when ``encode`` is deterministic and row-wise, as the encoder mean is).
    ``metrics``: names from ``METRICS`` (default all) and ``EXTRA_METRICS`` (fairness, downstream — both
    predictors —, infomec on the train codes, dci_es on train and test).  Returns the union of the
    metrics' dicts.
    """
    chosen = list(METRICS if metrics is None else metrics)
    unknown = sorted(set(chosen) - set(METRICS) - set(EXTRA_METRICS))
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(METRICS + EXTRA_METRICS)}")
    if not isinstance(random_state, int):
        raise ValueError("evaluate needs an int random_state: each metric gets a fresh RandomState(seed)")
    if cache:
        encode = cached_encoder(dataset, encode, progress=progress,
                                expected=planned_images(chosen, num_train=num_train, num_test=num_test,
                                                        dataset_sizes=list(dataset.factor_sizes)))
    codes = test = None
    bar = tqdm(chosen, desc="metrics", disable=not progress)
    results: dict = {}
    for name in bar:
        bar.set_postfix_str(name)
        metric = REGISTRY[name]
        if metric.needs == "sampler":
            results.update(metric.compute(dataset, encode, random_state, num_test))
            continue
        if codes is None:
            rs = np.random.RandomState(random_state)
            codes = sample_codes(dataset, encode, num_train, random_state=rs)
            test = sample_codes(dataset, encode, num_test, random_state=rs)
        results.update(metric.compute(*codes, *test) if metric.needs == "split" else metric.compute(*codes))
    return results


__all__ = ["DOWNSTREAM_SIZES", "EXTRA_METRICS", "METRICS", "REGISTRY", "Metric", "CachedEncoder", "beta_vae_score", "cached_encoder", "dci", "dci_es",
           "downstream_task", "evaluate", "factor_vae_score", "fairness", "infomec", "irs", "mic", "mic_tic", "mig", "mig_sampled",
           "modularity_explicitness", "planned_images", "sample_codes", "sap", "udr", "unsupervised"]
