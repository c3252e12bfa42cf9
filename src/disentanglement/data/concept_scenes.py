"""Scenes whose concepts are drawn independently: what a concept readout is trained on.

In Pendulum's own scenes the shadow is a function of the two angles, so a readout trained on them may read the
shadow's length off the bob and the light (a shortcut) and then see nothing when an intervention moves the
shadow alone.  Here every concept is drawn uniformly over its range on the scene grid, independently of the
others, and rendered as given (``render_concepts``): the readout must find each concept where it is drawn.
Classes are ``bins`` equal-width bins of each concept's range, so the factor predictor
(``viz/factor_predictor.py``) trains on these scenes unchanged and reads a concept as a fraction of its range.
"""
from __future__ import annotations

import numpy as np


class ConceptScenes:
    """A factor-dataset view of a concept dataset (Pendulum, Flow): factors = the binned concepts, sampled
    independently.  ``sample(n, rng)`` -> (images (n, 3, H, W), classes (n, C))."""

    fingerprint = ""          # generated: its name says which scenes (the factor predictor's cache key)

    def __init__(self, dataset, bins: int = 20):
        if not hasattr(dataset, "render_concepts"):
            raise ValueError(f"{getattr(dataset, 'name', type(dataset).__name__)} cannot render given concept "
                             f"values: a concept readout needs pendulum or flow")
        self.dataset, self.bins = dataset, int(bins)
        self.name = f"{dataset.name}_concepts"
        self.factor_names = tuple(dataset.concept_names)
        self.factor_sizes = (self.bins,) * len(self.factor_names)
        self.observation_shape = tuple(dataset.observation_shape)
        every = np.asarray(dataset.concepts(dataset.index_to_factors(np.arange(len(dataset)))), dtype=np.float64)
        self.ranges = np.stack([every.min(0), every.max(0)], 1)                # (C, 2) over the scene grid

    def classes(self, values: np.ndarray) -> np.ndarray:
        """(n, C) concept values -> (n, C) bin indices (values outside the range fall in the end bins)."""
        lo, hi = self.ranges[:, 0], self.ranges[:, 1]
        return np.clip(np.floor((values - lo) / (hi - lo) * self.bins), 0, self.bins - 1).astype(np.int64)

    def sample_values(self, n: int, rng) -> np.ndarray:
        lo, hi = self.ranges[:, 0], self.ranges[:, 1]
        return lo + (hi - lo) * rng.random((n, len(lo)))                      # (n, C), independent

    def sample(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        values = self.sample_values(n, rng)
        return self.dataset.render_concepts(values), self.classes(values)
