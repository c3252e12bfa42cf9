"""Encoders, decoders, generators, discriminators.  ``build_vae_nets`` / ``build_gan_nets`` pick the
study's conv nets for 64x64 images and MLPs for anything else."""
from __future__ import annotations

from torch import nn

from .chen import ChenConvDecoder, ChenConvEncoder, ChenMLPDecoder, ChenMLPEncoder
from .conv64 import Conv64Decoder, Conv64Encoder
from .dcgan import DCGANDiscriminatorBody, DCGANGenerator
from .ibgan import IBGANGenerator, IBGANTrunk
from .mlp import MLPDecoder, MLPDiscriminatorBody, MLPEncoder, MLPGenerator

ARCHITECTURES = ("auto", "conv64", "conv64_slim", "mlp", "chen_mlp", "chen_conv")   # --set net=... for a VAE (chen_*: Chen et al. 2018)
GAN_ARCHITECTURES = ("auto", "dcgan", "mlp", "ibgan")   # --set net=... for a GAN (ibgan: Jeon et al.'s, 64x64)


def _is64(observation_shape) -> bool:
    return tuple(observation_shape[1:]) == (64, 64)


def build_vae_nets(arch: str, observation_shape: tuple[int, int, int], latent_dim: int):
    """(encoder, decoder) for ``arch``; "auto" = conv64 for 64x64 images, else mlp."""
    channels, height, width = observation_shape
    if arch == "auto":
        arch = "conv64" if _is64(observation_shape) else "mlp"
    if arch in ("conv64", "conv64_slim"):
        if (height, width) != (64, 64):
            raise ValueError(f"net={arch} needs 64x64 images, the dataset gives {height}x{width}; use net=mlp")
        scale = 0.5 if arch == "conv64_slim" else 1.0    # slim: half the channels, a quarter of the FLOPs
        return Conv64Encoder(channels, latent_dim, scale), Conv64Decoder(channels, latent_dim, scale)
    if arch == "mlp":
        return MLPEncoder(observation_shape, latent_dim), MLPDecoder(observation_shape, latent_dim)
    if arch == "chen_mlp":
        return ChenMLPEncoder(observation_shape, latent_dim), ChenMLPDecoder(observation_shape, latent_dim)
    if arch == "chen_conv":
        if (height, width) != (64, 64):
            raise ValueError(f"net=chen_conv needs 64x64 images, the dataset gives {height}x{width}; use net=chen_mlp")
        return ChenConvEncoder(channels, latent_dim), ChenConvDecoder(channels, latent_dim)
    raise ValueError(f"unknown net {arch!r}; choose one of {', '.join(ARCHITECTURES)}")


def gan_arch(arch: str, observation_shape: tuple[int, int, int]) -> str:
    """``arch`` with "auto" resolved: dcgan for square images of side 2^k >= 8, else mlp."""
    _, height, width = observation_shape
    if arch != "auto":
        return arch
    return "dcgan" if height == width and height >= 8 and height & (height - 1) == 0 else "mlp"


def build_gan_nets(arch: str, observation_shape: tuple[int, int, int], input_dim: int, spectral_norm: bool = True):
    """(generator, discriminator body) for ``arch``; "auto" = dcgan for square images of side 2^k >= 8, else mlp.

    The body has a ``features`` attribute: the width of the vector the heads read.
    """
    channels, height, width = observation_shape
    square = height == width and height >= 8 and height & (height - 1) == 0
    arch = gan_arch(arch, observation_shape)
    if arch == "ibgan":
        if (height, width) != (64, 64):
            raise ValueError(f"net=ibgan needs 64x64 images, the dataset gives {height}x{width}; use net=dcgan or mlp")
        return IBGANGenerator(input_dim, channels), IBGANTrunk(channels)
    if arch == "dcgan":
        if not square:
            raise ValueError(f"net=dcgan needs square images of side 8, 16, 32, 64, ..., the dataset gives "
                             f"{height}x{width}; use net=mlp")
        return DCGANGenerator(input_dim, channels, height), DCGANDiscriminatorBody(channels, spectral_norm, height)
    if arch == "mlp":
        return MLPGenerator(input_dim, observation_shape), MLPDiscriminatorBody(observation_shape, spectral_norm=spectral_norm)
    raise ValueError(f"unknown net {arch!r} for a GAN; choose one of {', '.join(GAN_ARCHITECTURES)}")


def build_gan_body(arch: str, observation_shape: tuple[int, int, int], spectral_norm: bool = True) -> nn.Module:
    """A second discriminator-like body (features (B, F)) of ``arch`` — IB-GAN's reconstructor q has its own."""
    channels, height, width = observation_shape
    if arch == "ibgan":
        return IBGANTrunk(channels)
    if arch == "dcgan":
        return DCGANDiscriminatorBody(channels, spectral_norm, height)
    return MLPDiscriminatorBody(observation_shape, spectral_norm=spectral_norm)


__all__ = ["IBGANGenerator", "IBGANTrunk", "build_gan_body", "ChenConvDecoder", "ChenConvEncoder", "ChenMLPDecoder", "ChenMLPEncoder", "Conv64Encoder", "Conv64Decoder", "DCGANDiscriminatorBody", "DCGANGenerator", "MLPDecoder",
           "MLPDiscriminatorBody", "MLPEncoder", "MLPGenerator", "build_gan_nets", "build_vae_nets", "gan_arch",
           "ARCHITECTURES", "GAN_ARCHITECTURES"]
