"""Which kinematic variables make an event look anomalous: SHAP attributions and ablations.

Everything here explains a *score*: one number per event computed from the raw variables
of the analysis (physical units; the 14 ``FEATURES`` unless it chose others), such as a
VAE's per-event reconstruction loss, its KL term, or the classifier output of a VAE+DNN
model. The variables come from the score or the data: a model's own ``features``, else
``FEATURES`` when the events have them, else the columns of a DataFrame ``X`` (give a
plain callable its variables with ``Score(f, features=[...])``). :func:`shap_values`
attributes ``score(x) - E[score(background)]`` to the variables, so an attribution
reads directly as "this variable raised the anomaly score by that much compared with a
typical SM event".

One concern per module, each importing only those above it in this list:

- :mod:`~vaednn.explain.scores`: the scores to explain (:class:`Score`, :func:`as_score`,
  :func:`reco_loss_score`, :func:`kl_score`, :func:`classifier_score`);
- :mod:`~vaednn.explain.shapley`: SHAP values (:func:`shap_values`, four methods) and their
  summaries (:func:`mean_abs`, :func:`plot_summary`, :func:`plot_mean_abs`);
- :mod:`~vaednn.explain.ablations`: the seed analysis' own tools (:func:`ablation`,
  :func:`variables_high_loss`); their plots live in :mod:`vaednn.plots`.

This module only re-exports their public names, after naming the ``[explain]`` extra if shap
is missing (the submodules may already be imported, so the check is made here too).
"""

from vaednn.extras import require

require("shap", "vaednn.explain")

from vaednn.explain.scores import (  # noqa: E402 - after the extra's check
    Score, as_score, classifier_score, kl_score, reco_loss_score)
from vaednn.explain.shapley import (  # noqa: E402
    METHODS, mean_abs, plot_mean_abs, plot_summary, shap_values)
from vaednn.explain.ablations import ablation, variables_high_loss  # noqa: E402
from vaednn.plots import plot_ablation, plot_variables_high_loss  # noqa: E402

__all__ = [
    "METHODS",
    "Score",
    "as_score",
    "shap_values",
    "reco_loss_score",
    "kl_score",
    "classifier_score",
    "mean_abs",
    "plot_summary",
    "plot_mean_abs",
    "ablation",
    "plot_ablation",
    "variables_high_loss",
    "plot_variables_high_loss",
]
