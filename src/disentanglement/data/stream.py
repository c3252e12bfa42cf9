"""Training batches rendered ahead of the step, in a background thread, with an exact resume point.

The thread owns the data generator and draws batch after batch — ``sample_factors(B, rng)``, then
``images(factors, rng)`` — exactly as a loop drawing one batch per step would, so the numbers do not depend on
how far ahead it runs.  Given a ``PairSampler`` it also draws each observation's partner (``factors2``,
``images2``: sharing all factors but k) right after the batch.  Each batch carries the generator's state right after it was drawn: a checkpoint
stores the state after the last batch *consumed*, and a resumed run draws the very next batch.
"""
from __future__ import annotations

import copy
import queue
import threading
from dataclasses import dataclass

from typing import Optional

import numpy as np

from .pairs import PairSampler


@dataclass
class Drawn:
    factors: np.ndarray          # (B, K) int64
    images: Optional[np.ndarray]  # (B, C, H, W) float32; None where the trainer renders on its device
    rng_state: dict              # the data generator's state after drawing this batch
    factors2: Optional[np.ndarray] = None   # (B, K): the pairs' second factors (a PairSampler's)
    images2: Optional[np.ndarray] = None    # (B, C, H, W)


class BatchStream:
    """Iterate ``Drawn`` batches of ``batch_size``; ``ahead`` batches are rendered before they are asked for.

    Use as a context manager (or call ``close``) so the thread stops with the loop.
    """

    def __init__(self, dataset, batch_size: int, rng: np.random.Generator, ahead: int = 2,
                 pairs: Optional[PairSampler] = None, render: bool = True):
        self.dataset, self.batch_size, self.rng, self.pairs = dataset, batch_size, rng, pairs
        self.render = render             # False: factors only (a deterministic dataset rendered on the device)
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, ahead))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="batch-stream", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                factors = self.dataset.sample_factors(self.batch_size, self.rng)   # (B, K)
                factors2 = self.pairs.pair(factors, self.rng) if self.pairs is not None else None
                images = self.dataset.images(factors, self.rng) if self.render else None    # (B, C, H, W)
                images2 = None if factors2 is None or not self.render else self.dataset.images(factors2, self.rng)
                self._offer(Drawn(factors, images, copy.deepcopy(self.rng.bit_generator.state),
                                  factors2, images2))
        except BaseException as err:  # surfaced in the training loop, not lost in the thread
            self._offer(err)

    def _offer(self, item) -> None:
        """Put ``item`` on the queue unless the stream is closed first."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        return self

    def __next__(self) -> Drawn:
        item = self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "BatchStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
