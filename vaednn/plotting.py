"""The names users found here; the figures live in :mod:`vaednn.plots`, one concern per
module (the style and :func:`save_figure` in :mod:`vaednn.plots.style`).
"""

from vaednn.plots import (
    COM_TEV, FEATURE_LABELS, FIGURES_DIR, LOG_SCALE_FEATURES, LUMINOSITY_FB, METRIC_LABELS,
    MODEL_COLORS, PLOT_HELPERS, RAW_NAMES, SAMPLE_COLORS, SAMPLES_NOTE, SPREADS, STYLE,
    experiment_label, model_color, new_axes, plot_component_rocs, plot_correlations,
    plot_features, plot_helper, plot_interval_comparison, plot_latent, plot_latent_2d,
    plot_loss_distributions, plot_operator_matrix, plot_profile, plot_reconstruction, plot_roc,
    plot_sigma_vs_c, plot_significance, raw_name_labels, save_figure, style, use_style,
    variable_label, weighted_histogram)

__all__ = [
    "FEATURE_LABELS", "FIGURES_DIR", "LOG_SCALE_FEATURES", "MODEL_COLORS", "PLOT_HELPERS",
    "SAMPLE_COLORS", "STYLE", "experiment_label", "model_color", "new_axes", "plot_correlations",
    "plot_features", "plot_helper", "plot_latent", "plot_latent_2d", "plot_reconstruction",
    "raw_name_labels", "save_figure", "style", "use_style", "variable_label",
    "weighted_histogram", "METRIC_LABELS", "plot_operator_matrix", "plot_roc",
    "plot_loss_distributions", "plot_significance", "plot_sigma_vs_c", "plot_component_rocs",
    "SPREADS",
    "plot_interval_comparison", "plot_profile",
]
