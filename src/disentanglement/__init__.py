"""disentanglement: disentangled representation learning with the reference metrics."""

__version__ = "0.1.0"
