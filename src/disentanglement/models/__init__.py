"""Backbones.  ``build_model(config, dataset)`` wires nets + penalty (VAE) or builds a GAN for a config."""
from __future__ import annotations

from ..nets import build_vae_nets
from .base import Batch, Phase
from .infogan import InfoGAN
from .vae import VAE


def build_model(config, dataset):
    from ..registry import GANS, PENALTIES

    if config.model in GANS:
        return GANS[config.model](config.penalty, dataset.observation_shape, config.net)
    encoder, decoder = build_vae_nets(config.net, dataset.observation_shape, config.latent_dim)
    penalty = PENALTIES[config.model](config.penalty, dataset_size=len(dataset), latent_dim=config.latent_dim)
    return VAE(encoder, decoder, penalty, config.reconstruction)


__all__ = ["Batch", "InfoGAN", "Phase", "VAE", "build_model"]
