"""Two rooms and a door: a sequential domain where a plan can be checked — the kind of domain Causal InfoGAN
(Kurutach et al., NeurIPS 2018) plans in: observations of a system, pairs of them one move apart, and start and
goal observations between which a feasible sequence of moves must be imagined.

A square agent (5x5 pixels, white) stands on an 8 x 8 grid of cells in a 32x32 world: cell (x, y) has its
top-left pixel at (1 + 3x + 4·[x >= 4], 4 + 3y), so neighbouring scenes overlap, as frames of a motion do.  A wall
(grey, 0.5) fills pixel columns 15-16 between cell columns 3 and 4, except at the door: cell rows 3 and 4 (pixel
rows 13-20).  Factors: x 8, y 8 (64 scenes).  (A first version with a 3x3 agent on 10 x 10 cells was too faint a
target: both GANs drew it as a dim dot after 3,000 steps, legible in under 13 % of the frames.)

The dynamics (``transition``): each step the agent tries one of the four moves (right, left, down, up) uniformly;
a move off the grid or through the wall leaves it where it is.  ``feasible(a, b)``: b is a or one of its
neighbours, not across the wall — the one-step reachability a plan is checked against.  ``read(images)``: the
domain's readout, the scene each image is nearest to (L2 over all 64 renderings) and that distance — exact on
rendered scenes, and a drawing far from every scene (a smear, two agents) shows as a large distance.
"""
from __future__ import annotations

import numpy as np
import torch

from .base import FactorDataset

CELLS, SIDE, AGENT, PITCH = 8, 32, 5, 3     # cells per side, canvas, agent's side, pixels a move shifts it
WALL_AFTER = 3                      # the wall stands between cell columns 3 and 4
DOOR = (3, 4)                       # the cell rows through which the wall can be passed
WALL_COLUMNS = (15, 17)             # pixel columns of the wall [start, stop)
MOVES = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]])
NEIGHBOUR_RMS = float(np.sqrt(2 * PITCH * AGENT / SIDE ** 2))   # RMS distance of two neighbouring scenes


def cell_origin(x, y):
    """Top-left pixel (column, row) of cell (x, y) (arrays or ints)."""
    x, y = np.asarray(x), np.asarray(y)
    return 1 + PITCH * x + 4 * (x > WALL_AFTER), 4 + PITCH * y


def crosses_wall(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, 2) cells a, b -> (n,) bool: the straight step from a to b passes the wall outside the door."""
    left = np.minimum(a[:, 0], b[:, 0]) <= WALL_AFTER
    right = np.maximum(a[:, 0], b[:, 0]) > WALL_AFTER
    at_door = np.isin(a[:, 1], DOOR) & (a[:, 1] == b[:, 1])
    return left & right & ~at_door


class Rooms(FactorDataset):
    """An agent in two rooms joined by a door (see the module docstring)."""

    name = "rooms"
    factor_names = ("x", "y")
    factor_sizes = (CELLS, CELLS)
    observation_shape = (1, SIDE, SIDE)

    def __init__(self):
        world = np.zeros((SIDE, SIDE), dtype=np.float32)
        world[:, WALL_COLUMNS[0]:WALL_COLUMNS[1]] = 0.5
        top, bottom = cell_origin(0, DOOR[0])[1], cell_origin(0, DOOR[-1])[1] + AGENT
        world[top:bottom, WALL_COLUMNS[0]:WALL_COLUMNS[1]] = 0.0                      # the door
        self.world = world                                   # (32, 32): the empty rooms
        self._all = None                                     # (64, 1024) every scene, flattened, for ``read``

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        out = np.repeat(self.world[None, None], len(factors), axis=0)                # (n, 1, 32, 32)
        cols, rows = cell_origin(factors[:, 0], factors[:, 1])
        for i, (c, r) in enumerate(zip(cols, rows)):
            out[i, 0, r:r + AGENT, c:c + AGENT] = 1.0
        return out

    # ---- the dynamics ------------------------------------------------------------------------------
    def transition(self, factors, rng: np.random.Generator) -> np.ndarray:
        """(n, 2) cells -> (n, 2) cells one step later: a uniform move, refused by the grid's edge and the wall."""
        a = self._check_factors(factors)
        b = a + MOVES[rng.integers(len(MOVES), size=len(a))]
        blocked = (b < 0).any(1) | (b >= CELLS).any(1) | crosses_wall(a, b)
        return np.where(blocked[:, None], a, b).astype(np.int64)

    @staticmethod
    def feasible(a, b) -> np.ndarray:
        """(n, 2) cells a, b -> (n,) bool: b is a, or a neighbour of a not across the wall."""
        a, b = np.asarray(a), np.asarray(b)
        return (np.abs(a - b).sum(1) <= 1) & ~crosses_wall(a, b)

    # ---- the readout -------------------------------------------------------------------------------
    def read(self, images) -> tuple[np.ndarray, np.ndarray]:
        """images (n, 1, 32, 32) in [0, 1] -> (cells (n, 2) of the nearest scene, RMS distance to it (n,)).
        Neighbouring scenes are ``NEIGHBOUR_RMS`` apart."""
        if self._all is None:
            grid = self.index_to_factors(np.arange(len(self)))
            self._all = torch.from_numpy(self._render(grid).reshape(len(self), -1))
        x = torch.as_tensor(np.asarray(images, dtype=np.float32)).reshape(len(images), -1)
        if x.shape[1] != self._all.shape[1]:
            raise ValueError(f"rooms reads {SIDE}x{SIDE} single-channel images, got shape {tuple(np.shape(images))}")
        d = torch.cdist(x, self._all)                                                   # (n, 64)
        best = d.argmin(1)
        rms = d.gather(1, best[:, None])[:, 0] / np.sqrt(x.shape[1])
        return self.index_to_factors(best.numpy()), rms.numpy()
