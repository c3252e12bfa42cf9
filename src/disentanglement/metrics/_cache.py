"""Encode each factor combination of a dataset at most once.

At the study's settings the BetaVAE and FactorVAE scores draw about 2.9
million images; dSprites has 737,280 distinct ones.  ``CachedEncoder`` wraps an
``encode(images) -> codes`` and keeps the codes of every combination it has
encoded, keyed by the dataset's flat factor index (``factors_to_index``);
``encode_factors`` (and so every sampler metric and ``sample_codes``) looks codes
up through it.  The numbers equal those of encoding every draw exactly when
``encode`` is deterministic and row-wise — a row's code does not depend on the
other rows of its call — as ``evaluate.mean_encoder`` is.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

MAX_COMBINATIONS = 2 ** 26  # datasets with more combinations are encoded per request, uncached


class CachedEncoder:
    """``encode`` with a memory of the codes (N, D) of ``dataset``'s N factor combinations.

    ``expected``: how many images the callers will request in all.  When it
    reaches N, the first request encodes the whole dataset in index order and
    every later one is a look-up; otherwise a request encodes only its distinct
    combinations not seen before.  Images are rendered ``chunk`` at a time.
    Called on images, it encodes them, uncached.
    """

    def __init__(self, dataset, encode, *, expected: int = 0, chunk: int = 2048, progress: bool = False):
        self.dataset, self.encode, self.chunk, self.progress = dataset, encode, chunk, progress
        self.whole = expected >= len(dataset)
        self.known = np.zeros(len(dataset), dtype=bool)  # (N,) combination encoded yet
        self.codes: np.ndarray | None = None             # (N, D), allocated by the first encoding
        self.encoded = 0                                 # images passed to ``encode`` so far

    def __call__(self, images) -> np.ndarray:
        return self.encode(images)

    def codes_of(self, factors) -> np.ndarray:
        """Codes (n, D) of ``dataset.images(factors)``, each combination encoded at most once."""
        index = self.dataset.factors_to_index(factors)  # (n,)
        todo = np.flatnonzero(~self.known) if self.whole else np.unique(index[~self.known[index]])
        if len(todo):
            self._encode(todo)
        return self.codes[index]

    def _encode(self, todo: np.ndarray) -> None:
        desc = "encoding the dataset" if len(todo) == len(self.known) else "encoding new factor combinations"
        with tqdm(total=len(todo), desc=desc, unit="img", disable=not self.progress, leave=False,
                  delay=1.0) as bar:
            for start in range(0, len(todo), self.chunk):
                index = todo[start:start + self.chunk]
                codes = np.asarray(self.encode(self.dataset.images(self.dataset.index_to_factors(index))))
                if self.codes is None:
                    self.codes = np.empty((len(self.known), *codes.shape[1:]), dtype=codes.dtype)
                self.codes[index] = codes
                self.known[index] = True
                self.encoded += len(index)
                bar.update(len(index))


def cached_encoder(dataset, encode, *, expected: int = 0, progress: bool = False):
    """``encode`` wrapped in a ``CachedEncoder`` of ``dataset`` where the dataset can be indexed.

    Returned unchanged when it already caches this dataset, when the dataset
    has no flat factor index (``factors_to_index`` / ``index_to_factors``) or
    more than ``MAX_COMBINATIONS`` combinations, when it is stochastic (one
    combination renders a different image each time: nothing to cache), or when
    some combinations have no image (a folder's attribute table).
    """
    if isinstance(encode, CachedEncoder) and encode.dataset is dataset:
        return encode
    if getattr(dataset, "stochastic", False) or not getattr(dataset, "complete", True):
        return encode          # a table of attributes with missing combinations: encoded per request
    indexable = all(hasattr(dataset, a) for a in ("factors_to_index", "index_to_factors", "__len__"))
    if not indexable or len(dataset) > MAX_COMBINATIONS:
        return encode
    return CachedEncoder(dataset, encode, expected=expected, progress=progress)
