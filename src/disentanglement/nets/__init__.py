"""Encoders and decoders.  ``build_vae_nets`` picks the study's conv net for 64x64 images."""
from __future__ import annotations

from .conv64 import Conv64Decoder, Conv64Encoder
from .mlp import MLPDecoder, MLPEncoder

ARCHITECTURES = ("auto", "conv64", "mlp")


def build_vae_nets(arch: str, observation_shape: tuple[int, int, int], latent_dim: int):
    """(encoder, decoder) for ``arch``; "auto" = conv64 for 64x64 images, else mlp."""
    channels, height, width = observation_shape
    if arch == "auto":
        arch = "conv64" if (height, width) == (64, 64) else "mlp"
    if arch == "conv64":
        if (height, width) != (64, 64):
            raise ValueError(f"net=conv64 needs 64x64 images, the dataset gives {height}x{width}; use net=mlp")
        return Conv64Encoder(channels, latent_dim), Conv64Decoder(channels, latent_dim)
    if arch == "mlp":
        return MLPEncoder(observation_shape, latent_dim), MLPDecoder(observation_shape, latent_dim)
    raise ValueError(f"unknown net {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


__all__ = ["Conv64Encoder", "Conv64Decoder", "MLPEncoder", "MLPDecoder", "build_vae_nets", "ARCHITECTURES"]
