"""Identities in poses: many objects, each seen turned to several poses — a generated stand-in for the face
datasets of pose-invariant recognition (Multi-PIE in DR-GAN, Tran et al. 2017), where identity and pose are known.

Each identity is a random closed outline, star-shaped around its centre,

    r_i(θ) = R max(0.7, 1 + Σ_{k=2..6} a_ik cos(k θ + φ_ik)),     a_ik ~ U(0.05, 0.2),  φ_ik ~ U(0, 2π),  R = 12

(drawn once from numpy ``default_rng(0)``: the same identities on every machine), filled white on a black 64x64
canvas, with a black "eye" (a dot of radius 2 px at 0.45 R from the centre, in direction α): the mark every
identity shares, as every face has a nose, without which a pose could only be read by knowing the identity.  Its
pose turns it: the outline is drawn at angle α, r_i(θ - α), the eye at α.  Factors: identity 100, pose 9
(α = -80°..80° in steps of 20°, as a face's yaw), posX 4, posY 4 (the centre moved by -6, -2, 2, 6 pixels):
14,400 images.  Edges are antialiased (a one-pixel ramp), so a decoder's soft output and the scene look alike.
"""
from __future__ import annotations

import numpy as np

from .base import FactorDataset

IDENTITIES, POSES, HARMONICS = 100, 9, 5
ANGLES = np.deg2rad(np.linspace(-80.0, 80.0, POSES))          # (9,) radians
OFFSETS = np.array([-6.0, -2.0, 2.0, 6.0])                     # pixels
RADIUS, SIDE, MARGIN = 12.0, 64, 6
EYE, EYE_AT = 2.0, 0.45                                       # the eye's radius (pixels), distance (x R)


def outlines(n: int = IDENTITIES, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(amplitudes (n, K), phases (n, K)) of n identities' outlines."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.2, (n, HARMONICS)), rng.uniform(0.0, 2 * np.pi, (n, HARMONICS))


class Identities(FactorDataset):
    """Random outlines (identity) turned to 9 poses at 4 x 4 positions; see the module docstring."""

    name = "identities"
    factor_names = ("identity", "pose", "posX", "posY")
    factor_sizes = (IDENTITIES, POSES, 4, 4)
    observation_shape = (1, SIDE, SIDE)

    def __init__(self):
        self.amplitudes, self.phases = outlines()                    # (I, K) each
        self._centred = None                                         # (I, P, 64 + 2m, 64 + 2m), drawn on first use

    def centred(self) -> np.ndarray:
        """Every identity in every pose at the canvas centre, with a margin of MARGIN pixels on each side:
        (I, P, 64 + 2 MARGIN, 64 + 2 MARGIN) float32 (positions are whole-pixel shifts of these)."""
        if self._centred is None:
            side = SIDE + 2 * MARGIN
            grid = np.arange(side, dtype=np.float64) + 0.5 - side / 2                  # (S,) pixel centres
            rho = np.hypot(grid[None, :], grid[:, None])                               # (S, S)
            k = np.arange(2, HARMONICS + 2, dtype=np.float64)            # harmonics 2..6: no shift of the centre
            table = np.empty((IDENTITIES, POSES, side, side), dtype=np.float32)
            for p, angle in enumerate(ANGLES):
                theta = np.arctan2(grid[:, None], grid[None, :]) - angle               # the outline turned by α
                waves = np.cos(k * theta[..., None])[None], np.sin(k * theta[..., None])[None]    # (1, S, S, K)
                a, phi = self.amplitudes[:, None, None, :], self.phases[:, None, None, :]        # (I, 1, 1, K)
                # cos(kθ + φ) = cos kθ cos φ - sin kθ sin φ
                r = RADIUS * np.maximum(0.7, 1.0 + (a * (waves[0] * np.cos(phi) - waves[1] * np.sin(phi))).sum(-1))
                shape = np.clip(r - rho + 0.5, 0.0, 1.0)                                # inside 1, a 1-pixel ramp
                # the "eye": a black dot at EYE_AT R in direction α, the mark every identity shares (as every
                # face has its nose), so a pose can be read without knowing whose outline it is
                ex, ey = EYE_AT * RADIUS * np.cos(angle), EYE_AT * RADIUS * np.sin(angle)
                gap = np.hypot(grid[None, :] - ex, grid[:, None] - ey)                 # (S, S) from the eye
                table[:, p] = shape * np.clip(gap - EYE + 0.5, 0.0, 1.0)
            self._centred = table
        return self._centred

    def _render(self, factors: np.ndarray, rng=None) -> np.ndarray:
        table = self.centred()
        out = np.empty((len(factors), 1, SIDE, SIDE), dtype=np.float32)
        for i, (identity, pose, px, py) in enumerate(factors):
            x0, y0 = MARGIN - int(OFFSETS[px]), MARGIN - int(OFFSETS[py])            # the centre moved by the offset
            out[i, 0] = table[identity, pose, y0:y0 + SIDE, x0:x0 + SIDE]
        return out
