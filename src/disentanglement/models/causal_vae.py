"""CausalVAE (Yang et al. 2021, "CausalVAE: Disentangled Representation Learning via Neural Structural Causal
Models", CVPR): concepts that cause one another, a learned causal graph, and interventions.

The latent has C concepts of k dims each (latent_dim = C·k; C is the dataset's number of concepts):

    ε ~ q(ε|x) = N(μ(x), σ²(x))                 exogenous noise, from the encoder          (B, C, k)
    z = Aᵀz + ε  ⇔  z = (I − Aᵀ)⁻¹ ε            the causal layer, a linear SCM (Eq. 1)      (B, C, k)
    f_i = g_i(A_iᵀ ∘ z) + ε_i                   the mask layer: concept i from its parents (Eq. 5)
    x̂ = decoder(f)

A (C×C, A[j, i] ≠ 0 for an edge j → i) is learned, **from zero by default** (``init_graph=true`` starts
from the dataset's true graph, as the official code always does, and is reported as such;
``init_discovered=true`` from the graph discovered in the training scenes' labels by the independence of its
exogenous noises, ``models/discovery.py`` — on Pendulum and Flow that is the true graph, where A learned from
zero through the loss is not: BENCHMARKS.md, issue 22).  The loss
(Sec. 4.3) is the ELBO with a conditional prior on the concept labels u (the authors' fixed scaling
u = (c − offset) / scale on Pendulum and Flow, ``concepts_of``; z-scored elsewhere):

    recon + α·KL(q(ε|x) || N(0, I)) + β·Σ_i KL(N(z_i, I) || N(u_i, I)) + β·Σ_i KL(N(f_i, I) || N(u_i, I))
          + γ·‖g^u(Aᵀu) − u‖²   (label reconstruction through the mask layer)
          + λ·h(A) + ρ/2·h(A)²,   h(A) = tr((I + A∘A / C)^C) − C   (DAG-GNN's acyclicity, 0 iff A is a DAG)

``dag=lagrangian`` (default) is an augmented Lagrangian as NOTEARS / DAG-GNN run it, on windows of
``dag_every`` steps (``models/dag.py``): when the window's mean loss has settled (``dag_loss_tol``) and its
mean h(A) is above ``dag_tol``, ρ ← min(10ρ, dag_rho_max) if h fell by less than a quarter since the last
accepted h, else λ ← λ + ρ·h; the state is in buffers, so a resumed run repeats it.  ``dag=fixed`` keeps
λ = 3, ρ = 1 — the official code's 3h + 0.5h².

Differences from the official code (huawei-noah/trustworthyAI, research/CausalVAE; facts only): it fixes
q(ε|x)'s variance to 1 and decodes a near-deterministic sample, replaces ε_i in the mask layer by an
attention term, and decodes each concept with its own decoder; we sample ε with a learned variance, add
ε_i as the paper writes it, and use the run's encoder/decoder (``net``).  Its α = 0.3, β = 1, Adam lr 1e-3.
Its labels are the integers in its image file names (int() of shadow length, position, water height, 10 x flow)
and its label reconstruction regresses g^u onto those raw integers; ours are the exact concept values, scaled
as its conditional prior scales them, for both.  It trains on its train split only (``supervised``), as here.

What a user turns: each concept, twice — its plain traversal (the concept's block of f set to a value,
nothing else changes: the traversal ignores the graph) and the intervention do(concept = value) (its block
of z set, its descendants recomputed through the learned graph with ε held; non-descendants unchanged).
The points are the exogenous ε; the representation the metrics score is z = (I − Aᵀ)⁻¹ μ(x).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.pendulum import is_dag
from ..data.split import part_index
from ..nets import ARCHITECTURES, build_vae_nets
from ..params import Params, require
from .base import Axis, Backbone, Batch, Phase
from .dag import acyclicity, lagrangian_update
from .discovery import MIN_LABELS, discover_graph
from .vae import RECONSTRUCTIONS, reconstruction_loss

DAG_MODES = ("lagrangian", "fixed")


@dataclass(frozen=True)
class CausalVAEParams(Params):
    latent_dim: int = 16              # C·k: 4 concepts × 4 dims in the paper
    net: str = "auto"                 # auto | conv64 | mlp
    reconstruction: str = "bernoulli"
    alpha: float = 0.3                # KL(q(ε|x) || N(0, I))
    beta: float = 1.0                 # the conditional priors of z and f
    gamma: float = 1.0                # label reconstruction
    dag: str = "lagrangian"           # lagrangian | fixed
    dag_lambda: float = 3.0           # λ at the start (fixed: all along)
    dag_rho: float = 1.0              # ρ at the start (fixed: all along)
    dag_every: int = 100              # lagrangian: the window (steps) over which h and the loss are averaged
    dag_rho_max: float = 1e4
    dag_tol: float = 1e-3             # lagrangian: mean h at or below this is met (two opposite 0.2 edges of 4: 1.2e-3)
    dag_loss_tol: float = 0.01        # lagrangian: the subproblem is solved when the mean loss moved less (relative)
    init_graph: bool = False          # start A at the dataset's true graph instead of zero
    init_authors: bool = False        # start A where the official code does (the true graph and its extra edges)
    init_discovered: bool = False     # start A at the graph discovered from the training scenes' labels (discovery.py)

    def validate(self) -> None:
        require(self.latent_dim > 0, f"latent_dim must be a positive integer, got {self.latent_dim}")
        require(self.net in ARCHITECTURES, f"unknown net {self.net!r}; choose one of: {', '.join(ARCHITECTURES)}")
        require(self.reconstruction in RECONSTRUCTIONS,
                f"unknown reconstruction {self.reconstruction!r}; choose one of: {', '.join(RECONSTRUCTIONS)}")
        for name in ("alpha", "beta", "gamma", "dag_lambda", "dag_rho"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        require(self.dag in DAG_MODES, f"unknown dag {self.dag!r}; choose one of: {', '.join(DAG_MODES)}")
        require(self.dag_every > 0, f"dag_every must be a positive integer, got {self.dag_every}")
        require(self.dag_rho_max >= self.dag_rho, f"dag_rho_max must be >= dag_rho, got {self.dag_rho_max}")
        require(self.dag_tol >= 0 and self.dag_loss_tol >= 0,
                f"dag_tol and dag_loss_tol must be >= 0, got {self.dag_tol}, {self.dag_loss_tol}")


def check_adjacency(adjacency, concepts: int) -> np.ndarray:
    """A (C, C) array of 0/1 (A[j, i] = 1 for j → i) without a directed cycle, or a one-line ValueError."""
    a = np.asarray(adjacency, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"an adjacency matrix must be square (C, C), got shape {a.shape}")
    if a.shape[0] != concepts:
        raise ValueError(f"the adjacency has {a.shape[0]} concepts, the model {concepts}")
    if not is_dag(a != 0):
        raise ValueError("the adjacency has a directed cycle: a causal graph must be acyclic (a DAG)")
    return a


class ConceptMLPs(nn.Module):
    """C small MLPs applied block-wise, one per concept: (B, C, k) -> (B, C, k), k -> hidden -> k (ELU)."""

    def __init__(self, concepts: int, width: int, hidden: int = 32):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(concepts, width, hidden) / width ** 0.5)
        self.b1 = nn.Parameter(torch.zeros(concepts, hidden))
        self.w2 = nn.Parameter(torch.randn(concepts, hidden, width) / hidden ** 0.5)
        self.b2 = nn.Parameter(torch.zeros(concepts, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.elu(torch.einsum("bck,ckh->bch", x, self.w1) + self.b1)
        return torch.einsum("bch,chk->bck", h, self.w2) + self.b2


_DISCOVERED: dict[str, np.ndarray] = {}     # dataset name -> its discovered graph, in this process


def discovered_graph(dataset, labels: np.ndarray) -> np.ndarray:
    """The graph ``discover_graph`` finds in the labels (N, C) of the dataset's training scenes (its held-out
    scenes are never read); cached per dataset name in the process (discovery takes seconds)."""
    name = getattr(dataset, "name", type(dataset).__name__)
    if name not in _DISCOVERED:
        _DISCOVERED[name], _ = discover_graph(labels[part_index(dataset, "train")])
    return _DISCOVERED[name].astype(np.float64)


class CausalVAE(Backbone):
    name = "causal_vae"
    Params = CausalVAEParams
    config_defaults = {"lr": 1e-3}    # the official code's Adam
    # its schedule: 101 epochs of the train split in batches of 64 (run_pendulum.py / run_flow.py, epoch_max=101):
    # Pendulum ceil(5,482 / 64) = 86 batches an epoch -> 8,686 steps; Flow ceil(6,480 / 64) = 102 -> 10,302
    dataset_defaults = {name: {"steps": 101 * steps} for names, steps in ((("pendulum", "pendulum64"), 86),
                                                                           (("flow", "flow64"), 102)) for name in names}
    supervised = True                 # the concept labels: trained on the train split, scored on the held-out one
    representation_name = "causal-layer concepts z = (I - A^T)^-1 mu(x)"

    def __init__(self, params: CausalVAEParams, dataset):
        super().__init__()
        self.params = p = params
        names, table, adjacency = self.concepts_of(dataset)
        self.concept_names = names
        c = len(names)
        if p.latent_dim % c:
            raise ValueError(f"latent_dim={p.latent_dim} does not split into {c} concepts of equal size: "
                             f"choose a multiple of {c} (e.g. {4 * c})")
        self.concepts, self.k = c, p.latent_dim // c
        self.true_graph = check_adjacency(adjacency, c)
        self.encoder, self.decoder = build_vae_nets(p.net, dataset.observation_shape, p.latent_dim)
        start = self.true_graph if p.init_graph else \
            check_adjacency(dataset.authors_initial_graph, c) if p.init_authors else \
            discovered_graph(dataset, table) if p.init_discovered else np.zeros((c, c))
        self.A = nn.Parameter(torch.tensor(start, dtype=torch.float32))
        self.mask = ConceptMLPs(c, self.k)             # g_i: concept i from its parents' latents
        self.mask_u = ConceptMLPs(c, 1)                # g^u_i: label i from its parents' labels
        self.register_buffer("dag_lambda", torch.tensor(p.dag_lambda))
        self.register_buffer("dag_rho", torch.tensor(p.dag_rho))
        self.register_buffer("dag_h_last", torch.tensor(float("inf")))        # the last accepted window mean h
        self.register_buffer("dag_loss_last", torch.tensor(float("inf")))     # the previous window's mean loss
        self.register_buffer("dag_window", torch.zeros(3, dtype=torch.float64))   # this window: Σh, Σloss, steps
        # the normalised concept value of every factor combination, looked up by flat index (not checkpointed)
        self.register_buffer("labels", torch.as_tensor(table, dtype=torch.float32), persistent=False)
        strides = np.cumprod([1, *dataset.factor_sizes[::-1]])[:-1][::-1].copy()
        self.register_buffer("strides", torch.as_tensor(strides, dtype=torch.long), persistent=False)
        self.reconstruction = p.reconstruction

    @staticmethod
    def concepts_of(dataset) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
        """(names, labels u (N, C), true adjacency) of a dataset with concepts.  u = (c − offset) / scale with the
        authors' fixed offsets and scales where the dataset has them (``label_scaling``: Pendulum, Flow), else
        the concept z-scored over the dataset (the shadows toy)."""
        if not hasattr(dataset, "concepts") or not hasattr(dataset, "adjacency"):
            raise ValueError(f"CausalVAE needs a dataset with concept labels and a causal graph (pendulum, flow); "
                             f"{getattr(dataset, 'name', type(dataset).__name__)} has none")
        values = np.asarray(dataset.concepts(dataset.index_to_factors(np.arange(len(dataset)))), dtype=np.float64)
        names = tuple(dataset.concept_names)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ValueError(f"the dataset's concept labels have shape {values.shape}; expected (N, {len(names)}), "
                             f"one column per concept {names}")
        scaling = getattr(dataset, "label_scaling", None)
        if scaling is not None:
            offset, scale = np.array([scaling[n] for n in names], dtype=np.float64).T      # (C,), (C,)
            return names, (values - offset) / scale, np.asarray(dataset.adjacency)
        std = values.std(0)
        return names, (values - values.mean(0)) / np.where(std > 0, std, 1.0), np.asarray(dataset.adjacency)

    @classmethod
    def build(cls, config, dataset) -> "CausalVAE":
        return cls(config.backbone, dataset)

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        if not hasattr(dataset, "concept_names") or not hasattr(dataset, "adjacency"):
            raise ValueError(f"--model causal_vae needs a dataset with concepts and a causal graph: pendulum or flow "
                             f"(got {getattr(dataset, 'name', '') or dataset.__name__})")
        c = len(dataset.concept_names)
        if config.backbone.latent_dim % c:
            raise ValueError(f"causal_vae.latent_dim={config.backbone.latent_dim} does not split into the dataset's {c} "
                             f"concepts: choose a multiple of {c} (e.g. {4 * c})")
        check_adjacency(dataset.adjacency, c)
        starts = [name for name in ("init_graph", "init_authors", "init_discovered") if getattr(config.backbone, name)]
        if len(starts) > 1:
            raise ValueError(f"causal_vae.{' and causal_vae.'.join(starts)} are different starts for A: choose one")
        if config.backbone.init_authors and getattr(dataset, "authors_initial_graph", None) is None:
            raise ValueError(f"causal_vae.init_authors: the official code's start is defined for pendulum and flow, "
                             f"not {getattr(dataset, 'name', '?')}")
        scenes = int(np.prod(dataset.factor_sizes))
        if config.backbone.init_discovered and scenes < MIN_LABELS:
            raise ValueError(f"causal_vae.init_discovered needs at least {MIN_LABELS} labelled scenes to discover a "
                             f"graph from; {getattr(dataset, 'name', '?')} has {scenes} — use init_graph or learn A from zero")
        notes = []
        if config.backbone.init_discovered:
            notes.append("causal_vae.init_discovered=true: A starts at the graph discovered from the training scenes' "
                         "concept labels by the independence of its noises (models/discovery.py), not the true graph")
        elif config.backbone.init_graph or config.backbone.init_authors:
            notes.append(f"causal_vae.{'init_graph' if config.backbone.init_graph else 'init_authors'}=true: A starts "
                         f"at {'the true graph' if config.backbone.init_graph else 'the official code start'}; the "
                         f"learned graph then says little about discovering it")
        return notes

    # ---- the structural causal model -------------------------------------------------------------
    def label_of(self, factors: torch.Tensor) -> torch.Tensor:
        """factors (B, K) int -> normalised concept labels u (B, C)."""
        if factors is None:
            raise ValueError("CausalVAE is supervised by concept labels: the batch has no factors")
        return self.labels[(factors.long() * self.strides).sum(1)]

    def adjacency(self) -> torch.Tensor:
        """A with its diagonal masked: no concept causes itself (else the label reconstruction g^u_i(A_ii u_i)
        could read u_i through a self-loop instead of from its parents)."""
        return self.A * (1 - torch.eye(self.concepts, device=self.A.device, dtype=self.A.dtype))

    def causal(self, eps: torch.Tensor) -> torch.Tensor:
        """ε (B, C, k) -> z = (I − Aᵀ)⁻¹ ε (B, C, k)."""
        eye = torch.eye(self.concepts, device=eps.device, dtype=eps.dtype)
        return torch.linalg.solve(eye - self.adjacency().t().to(eps.dtype), eps)

    def masked(self, z: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """z, ε (B, C, k) -> f_i = g_i(A_iᵀ ∘ z) + ε_i (B, C, k)."""
        parents = torch.einsum("ji,bjk->bik", self.adjacency().to(z.dtype), z)   # row i: Σ_j A[j, i] z_j
        return self.mask(parents) + eps

    def intervene(self, eps: torch.Tensor, concept, value: float) -> torch.Tensor:
        """do(concept = value) with the exogenous ε (B, C, k) held -> the latents f (B, C, k) the decoder sees:
        the concept's z block set to ``value``, its descendants recomputed through A, the rest unchanged."""
        i = self.concept_index(concept)
        eye = torch.eye(self.concepts, device=eps.device, dtype=eps.dtype)
        at = self.adjacency().t().to(eps.dtype).clone()
        at[i] = 0                                                           # no parents under do()
        eps_do = eps.clone()
        eps_do[:, i] = value
        z = torch.linalg.solve(eye - at, eps_do)                            # z_i = value, descendants follow
        f = self.masked(z, eps)
        f[:, i] = value
        return f

    def concept_index(self, concept) -> int:
        if isinstance(concept, str):
            if concept not in self.concept_names:
                raise ValueError(f"unknown concept {concept!r}; choose one of: {', '.join(self.concept_names)}")
            return self.concept_names.index(concept)
        if not 0 <= int(concept) < self.concepts:
            raise ValueError(f"concept index {concept} is out of range 0..{self.concepts - 1} ({', '.join(self.concept_names)})")
        return int(concept)

    # ---- training ----------------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        return [Phase("main", list(self.parameters()), self._loss)]

    def _update_dag(self, step: int) -> None:
        """The augmented Lagrangian's outer step at the end of each window of ``dag_every`` steps (models/dag.py)."""
        p = self.params
        if p.dag != "lagrangian" or step == 0 or step % p.dag_every or self.dag_window[2] == 0:
            return
        h_sum, loss_sum, n = self.dag_window.tolist()
        lam, rho, h_last, _ = lagrangian_update(
            h_sum / n, loss_sum / n, float(self.dag_loss_last), float(self.dag_h_last), float(self.dag_lambda),
            float(self.dag_rho), h_tol=p.dag_tol, loss_tol=p.dag_loss_tol, rho_max=p.dag_rho_max)
        for buffer, value in ((self.dag_lambda, lam), (self.dag_rho, rho), (self.dag_h_last, h_last),
                              (self.dag_loss_last, loss_sum / n)):
            buffer.fill_(value)
        self.dag_window.zero_()

    def _load_from_state_dict(self, state, prefix, *args, **kwargs):
        for name, value in (("dag_loss_last", float("inf")), ("dag_window", 0.0)):   # runs from before the windows
            state.setdefault(prefix + name, torch.full_like(getattr(self, name), value))
        super()._load_from_state_dict(state, prefix, *args, **kwargs)

    def _loss(self, batch: Batch):
        p = self.params
        u = self.label_of(batch.factors)                                    # (B, C)
        if u.shape[1] != self.concepts:
            raise ValueError(f"labels of width {u.shape[1]} for {self.concepts} concepts")
        with torch.no_grad():
            self._update_dag(batch.step)
        mu, logvar = (t.float() for t in self.encoder(batch.x))             # (B, C·k)
        noise = torch.randn(mu.shape, generator=batch.generator, device=mu.device, dtype=mu.dtype)
        eps = (mu + torch.exp(0.5 * logvar) * noise).view(-1, self.concepts, self.k)
        z = self.causal(eps)
        f = self.masked(z, eps)
        recon = reconstruction_loss(self.decoder(f.flatten(1)).float(), batch.x, self.reconstruction)
        prior = u[:, :, None].expand_as(z)                                  # N(u_i, I) per concept block
        kl_eps = 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1).mean()
        kl_z = 0.5 * (z - prior).pow(2).sum((1, 2)).mean()
        kl_f = 0.5 * (f - prior).pow(2).sum((1, 2)).mean()
        u_parents = torch.einsum("ji,bj->bi", self.adjacency(), u)[:, :, None]   # (B, C, 1)
        label = (self.mask_u(u_parents)[:, :, 0] - u).pow(2).mean()
        h = acyclicity(self.adjacency())
        loss = recon + p.alpha * kl_eps + p.beta * (kl_z + kl_f) + p.gamma * label \
            + self.dag_lambda * h + 0.5 * self.dag_rho * h * h
        if p.dag == "lagrangian":
            with torch.no_grad():          # this window's sums for the outer step (_update_dag)
                self.dag_window += torch.stack([h.detach(), loss.detach(), torch.ones_like(h)]).to(self.dag_window)
        return loss, {"loss": loss, "recon": recon, "kl": kl_eps, "kl_z": kl_z, "kl_f": kl_f, "label": label,
                      "h_A": h.detach(), "dag_lambda": self.dag_lambda.clone(), "dag_rho": self.dag_rho.clone()}

    # ---- evaluation --------------------------------------------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        mu = self.encoder(x)[0].float().view(-1, self.concepts, self.k)
        return self.causal(mu).flatten(1)

    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """images -> their exogenous means μ(x) (N, C·k)."""
        return self.encoder(images)[0].float()

    def axes(self, images: torch.Tensor, *, steps: int = 9, limit: float = 2.0) -> list[Axis]:
        """Per concept: the plain traversal, then the intervention, over linspace(-limit, limit) in label units."""
        values = np.linspace(-limit, limit, steps)
        labels = tuple(f"{v:+.1f}" for v in values)
        out = []
        for i, name in enumerate(self.concept_names):
            block = slice(i * self.k, (i + 1) * self.k)
            out.append(Axis(name, block, values, "set", labels))
            out.append(Axis(f"do({name})", block, values, "set", labels, intervene=True))
        return out

    def decode(self, points: torch.Tensor) -> torch.Tensor:
        """ε (B, C·k) -> images, through the causal and mask layers."""
        eps = points.view(-1, self.concepts, self.k)
        return torch.sigmoid(self.decoder(self.masked(self.causal(eps), eps).flatten(1))).float()

    @torch.no_grad()
    def traverse(self, points: torch.Tensor, axis: Axis, batch: int = 1024) -> torch.Tensor:
        """A concept's plain traversal (its block of f set, nothing else) or its intervention (``axis.intervene``)."""
        i = axis.columns.start // self.k
        eps = points.view(-1, self.concepts, self.k)
        rows = []
        for v in np.asarray(axis.values, dtype=np.float64):
            if axis.intervene:
                f = self.intervene(eps, i, float(v))
            else:
                f = self.masked(self.causal(eps), eps)
                f[:, i] = float(v)
            rows.append(torch.sigmoid(self.decoder(f.flatten(1))).float())
        return torch.stack(rows, 1)                                         # (N, S, C, H, W)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.anchors(images))

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        eps = torch.randn(n, self.params.latent_dim, generator=generator).to(self.A.device)
        return self.decode(eps)

    def graph(self) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """(learned A, true adjacency, concept names)."""
        return self.adjacency().detach().cpu().numpy(), self.true_graph, self.concept_names

    def describe(self) -> str:
        start = "from the true graph" if self.params.init_graph else \
            "from the official code's start" if self.params.init_authors else "learned from zero"
        return (f"{self.concepts} concepts × {self.k} dims · graph {start}"
                f" · DAG {self.params.dag}")
