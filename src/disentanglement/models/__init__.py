"""Backbones.  ``build_model(config, dataset)`` wires nets + penalty for a config."""
from __future__ import annotations

from ..nets import build_vae_nets
from .vae import VAE


def build_model(config, dataset) -> VAE:
    from ..registry import PENALTIES

    encoder, decoder = build_vae_nets(config.net, dataset.observation_shape, config.latent_dim)
    penalty = PENALTIES[config.model](config.penalty, dataset_size=len(dataset), latent_dim=config.latent_dim)
    return VAE(encoder, decoder, penalty, config.reconstruction)


__all__ = ["VAE", "build_model"]
