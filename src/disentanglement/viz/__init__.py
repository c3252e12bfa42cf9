"""Figures of a trained model: latent traversals."""
from .traversal import grid_image, save_traversal, traverse

__all__ = ["grid_image", "save_traversal", "traverse"]
