"""Causal InfoGAN (Kurutach, Tamar, Yang, Russell & Abbeel, NeurIPS 2018, "Learning Plannable Representations with
Causal InfoGAN"): a GAN of observation *pairs* whose generative process is a transition in a low-dimensional
planning model, so that a path in that model's states decodes into a feasible sequence of observations.

The generative model: an abstract state s ~ P(s) = U[-1, 1]^d; the next state s' ~ T(s' | s) = N(μ(s), diag σ²(s));
noise z ~ N(0, I); G(z, s, s') draws the pair (o, o') (one net, 2C output channels).  The discriminator D judges
pairs: real ones are two observations one step of the system's dynamics apart (``Batch.x``, ``Batch.x2``).  A
posterior Q(s | o), one net applied to each observation of a pair, gives the variational bound of the mutual
information between the transition and the pair,

    I(s; o) + I(s'; o' | s)  >=  E[log Q(s | o)] + H(s)  +  E[log Q(s' | o')] - E[log T(s' | s)]   (the paper's Eq. 5)

and the players minimise  D: the GAN loss;  G, Q, T: the non-saturating GAN loss - λ·(that bound) + w·E Σ σ⁴(s).
s' is drawn by reparameterisation (s' = μ(s) + σ(s)·ε), so -log T(s'|s) rewards T's entropy; the last term (the
authors' "transition regularisation") keeps σ small.

Facts from the authors' code (github thanard/causal-infogan, ``model.py``, ``trainer.py``, ``main.py``; the paper's
full text was not retrievable here, so no number of it is quoted): P uniform on [-1, 1]; T's mean s + 0.1·tanh(net(s))
with ``learn_mu``, else s; its variance exp(net(s)) with ``learn_var`` (their README's command: ``-learn_var``),
else τ² with τ = 0.1; T's net two hidden layers of 64; Q a Gaussian with learned variance on a conv trunk of its
own; the information weight 0.1 and the transition weight 0.1 on Σ σ⁴; Adam 2e-4, β1 0.5 for both players; Q and T
move with G's optimiser; z standard normal, 2 wide.  Planning: states of the start and goal observations, a path
between them in the planning model (their continuous model: linear interpolation, which the locally Gaussian T
makes feasible; also an A* search over a discretised state space whose edges a classifier of real pairs judges —
ours, ``planner="graph"``, is Dijkstra over sampled states with edges judged by D), decoded by G with z fixed.
They map start and goal to states by searching for the generated image nearest the observation, because their Q
"collapses on real images" (their comment); so does ``plan`` by default (``locate``), or reads Q's mean.
Measured on ``rooms`` (6,000 steps, unit and learned Q variance alike): Q's mean put the plans' ends on the right
cells for none of 100 tasks, while its bound on generated pairs was high — Q reads the state from traces G leaves
that real scenes lack.

Where we differ: T's variance is fixed (τ = 0.1, the authors' model without ``learn_var``) by default.  Learned,
it runs away: -λ E log T rewards log σ and w Σ σ⁴ holds it back, so σ settles where σ⁴ = λ / (4w) — 0.71 at the
authors' weights, 1.26 at λ = 1 (measured: 1.22 on ``rooms`` at 3,000 steps), a step as wide as the prior itself,
where a move should be a small step.  The discriminator is the GAN base's (spectral norm, D at 1e-3,
``models/gan.py``); d = 4 states (their rope: 7) for a domain whose true state is 2-D.

What the metrics score: Q's mean (B, d).  What a user turns: points are [z, s] (G draws o from [z, s, s]); the axes
are the d states over [-1, 1]; anchors are prior draws with s = 0.  Data: a dataset with dynamics (``transition``):
``rooms``, an agent in two rooms joined by a door (``data/rooms.py``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from torch import nn

from ..nets import build_gan_body, gan_arch
from ..params import require
from ..penalties._math import gaussian_log_density
from .base import Axis, Batch
from .gan import GAN, GANParams


LOG_VAR_FLOOR = math.log(1e-6)


@dataclass(frozen=True)
class CausalInfoGANParams(GANParams):
    state_dim: int = 4                 # d: the planning model's state s ~ U[-1, 1]^d
    noise_dim: int = 2                 # z ~ N(0, I)
    lambda_info: float = 0.1           # λ: weight of the information bound (authors' infow)
    transition_weight: float = 0.1     # w: weight of E Σ σ⁴(s), which keeps T's steps small (authors' transw)
    learn_var: bool = False            # T's variance σ²(s) = exp(net(s)) (authors' command), else τ²
    learn_mu: bool = False             # T's mean s + 0.1 tanh(net(s)), else s
    tau: float = 0.1                   # T's standard deviation when it is not learned
    hidden: int = 64                   # width of T's two hidden layers
    learn_q_std: bool = True           # Q(s|o): learned variance (authors; floored at 1e-6), else unit variance

    def validate(self) -> None:
        super().validate()
        require(self.state_dim >= 1, f"state_dim must be >= 1, got {self.state_dim}")
        require(self.noise_dim >= 0, f"noise_dim must be >= 0, got {self.noise_dim}")
        require(self.lambda_info >= 0, f"lambda_info must be >= 0, got {self.lambda_info}")
        require(self.transition_weight >= 0, f"transition_weight must be >= 0, got {self.transition_weight}")
        require(self.tau > 0, f"tau must be > 0, got {self.tau}")
        require(self.hidden >= 1, f"hidden must be >= 1, got {self.hidden}")


@dataclass
class Transition:
    """A batch of G's inputs: noise ``z`` (B, n_z), states ``s`` (B, d) and next states ``s_next`` (B, d)."""

    z: torch.Tensor
    s: torch.Tensor
    s_next: torch.Tensor

    def to(self, device) -> "Transition":
        return Transition(self.z.to(device), self.s.to(device), self.s_next.to(device))


class TransitionModel(nn.Module):
    """T(s' | s) = N(μ(s), diag σ²(s)): μ(s) = s (+ 0.1 tanh(net(s)) when learned), σ² = exp(net(s)) or τ²."""

    def __init__(self, params: CausalInfoGANParams):
        super().__init__()
        p = params
        self.learn_mu, self.learn_var, self.tau = p.learn_mu, p.learn_var, p.tau
        outputs = (p.learn_mu + p.learn_var) * p.state_dim
        self.net = nn.Sequential(nn.Linear(p.state_dim, p.hidden), nn.ReLU(), nn.Linear(p.hidden, p.hidden), nn.ReLU(),
                                 nn.Linear(p.hidden, outputs)) if outputs else None

    def forward(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s (B, d) -> (mean (B, d), variance (B, d))."""
        out = self.net(s).float() if self.net is not None else None
        d = s.shape[1]
        mean = s + 0.1 * torch.tanh(out[:, :d]) if self.learn_mu else s
        var = out[:, -d:].exp() if self.learn_var else torch.full_like(s, self.tau ** 2)
        return mean, var

    def log_prob(self, s: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
        """log T(s_next | s) (B,)."""
        mean, var = self(s)
        return gaussian_log_density(s_next, mean, var.log()).sum(1)

    def sample(self, s: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """s' = μ(s) + σ(s)·ε (B, d), differentiable in T's parameters."""
        mean, var = self(s)
        eps = torch.randn(s.shape, generator=generator, device=s.device)
        return mean + var.sqrt() * eps


class CausalInfoGAN(GAN):
    name = "causal_infogan"
    Params = CausalInfoGANParams
    representation_name = "Q's mean of the planning state s"

    def __init__(self, params: CausalInfoGANParams, observation_shape: tuple[int, int, int]):
        p = params
        c, h, w = observation_shape
        arch = gan_arch(p.net, observation_shape)
        super().__init__(p, (2 * c, h, w), p.noise_dim + 2 * p.state_dim, arch)     # G draws, D judges, pairs
        self.frame_shape = tuple(observation_shape)                                  # (C, H, W) of one observation
        self.q_body = build_gan_body(arch, self.frame_shape, spectral_norm=False)     # Q's own trunk, as the authors'
        self.q_head = nn.Linear(self.q_body.features, p.state_dim * (2 if p.learn_q_std else 1))
        self.transition = TransitionModel(p)

    @classmethod
    def build(cls, config, dataset) -> "CausalInfoGAN":
        return cls(config.backbone, dataset.observation_shape)

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        if not callable(getattr(dataset, "transition", None)):
            raise ValueError(f"causal_infogan trains on pairs one move apart and {dataset.name} has no dynamics: "
                             f"use --dataset rooms")
        return []

    @property
    def pairs(self) -> str:
        return "transition"

    # ---- the planning model -------------------------------------------------------------------------
    def sample_code(self, n: int, generator: torch.Generator | None = None, device=None) -> Transition:
        """s ~ U[-1, 1]^d, s' ~ T(s'|s) (reparameterised), z ~ N(0, I)."""
        p = self.params
        device = device if device is not None else next(self.parameters()).device
        s = torch.rand(n, p.state_dim, generator=generator, device=device) * 2 - 1
        z = torch.randn(n, p.noise_dim, generator=generator, device=device)
        return Transition(z, s, self.transition.sample(s, generator))

    def points(self, code: Transition) -> torch.Tensor:
        """G's input [z, s, s'] (B, n_z + 2d)."""
        return torch.cat([code.z, code.s, code.s_next], 1)

    def real(self, batch: Batch) -> torch.Tensor:
        """The real pair (o, o') stacked on channels (B, 2C, H, W)."""
        if batch.x2 is None:
            raise ValueError("Causal InfoGAN trains on pairs one move apart: the batch has no second image")
        return torch.cat([batch.x, batch.x2], 1)

    # ---- Q and the information bound ----------------------------------------------------------------
    def generator_heads(self) -> list[nn.Parameter]:
        return [*self.q_body.parameters(), *self.q_head.parameters(), *self.transition.parameters()]

    def q(self, o: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """o (B, C, H, W) -> Q(s|o): (mean (B, d), log-variance (B, d))."""
        out = self.q_head(self.q_body(o)).float()
        d = self.params.state_dim
        # a learned variance is floored at 1e-6, as the authors' log-likelihood adds 1e-6 to it
        return out[:, :d], (out[:, d:].clamp(min=LOG_VAR_FLOOR) if self.params.learn_q_std else torch.zeros_like(out[:, :d]))

    def info_bound(self, pair: torch.Tensor, code: Transition) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """E[log Q(s|o) + log Q(s'|o') - log T(s'|s)] (the bound of Eq. 5 without the constant H(s)), and logs
        of its two parts in nats: I(s; o) >= E log Q(s|o) + d log 2, I(s'; o' | s) >= E log Q(s'|o') - E log T."""
        c = self.frame_shape[0]
        o, o_next = pair[:, :c], pair[:, c:]
        log_q = gaussian_log_density(code.s, *self.q(o)).sum(1).mean()
        log_q_next = gaussian_log_density(code.s_next, *self.q(o_next)).sum(1).mean()
        log_t = self.transition.log_prob(code.s, code.s_next).mean()
        logs = {"mi_s": log_q.detach() + self.params.state_dim * math.log(2.0),
                "mi_next": (log_q_next - log_t).detach()}
        return log_q + log_q_next - log_t, logs

    def objective(self, seen: torch.Tensor, features: torch.Tensor, code: Transition, batch: Batch, player: str):
        """G, Q, T: λ·(the information bound) - w·E Σ σ⁴(s); D: nothing beyond the game (Q and T move with G)."""
        if player == "discriminator":
            return torch.zeros((), device=seen.device), {}
        p = self.params
        bound, logs = self.info_bound(seen, code)
        _, var = self.transition(code.s)
        small = (var ** 2).sum(1).mean()                                    # E Σ σ⁴: T's steps kept small
        return p.lambda_info * bound - p.transition_weight * small, {"info_loss": -bound, "t_std": var.sqrt().mean(), **logs}

    # ---- evaluation and planning --------------------------------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> Q's mean of s (B, d)."""
        return self.q(x)[0]

    def _frames(self, s: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """states s (B, d), noise z (B, n_z) -> G's o for the transition s -> s (B, C, H, W)."""
        c = self.frame_shape[0]
        return self.generator(torch.cat([z, s, s], 1))[:, :c].float()

    @torch.no_grad()
    def locate(self, images: torch.Tensor, candidates: int = 4096) -> torch.Tensor:
        """The authors' projection of observations onto states: for each image (N, C, H, W) the state, among
        ``candidates`` prior draws (a fixed generator), whose drawing (z = 0) is nearest in L2 -> (N, d)."""
        device = next(self.parameters()).device
        s = (torch.rand(candidates, self.params.state_dim, generator=torch.Generator().manual_seed(0)) * 2 - 1).to(device)
        z = torch.zeros(1, self.params.noise_dim, device=device)
        drawn = torch.cat([self._frames(part, z.expand(len(part), -1)) for part in s.split(1024)])
        nearest = torch.cdist(images.to(device).flatten(1).float(), drawn.flatten(1)).argmin(1)
        return s[nearest]

    @torch.no_grad()
    def plan(self, start: torch.Tensor, goal: torch.Tensor, steps: int = 16, z: Optional[torch.Tensor] = None,
             locate: str = "nearest", planner: str = "line", candidates: int = 1024, neighbours: int = 8,
             ends: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """A visual plan from ``start`` to ``goal`` (each an observation (C, H, W) in [0, 1]) -> (frames (T, C, H, W),
        states (T, d)), each state drawn by G with the same z (default 0).

        The ends' states: ``locate`` "nearest" (the authors' search for the state drawn nearest each observation)
        or "q" (Q's mean); ``ends`` (2, d) gives them where already located (``locate`` on many images at once).
        The path between them: ``planner`` "line", the straight path in the planning model cut
        into ``steps`` (T = steps + 1; the authors' continuous planner), or "graph", a search of the planning
        model: ``candidates`` prior states and the ends, each joined to its ``neighbours`` nearest states, an edge
        i -> j costing -log D(G's o_i, o_j) — the discriminator's belief that the pair is a real move (the authors
        judge edges of their A* with a classifier of real pairs; we use D, trained on them) — and the cheapest
        path (Dijkstra).  A goal the graph cannot reach falls back to the straight path."""
        for name, image in (("start", start), ("goal", goal)):
            if tuple(image.shape) != self.frame_shape or image.min() < 0 or image.max() > 1:
                raise ValueError(f"the planning {name} must be an image of the domain, shape {self.frame_shape} in "
                                 f"[0, 1]; got shape {tuple(image.shape)}")
        if steps < 1:
            raise ValueError(f"a plan needs steps >= 1, got {steps}")
        if locate not in ("nearest", "q") or planner not in ("line", "graph"):
            raise ValueError(f"locate must be 'nearest' or 'q' and planner 'line' or 'graph'; got {locate!r}, {planner!r}")
        device = next(self.parameters()).device
        pair = torch.stack([start, goal]).to(device)
        if ends is None:
            ends = self.locate(pair) if locate == "nearest" else self.representation(pair)    # (2, d)
        ends = ends.to(device)
        z = torch.zeros(self.params.noise_dim, device=device) if z is None else z.to(device)
        states = self.graph_path(ends, z, candidates, neighbours) if planner == "graph" else None
        if states is None:
            t = torch.linspace(0, 1, steps + 1, device=device)[:, None]
            states = (1 - t) * ends[0] + t * ends[1]                                       # (steps + 1, d)
        return self._frames(states, z.expand(len(states), -1)), states

    def graph_path(self, ends: torch.Tensor, z: torch.Tensor, candidates: int, neighbours: int) -> Optional[torch.Tensor]:
        """The cheapest path (states (T, d)) from ends[0] to ends[1] over a k-nearest-neighbour graph of prior states,
        an edge costing -log D(o_i, o_j); None when the goal cannot be reached."""
        gen = torch.Generator().manual_seed(1)
        s = torch.cat([ends, (torch.rand(candidates, ends.shape[1], generator=gen) * 2 - 1).to(ends.device)])   # (M, d)
        o = self._frames(s, z.expand(len(s), -1))                                          # (M, C, H, W)
        k = min(neighbours, len(s) - 1)
        near = torch.cdist(s, s).topk(k + 1, largest=False).indices[:, 1:]                 # (M, k): not itself
        i = torch.arange(len(s), device=s.device).repeat_interleave(k)
        j = near.reshape(-1)
        logits = torch.cat([self.real_fake(self.body(torch.cat([o[a], o[b]], 1)))
                            for a, b in zip(i.split(4096), j.split(4096))])
        cost = F.softplus(-logits).cpu().numpy() + 1e-6                                     # -log sigmoid: -log D
        graph = csr_matrix((cost, (i.cpu().numpy(), j.cpu().numpy())), shape=(len(s), len(s)))
        dist, pred = dijkstra(graph, indices=0, return_predecessors=True)
        if not np.isfinite(dist[1]):
            return None
        path, node = [], 1
        while node >= 0:                                                 # scipy marks the source's predecessor -9999
            path.append(node)
            node = pred[node]
        return s[torch.as_tensor(path[::-1], device=s.device)]

    # ---- what a user turns --------------------------------------------------------------------------
    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """len(images) draws of z with s = 0 -> points [z, s] (N, n_z + d); the images are not used."""
        generator = generator if generator is not None else torch.Generator().manual_seed(0)
        z = torch.randn(len(images), self.params.noise_dim, generator=generator)
        points = torch.cat([z, torch.zeros(len(images), self.params.state_dim)], 1)
        return points.to(next(self.parameters()).device)

    def decode(self, points: torch.Tensor) -> torch.Tensor:
        """points [z, s] (B, n_z + d) -> G's o for the transition s -> s (B, C, H, W)."""
        n = self.params.noise_dim
        return self._frames(points[:, n:], points[:, :n])

    def axes(self, images: torch.Tensor | None = None, *, steps: int = 9, limit: float = 1.0) -> list[Axis]:
        """Each state s_j over linspace(-limit, limit) (the prior's range)."""
        values = np.linspace(-limit, limit, steps)
        n = self.params.noise_dim
        return [Axis(f"s{j}", slice(n + j, n + j + 1), values, "set", tuple(f"{v:+.2g}" for v in values))
                for j in range(self.params.state_dim)]

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n observations o of prior draws (B, C, H, W)."""
        code = self.sample_code(n, generator, torch.device("cpu")).to(next(self.parameters()).device)
        return self.generate(code)[:, :self.frame_shape[0]].float()

    def describe(self) -> str:
        p = self.params
        t = "learned σ" if p.learn_var else f"σ = {p.tau:g}"
        return f"{p.state_dim} planning states, {p.noise_dim} noise dims, T(s'|s) Gaussian with {t}"
