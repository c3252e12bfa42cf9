"""Figures of a trained model — whatever it is, through the backbone contract (``models/base.py``):
traversals (grid, GIF), reconstructions and samples, per-axis amounts, curves, the traversal score, and the
interchange intervention accuracy (both read decoded images with the factor predictor)."""
from .factor_predictor import FactorPredictor, load_or_train, train_factor_predictor
from .gif import frame_indices, save_traversal_gif
from .interchange import interchange_accuracy, model_interchange_accuracy
from .intervention import concept_readout, intervention_axes, intervention_grid, model_intervention_effects
from .plots import axis_bars, effect_heatmap, graph_plot, intervention_heatmap, training_curves
from .reconstruction import save_reconstructions, save_samples
from .traversal import (column_labels, grid_image, save_traversal, tensorboard_traversal, traversal_grid,
                        traversal_grid_array, traversal_sweeps)
from .traversal_score import axes_effects, model_traversal_score, score_against_floor, traversal_effects, traversal_score

__all__ = ["FactorPredictor", "axes_effects", "axis_bars", "column_labels", "effect_heatmap", "frame_indices", "graph_plot",
           "concept_readout", "grid_image", "interchange_accuracy", "intervention_axes", "intervention_grid", "intervention_heatmap", "model_intervention_effects", "load_or_train", "model_interchange_accuracy", "model_traversal_score", "save_reconstructions", "save_samples",
           "save_traversal", "save_traversal_gif", "score_against_floor", "tensorboard_traversal",
           "train_factor_predictor", "training_curves", "traversal_effects", "traversal_grid",
           "traversal_grid_array", "traversal_score", "traversal_sweeps"]
