"""The weighted ROC curve and its area (AUC) of a score, SM against the BSM deviation."""

from __future__ import annotations

import numpy as np

from vaednn.stats.components import Tail, all_cuts, checked_cuts, checked_events

__all__ = ["SignedWeightsError", "roc", "auc"]


class SignedWeightsError(ValueError):
    """A ROC or AUC asked of weights for which it has no meaning; the message says which."""


def _roc_events(score_sm, w_sm, score_bsm, w_bsm):
    """Validated events of a ROC: SM signed with a positive total, BSM non-negative.

    SM weights may be negative (NLO samples), as long as the negative ones sum to at most
    the net SM yield: then every SM efficiency is in [-1, 2] (a tail can hold at most all
    positive or all negative weights). BSM weights must be ``>= 0``: pass the magnitude of
    the deviation (:meth:`ComponentScores.sm_vs_bsm`).
    """
    score_sm, w_sm = checked_events(score_sm, w_sm, "SM")
    score_bsm, w_bsm = checked_events(score_bsm, w_bsm, "BSM")
    if w_sm.sum() <= 0:
        raise SignedWeightsError(f"SM: weights sum to {w_sm.sum():.4g}, efficiency undefined "
                                 "(the SM total must be > 0)")
    negative = -w_sm[w_sm < 0].sum()
    if negative > w_sm.sum():
        raise SignedWeightsError(
            f"SM: negative weights sum to {-negative:.4g}, more than the net SM yield "
            f"{w_sm.sum():.4g}: SM efficiencies could leave [-1, 2]")
    if (w_bsm < 0).any():
        raise SignedWeightsError(
            f"BSM: {int((w_bsm < 0).sum())} negative weights (smallest {w_bsm.min():.4g}); a "
            "ROC needs the magnitude of each event's deviation from the SM, see "
            "ComponentScores.sm_vs_bsm")
    if w_bsm.sum() == 0:
        raise SignedWeightsError("BSM: weights sum to zero, efficiency undefined")
    return score_sm, w_sm, score_bsm, w_bsm


def roc(score_sm, w_sm, score_bsm, w_bsm, cuts=None):
    """Weighted ROC curve: the SM and BSM efficiencies of the cut ``score > cut``.

    The efficiency of a sample is the sum of the weights of its events above the cut over
    the sum of all its weights (the seed's ``lossCutROC`` definition). BSM weights are
    magnitudes (``>= 0``; :meth:`ComponentScores.sm_vs_bsm` gives ``|c LIN + c^2 QUAD|``), so
    the BSM efficiency runs monotonically over [0, 1]. SM weights may be signed (NLO) with a
    positive total and negative weights summing to at most that total: the SM efficiency then
    stays in [-1, 2] but need not be monotone.

    Args:
        score_sm, w_sm: scores and weights of the SM events.
        score_bsm, w_bsm: scores and non-negative weights of the BSM events.
        cuts: where to evaluate; default :func:`all_cuts` of both samples, so the curve
            runs from (1, 1) at ``-inf`` to (0, 0) at the highest score.

    Returns:
        ``(eff_sm, eff_bsm, cuts)``, arrays of the shape of ``cuts``.

    Raises:
        SignedWeightsError: negative BSM weights, a BSM total of zero, an SM total ``<= 0``,
            or negative SM weights beyond the net SM yield.
        ValueError: bad arrays.

    >>> eff_sm, eff_bsm, cuts = roc([1, 2], [1, 1], [2, 3], [1, 3])
    >>> cuts.tolist(), eff_sm.tolist(), eff_bsm.tolist()
    ([-inf, 1.0, 2.0, 3.0], [1.0, 0.5, 0.0, 0.0], [1.0, 1.0, 0.75, 0.0])
    """
    score_sm, w_sm, score_bsm, w_bsm = _roc_events(score_sm, w_sm, score_bsm, w_bsm)
    cuts = all_cuts(score_sm, score_bsm) if cuts is None else checked_cuts(cuts)
    effs = []
    for scores, weights in ((score_sm, w_sm), (score_bsm, w_bsm)):
        tail = Tail(scores, weights)
        effs.append(tail.above(cuts) / tail.total)
    return effs[0], effs[1], cuts


def auc(score_sm, w_sm, score_bsm, w_bsm) -> float:
    """Area under the weighted ROC curve, ties counted half.

    It is the weighted Mann-Whitney statistic, the probability that a BSM event scores
    above an SM event::

        AUC = sum_i sum_j w_i w_j ([s_i > s_j] + 1/2 [s_i = s_j]) / (W_bsm W_sm)

    with i over BSM events, j over SM events and W the sums of weights. This equals the
    trapezoidal area under :func:`roc` with its default cuts and scikit-learn's
    ``roc_auc_score(..., sample_weight=...)`` when every weight is positive.
    ``auc`` of ``-score`` is exactly ``1 - auc`` of ``score``.

    Signed weights: the BSM weights must be magnitudes (``>= 0``), for an operator the
    magnitude of each event's deviation from the SM, ``|c LIN + c^2 QUAD|``
    (:meth:`ComponentScores.sm_vs_bsm`); that is the AUC the comparison tables report. SM
    weights may be signed as in :func:`roc`; the AUC is then an average of BSM tail
    probabilities with signed SM weights, and where negative SM weights push it outside
    [0, 1] it has no meaning and is refused.

    Raises:
        SignedWeightsError: as :func:`roc`, or an AUC outside [0, 1] from negative SM
            weights.
        ValueError: bad arrays.

    >>> auc([1, 2], [1, 1], [2, 3], [1, 3])  # pairs: (2,1) 1, (2,2) 1/2, 3 beats both
    0.9375
    """
    score_sm, w_sm, score_bsm, w_bsm = _roc_events(score_sm, w_sm, score_bsm, w_bsm)
    values, index = np.unique(np.concatenate([score_sm, score_bsm]), return_inverse=True)
    per_value_sm = np.bincount(index[: len(score_sm)], weights=w_sm, minlength=len(values))
    per_value_bsm = np.bincount(index[len(score_sm):], weights=w_bsm, minlength=len(values))
    sm_below = np.cumsum(per_value_sm) - per_value_sm
    pairs = np.sum(per_value_bsm * (sm_below + 0.5 * per_value_sm))
    area = float(pairs / (w_sm.sum() * w_bsm.sum()))
    # Round-off of the sums may step a hair outside [0, 1]; anything more is the SM weights.
    if not -1e-12 <= area <= 1 + 1e-12:
        raise SignedWeightsError(f"SM: negative weights make the AUC {area:.4g}, outside "
                                 "[0, 1]: no meaning as a probability")
    return min(max(area, 0.0), 1.0)
