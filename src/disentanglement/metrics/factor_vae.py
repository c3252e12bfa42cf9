"""FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising", Sec. 4),
as disentanglement_lib's ``compute_factor_vae``."""
from __future__ import annotations

import numpy as np

from ._utils import Observations, as_random_state, encode_factors


def _votes(dataset, encode, rs, batch_size, num, global_var, active):
    """(K, D) votes[k, d]: how often dim d had the least normalised variance with k fixed."""
    num_factors = len(dataset.factor_sizes)
    ks, observations = np.zeros(num, dtype=np.int64), Observations(dataset, encode, rs)
    for i in range(num):  # the reference's order of draws: k, the batch, its images
        ks[i] = rs.randint(num_factors)
        f = np.array(dataset.sample_factors(batch_size, rs))
        f[:, ks[i]] = f[0, ks[i]]
        observations.add(f)
    z = observations.codes()  # (num * B, D)
    local = np.var(z.reshape(num, batch_size, -1), axis=1, ddof=1)  # (num, D)
    dims = np.argmin(local[:, active] / global_var[active], axis=1)  # index within active dims
    votes = np.zeros((num_factors, global_var.shape[0]), dtype=np.int64)
    np.add.at(votes, (ks, dims), 1)
    return votes


def num_images(*, batch_size: int = 64, num_train: int = 10000, num_eval: int = 5000,
               num_variance_estimate: int = 10000) -> int:
    """Images ``factor_vae_score`` encodes with these settings: the variance sample, one batch per point."""
    return num_variance_estimate + batch_size * (num_train + num_eval)


def factor_vae_score(dataset, encode, *, random_state=0, batch_size: int = 64,
                     num_train: int = 10000, num_eval: int = 5000,
                     num_variance_estimate: int = 10000, threshold: float = 0.05) -> dict:
    """Majority-vote accuracy predicting the fixed factor from the dim of least variance.

    Codes are divided by their global std (from ``num_variance_estimate`` samples,
    ddof 1); dims with std < ``threshold`` are pruned.  Each point fixes a random
    factor in a batch of ``batch_size`` and votes (k, argmin_d local/global var);
    the classifier maps each dim to its most voted factor (ties and unvoted dims
    to factor 0); eval uses the train classifier.  Quirks kept from the
    reference: the argmin indexes the ACTIVE dims but votes land on that index
    of all dims, and ``factor_vae.num_active_dims`` is D (``len`` of the mask) —
    the number of dims kept is ``factor_vae.num_active_dims_corrected``.  No
    active dim gives 0 for every key.  The study's settings encode 970,000
    images: wrap ``encode`` in ``metrics.cached_encoder`` to encode each factor
    combination once.
    """
    rs = as_random_state(random_state)
    factors = np.array(dataset.sample_factors(num_variance_estimate, rs))  # one call, as reference
    global_var = np.var(encode_factors(dataset, encode, factors, rng=rs), axis=0, ddof=1)  # (D,)
    active = np.sqrt(global_var) >= threshold
    if not active.any():
        return {"factor_vae.train_accuracy": 0.0, "factor_vae.eval_accuracy": 0.0,
                "factor_vae.num_active_dims": 0, "factor_vae.num_active_dims_corrected": 0}
    train = _votes(dataset, encode, rs, batch_size, num_train, global_var, active)
    clf, cols = np.argmax(train, axis=0), np.arange(train.shape[1])  # (D,) factor per dim
    evals = _votes(dataset, encode, rs, batch_size, num_eval, global_var, active)
    return {"factor_vae.train_accuracy": float(train[clf, cols].sum() / train.sum()),
            "factor_vae.eval_accuracy": float(evals[clf, cols].sum() / evals.sum()),
            "factor_vae.num_active_dims": int(len(active)),
            "factor_vae.num_active_dims_corrected": int(active.sum())}
