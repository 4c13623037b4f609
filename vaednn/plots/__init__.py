"""The plots layer: every figure of the package, one concern per module.

Each module imports only :mod:`~vaednn.plots.style` inside the package:

- :mod:`~vaednn.plots.style`: the figure style, colours, variable labels, the experiment
  label, the plot-helper registry and :func:`save_figure`;
- :mod:`~vaednn.plots.features`: feature, reconstruction and latent-space distributions;
- :mod:`~vaednn.plots.matrix`: the operator matrix;
- :mod:`~vaednn.plots.roc`: ROC curves and weighted score distributions;
- :mod:`~vaednn.plots.significance`: significance, intervals and profile scans;
- :mod:`~vaednn.plots.histories`: training histories as tables and loss curves;
- :mod:`~vaednn.plots.studies`: the smearing study and training curves over seeds;
- :mod:`~vaednn.plots.attributions`: SHAP ablations and the variables of high-loss events.

This module only re-exports their public names; :mod:`vaednn.plotting`,
:mod:`vaednn.curves`, :mod:`vaednn.explain` and :mod:`vaednn.workflow` re-export the
old names from here.
"""

from vaednn.plots.style import (
    COM_TEV, FEATURE_LABELS, FIGURES_DIR, LUMINOSITY_FB, MODEL_COLORS, PLOT_HELPERS, RAW_NAMES,
    SAMPLE_COLORS, SAMPLES_NOTE, STYLE, experiment_label, label_once, model_color, new_axes,
    plot_helper, raw_name_labels, save_figure, style, use_style, variable_label,
    weighted_histogram)
from vaednn.plots.features import (
    LOG_SCALE_FEATURES, plot_correlations, plot_features, plot_latent, plot_latent_2d,
    plot_reconstruction)
from vaednn.plots.matrix import METRIC_LABELS, plot_operator_matrix
from vaednn.plots.roc import SPREADS, plot_component_rocs, plot_loss_distributions, plot_roc
from vaednn.plots.significance import (
    plot_interval_bars, plot_interval_comparison, plot_profile, plot_sigma_vs_c,
    plot_significance)
from vaednn.plots.histories import TERM_LABELS, history_frame, plot_loss_curves, save_history
from vaednn.plots.studies import plot_seed_curves, plot_smearing
from vaednn.plots.attributions import plot_ablation, plot_variables_high_loss, tick_labels

__all__ = [
    "COM_TEV", "FEATURE_LABELS", "FIGURES_DIR", "LUMINOSITY_FB", "MODEL_COLORS", "PLOT_HELPERS",
    "RAW_NAMES", "SAMPLE_COLORS", "SAMPLES_NOTE", "STYLE", "experiment_label", "label_once",
    "model_color", "new_axes", "plot_helper", "raw_name_labels", "save_figure", "style",
    "use_style", "variable_label", "weighted_histogram",
    "LOG_SCALE_FEATURES", "plot_correlations", "plot_features", "plot_latent", "plot_latent_2d",
    "plot_reconstruction",
    "METRIC_LABELS", "plot_operator_matrix",
    "SPREADS", "plot_component_rocs", "plot_loss_distributions", "plot_roc",
    "plot_interval_comparison", "plot_interval_bars", "plot_profile", "plot_sigma_vs_c",
    "plot_significance",
    "TERM_LABELS", "history_frame", "plot_loss_curves", "save_history",
    "plot_seed_curves", "plot_smearing",
    "plot_ablation", "plot_variables_high_loss", "tick_labels"]
