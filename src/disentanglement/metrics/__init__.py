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
from .beta_vae import num_images as _beta_vae_images
from .dci import dci
from .dci_es import dci_es
from .downstream import PREDICTORS, downstream_task
from .factor_vae import factor_vae_score
from .factor_vae import num_images as _factor_vae_images
from .fairness import fairness
from .infomec import infomec
from .irs import irs
from .mic import mic, mic_tic
from .mig import mig
from .mig_sampled import mig_sampled
from .modularity_explicitness import modularity_explicitness
from .sap import sap
from .udr import udr
from .unsupervised import unsupervised

METRICS = ("beta_vae", "factor_vae", "mig", "sap", "dci", "modularity_explicitness", "irs", "unsupervised")
# Opt-in (``evaluate(metrics=...)``, ``--metrics``), not in the default suite: fairness and the downstream
# tasks draw their own codes and fit boosted trees (minutes at study sizes); InfoMEC and DCI-ES are newer.
EXTRA_METRICS = ("fairness", "downstream", "infomec", "dci_es")
_NEEDS_TEST = {"sap", "dci", "modularity_explicitness", "dci_es"}
_OWN_SAMPLING = {"beta_vae", "factor_vae", "fairness", "downstream"}
DOWNSTREAM_SIZES = (10, 100, 1000, 10000)     # the study's training sizes of the downstream task


def planned_images(names, *, num_train: int = 10000, num_test: int = 5000, dataset_sizes=None) -> int:
    """Images ``evaluate`` asks ``encode`` for with these metrics (before any caching)."""
    total = _beta_vae_images() if "beta_vae" in names else 0
    total += _factor_vae_images() if "factor_vae" in names else 0
    total += _fairness_images(dataset_sizes) if "fairness" in names else 0
    total += 2 * (sum(DOWNSTREAM_SIZES) + len(DOWNSTREAM_SIZES) * num_test) if "downstream" in names else 0
    return total + (num_train + num_test if set(names) - _OWN_SAMPLING else 0)


def _fairness_images(sizes, num_train: int = 10000, per_class: int = 100) -> int:
    """Images fairness renders: num_train, then per (target, sensitive) pair per_class per sensitive value."""
    if sizes is None:
        return num_train
    return num_train + per_class * sum(sizes[j] for i in range(len(sizes)) for j in range(len(sizes)) if i != j)


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
    names = list(METRICS if metrics is None else metrics)
    unknown = sorted(set(names) - set(METRICS) - set(EXTRA_METRICS))
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {list(METRICS + EXTRA_METRICS)}")
    if not isinstance(random_state, int):
        raise ValueError("evaluate needs an int random_state: each metric gets a fresh RandomState(seed)")
    if cache:
        encode = cached_encoder(dataset, encode, progress=progress,
                                expected=planned_images(names, num_train=num_train, num_test=num_test,
                                                        dataset_sizes=list(dataset.factor_sizes)))
    codes = test = None
    bar = tqdm(names, desc="metrics", disable=not progress)
    results: dict = {}
    for name in bar:
        bar.set_postfix_str(name)
        if name == "beta_vae":
            results.update(beta_vae_score(dataset, encode, random_state=random_state))
            continue
        if name == "factor_vae":
            results.update(factor_vae_score(dataset, encode, random_state=random_state))
            continue
        if name == "fairness":
            results.update(fairness(dataset, encode, random_state=random_state))
            continue
        if name == "downstream":
            for predictor in PREDICTORS:
                results.update(downstream_task(dataset, encode, random_state=random_state, predictor=predictor,
                                               num_train=DOWNSTREAM_SIZES, num_test=num_test))
            continue
        if codes is None:
            rs = np.random.RandomState(random_state)
            codes = sample_codes(dataset, encode, num_train, random_state=rs)
            test = sample_codes(dataset, encode, num_test, random_state=rs)
        fn = {"mig": mig, "sap": sap, "dci": dci, "modularity_explicitness": modularity_explicitness,
              "irs": irs, "infomec": infomec, "dci_es": dci_es}.get(name)
        if name == "unsupervised":
            results.update(unsupervised(codes[0]))
        else:
            results.update(fn(*codes, *test) if name in _NEEDS_TEST else fn(*codes))
    return results


__all__ = ["EXTRA_METRICS", "METRICS", "CachedEncoder", "beta_vae_score", "cached_encoder", "dci", "dci_es",
           "downstream_task", "evaluate", "factor_vae_score", "fairness", "infomec", "irs", "mic", "mic_tic", "mig", "mig_sampled",
           "modularity_explicitness", "planned_images", "sample_codes", "sap", "udr", "unsupervised"]
