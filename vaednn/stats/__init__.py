"""Pure statistics of a score that separates SM from EFT events: no Keras, no files.

Conventions used by every function here:

- A *score* (a VAE's reconstruction loss, a classifier's output, a raw variable) is
  larger for BSM-like events. A cut ``k`` keeps the events with score **strictly above**
  ``k``, as in the original analysis.
- *Weights* are expected yields, i.e. :func:`vaednn.data.lumi_weights` of the sample at
  some luminosity; signs are kept everywhere (LIN samples have negative weights).
  LIN and QUAD weights are those of Wilson coefficient ``c = 1``; the functions that take
  ``c`` scale them by ``c`` and ``c**2``. One operator's three samples travel together as
  :class:`ComponentScores`.
- Every sum over "events above a cut" is computed by sorting each sample once and taking
  cumulative sums, located with :func:`numpy.searchsorted`: O(N log N + K log N) for N events
  and K cuts, never a loop over cuts or events.
- Binned likelihoods (:func:`likelihood_interval`) are pyhf models (:func:`model_spec`): per
  bin ``nu = b * kappa**theta + c * LIN + c**2 * QUAD`` against SM-only Asimov data, with the
  uncertainties declared by :mod:`~vaednn.stats.systematics` profiled.
- A bin is ``(low, high]``, as the cut: :func:`histogram` is the one place that says so.

One concern per module, each importing at most :mod:`~vaednn.stats.components` of the others
(and ``likelihood`` :mod:`~vaednn.stats.systematics`):
:mod:`~vaednn.stats.components` (:class:`ComponentScores`, the shared checks and tail sums),
:mod:`~vaednn.stats.roc_auc` (ROC, AUC), :mod:`~vaednn.stats.counting` (S/sqrt(B), its error,
best cut, 3 sigma reach, Asimov significance), :mod:`~vaednn.stats.likelihood` (the pyhf
model, profile scan, interval), :mod:`~vaednn.stats.binning` (the fit's bins) and
:mod:`~vaednn.stats.systematics` (the declared uncertainties). Every public name is importable
from :mod:`vaednn.stats` itself.

>>> scores = ComponentScores(sm=[0.1, 0.2, 0.3, 0.4], w_sm=[4.0, 3.0, 2.0, 1.0],
...                          lin=[0.25, 0.35], w_lin=[-1.0, 2.0], quad=[0.45], w_quad=[3.0])
>>> S, B, sigma = significance([0.2, 0.3, 0.4], 1.0, scores)
>>> S.tolist(), B.tolist(), sigma.round(3).tolist()
([4.0, 5.0, 0.0], [3.0, 1.0, 0.5], [2.309, 5.0, 0.0])
"""

from vaednn.stats import binning, components, counting, likelihood, roc_auc, systematics
from vaednn.stats.binning import (MAX_BINS, MIN_BIN_BACKGROUND, PERFECT_SQUARE_RTOL, BinningError,
                                  fit_binning)
from vaednn.stats.components import ComponentScores, all_cuts, histogram
from vaednn.stats.counting import (THRESHOLD, VARIANCES, BestCut, asimov_significance, best_cut,
                                   held_out_coefficient, max_significance, min_coefficient,
                                   significance, significance_error)
from vaednn.stats.likelihood import (C_RANGE, METHODS, MODIFIER_SETTINGS, Interval, ProfileScan,
                                     likelihood_interval, model_spec, profile_scan)
from vaednn.stats.roc_auc import SignedWeightsError, auc, roc
from vaednn.stats.systematics import (MAX_BACKGROUND_UNCERTAINTY, SAMPLES, Luminosity, MCStat,
                                      Normalisation, Shape, channel_modifiers, per_bin)

__all__ = [
    "THRESHOLD", "VARIANCES", "ComponentScores", "all_cuts", "roc", "auc", "significance",
    "significance_error", "BestCut", "best_cut", "max_significance", "min_coefficient",
    "held_out_coefficient", "asimov_significance", "Interval", "ProfileScan", "profile_scan",
    "likelihood_interval", "BinningError", "fit_binning", "MIN_BIN_BACKGROUND", "MAX_BINS",
    "SignedWeightsError", "PERFECT_SQUARE_RTOL", "C_RANGE", "MAX_BACKGROUND_UNCERTAINTY",
    "MODIFIER_SETTINGS", "METHODS", "model_spec", "SAMPLES", "Normalisation", "Luminosity",
    "Shape", "MCStat", "channel_modifiers", "per_bin", "histogram",
]
