"""Figures of a trained model: traversals (grid, GIF), reconstructions, KL per latent, curves, traversal score."""
from .code_traversal import base_codes, code_traversal, code_traversal_effects, is_code_model
from .factor_predictor import FactorPredictor, load_or_train, train_factor_predictor
from .gif import frame_indices, save_traversal_gif
from .plots import effect_heatmap, kl_bars, training_curves
from .reconstruction import reconstruct, save_reconstructions
from .traversal import (SCALES, grid_image, latent_order, posterior_stats, save_traversal, sweep_values, traversal_grid_array,
                        traverse)
from .traversal_score import model_traversal_score, traversal_effects, traversal_score

__all__ = ["FactorPredictor", "base_codes", "code_traversal", "code_traversal_effects", "is_code_model", "SCALES", "effect_heatmap", "frame_indices", "grid_image", "kl_bars", "latent_order",
           "load_or_train", "model_traversal_score", "posterior_stats", "reconstruct", "save_reconstructions",
           "save_traversal", "save_traversal_gif", "sweep_values", "train_factor_predictor", "training_curves",
           "traversal_effects", "traversal_grid_array", "traversal_score", "traverse"]
