"""The diffusion autoencoder backbone: an encoder's code conditions a denoising U-Net; decoding a code from a
fixed starting noise through deterministic DDIM turns it back into an image.

Two conditionings (``diffusion_ae.conditioning``), both on diffusers' ``UNet2DModel`` (``nets/unet.py``):

- ``diffae`` (Preechakul et al. 2022, "Diffusion Autoencoders", CVPR): z_sem = Enc(x) (B, D) enters every
  residual block through AdaGN, h = (1 + c) ⊙ ((1 + t_s) ⊙ GN(h) + t_b), c = Linear(SiLU(z_sem)) (Eq. 8).
  Loss: the DDPM ε-prediction loss E‖ε_θ(x_t, t, z_sem) − ε‖² (Eq. 6; Ho et al. 2020, Eq. 14), linear β.
- ``fdae`` (Wu & Zheng 2024, "Factorized Diffusion Autoencoder", AAAI): the encoder gives N concept codes,
  each a content code c_n (D / N) and a mask code m_n; masks M = softmax_n(G(m_n)) (B, N, H, W); the
  condition map Σ_n M_n ⊙ W_n c_n (B, C0, H, W) is added after the U-Net's first convolution (Eq. 3-4).
  Loss: the EDM denoising loss (Karras et al. 2022, Eq. 2 with Table 1's preconditioning, ln σ ~
  N(−1.2, 1.2²), λ(σ) = (σ² + σ_d²) / (σ σ_d)²; the network sees 1000 · ¼ ln σ as FDAE's code does) plus
  ``decorrelation`` · mean_{g≠h} |⟨ĉ_g, ĉ_h⟩| (the batch-centred, per-sample-normalised content codes of
  each pair of groups, / N², as FDAE's code) plus ``mask_entropy`` · mean_pixels H(M) (Sec. 3.3).

``loss=auto`` takes each paper's loss; ``epsilon`` / ``edm`` choose one for either conditioning.  Decoding
is deterministic: DDIM with η = 0 (Song et al. 2021, Eq. 12) over ``ddim_steps`` of diffusers'
``DDIMScheduler`` for ε-prediction, and for EDM the Euler steps of diffusers' ``EDMEulerScheduler`` with no
churn — DDIM is that Euler solver of the probability-flow ODE in σ (Karras et al. 2022, Sec. 3).  The
starting noise x_T is one image fixed by ``noise_seed`` and shared by every point, so a traversal changes
only the code.  Reconstructions decode the code from that fixed noise (DiffAE's x_T inferred by inverting
DDIM is not used), so they show what the code carries.

The representation the metrics score is the encoder's whole code: z_sem (DiffAE); the N content codes then
the N mask codes (FDAE), as FDAE's own evaluation scores both — ``representation_groups`` gives their
widths for the vector-wise protocol (``metrics/vector_wise.py``; ``disentangle evaluate --protocol
vector_wise``).  On the glyphs toy the content codes turn the glyph's shape and one mask code its position
(turning each and reading the decodes, ``benchmarks/diffusion_toy.py``; DCI-D of the content codes alone
0.08, of the whole code 0.54-0.58, seeds 0-1 at 3000 steps), so leaving the masks out would drop the position.
What a user turns: each dimension of z_sem (DiffAE); each concept's content code and each concept's mask code
along its first principal direction over the data (FDAE: one axis per group, "concept n" and "mask n", its
values (S, width) displacement vectors: a mask code says where its concept acts).  Both shift by
linspace(−limit, limit) standard deviations and are ordered by that standard deviation.
``sample`` draws codes from a diagonal Gaussian of the training codes' running moments (DiffAE trains a
latent DDIM for that instead) and decodes them from fresh noise.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Iterator, Optional

import numpy as np
import torch
from torch import nn

from ..errors import UserError
from ..nets import unet as nets
from ..params import Params, require
from .base import Axis, Backbone, Batch, Phase

CONDITIONINGS = ("diffae", "fdae")
LOSSES = ("auto", "epsilon", "edm")
SIGMA_DATA, P_MEAN, P_STD, SIGMA_MIN, SIGMA_MAX = 0.5, -1.2, 1.2, 0.002, 80.0   # EDM, Karras et al. 2022 Table 1
MOMENTUM = 0.01                                                                   # running code moments


@dataclass(frozen=True)
class DiffusionAEParams(Params):
    conditioning: str = "diffae"      # diffae (AdaGN) | fdae (content + mask codes -> condition map)
    code_dim: int = 16                # DiffAE: z_sem (512 in the paper); FDAE: N content codes of code_dim / N
    concepts: int = 4                 # FDAE: N (6 on Shapes3D)
    mask_dim: int = 8                 # FDAE: the width of each mask code (80 in FDAE's code)
    loss: str = "auto"                # auto (diffae: epsilon, fdae: edm) | epsilon | edm
    train_timesteps: int = 1000       # epsilon: T of the DDPM schedule
    ddim_steps: int = 20              # U-Net calls per decode
    unet_channels: tuple[int, ...] = (32, 64, 64)   # one width per level
    layers_per_block: int = 1
    norm_groups: int = 8
    attention: bool = False           # self-attention at the lowest level and in the middle block
    decorrelation: float = 2.5e-5     # FDAE: content decorrelation weight
    mask_entropy: float = 1e-4        # FDAE: mask entropy weight
    noise_seed: int = 0               # the fixed x_T of decoding

    def validate(self) -> None:
        require(self.conditioning in CONDITIONINGS,
                f"unknown conditioning {self.conditioning!r}; choose one of: {', '.join(CONDITIONINGS)}")
        require(self.loss in LOSSES, f"unknown loss {self.loss!r}; choose one of: {', '.join(LOSSES)}")
        for name in ("code_dim", "concepts", "mask_dim", "train_timesteps", "ddim_steps", "layers_per_block",
                     "norm_groups"):
            require(getattr(self, name) > 0, f"{name} must be a positive integer, got {getattr(self, name)}")
        require(self.ddim_steps <= self.train_timesteps,
                f"ddim_steps={self.ddim_steps} must be at most train_timesteps={self.train_timesteps}")
        require(self.conditioning != "fdae" or self.code_dim % self.concepts == 0,
                f"concepts={self.concepts} does not divide code_dim={self.code_dim} into equal content codes: "
                f"choose code_dim a multiple of {self.concepts} (e.g. {4 * self.concepts})")
        for name in ("decorrelation", "mask_entropy"):
            require(getattr(self, name) >= 0, f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def objective(self) -> str:
        return self.loss if self.loss != "auto" else ("edm" if self.conditioning == "fdae" else "epsilon")


def decorrelation_loss(content: torch.Tensor) -> torch.Tensor:
    """content (B, N, k) -> mean over pairs g ≠ h of |Σ_b ⟨u_gb, u_hb⟩|, u the batch-centred codes normalised per
    sample and group, / N (FDAE's content decorrelation)."""
    n = content.shape[1]
    u = nn.functional.normalize(content - content.mean(0, keepdim=True), dim=2) / n     # (B, N, k)
    flat = u.permute(1, 0, 2).reshape(n, -1)                                           # (N, B·k)
    gram = (flat @ flat.t()).abs()                                                     # (N, N)
    off = 1 - torch.eye(n, device=content.device, dtype=gram.dtype)
    return (gram * off).sum() / off.sum().clamp(min=1)


def mask_entropy_loss(masks: torch.Tensor) -> torch.Tensor:
    """masks (B, N, H, W), summing to 1 over N -> the mean per-pixel entropy (nats)."""
    return -(masks * torch.log(masks + 1e-20)).sum(1).mean()


class DiffusionAE(Backbone):
    name = "diffusion_ae"
    Params = DiffusionAEParams
    representation_name = "the encoder's code (DiffAE: z_sem; FDAE: the content codes, then the mask codes)"

    def __init__(self, params: DiffusionAEParams, observation_shape: tuple[int, int, int]):
        super().__init__()
        self.params = p = params
        c, h, w = observation_shape
        self.fdae = p.conditioning == "fdae"
        self.k = p.code_dim // p.concepts if self.fdae else 1                 # columns per content group
        self.points_dim = p.code_dim + (p.concepts * p.mask_dim if self.fdae else 0)
        self.encoder = nets.ConvEncoder(observation_shape, self.points_dim)
        unet = nets.build_unet(observation_shape, p.unet_channels, p.layers_per_block, p.norm_groups, p.attention,
                               scale_shift=not self.fdae)
        self.denoiser = nets.ConditionedUNet(unet, 0 if self.fdae else p.code_dim)
        if self.fdae:
            self.content_proj = nn.Parameter(torch.randn(p.concepts, self.k, p.unet_channels[0]) / self.k ** 0.5)
            self.masks = nets.MaskGenerator(p.mask_dim, h, w)
        self.register_buffer("code_mean", torch.zeros(self.points_dim))
        self.register_buffer("code_var", torch.ones(self.points_dim))
        x_T = torch.randn(1, c, h, w, generator=torch.Generator().manual_seed(p.noise_seed))
        self.register_buffer("x_T", x_T, persistent=False)                   # (1, C, H, W), every decode's start
        self.ddpm = dict(num_train_timesteps=p.train_timesteps, beta_schedule="linear", clip_sample=True,
                         timestep_spacing="trailing")
        self.edm = dict(sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX, sigma_data=SIGMA_DATA)
        self._noising = nets.DDIMScheduler(**self.ddpm) if p.objective == "epsilon" else None

    @classmethod
    def build(cls, config, dataset) -> "DiffusionAE":
        cls.check(config, dataset)
        return cls(config.backbone, tuple(dataset.observation_shape))

    @classmethod
    def check(cls, config, dataset) -> list[str]:
        if nets.DIFFUSERS_MISSING:
            raise UserError(nets.DIFFUSERS_MISSING)
        p = config.backbone
        _, h, w = dataset.observation_shape
        problem = nets.unet_layout_error(h, w, tuple(p.unet_channels), p.norm_groups)
        if problem:
            raise ValueError(f"diffusion_ae: {problem}")
        notes = []
        if p.conditioning == "diffae" and (p.decorrelation != DiffusionAEParams.decorrelation or
                                           p.mask_entropy != DiffusionAEParams.mask_entropy):
            notes.append("diffusion_ae.decorrelation / mask_entropy are FDAE's losses: ignored with conditioning=diffae")
        return notes

    # ---- the model ---------------------------------------------------------------------------------
    def anchors(self, images: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """images (N, C, H, W) in [0, 1] -> points (N, P): z_sem (DiffAE) or [content codes, mask codes] (FDAE)."""
        return self.encoder(images * 2 - 1).float()

    def representation(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, C, H, W) -> (B, P): z_sem, or the N content codes then the N mask codes."""
        return self.anchors(x)

    @property
    def representation_groups(self) -> Optional[list[int]]:
        """The widths of the representation's groups (FDAE: N content codes of k, N mask codes); None: per column."""
        p = self.params
        return [self.k] * p.concepts + [p.mask_dim] * p.concepts if self.fdae else None

    def condition(self, points: torch.Tensor) -> tuple[dict, Optional[torch.Tensor], Optional[torch.Tensor]]:
        """points (B, P) -> (the denoiser's conditioning, content (B, N, k) or None, masks (B, N, H, W) or None)."""
        p = self.params
        if not self.fdae:
            return {"code": points}, None, None
        content = points[:, :p.code_dim].view(-1, p.concepts, self.k)                          # (B, N, k)
        masks = self.masks(points[:, p.code_dim:].reshape(-1, p.concepts, p.mask_dim))         # (B, N, H, W)
        values = torch.einsum("bnk,nkc->bnc", content, self.content_proj.to(content.dtype))    # (B, N, C0)
        cond_map = torch.einsum("bnc,bnhw->bchw", values, masks.to(values.dtype))              # (B, C0, H, W)
        return {"cond_map": cond_map}, content, masks

    def denoised(self, x: torch.Tensor, sigma: torch.Tensor, cond: dict, scheduler) -> torch.Tensor:
        """EDM: D(x; σ) = c_skip x + c_out F(c_in x; 1000 · ¼ ln σ) (B, C, H, W); sigma broadcastable (B, 1, 1, 1)."""
        t = (1000 * scheduler.precondition_noise(sigma)).reshape(-1).expand(len(x))
        out = self.denoiser(scheduler.precondition_inputs(x, sigma), t, **cond).to(x.dtype)
        return scheduler.precondition_outputs(x, out, sigma)

    # ---- training ----------------------------------------------------------------------------------
    def phases(self) -> list[Phase]:
        return [Phase("main", list(self.parameters()), self._loss)]

    def _loss(self, batch: Batch):
        p, g = self.params, batch.generator
        x0 = batch.x * 2 - 1                                                  # (B, C, H, W) in [-1, 1]
        points = self.encoder(x0).float()                                     # (B, P)
        cond, content, masks = self.condition(points)
        noise = torch.randn(x0.shape, generator=g, device=x0.device, dtype=torch.float32)
        if p.objective == "epsilon":
            t = torch.randint(0, p.train_timesteps, (len(x0),), generator=g, device=x0.device)
            x_t = self._noising.add_noise(x0.float(), noise, t)
            diffusion = (self.denoiser(x_t, t, **cond).float() - noise).pow(2).mean()
        else:
            sigma = (P_MEAN + P_STD * torch.randn(len(x0), generator=g, device=x0.device)).exp()[:, None, None, None]
            d = self.denoised(x0.float() + sigma * noise, sigma, cond, nets.EDMEulerScheduler(**self.edm))
            weight = (sigma ** 2 + SIGMA_DATA ** 2) / (sigma * SIGMA_DATA) ** 2
            diffusion = (weight * (d - x0.float()).pow(2)).mean()
        logs = {"diffusion": diffusion.detach()}
        loss = diffusion
        if self.fdae:
            logs["decorrelation"] = decorrelation_loss(content)
            logs["mask_entropy"] = mask_entropy_loss(masks)
            loss = loss + p.decorrelation * logs["decorrelation"] + p.mask_entropy * logs["mask_entropy"]
        with torch.no_grad():                                                 # moments for ``sample``
            self.code_mean.lerp_(points.mean(0), MOMENTUM)
            self.code_var.lerp_(points.var(0, unbiased=False), MOMENTUM)
        return loss, {"loss": loss, **{k: v.detach() for k, v in logs.items()}}

    # ---- decoding and what a user turns ------------------------------------------------------------
    @torch.no_grad()
    def decode(self, points: torch.Tensor, x_T: Optional[torch.Tensor] = None) -> torch.Tensor:
        """points (B, P) -> images (B, C, H, W) in [0, 1] by deterministic DDIM from ``x_T`` (default: the fixed
        noise, the same for every point), in the model's dtype (float32 unless the model was cast: a float64
        model decodes in float64, which the tests use to tell rounding from a real difference)."""
        dtype = self.x_T.dtype                                                # the buffers follow .double()
        cond, _, _ = self.condition(points.to(dtype))
        x = (self.x_T if x_T is None else x_T).expand(len(points), -1, -1, -1).to(dtype)
        if self.params.objective == "epsilon":
            scheduler = nets.DDIMScheduler(**self.ddpm)
            scheduler.set_timesteps(self.params.ddim_steps, device=x.device)
            for t in scheduler.timesteps:
                eps = self.denoiser(x, t.expand(len(x)), **cond).to(dtype)
                x = scheduler.step(eps, t, x, eta=0.0).prev_sample
        else:
            scheduler = nets.EDMEulerScheduler(**self.edm)
            scheduler.set_timesteps(self.params.ddim_steps, device=x.device)
            sigmas = scheduler.sigmas.to(x.device)
            x = x * sigmas[0]
            for i in range(self.params.ddim_steps):                          # Euler = DDIM in σ, no churn
                d = self.denoised(x, sigmas[i], cond, scheduler)
                x = x + (x - d) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
        return ((x + 1) / 2).clamp(0, 1)

    @torch.no_grad()
    def axes(self, images: torch.Tensor, *, steps: int = 9, limit: float = 2.0, batch: int = 512) -> list[Axis]:
        """DiffAE: each code dimension; FDAE: each concept's content code, then each concept's mask code, along
        its first principal direction.  Shifts linspace(−limit, limit) standard deviations over ``images``,
        largest standard deviation first."""
        if steps < 2 or not limit > 0:
            raise ValueError(f"a traversal needs steps >= 2 and limit > 0, got steps={steps}, limit={limit}")
        codes = torch.cat([self.representation(images[i:i + batch]) for i in range(0, len(images), batch)]).double()
        base = np.linspace(-limit, limit, steps)
        labels = tuple(f"{v:+.1f} sd" for v in base)
        widths = self.representation_groups or [1] * codes.shape[1]
        starts = np.cumsum([0, *widths[:-1]])
        concepts = self.params.concepts
        out = []
        for g, (start, width) in enumerate(zip(starts, widths)):
            block = codes[:, start:start + width]                              # (N, width)
            _, s, vh = torch.linalg.svd(block - block.mean(0), full_matrices=False)
            direction = vh[0] * torch.sign(vh[0][vh[0].abs().argmax()])        # (width,), sign fixed
            sd = float(s[0]) / max(len(block), 1) ** 0.5
            values = base * sd if width == 1 else base[:, None] * sd * direction.cpu().numpy()[None]
            name = (f"concept {g}" if g < concepts else f"mask {g - concepts}") if self.fdae else f"z{g}"
            out.append(Axis(name, slice(int(start), int(start + width)), values, "shift", labels, amount=sd,
                            amount_name="sd", active=sd > 1e-6))
        return sorted(out, key=lambda a: -a.amount)

    @torch.no_grad()
    def traverse(self, points: torch.Tensor, axis: Axis, batch: int = 1024) -> torch.Tensor:
        """points (N, P), one axis -> (N, S, C, H, W); an FDAE group axis shifts its columns by (S, k) vectors."""
        values = np.asarray(axis.values)
        if values.ndim == 1:
            return super().traverse(points, axis, batch)
        moved = points[:, None, :].repeat(1, len(values), 1)                   # (N, S, P)
        moved[:, :, axis.columns] += torch.as_tensor(values, dtype=points.dtype, device=points.device)[None]
        flat = moved.flatten(0, 1)
        images = torch.cat([self.decode(flat[i:i + batch]) for i in range(0, len(flat), batch)])
        return images.view(*moved.shape[:2], *images.shape[1:]).float()

    @contextmanager
    def quick_decoding(self, calls: int) -> Iterator[Optional[str]]:
        """Decode with min(ddim_steps, ``calls``) sampler steps inside the context (DDIM's steps are a subset of
        the training schedule's, so fewer of them is the same sampler, coarser; Song et al. 2021, Sec. 4.2)."""
        p = self.params
        if p.ddim_steps <= calls:
            yield None
            return
        self.params = replace(p, ddim_steps=calls)
        try:
            yield f"decoded with {calls} DDIM steps instead of the run's {p.ddim_steps}"
        finally:
            self.params = p

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, C, H, W) -> decode(Enc(x)) from the fixed noise."""
        return self.decode(self.anchors(images))

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n decodes of codes ~ N(running mean, running variance) from fresh noise x_T ~ N(0, I)."""
        z = torch.randn(n, self.points_dim, generator=generator)
        x_T = torch.randn(n, *self.x_T.shape[1:], generator=generator)
        dev = self.x_T.device
        return self.decode(self.code_mean + self.code_var.sqrt() * z.to(dev), x_T.to(dev))

    def describe(self) -> str:
        p = self.params
        what = (f"FDAE: {p.concepts} concepts × {self.k} content dims + {p.mask_dim}-dim masks" if self.fdae
                else f"DiffAE: {p.code_dim}-dim z_sem through AdaGN")
        return (f"{what} · U-Net {','.join(map(str, p.unet_channels))} · {p.objective} loss · "
                f"{p.ddim_steps} DDIM steps per decode")
