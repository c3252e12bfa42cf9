"""The behavioural hypercoder (Dezfouli, Ashtiani, Ghattas, Nock, Dayan & Ong, NeurIPS 2019, "Disentangled
behavioural representations"): each subject's sequence of choices and rewards is encoded into a code z, and a
hypernetwork turns z into the weights of a small recurrent learner that must predict that subject's choices.

Loss (the paper's Eq. 1-4; the constants of the authors' synthetic experiment, adezfouli/rnn_hypercoder,
``mmdae_enc.py``, ``dec.py``, ``base_opt.py``, ``SYNTH.py``; facts only, written here):

    L = L_RE + β L_DIS + h L_SEP
    L_RE  = mean over subjects of -Σ_t log(π_t(a_t) + 1e-4)          the learner's choice likelihood
    L_DIS = 50 · max(MMD(z, N(0, I)), 1e-4) + KL(N(mean z, cov z) ‖ N(0, I))     over the batch's codes
    L_SEP = mean over subjects and pairs i < j of |∂²Σ_t (logit_t,0 - logit_t,1) / ∂z_i ∂z_j|

L_DIS ("disentanglement") makes the batch's codes look like independent standard normals: a kernel two-sample
distance to 3,000 prior draws (a sum of Gaussian kernels exp(-d²/(2s)) over s in 1e-6 .. 1e6, the authors'
list) plus the KL of a full-covariance Gaussian fitted to the batch, which penalises correlated codes.
L_SEP ("separation") asks that the effect of one latent on the learner's choice preference does not depend on
another: zero mixed second derivatives.  Training follows the authors' two stages:

1. ``stage1_steps`` steps of everything on L_RE + β L_DIS with Adam at lr (1e-3), ``lr_drop`` times smaller
   from step ``lr_drop_step`` on (their 5,000);
2. then cycles of 50 steps of the hypernetwork alone on L_RE + β L_DIS + h L_SEP and 200 steps of the encoder
   alone on L_RE + β L_DIS, each with its own Adam at ``align_lr`` (1e-4).

Every update clips the global gradient norm at 1.  Each batch flips the two arms' labels of a random half of the
subjects, separately for what the encoder and the learner read (the authors' augmentation: which arm is which
carries no information about the subject, so z must not depend on it).

Where we differ from the authors: fresh subjects every batch (``data/bandit.py``) instead of passes over one
fixed set of ~1,000; three latents for our three factors (their synthetic experiment varied two: β and κ);
the encoder's summary reads the backward LSTM after the whole sequence (``nets/behaviour.py``); shorter stages
by default (their runs: ~30k steps of stage 1 and ~56k of stage 2) — ``stage1_steps`` and the run's ``steps``
set them.  Losses run in float32 whatever the run's precision (second derivatives through 150 recurrent steps).

What the metrics score: z.  What a user turns: each latent, from the codes of subjects, over ±2 (the prior's
scale); decoding a point *simulates* behaviour: the learner with the hypernetwork's weights for that point plays
the dataset's bandit (``data/bandit.py``'s task), so a traversal is behaviour as one latent is turned.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..data.bandit import ARM_PROBABILITIES
from ..nets.behaviour import LearnerWeights, SequenceEncoder, gru_step, learner_logits, previous_inputs
from ..params import Params, require
from .base import Axis, Backbone, Batch, Phase

EPSILON = 1e-4                     # added to the choice probability inside the log (the authors')
MMD_SCALES = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 5, 10, 15, 20, 25, 30, 35, 100, 1e3, 1e4, 1e5, 1e6)
DECODER_STEPS, ENCODER_STEPS = 50, 200       # one stage-2 cycle


@dataclass(frozen=True)
class HypercoderParams(Params):
    latent_dim: int = 3                  # one per factor of the bandit agents
    encoder_cells: int = 50              # LSTM cells each way
    learner_cells: int = 3               # the GRU learner's cells
    beta: float = 1.0                    # weight of L_DIS (0: the model without the disentanglement term)
    mmd_weight: float = 50.0             # the MMD's weight inside L_DIS
    prior_samples: int = 3000            # N(0, I) draws the MMD compares the codes with
    separation: float = 1.0              # h: weight of L_SEP in stage 2 (0: no separation term)
    stage1_steps: int = 6000             # stage 1 length; stage 2 runs from here to the run's steps
    lr_drop_step: int = 5000             # stage 1's lr falls by lr_drop from here
    lr_drop: float = 10.0
    align_lr: float = 1e-4               # stage 2's learning rate (both optimisers)
    clip_norm: float = 1.0               # global gradient norm clip of every update (0: none)
    flip_arms: bool = True               # the authors' augmentation

    def validate(self) -> None:
        for name in ("latent_dim", "encoder_cells", "learner_cells", "prior_samples"):
            require(getattr(self, name) > 0, f"{name} must be a positive integer, got {getattr(self, name)}")
        for name in ("beta", "mmd_weight", "separation", "stage1_steps", "lr_drop_step", "clip_norm"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")
        require(self.lr_drop >= 1, f"lr_drop must be >= 1 (the factor lr falls by), got {self.lr_drop}")
        require(self.align_lr > 0, f"align_lr must be > 0, got {self.align_lr}")


def multi_kernel_mmd(prior: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Squared MMD of prior draws (M, D) ~ N(0, I) and codes z (N, D) under the kernel Σ_s exp(-‖a - b‖² / (2 s))
    over ``MMD_SCALES`` (Gretton et al. 2012's biased estimator, as the authors' code), floored at 0.

    The prior-prior term carries no gradient; where the authors average the kernel over the M² pairs of their
    draws (19 x 3000² exponentials a step), we take that average's expectation: 1/M from the M diagonal pairs and,
    since a - b ~ N(0, 2I) for two independent draws, (1 - 1/M) (s / (s + 2))^(D/2) from the others."""
    scales = torch.tensor(MMD_SCALES, dtype=z.dtype, device=z.device)
    m, d = prior.shape

    def kernel(a, b):
        d2 = torch.cdist(a, b).pow(2)                                            # (N, M)
        return torch.exp(-d2[None] / (2 * scales[:, None, None])).sum(0)
    prior_term = (1.0 / m + (1.0 - 1.0 / m) * (scales / (scales + 2.0)).pow(d / 2.0)).sum()
    return (prior_term + kernel(z, z).mean() - 2 * kernel(prior, z).mean()).clamp_min(0)


def batch_gaussian_kl(z: torch.Tensor) -> torch.Tensor:
    """KL(N(mean z, cov z + 1e-6 I) ‖ N(0, I)) of the batch's codes z (B, D) (unbiased covariance)."""
    d = z.shape[1]
    mean = z.mean(0)
    centred = z - mean
    cov = centred.T @ centred / (len(z) - 1) + 1e-6 * torch.eye(d, dtype=z.dtype, device=z.device)
    return 0.5 * (torch.trace(cov) + mean @ mean - d - torch.logdet(cov))


def separation_loss(z: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """L_SEP: mean over subjects and latent pairs i < j of |∂²Σ_t (logit_t,0 - logit_t,1) / ∂z_i ∂z_j|, from
    logits (B, T + 1, 2) computed from z (B, D) (each subject's logits depend on its own z only, so the
    derivatives of the batch's sum are each subject's own)."""
    d = z.shape[1]
    if d < 2:
        return z.new_zeros(())
    preference = (logits[..., 0] - logits[..., 1]).sum()
    grad = torch.autograd.grad(preference, z, create_graph=True)[0]                 # (B, D)
    mixed = [torch.autograd.grad(grad[:, i].sum(), z, create_graph=True)[0][:, i + 1:] for i in range(d - 1)]
    return torch.cat(mixed, 1).abs().mean()


class Hypercoder(Backbone):
    name = "hypercoder"
    Params = HypercoderParams
    config_defaults = {"lr": 1e-3, "batch_size": 128, "steps": 10000, "log_every": 50}
    representation_name = "codes z"

    def __init__(self, params: HypercoderParams, observation_shape: tuple[int, int, int], lr: float = 1e-3):
        super().__init__()
        self.params = p = params
        self.lr = lr
        self.actions = observation_shape[2] - 1                                  # (1, T, A + 1): one-hot + reward
        self.trials = observation_shape[1]
        self.encoder = SequenceEncoder(1 + self.actions, p.latent_dim, p.encoder_cells)
        self.hypernet = LearnerWeights(p.latent_dim, 1 + self.actions, self.actions, p.learner_cells)

    @classmethod
    def build(cls, config, dataset) -> "Hypercoder":
        return cls(config.backbone, dataset.observation_shape, lr=config.lr)

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        shape = tuple(dataset.observation_shape)
        if not getattr(dataset, "sequences", False) or len(shape) != 3 or shape[0] != 1 or shape[2] < 3:
            raise ValueError(f"--model hypercoder reads choice sequences (1, trials, actions + 1), as "
                             f"--dataset bandit gives; {dataset.name} gives {shape}")
        return []

    # ---- training ---------------------------------------------------------------------------------
    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 1, T, A + 1) -> (one-hot actions (B, T, A), rewards (B, T))."""
        return x[:, 0, :, :self.actions].float(), x[:, 0, :, self.actions].float()

    def _flip(self, actions: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        """Swap the arms' labels of a random half of the subjects (two actions; more: a random permutation)."""
        if not self.params.flip_arms:
            return actions
        draw = torch.rand(len(actions), generator=generator, device=generator.device if generator else None)
        flip = (draw.to(actions.device) < 0.5)[:, None, None]
        return torch.where(flip, actions.flip(-1), actions)

    def terms(self, batch: Batch, decoder_only: bool = False) -> dict[str, torch.Tensor]:
        """The loss terms of a batch: L_RE, L_DIS (and its parts); with ``decoder_only`` (stage 2's hypernetwork
        steps) the encoder runs without gradients — L_DIS is then a constant, logged — and L_SEP is added."""
        p = self.params
        with torch.autocast(batch.x.device.type, enabled=False):
            actions, rewards = self.split(batch.x)
            seen, target = self._flip(actions, batch.generator), self._flip(actions, batch.generator)
            encoder_grad = torch.is_grad_enabled() and not decoder_only
            with torch.set_grad_enabled(encoder_grad):
                z = self.encoder(previous_inputs(seen, rewards))                                      # (B, D)
            z_learner = z.requires_grad_(True) if decoder_only else z   # the learner's derivatives in z
            logits = learner_logits(self.hypernet(z_learner), previous_inputs(target, rewards))   # (B, T + 1, A)
            probs = torch.softmax(logits[:, :-1], -1)
            recon = -torch.log((probs * target).sum(-1) + EPSILON).sum(1).mean()
            with torch.set_grad_enabled(encoder_grad):
                prior = torch.randn(p.prior_samples, z.shape[1], generator=batch.generator,
                                    device=batch.generator.device if batch.generator else None).to(z)
                mmd = p.mmd_weight * multi_kernel_mmd(prior, z).clamp_min(1e-4)
                kl = batch_gaussian_kl(z)
            out = {"recon": recon, "mmd": mmd, "batch_kl": kl, "dis": mmd + kl}
            if decoder_only and p.separation > 0:
                out["sep"] = separation_loss(z_learner, logits)
        return out

    def phases(self) -> list[Phase]:
        p = self.params
        s1 = p.stage1_steps
        clip = p.clip_norm or None

        def stage1(batch: Batch):
            t = self.terms(batch)
            loss = t["recon"] + p.beta * t["dis"]
            return loss, {"loss": loss, **t}

        def decoder(batch: Batch):
            t = self.terms(batch, decoder_only=True)
            loss = t["recon"] + p.beta * t["dis"] + p.separation * t.get("sep", 0.0)
            return loss, {"loss": loss, **t}

        def in_cycle(step: int) -> int:
            return (step - s1) % (DECODER_STEPS + ENCODER_STEPS)

        return [
            Phase("stage1", list(self.parameters()), stage1, active=lambda step: step < s1, clip_norm=clip,
                  lr=lambda step: self.lr / (p.lr_drop if step >= p.lr_drop_step else 1.0)),
            Phase("decoder", list(self.hypernet.parameters()), decoder, clip_norm=clip,
                  active=lambda step: step >= s1 and in_cycle(step) < DECODER_STEPS, lr=lambda step: p.align_lr),
            Phase("encoder", list(self.encoder.parameters()), stage1, clip_norm=clip,
                  active=lambda step: step >= s1 and in_cycle(step) >= DECODER_STEPS, lr=lambda step: p.align_lr),
        ]

    # ---- evaluation and what a user turns ---------------------------------------------------------
    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, 1, T, A + 1) -> z (B, D)."""
        actions, rewards = self.split(x)
        return self.encoder(previous_inputs(actions, rewards)).float()

    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        return self.representation(images)

    def axes(self, images: torch.Tensor, *, steps: int = 9) -> list[Axis]:
        """Each latent over ±2 around the anchors (the prior's scale), ordered by its spread over ``images``."""
        with torch.no_grad():
            spread = self.representation(images).std(0).cpu().numpy()                  # (D,)
        values = np.linspace(-2.0, 2.0, steps)
        out = [Axis(f"z{d}", slice(d, d + 1), values, "shift", tuple(f"{v:+.1f}" for v in values),
                    amount=float(spread[d]), amount_name="sd", active=bool(spread[d] > 0.05))
               for d in range(len(spread))]
        return sorted(out, key=lambda a: -a.amount)

    @torch.no_grad()
    def policy(self, points: torch.Tensor, actions: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """The learners of codes (B, D) on given histories: choice probabilities (B, T, A) of each trial."""
        logits = learner_logits(self.hypernet(points.float()), previous_inputs(actions, rewards))
        return torch.softmax(logits[:, :-1], -1)

    @torch.no_grad()
    def decode(self, points: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """points (B, D) -> simulated subjects (B, 1, T, A + 1): each learner plays the bandit task (which arm
        pays 0.5 and which 0.1 drawn per subject; a fixed seed unless ``generator`` is given)."""
        gen = generator or torch.Generator(device="cpu").manual_seed(0)
        b, a = len(points), self.actions
        weights = self.hypernet(points.float())
        better = torch.randint(a, (b,), generator=gen)
        p_reward = torch.full((b, a), ARM_PROBABILITIES[1])
        p_reward[torch.arange(b), better] = ARM_PROBABILITIES[0]
        h = points.new_zeros(b, self.params.learner_cells).float()
        x = points.new_zeros(b, 1 + a).float()
        out = torch.zeros(b, 1, self.trials, 1 + a)
        for t in range(self.trials):
            h = gru_step(weights, x, h)
            probs = torch.softmax(torch.einsum("bh,bha->ba", h, weights["w_out"]), -1).cpu()
            choice = torch.multinomial(probs, 1, generator=gen)[:, 0]                     # (B,)
            reward = (torch.rand(b, generator=gen) < p_reward[torch.arange(b), choice]).float()
            out[torch.arange(b), 0, t, choice] = 1.0
            out[:, 0, t, a] = reward
            x = torch.cat([reward[:, None], F.one_hot(choice, a).float()], 1).to(points.device)
        return out.to(points.device)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """The learner's predicted choice probabilities on each subject's own history, drawn as a sequence:
        (N, 1, T, A + 1) with the probabilities in the action columns and the real rewards."""
        actions, rewards = self.split(images)
        probs = self.policy(self.representation(images), actions, rewards)
        return torch.cat([probs, rewards[..., None]], -1)[:, None]

    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        z = torch.randn(n, self.params.latent_dim, generator=generator)
        return self.decode(z.to(next(self.parameters()).device), generator)

    def describe(self) -> str:
        p = self.params
        return (f"{p.latent_dim} latents; BiLSTM {p.encoder_cells}x2 encoder; GRU({p.learner_cells}) learner from a "
                f"hypernetwork; β {p.beta:g}, h {p.separation:g}")

