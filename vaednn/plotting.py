"""One figure style for the whole analysis, and the helper that writes figures to disk.

Every plot helper in the package takes ``ax=None`` and returns what it drew, so a
notebook can compose panels; :func:`save_figure` writes the PDF for the paper and the PNG
for the README side by side, byte for byte the same on every run.

The style is applied inside a context (:func:`style`): calling a helper never changes
the user's global matplotlib settings. Helpers are marked with :func:`plot_helper`, which
applies the style and lists them in :data:`PLOT_HELPERS` (the layout test renders each).
Variable names become LaTeX labels with units through one mapping, :func:`variable_label`;
figures of events carry :func:`experiment_label` ("Simulation", luminosity, 13 TeV, and
that the samples are generated stand-ins).

The figures now live in :mod:`vaednn.plots`, one concern per module; this module
re-exports the names users found here.
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
