"""Backbones: every model the trainer, ``evaluate``, ``viz/`` and the report know, through ``base.Backbone``."""
from __future__ import annotations

from .ada_gvae import AdaGVAE, AdaMLVAE
from .base import Axis, Backbone, Batch, Phase
from .causal_vae import CausalVAE
from .diffusion_ae import DiffusionAE
from .distib import DisTIB
from .dr_gan import DRGAN
from .causal_infogan import CausalInfoGAN
from .gan import GAN
from .hypercoder import Hypercoder
from .ib_gan import IBGAN
from .infogan import InfoGAN
from .qlae import QLAE
from .tripod import Tripod
from .vae import VAE

# one dict of backbones: --model NAME (a VAE penalty's name is the VAE with that penalty), config section NAME
BACKBONES: dict[str, type[Backbone]] = {
    "vae": VAE,                     # Kingma & Welling 2014, with a disentangling penalty (vae.penalty)
    "ada_gvae": AdaGVAE,            # Locatello et al. 2020, pairs, average aggregation
    "ada_mlvae": AdaMLVAE,          # Locatello et al. 2020, pairs, product-of-experts aggregation
    "infogan": InfoGAN,             # Chen et al. 2016
    "ib_gan": IBGAN,                # Jeon et al. 2021: InfoGAN's bound with an information bottleneck on r
    "dr_gan": DRGAN,                # Tran et al. 2017: an encoder-decoder G redraws an identity in a new pose
    "causal_infogan": CausalInfoGAN,  # Kurutach et al. 2018: a GAN of transitions (o, o') whose states plan
    "qlae": QLAE,                   # Hsu et al. 2023: latents quantised onto learned scalar codebooks
    "tripod": Tripod,               # Hsu et al. 2024: quantised latents, KLM and a normalised Hessian penalty
    "causal_vae": CausalVAE,        # Yang et al. 2021, concept labels and a learned causal graph
    "diffusion_ae": DiffusionAE,    # Preechakul et al. 2022 (DiffAE) / Wu & Zheng 2024 (FDAE), DDIM decoding
    "distib": DisTIB,               # Dang et al. 2024: a label-related and a sample-specific code (labels)
    "hypercoder": Hypercoder,       # Dezfouli et al. 2019: behaviour -> z -> a hypernetwork's recurrent learner
}


def build_model(config, dataset) -> Backbone:
    """The backbone of ``config`` (``config.backbone_name``) for ``dataset``."""
    return BACKBONES[config.backbone_name].build(config, dataset)


__all__ = ["BACKBONES", "AdaGVAE", "AdaMLVAE", "Axis", "Backbone", "Batch", "CausalInfoGAN", "CausalVAE", "DiffusionAE", "DRGAN", "DisTIB", "GAN", "Hypercoder", "IBGAN", "InfoGAN", "Phase", "QLAE", "Tripod", "VAE", "build_model"]
