"""Pendulum and Flow (Yang et al. 2021, CausalVAE), generated here — no download.

Both scenes are re-drawn with numpy from the geometry of the authors' generators
(huawei-noah/trustworthyAI, ``research/CausalVAE/causal_data/pendulum.py`` and
``flow.py``, which draw with matplotlib).  The authors' figure is 1 x 1 inch at
96 dpi with matplotlib's default axes (77.5 % x 77 % of the figure, white
margins around it) and no axis frame; here the data window (the authors'
``xlim`` / ``ylim``) fills the whole image, so the scene is the authors' axes
region scaled to ``size`` x ``size``.  Shapes keep their data-space geometry
(circles are circles in data units, hence slightly elliptic in pixels, as in
the original) and line widths keep their size relative to the axes region
(matplotlib's ``linewidth`` in points: 1 pt = 96/72 px on a 74.4 px-wide axes
region).  Drawing is painter's order on a white canvas, anti-aliased by 4 x 4
supersampling and a box filter.  Images are RGB (the originals were RGBA PNGs
with alpha 1 everywhere), float32 in [0, 1], deterministic.

Pendulum
    Factors ``pendulum_angle`` i in [-40, 43] (84) and ``light_angle`` j in
    [60, 147] without 100 (87): 7,308 scenes; theta = i pi / 200,
    phi = j pi / 200 (radians).  Canvas x in [0, 20], y in [-1, 21] (y up).
    Rod (black, 3 pt, butt ends) from the pivot (10, 10.5) to the bob at
    (10 + 8 sin theta, 10.5 - 8 cos theta); bob: firebrick disk of radius 1.5;
    light: orange disk of radius 3 centred at height 20.5 on the ray through
    the pivot (clipped by the canvas top); shadow: black 3 pt segment on
    y = -0.5.  Rays are parallel with slope tan(phi): the ray through (x, y)
    meets height b at ``x + (b - y) / tan(phi)``.  With a the intercept on
    y = -0.5 of the pivot and c that of the point at radius 9.5 along the rod,
    shadow position = (a + c) / 2 and shadow length = max(3, |a - c|)
    (= max(3, 9.5 |cos(phi - theta)| / sin(phi))).

    Sign conventions (the authors'): theta > 0 swings the bob to the right
    (+x); phi is measured from the +x axis, so phi < pi/2 (j < 100) puts the
    light to the right of the pivot (light x = 10 + 10 / tan phi) and the
    shadow to the left; the light moves right to left as j grows.

Flow
    Factors ``ball_size`` r in [5, 34] (30), ``h_raw`` in [10, 39] (30),
    ``hole`` in [6, 14] (9): 8,100 scenes.  Ball radius r/30; water height
    h = (r/30)^3 + h_raw/10; hole height d = hole/3.  Canvas x, y in [0, 20].
    Water: light-sky-blue rectangle x in [3, 8], y in [0, 5 + h]; cup: black
    2 pt walls x = 3 (y 0..19) and x = 8 (y 0..d and d+0.4..19, the gap is
    the hole); ball: firebrick disk centred (5.5, r/30 + 0.5); jet:
    light-sky-blue 2 pt curve x = 8 + sqrt(2 g h (d - y)) for y from d down
    to 0.5; ground: black 2 pt line y = 0.2.  The authors draw the jet with
    g = 0.98 + 0.01 max(|N(0, 1)|, 1) (random); here g = 0.99, the value of
    that draw two times in three.  The flow concept is the authors' noiseless
    reach at y = 0.5: sqrt(2 * 0.98 * h * (d - 0.5)).

Concepts (``concepts``, floats) keep the authors' units where they stored
labels (file names): pendulum angle i and light angle j in steps of pi/200 rad,
ball size r (radius r/30) and hole (height hole/3); shadow length / position,
water height and water flow are in canvas units (the authors' file names hold
int(shade), int(mid), int(h) and int(10 * flow)).  ``concept_classes`` gives
class indices for the metrics: a concept that is a factor gets its factor
index; the others are cut into ``concept_bins`` (20) equal-width bins over
their range on the full scene grid (the top edge falls in the last bin).
"""
from __future__ import annotations

import math
import threading

import numpy as np

from .base import FactorDataset

SUPERSAMPLE = 4
_AXES_PX = 0.775 * 96          # width of the authors' axes region in pixels (default subplot, 1 inch, 96 dpi)
_PX_PER_PT = 96 / 72
PATCH_EDGE_PT = 1.0            # matplotlib patches made with color= also get a 1 pt outline of that colour

WHITE = (1.0, 1.0, 1.0)
BLACK = (0.0, 0.0, 0.0)
FIREBRICK = (178 / 255, 34 / 255, 34 / 255)
ORANGE = (1.0, 165 / 255, 0.0)
LIGHTSKYBLUE = (135 / 255, 206 / 255, 250 / 255)


class _Raster:
    """One supersampled RGB canvas over a data window (y up), filled in painter's order."""

    def __init__(self, size: int, xlim: tuple[float, float], ylim: tuple[float, float], ss: int = SUPERSAMPLE):
        self.size, self.ss, self.n = size, ss, size * ss
        self.x0, self.y1 = xlim[0], ylim[1]
        self.sx = self.n / (xlim[1] - xlim[0])             # fine pixels per data unit, along x
        self.sy = self.n / (ylim[1] - ylim[0])             # ... along y
        self.pt = size * ss / _AXES_PX * _PX_PER_PT         # fine pixels per point of line width
        self.rgb = np.ones((self.n, self.n, 3), np.float32)

    def px(self, x: float, y: float) -> tuple[float, float]:
        """Data (x, y) -> continuous fine-pixel (column, row); pixel k spans [k, k + 1)."""
        return (x - self.x0) * self.sx, (self.y1 - y) * self.sy

    def _window(self, u0: float, u1: float, v0: float, v1: float):
        """Fine pixels whose centres may lie in [u0, u1] x [v0, v1]: (slices, centre columns, centre rows)."""
        c0, c1 = max(0, math.floor(u0)), min(self.n, math.ceil(u1) + 1)
        r0, r1 = max(0, math.floor(v0)), min(self.n, math.ceil(v1) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        u = np.arange(c0, c1, dtype=np.float64)[None, :] + 0.5
        v = np.arange(r0, r1, dtype=np.float64)[:, None] + 0.5
        return (slice(r0, r1), slice(c0, c1)), u, v

    def _paint(self, win, mask: np.ndarray, color) -> None:
        self.rgb[win][mask] = color

    def disk(self, cx: float, cy: float, r: float, color, edge_pt: float = PATCH_EDGE_PT) -> None:
        """A circle of radius r in data units (an ellipse in pixels when the axes scales differ), with an
        outline ``edge_pt`` points wide in the same colour (so it grows by half the outline width)."""
        uc, vc = self.px(cx, cy)
        grow = edge_pt * self.pt / 2
        ru, rv = r * self.sx + grow, r * self.sy + grow
        w = self._window(uc - ru, uc + ru, vc - rv, vc + rv)
        if w is not None:
            win, u, v = w
            self._paint(win, ((u - uc) / ru) ** 2 + ((v - vc) / rv) ** 2 <= 1.0, color)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color, edge_pt: float = PATCH_EDGE_PT) -> None:
        """An axis-aligned rectangle with an outline ``edge_pt`` points wide in the same colour."""
        grow = edge_pt * self.pt / 2
        ua, vb = self.px(x0, y0)
        ub, va = self.px(x1, y1)
        ua, ub, va, vb = ua - grow, ub + grow, va - grow, vb + grow
        w = self._window(ua, ub, va, vb)
        if w is not None:
            win, u, v = w
            self._paint(win, (u >= ua) & (u <= ub) & (v >= va) & (v <= vb), color)

    def segment(self, p, q, width_pt: float, color, cap: str = "butt") -> None:
        """A straight stroke from data point p to q, ``width_pt`` points wide; cap 'butt' or 'round'."""
        (ua, va), (ub, vb) = self.px(*p), self.px(*q)
        hw = width_pt * self.pt / 2
        w = self._window(min(ua, ub) - hw, max(ua, ub) + hw, min(va, vb) - hw, max(va, vb) + hw)
        if w is None:
            return
        win, u, v = w
        du, dv = ub - ua, vb - va
        length2 = du * du + dv * dv
        if length2 == 0.0:                                                  # a dot (round) or nothing (butt)
            if cap != "round":
                return
            mask = (u - ua) ** 2 + (v - va) ** 2 <= hw * hw
        else:
            t = ((u - ua) * du + (v - va) * dv) / length2                   # position along the stroke, 0..1
            if cap == "butt":
                across = np.abs((u - ua) * dv - (v - va) * du) / math.sqrt(length2)
                mask = (t >= 0.0) & (t <= 1.0) & (across <= hw)
            else:
                tc = np.clip(t, 0.0, 1.0)
                mask = (u - ua - tc * du) ** 2 + (v - va - tc * dv) ** 2 <= hw * hw
        self._paint(win, mask, color)

    def polyline(self, xs, ys, width_pt: float, color) -> None:
        """Consecutive round-capped strokes (round joins), like a matplotlib line."""
        for k in range(len(xs) - 1):
            self.segment((xs[k], ys[k]), (xs[k + 1], ys[k + 1]), width_pt, color, cap="round")

    def image(self) -> np.ndarray:
        """(3, size, size) float32: the mean of each ss x ss block of fine pixels."""
        s, ss = self.size, self.ss
        fine_rows = self.rgb.reshape(s, ss, self.n * 3)
        rows = fine_rows[:, 0].copy()                       # sum the ss fine rows of each pixel row
        for k in range(1, ss):                              # (slice sums: much faster than mean(axis=(1, 3)))
            rows += fine_rows[:, k]
        fine_cols = rows.reshape(s, s, ss, 3)
        block = fine_cols[:, :, 0].copy()                   # ... then the ss fine columns of each pixel
        for k in range(1, ss):
            block += fine_cols[:, :, k]
        return (block / (ss * ss)).transpose(2, 0, 1)


def _equal_width_classes(values: np.ndarray, lo: float, hi: float, bins: int) -> np.ndarray:
    """Equal-width bins over [lo, hi]; hi falls in the last bin."""
    cls = np.floor((values - lo) / (hi - lo) * bins)
    return np.clip(cls, 0, bins - 1).astype(np.int64)


def is_dag(adjacency: np.ndarray) -> bool:
    """True when A (A[i, j] = 1 for i -> j) has no directed cycle (Kahn's algorithm)."""
    a = np.array(adjacency, dtype=bool)
    alive = np.ones(len(a), bool)
    while alive.any():
        roots = alive & ~(a & alive[:, None]).any(axis=0)      # alive nodes without alive parents
        if not roots.any():
            return False
        alive &= ~roots
    return True


SCENE_MEMO_BYTES = 2 << 30     # scenes kept once drawn, per class and size, while the whole grid fits in this


class _ConceptDataset(FactorDataset):
    """A FactorDataset with named continuous concepts, their causal graph, and concept classes.

    Drawing a scene costs milliseconds of supersampled rasterising (2.6 ms a Flow scene at 96, 0.8 ms a Pendulum
    one, one core), more than the training step it feeds, and the grid is small (8,100 / 7,308 scenes): each scene
    is drawn once per process and kept (float32, the very array drawn; shared by every instance of the class and
    size; at most ``SCENE_MEMO_BYTES``, else drawn every time).
    """

    concept_names: tuple[str, ...] = ()
    adjacency: np.ndarray = np.zeros((0, 0), np.int64)
    concept_bins: int = 20
    _as_factor: dict[int, int] = {}        # concept -> the factor whose index is its class; others are binned

    def __init__(self, size: int = 96):
        if int(size) != size or size < 8:
            raise ValueError(f"size must be an integer >= 8, got {size!r}")
        self.size = int(size)
        self.observation_shape = (3, self.size, self.size)

    def concepts(self, factors) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    _memos: dict = {}                    # (class, size) -> (scenes (N, C, H, W) float32, drawn (N,) bool)
    _memo_lock = threading.Lock()

    def images(self, factors, rng=None) -> np.ndarray:
        """``FactorDataset.images``, each scene drawn once per process (see the class docstring)."""
        f = self._check_factors(factors)
        memo = self._memo()
        if memo is None:
            return self._render(f)
        scenes, drawn = memo
        index = self.factors_to_index(f)                                   # (n,)
        new = np.unique(index[~drawn[index]])
        if len(new):
            scenes[new] = self._render(self.index_to_factors(new))
            drawn[new] = True                                              # after the scenes: a reader sees them
        return scenes[index]

    def _memo(self):
        key = (type(self), self.observation_shape)
        if key not in self._memos:
            with self._memo_lock:
                if key not in self._memos:
                    n = len(self)
                    fits = n * int(np.prod(self.observation_shape)) * 4 <= SCENE_MEMO_BYTES
                    self._memos[key] = ((np.empty((n,) + self.observation_shape, np.float32), np.zeros(n, bool))
                                        if fits else None)
        return self._memos[key]

    def render_concepts(self, values) -> np.ndarray:  # pragma: no cover - abstract
        """(n, C) concept values (any, not only the grid's) -> (n, 3, size, size) scenes, each concept drawn as
        given: what the renderer shows under an intervention, and scenes whose concepts are independent (the
        readout of data/concept_scenes.py)."""
        raise NotImplementedError

    def do(self, values, concept: int, value: float) -> np.ndarray:  # pragma: no cover - abstract
        """The scene's structural causal model under do(concept = value): (n, C) concept values -> (n, C), the
        concept set, its descendants recomputed by their structural equations with the exogenous parts held,
        everything else unchanged."""
        raise NotImplementedError

    def _concept_values(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 2 or v.shape[1] != len(self.concept_names):
            raise ValueError(f"concept values must have shape (n, {len(self.concept_names)}) for "
                             f"{', '.join(self.concept_names)}; got {v.shape}")
        return v

    def _concept_ranges(self) -> np.ndarray:
        """(num_concepts, 2) min and max of every concept over the full scene grid (cached per class)."""
        cls = type(self)
        if "_ranges" not in cls.__dict__:
            every = self.concepts(self.index_to_factors(np.arange(len(self))))
            cls._ranges = np.stack([every.min(axis=0), every.max(axis=0)], axis=1)
        return cls._ranges

    def concept_classes(self, factors) -> np.ndarray:
        """(n, num_concepts) int64 class indices: a factor's index, or one of ``concept_bins`` equal-width bins."""
        f = self._check_factors(factors)
        values = self.concepts(f)
        out = np.zeros(values.shape, np.int64)
        ranges = self._concept_ranges()
        for c in range(len(self.concept_names)):
            if c in self._as_factor:
                out[:, c] = f[:, self._as_factor[c]]
            else:
                out[:, c] = _equal_width_classes(values[:, c], ranges[c, 0], ranges[c, 1], self.concept_bins)
        return out

    def concept_num_classes(self) -> tuple[int, ...]:
        """Number of classes of each concept in ``concept_classes``."""
        return tuple(self.factor_sizes[self._as_factor[c]] if c in self._as_factor else self.concept_bins
                     for c in range(len(self.concept_names)))


# ---------------------------------------------------------------------------------------------------------
# Pendulum
# ---------------------------------------------------------------------------------------------------------
PENDULUM_I = np.arange(-40, 44)                                   # 84 pendulum angle steps
PENDULUM_J = np.array([j for j in range(60, 148) if j != 100])    # 87 light angle steps
PIVOT = (10.0, 10.5)
ROD = 8.0             # pivot to bob centre
BOB_RADIUS = 1.5
SHADOW_ARM = 9.5      # the point along the rod whose ray ends the shadow
LIGHT_RADIUS = 3.0
LIGHT_HEIGHT = 20.5
GROUND = -0.5         # the shadow's height
MIN_SHADOW = 3.0


def ray_intercept(phi, x, y, height=GROUND):
    """x where the ray through (x, y) with angle phi (slope tan phi) meets y = height."""
    return x + (height - y) / np.tan(phi)


def pendulum_geometry(i, j) -> dict[str, np.ndarray]:
    """Scene geometry for pendulum step(s) i and light step(s) j (angles i pi/200, j pi/200)."""
    theta = np.asarray(i, np.float64) * np.pi / 200
    phi = np.asarray(j, np.float64) * np.pi / 200
    bob_x, bob_y = PIVOT[0] + ROD * np.sin(theta), PIVOT[1] - ROD * np.cos(theta)
    arm_x, arm_y = PIVOT[0] + SHADOW_ARM * np.sin(theta), PIVOT[1] - SHADOW_ARM * np.cos(theta)
    a = ray_intercept(phi, PIVOT[0], PIVOT[1])
    c = ray_intercept(phi, arm_x, arm_y)
    return {
        "theta": theta, "phi": phi, "bob_x": bob_x, "bob_y": bob_y,
        "light_x": ray_intercept(phi, PIVOT[0], PIVOT[1], LIGHT_HEIGHT),
        "shadow_position": (a + c) / 2, "shadow_length": np.maximum(MIN_SHADOW, np.abs(a - c)),
    }


class Pendulum(_ConceptDataset):
    """CausalVAE's pendulum: a pendulum, a light, and the pendulum's shadow (see the module docstring).

    Factors: pendulum_angle 84 (i = -40..43), light_angle 87 (j = 60..147 without 100): 7,308 RGB
    scenes, ``size`` x ``size`` (96 by default, as the original).  Concepts: pendulum angle i and light
    angle j (steps of pi/200 rad), shadow length and shadow position (canvas units).  Causal graph:
    pendulum angle -> shadow length, shadow position <- light angle (and light angle -> shadow length).
    """

    name = "pendulum"
    factor_names = ("pendulum_angle", "light_angle")
    factor_sizes = (84, 87)
    observation_shape = (3, 96, 96)
    factor_values = (PENDULUM_I, PENDULUM_J)
    xlim, ylim = (0.0, 20.0), (-1.0, 21.0)

    concept_names = ("pendulum_angle", "light_angle", "shadow_length", "shadow_position")
    adjacency = np.array([[0, 0, 1, 1],
                          [0, 0, 1, 1],
                          [0, 0, 0, 0],
                          [0, 0, 0, 0]], dtype=np.int64)
    _as_factor = {0: 0, 1: 1}
    test_every, test_first = 4, 4     # the authors' split: every 4th scene from the 5th held out (1,826 of 7,308)
    test_rule = "stride"
    # the authors' label scaling (mask_vae_pendulum.py, CausalVAE.scale): u = (label - offset) / scale
    label_scaling = {"pendulum_angle": (0.0, 44.0), "light_angle": (100.0, 40.0),
                     "shadow_length": (6.5, 3.5), "shadow_position": (10.0, 5.0)}
    # the official code's initial A (nns/mask.py, DagLayer(initial=True)): the true graph plus pendulum -> light
    authors_initial_graph = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.int64)

    def geometry(self, factors) -> dict[str, np.ndarray]:
        """Scene geometry (angles in radians, positions in canvas units) for (n, 2) factor classes."""
        f = self._check_factors(factors)
        return pendulum_geometry(PENDULUM_I[f[:, 0]], PENDULUM_J[f[:, 1]])

    def concepts(self, factors) -> np.ndarray:
        """(n, 4) float64: pendulum angle i, light angle j (steps of pi/200 rad), shadow length, position."""
        f = self._check_factors(factors)
        g = self.geometry(f)
        return np.stack([PENDULUM_I[f[:, 0]], PENDULUM_J[f[:, 1]], g["shadow_length"], g["shadow_position"]],
                        axis=1).astype(np.float64)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        return self.render_concepts(self.concepts(factors))

    def render_concepts(self, values) -> np.ndarray:
        """(n, 4) pendulum angle i, light angle j (steps of pi/200 rad, any real), shadow length and position
        (canvas units) -> scenes; on the grid's concepts exactly the dataset's images."""
        v = self._concept_values(values)
        g = pendulum_geometry(v[:, 0], v[:, 1])                               # the bob and the light
        out = np.empty((len(v),) + self.observation_shape, np.float32)
        for k in range(len(v)):
            r = _Raster(self.size, self.xlim, self.ylim)
            bob = (g["bob_x"][k], g["bob_y"][k])
            r.segment(PIVOT, bob, 3, BLACK)                                   # rod
            r.disk(*bob, BOB_RADIUS, FIREBRICK)                               # bob
            r.disk(g["light_x"][k], LIGHT_HEIGHT, LIGHT_RADIUS, ORANGE)       # light
            mid, half = v[k, 3], v[k, 2] / 2
            r.segment((mid - half, GROUND), (mid + half, GROUND), 3, BLACK)   # shadow
            out[k] = r.image()
        return out

    def do(self, values, concept: int, value: float) -> np.ndarray:
        """The two angles are exogenous; the shadow's length and position are functions of both (no noise):
        do() on an angle recomputes the shadow, do() on the shadow changes only itself."""
        out = self._concept_values(values).copy()
        out[:, concept] = value
        if concept in (0, 1):
            g = pendulum_geometry(out[:, 0], out[:, 1])
            out[:, 2], out[:, 3] = g["shadow_length"], g["shadow_position"]
        return out


# ---------------------------------------------------------------------------------------------------------
# Flow
# ---------------------------------------------------------------------------------------------------------
FLOW_R = np.arange(5, 35)            # ball size r: radius r / 30
FLOW_H_RAW = np.arange(10, 40)
FLOW_HOLE = np.arange(6, 15)         # hole height hole / 3
CUP_LEFT, CUP_RIGHT, CUP_TOP = 3.0, 8.0, 19.0
WATER_BASE = 5.0                     # the water surface is drawn at y = 5 + h
HOLE_GAP = 0.4
JET_END = 0.5                        # the jet is drawn down to y = 0.5; the flow concept is its reach there
JET_G = 0.98                         # the authors' g for the flow label
JET_G_DRAWN = 0.99                   # the authors' most frequent drawn g (0.98 + 0.01 max(|N(0,1)|, 1))
JET_POINTS = 50
FLOOR = 0.2


def flow_geometry(r, h_raw, hole) -> dict[str, np.ndarray]:
    """Ball radius, water height h, hole height and the jet's reach for authors' values r, h_raw, hole."""
    radius = np.asarray(r, np.float64) / 30
    h = radius ** 3 + np.asarray(h_raw, np.float64) / 10
    deep = np.asarray(hole, np.float64) / 3
    return {"ball_radius": radius, "water_height": h, "hole_height": deep,
            "water_flow": np.sqrt(2 * JET_G * h * (deep - JET_END))}


class Flow(_ConceptDataset):
    """CausalVAE's flow: a ball in a cup of water with a hole; the jet from the hole (see the module docstring).

    Factors: ball_size 30 (r = 5..34), h_raw 30 (10..39), hole 9 (6..14): 8,100 RGB scenes.  Concepts:
    ball size r, water height h = (r/30)^3 + h_raw/10, hole, water flow (the jet's reach at y = 0.5).
    Causal graph: ball_size -> water_height -> water_flow <- hole.
    """

    name = "flow"
    factor_names = ("ball_size", "h_raw", "hole")
    factor_sizes = (30, 30, 9)
    test_rule = "stride"              # the authors' split: scene k held out when k % 5 == 4 (1,620 of 8,100)
    observation_shape = (3, 96, 96)
    factor_values = (FLOW_R, FLOW_H_RAW, FLOW_HOLE)
    xlim, ylim = (0.0, 20.0), (0.0, 20.0)

    concept_names = ("ball_size", "water_height", "hole", "water_flow")
    adjacency = np.array([[0, 1, 0, 0],
                          [0, 0, 0, 1],
                          [0, 0, 0, 1],
                          [0, 0, 0, 0]], dtype=np.int64)
    _as_factor = {0: 0, 2: 2}
    # the authors' label scaling (mask_vae_flow.py, CausalVAE.scale; their flow label is 10x ours, so 59.5 / 26.5
    # become 5.95 / 2.65); their split is the default one, every 5th scene from the 5th held out (1,620 of 8,100)
    label_scaling = {"ball_size": (20.0, 15.0), "water_height": (2.0, 2.0), "hole": (10.5, 4.5),
                     "water_flow": (5.95, 2.65)}
    # the official code's initial A: the same entries as Pendulum's, A[0, 1..3] = A[1, 2..3] = 1, in its concept
    # order (r, h, flow, hole) — in ours the true graph plus ball size -> hole and water height -> hole
    authors_initial_graph = np.array([[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.int64)

    def geometry(self, factors) -> dict[str, np.ndarray]:
        f = self._check_factors(factors)
        return flow_geometry(FLOW_R[f[:, 0]], FLOW_H_RAW[f[:, 1]], FLOW_HOLE[f[:, 2]])

    def concepts(self, factors) -> np.ndarray:
        """(n, 4) float64: ball size r, water height h, hole, water flow (canvas units)."""
        f = self._check_factors(factors)
        g = self.geometry(f)
        return np.stack([FLOW_R[f[:, 0]], g["water_height"], FLOW_HOLE[f[:, 2]], g["water_flow"]],
                        axis=1).astype(np.float64)

    def _render(self, factors: np.ndarray) -> np.ndarray:
        g = self.geometry(factors)
        jets = [lambda ys, h=h, deep=deep: np.sqrt(2 * JET_G_DRAWN * h * (deep - ys))
                for h, deep in zip(g["water_height"], g["hole_height"])]
        return self._draw(g["ball_radius"], g["water_height"], g["hole_height"], jets)

    def _draw(self, radii, heights, holes, jets) -> np.ndarray:
        """Scenes from ball radii, water heights, hole heights and each jet's reach x(y) - 8 as a function."""
        out = np.empty((len(radii),) + self.observation_shape, np.float32)
        for k, (radius, h, deep, jet) in enumerate(zip(radii, heights, holes, jets)):
            r = _Raster(self.size, self.xlim, self.ylim)
            r.rect(CUP_LEFT, 0.0, CUP_RIGHT, WATER_BASE + h, LIGHTSKYBLUE)                  # water
            r.segment((CUP_LEFT, 0.0), (CUP_LEFT, CUP_TOP), 2, BLACK)                       # cup walls
            r.segment((CUP_RIGHT, 0.0), (CUP_RIGHT, deep), 2, BLACK)
            r.segment((CUP_RIGHT, deep + HOLE_GAP), (CUP_RIGHT, CUP_TOP), 2, BLACK)
            r.disk(5.5, radius + 0.5, radius, FIREBRICK)                                      # ball
            ys = np.linspace(deep, JET_END, JET_POINTS)
            r.polyline(CUP_RIGHT + jet(ys), ys, 2, LIGHTSKYBLUE)                             # jet
            r.segment((self.xlim[0], FLOOR), (self.xlim[1], FLOOR), 2, BLACK)               # ground
            out[k] = r.image()
        return out

    def render_concepts(self, values) -> np.ndarray:
        """(n, 4) ball size r, water height h, hole, water flow -> scenes.  The jet keeps its drawn shape and ends
        at the given flow: x(y) = 8 + flow sqrt(0.99 / 0.98) sqrt((d - y) / (d - 0.5)), which is the dataset's
        jet when flow is the structural one (to rounding)."""
        v = self._concept_values(values)
        deep = v[:, 2] / 3
        scale = math.sqrt(JET_G_DRAWN / JET_G)
        jets = [lambda ys, f=f, d=d: f * scale * np.sqrt(np.clip((d - ys) / max(d - JET_END, 1e-9), 0, None))
                for f, d in zip(v[:, 3], deep)]
        return self._draw(v[:, 0] / 30, v[:, 1], deep, jets)

    def do(self, values, concept: int, value: float) -> np.ndarray:
        """h = (r/30)^3 + h_raw/10 (h_raw exogenous, held) and flow = sqrt(2 g h (hole/3 - 0.5)): do() on the
        ball size moves the water and the flow, on the water height or the hole the flow, on the flow itself."""
        old = self._concept_values(values)
        out = old.copy()
        out[:, concept] = value
        if concept == 0:
            out[:, 1] = old[:, 1] - (old[:, 0] / 30) ** 3 + (value / 30) ** 3
        if concept in (0, 1, 2):
            out[:, 3] = np.sqrt(2 * JET_G * out[:, 1] * np.clip(out[:, 2] / 3 - JET_END, 0, None))
        return out


class Pendulum64(Pendulum):
    """The Pendulum scenes at 64 x 64 (``--dataset pendulum64``): the study's conv nets take them."""

    name = "pendulum64"
    observation_shape = (3, 64, 64)

    def __init__(self, size: int = 64):
        super().__init__(size)


class Flow64(Flow):
    """The Flow scenes at 64 x 64 (``--dataset flow64``)."""

    name = "flow64"
    observation_shape = (3, 64, 64)

    def __init__(self, size: int = 64):
        super().__init__(size)
