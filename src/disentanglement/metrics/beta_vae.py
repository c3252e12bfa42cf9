"""BetaVAE score (Higgins et al. 2017, "beta-VAE: Learning Basic Visual Concepts
with a Constrained Variational Framework", Sec. 3 / Appendix A.4), as
disentanglement_lib's ``compute_beta_vae_sklearn``."""
from __future__ import annotations

import warnings

import numpy as np
from sklearn import linear_model
from threadpoolctl import threadpool_limits

from ._utils import Observations, as_random_state


def _points(dataset, encode, rs, batch_size: int, num: int):
    """Features (num, D) = mean_b |z1_b − z2_b| over pairs sharing factor k; labels (num,) = k."""
    num_factors = len(dataset.factor_sizes)
    labels, observations = np.zeros(num, dtype=np.int64), Observations(dataset, encode, rs)
    for i in range(num):  # the reference's order of draws: k, batch 1, batch 2, images 1, images 2
        labels[i] = rs.randint(num_factors)
        a = np.array(dataset.sample_factors(batch_size, rs))
        b = np.array(dataset.sample_factors(batch_size, rs))
        b[:, labels[i]] = a[:, labels[i]]
        observations.add(a)
        observations.add(b)
    z = observations.codes().reshape(num, 2, batch_size, -1)  # (num, pair, B, D)
    diff = np.abs(z[:, 0] - z[:, 1])  # (num, B, D)
    return np.mean(diff, axis=1).astype(np.float64), labels


def num_images(*, batch_size: int = 64, num_train: int = 10000, num_eval: int = 5000) -> int:
    """Images ``beta_vae_score`` encodes with these settings: two batches per point."""
    return 2 * batch_size * (num_train + num_eval)


def beta_vae_score(dataset, encode, *, random_state=0, batch_size: int = 64,
                   num_train: int = 10000, num_eval: int = 5000) -> dict:
    """Accuracy of a linear classifier predicting which factor was held fixed.

    Each point: k ~ U{0..K-1}; two batches of ``batch_size`` factors share
    factor k; feature = mean over the batch of |z1 − z2| (raw code scale).
    Classifier: ``LogisticRegression()`` defaults (the reference passes
    ``random_state``; lbfgs draws nothing from it).  The eval set is drawn after
    the train set from the same RandomState, so a seed gives the reference's
    numbers.  Returns ``beta_vae.train_accuracy``, ``beta_vae.eval_accuracy``.
    The study's settings encode 1.92 million images: wrap ``encode`` in
    ``metrics.cached_encoder`` to encode each factor combination once.
    """
    rs = as_random_state(random_state)
    x, y = _points(dataset, encode, rs, batch_size, num_train)
    if len(np.unique(y)) < 2:
        raise ValueError("the BetaVAE score needs a dataset with at least 2 factors "
                         "and num_train large enough to draw two of them")
    with warnings.catch_warnings(), threadpool_limits(1):  # small fit: threads only contend
        warnings.simplefilter("ignore")  # lbfgs ConvergenceWarning, as in the reference
        model = linear_model.LogisticRegression().fit(x, y)
    x_eval, y_eval = _points(dataset, encode, rs, batch_size, num_eval)
    return {"beta_vae.train_accuracy": float(np.mean(model.predict(x) == y)),
            "beta_vae.eval_accuracy": float(np.mean(model.predict(x_eval) == y_eval))}
