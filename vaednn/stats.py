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
- Binned likelihoods (:func:`likelihood_interval`) are pyhf models: per bin
  ``nu = b * kappa**theta + c * LIN + c**2 * QUAD`` against SM-only Asimov data.

>>> scores = ComponentScores(sm=[0.1, 0.2, 0.3, 0.4], w_sm=[4.0, 3.0, 2.0, 1.0],
...                          lin=[0.25, 0.35], w_lin=[-1.0, 2.0], quad=[0.45], w_quad=[3.0])
>>> S, B, sigma = significance([0.2, 0.3, 0.4], 1.0, scores)
>>> S.tolist(), B.tolist(), sigma.round(3).tolist()
([4.0, 5.0, 0.0], [3.0, 1.0, 0.5], [2.309, 5.0, 0.0])
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import NamedTuple

import numpy as np
from scipy import stats as scipy_stats

__all__ = [
    "THRESHOLD", "VARIANCES", "ComponentScores", "all_cuts", "roc", "auc", "significance",
    "significance_error", "BestCut", "best_cut", "max_significance", "min_coefficient",
    "held_out_coefficient", "asimov_significance", "Interval", "ProfileScan", "profile_scan",
    "likelihood_interval", "BinningError", "fit_binning", "MIN_BIN_BACKGROUND", "MAX_BINS",
    "SignedWeightsError", "PERFECT_SQUARE_RTOL",
]

#: The seed's sensitivity criterion: a Wilson coefficient is "seen" when max sigma >= 3.
THRESHOLD = 3.0

VARIANCES = ("poisson", "sumw2")


@dataclasses.dataclass(frozen=True)
class ComponentScores:
    """One operator's SM, LIN and QUAD events: a score and a yield (weight) per event.

    The one shape in which a score's events travel between the statistics here, the
    comparison (:mod:`vaednn.compare`), the notebooks' workflow and the plots. The arrays are
    validated (1-D, equal lengths, finite) and stored as float64; LIN and QUAD weights are the
    yields at ``c = 1``.

    Attributes:
        sm, w_sm, lin, w_lin, quad, w_quad: scores and yields of the three samples.
        norms: ``(norm_sm, norm_lin, norm_quad)``, each sample's yield per unit generator
            weight (only :func:`significance_error` with ``variance="poisson"`` reads them;
            None where unknown).
        same_events: True when SM, LIN and QUAD are three weight columns of ONE event set
            (a reweighted sample, :attr:`vaednn.data.OperatorSamples.same_events`): the three
            score arrays are then one array (checked), an event's deviation from the SM is
            ``c w_lin + c^2 w_quad``, and Monte Carlo errors are correlated.
    """

    sm: np.ndarray
    w_sm: np.ndarray
    lin: np.ndarray
    w_lin: np.ndarray
    quad: np.ndarray
    w_quad: np.ndarray
    norms: tuple[float, float, float] | None = None
    same_events: bool = False

    def __post_init__(self):
        for name in ("sm", "lin", "quad"):
            scores, weights = _events(getattr(self, name), getattr(self, f"w_{name}"),
                                      name.upper())
            object.__setattr__(self, name, scores)
            object.__setattr__(self, f"w_{name}", weights)
        if self.norms is not None:
            norms = tuple(float(n) for n in self.norms)
            for label, norm in zip(("norm_sm", "norm_lin", "norm_quad"), norms, strict=True):
                if not (np.isfinite(norm) and norm > 0):
                    raise ValueError(f"{label} must be a positive number, got {norm}")
            object.__setattr__(self, "norms", norms)
        if self.same_events and not (np.array_equal(self.sm, self.lin)
                                     and np.array_equal(self.sm, self.quad)):
            raise ValueError("same_events: SM, LIN and QUAD must be the scores of the same "
                             f"events in the same order, got {len(self.sm)}, {len(self.lin)} "
                             f"and {len(self.quad)} scores that differ")

    @property
    def arrays(self) -> tuple:
        """``(sm, w_sm, lin, w_lin, quad, w_quad)``."""
        return self.sm, self.w_sm, self.lin, self.w_lin, self.quad, self.w_quad

    def sm_vs_bsm(self, c: float = 1.0) -> tuple:
        """``(score_sm, w_sm, score_bsm, w_bsm)``: the SM against the BSM deviation at ``c``.

        The BSM "events" of a ROC or AUC are the magnitude of each event's deviation from
        the SM, ``|c w_lin + c^2 w_quad|``: for :attr:`same_events` one weight per event
        (interference and square net out within the event), for independent samples
        ``|c w_lin|`` per LIN event and ``c^2 w_quad`` per QUAD event. A signed mixture
        (interference that changes sign, or is net negative after cuts) has no distribution
        to compare with the SM; the magnitude is where the EFT changes the SM, whatever the
        sign, as the component ROCs already use ``|LIN|``. Where every deviation is ``>= 0``
        this is the signed mixture itself, so the AUC is unchanged there.

        >>> s = ComponentScores([0.0, 1.0], [1.0, 1.0], [0.0, 1.0], [-2.0, 1.0],
        ...                     [0.0, 1.0], [1.0, 1.0], same_events=True)
        >>> s.sm_vs_bsm(1.0)[3].tolist()  # -2 + 1 and 1 + 1
        [1.0, 2.0]
        """
        if self.same_events:
            return self.sm, self.w_sm, self.sm, np.abs(c * self.w_lin + c**2 * self.w_quad)
        return (self.sm, self.w_sm, np.concatenate([self.lin, self.quad]),
                np.abs(np.concatenate([c * self.w_lin, c**2 * self.w_quad])))

    def scaled(self, factor: float) -> ComponentScores:
        """The same events with every yield (and normalisation) times ``factor``: another
        luminosity."""
        norms = None if self.norms is None else tuple(factor * n for n in self.norms)
        return ComponentScores(self.sm, factor * self.w_sm, self.lin, factor * self.w_lin,
                               self.quad, factor * self.w_quad, norms, self.same_events)

    def histogram(self, edges) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per-bin ``(SM, LIN, QUAD, sqrt(sum w_SM^2))`` of the scores in ``edges``.

        Bins are ``(low, high]``, matching the cut convention ``score > k``; outer edges
        may be infinite (open bins). Events outside the edges are not counted.
        """
        edges = np.asarray(edges, dtype=np.float64)
        out = []
        for scores, weights, power in ((self.sm, self.w_sm, 1), (self.lin, self.w_lin, 1),
                                       (self.quad, self.w_quad, 1), (self.sm, self.w_sm, 2)):
            index = np.searchsorted(edges, scores, side="left") - 1
            inside = (index >= 0) & (index < len(edges) - 1)
            out.append(np.bincount(index[inside], weights=weights[inside] ** power,
                                   minlength=len(edges) - 1))
        return out[0], out[1], out[2], np.sqrt(out[3])


# --------------------------------------------------------------------------- helpers

def _events(scores, weights, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated 1-D float arrays of scores and weights of one sample."""
    scores = np.asarray(scores, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if scores.ndim != 1 or weights.ndim != 1:
        raise ValueError(f"{name}: scores and weights must be 1-D, got shapes "
                         f"{scores.shape} and {weights.shape}")
    if len(scores) != len(weights):
        raise ValueError(f"{name}: {len(scores)} scores but {len(weights)} weights")
    for label, values in (("scores", scores), ("weights", weights)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"{name}: {int(bad.sum())} NaN or infinite {label}")
    return scores, weights


def _cuts(cuts) -> np.ndarray:
    cuts = np.asarray(cuts, dtype=np.float64)
    if np.isnan(cuts).any():
        raise ValueError("cuts contain NaN")
    return cuts


class _Tail:
    """One sample sorted by score, answering "sum of weights above each cut" by lookup."""

    def __init__(self, scores: np.ndarray, weights: np.ndarray):
        order = np.argsort(scores, kind="stable")
        self.sorted = scores[order]
        self._weights = weights[order]
        self._tails: dict[int, np.ndarray] = {}

    def _tail(self, power: int) -> np.ndarray:
        # Summed from the highest score down, so the small sums at tight cuts (where B
        # is tested against 0 and 1) carry no round-off from the bulk of the sample.
        if power not in self._tails:
            w = self._weights ** power
            self._tails[power] = np.append(np.cumsum(w[::-1])[::-1], 0.0)
        return self._tails[power]

    def above(self, cuts: np.ndarray, power: int = 1) -> np.ndarray:
        """Sum of ``weight**power`` over events with score strictly above each cut."""
        return self._tail(power)[np.searchsorted(self.sorted, cuts, side="right")]

    @property
    def total(self) -> float:
        return float(self._tail(1)[0])


def all_cuts(*scores) -> np.ndarray:
    """Every cut that gives a different selection: ``-inf`` (keep all), then each distinct score.

    A cut keeps events strictly above it, so between two neighbouring distinct scores
    nothing changes: these cuts visit every possible selection exactly once.

    >>> all_cuts([0.3, 0.1], [0.1, 0.2])
    array([-inf,  0.1,  0.2,  0.3])
    """
    values = [np.asarray(s, dtype=np.float64).ravel() for s in scores]
    return np.concatenate([[-np.inf], np.unique(np.concatenate(values))])


# --------------------------------------------------------------------------- ROC / AUC

class SignedWeightsError(ValueError):
    """A ROC or AUC asked of weights for which it has no meaning; the message says which."""


def _roc_events(score_sm, w_sm, score_bsm, w_bsm):
    """Validated events of a ROC: SM signed with a positive total, BSM non-negative.

    SM weights may be negative (NLO samples), as long as the negative ones sum to at most
    the net SM yield: then every SM efficiency is in [-1, 2] (a tail can hold at most all
    positive or all negative weights). BSM weights must be ``>= 0``: pass the magnitude of
    the deviation (:meth:`ComponentScores.sm_vs_bsm`).
    """
    score_sm, w_sm = _events(score_sm, w_sm, "SM")
    score_bsm, w_bsm = _events(score_bsm, w_bsm, "BSM")
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
    cuts = all_cuts(score_sm, score_bsm) if cuts is None else _cuts(cuts)
    effs = []
    for scores, weights in ((score_sm, w_sm), (score_bsm, w_bsm)):
        tail = _Tail(scores, weights)
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


# --------------------------------------------------------------------------- significance

class _Yields:
    """SM, LIN and QUAD sums above any cut, for any ``c`` (LIN, QUAD at c = 1)."""

    def __init__(self, scores: ComponentScores):
        self.sm = _Tail(scores.sm, scores.w_sm)
        self.lin = _Tail(scores.lin, scores.w_lin)
        self.quad = _Tail(scores.quad, scores.w_quad)

    def at(self, cuts):
        """``(B, L, Q)`` above each cut."""
        return self.sm.above(cuts), self.lin.above(cuts), self.quad.above(cuts)

    def all_cuts(self) -> np.ndarray:
        return all_cuts(self.sm.sorted, self.lin.sorted, self.quad.sorted)


def _check_min_background(min_background):
    if min_background is not None and not np.isfinite(min_background):
        raise ValueError(f"min_background must be a finite number or None, got {min_background}")


def _sigma(c, background, lin, quad, min_background):
    """The seed's conventions applied to yields above the cuts: ``(S, B, sigma)``."""
    signal = np.abs(c * lin + c**2 * quad)
    empty = background <= 0
    background = np.where(empty, 0.5, background)
    signal = np.where(empty, 0.0, signal)
    sigma = signal / np.sqrt(background)
    if min_background is not None:
        sigma = np.where(background >= min_background, sigma, np.nan)
    return signal, background, sigma


def significance(cuts, c, scores: ComponentScores, min_background=None):
    """Signal, background and significance ``S / sqrt(B)`` of the cut ``loss > cut``.

    ``S = |c * LIN + c**2 * QUAD|`` and ``B = SM``, each the sum of the weights above the
    cut. The seed's conventions: where ``B = 0`` (no SM event left), ``B`` is set to 0.5
    and ``S`` to 0, so sigma is 0 rather than infinite. A negative ``B`` (possible only
    if negative SM weights dominate a tail) has no meaning as a background and is treated
    the same way.

    Args:
        cuts: the cuts (any shape; :func:`all_cuts` gives every distinct one).
        c: the Wilson coefficient (its sign matters through the LIN term).
        scores: the :class:`ComponentScores` of the three samples (LIN and QUAD at c = 1).
        min_background: the seed kept only cuts with ``B >= 1`` (the plot's x range ends
            where the background runs out); pass 1 to do the same. Excluded cuts get
            sigma = NaN (S and B are still reported), so the arrays stay aligned with ``cuts``.

    Returns:
        ``(S, B, sigma)``, arrays of the shape of ``cuts``.
    """
    _check_min_background(min_background)
    return _sigma(c, *_Yields(scores).at(_cuts(cuts)), min_background)


def significance_error(cuts, c, scores: ComponentScores, min_background=None,
                       variance: str = "sumw2"):
    """Significance and its statistical error from the finite Monte Carlo samples.

    Each yield above a cut is ``Y = k * n``: a normalisation ``k = xsec * L / sumw /
    fraction`` (``scores.norms``; :func:`vaednn.compare.normalisation` of a sample) times ``n``,
    the sum of the generator weights of the events above the cut. With ``S = c Y_L + c^2
    Y_Q`` and ``B = Y_B`` from independent samples, first-order error propagation of
    ``sigma = |S| / sqrt(B)`` gives::

        err^2 = (d sigma/dS)^2 var(S) + (d sigma/dB)^2 var(B)
              = var(S) / B + S^2 var(B) / (4 B^3)
        var(S) = c^2 k_L^2 var(n_L) + c^4 k_Q^2 var(n_Q),   var(B) = k_B^2 var(n_B)

    ``variance`` chooses ``var(n)``:

    - ``"sumw2"`` (default): ``var(n) = sum of w^2`` over the events above the cut, the
      standard estimate for weighted events. In yields it reads ``var(S) = c^2 sum w_L^2 +
      c^4 sum w_Q^2`` and ``var(B) = sum w_B^2``: the normalisations cancel (they are still
      checked, so a call works with either choice).
    - ``"poisson"``: the seed's ``sigma_max_err1`` literally, ``var(n) = |n|``, i.e. each
      event a Poisson count of weight 1. Then ``var(S) = c^2 k_L |Y_L| + c^4 k_Q |Y_Q|`` and
      the second term is ``S^2 / (4 k_B n_B^2)``, the seed's formula.

    The two agree when every generator weight is 1 (then ``sum w^2 = |sum w|``). They do
    not otherwise: ``"poisson"`` scales with the units of the generator weights (weights of
    ``xsec / N`` pb each, as the generated ntuples have, make it wrong by a factor
    ``sqrt(N / xsec)``), and with weights of both signs it counts ``|n+ - n-|`` events
    instead of ``n+ + n-``. Hence ``"sumw2"`` by default; ``"poisson"`` reproduces the
    seed's numbers on its unit-weight samples.

    Same events (``scores.same_events``, a reweighted sample): S and B are sums over the
    same events, so their errors are correlated. Per event ``s_i = c w_L,i + c^2 w_Q,i``
    and ``b_i = w_B,i``; with ``"sumw2"`` ::

        var(S) = sum s_i^2,   var(B) = sum b_i^2,   cov(S, B) = sum s_i b_i
        err^2 = var(S) / B + S^2 var(B) / (4 B^3) - S cov(S, B) / B^2

    (the last term is ``2 (d sigma/dS)(d sigma/dB) cov``; it vanishes for independent
    samples). The independent formula would instead add ``c^2 sum w_L^2 + c^4 sum w_Q^2``,
    which counts the LIN and QUAD weights of one event as two fluctuations and drops the
    cross term ``2 c^3 sum w_L w_Q`` and the covariance with B. ``"poisson"`` (a count per
    independent sample) is refused for same events.

    The seed's conventions of :func:`significance` hold: where ``B <= 0``, sigma = 0
    by convention and its error is NaN (a convention has no statistical error);
    ``min_background`` excludes cuts as there (sigma and error NaN).

    Args:
        cuts, c, min_background: as in :func:`significance`.
        scores: as in :func:`significance`, with ``norms``: each sample's yield per unit
            generator weight, ``xsec[pb] * 1000 * L[fb^-1] / sumw / fraction`` at the
            luminosity of the weights.
        variance: ``"poisson"`` or ``"sumw2"``, see above.

    Returns:
        ``(sigma, error)``, arrays of the shape of ``cuts``.

    >>> args = ComponentScores([1.0], [4.0], [1.0], [2.0], [1.0], [1.0], norms=(2.0, 1.0, 1.0))
    >>> sigma, error = significance_error([0.0], 1.0, args, variance="poisson")
    >>> float(sigma[0]), round(float(error[0]) ** 2, 6)  # S=3, B=4, var(S)=3, var(B)=8
    (1.5, 1.03125)
    >>> round(float(significance_error([0.0], 1.0, args)[1][0]) ** 2, 6)  # var(S)=5, var(B)=16
    1.8125
    """
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}, got {variance!r}")
    if variance == "poisson" and scores.same_events:
        raise ValueError("significance_error: variance='poisson' counts independent "
                         "unit-weight samples; same_events scores need variance='sumw2'")
    if variance == "poisson" and scores.norms is None:
        raise ValueError("significance_error needs the scores' norms (yield per generator "
                         "weight) for variance='poisson'")
    _check_min_background(min_background)
    cuts = _cuts(cuts)
    yields = _Yields(scores)
    background, lin, quad = yields.at(cuts)
    signal = c * lin + c**2 * quad
    if variance == "poisson":
        norm_sm, norm_lin, norm_quad = scores.norms
        var_signal = c**2 * norm_lin * np.abs(lin) + c**4 * norm_quad * np.abs(quad)
        var_background = norm_sm * np.abs(background)
    elif scores.same_events:
        per_event = c * scores.w_lin + c**2 * scores.w_quad
        var_signal = _Tail(scores.sm, per_event**2).above(cuts)
        covariance = _Tail(scores.sm, per_event * scores.w_sm).above(cuts)
        var_background = yields.sm.above(cuts, 2)
    else:
        var_signal = c**2 * yields.lin.above(cuts, 2) + c**4 * yields.quad.above(cuts, 2)
        var_background = yields.sm.above(cuts, 2)
    if not scores.same_events:
        covariance = np.zeros_like(signal)
    empty = background <= 0
    safe_b = np.where(empty, 1.0, background)
    # Round-off can leave the variance of a perfectly correlated S and B a hair below 0.
    variance_sigma = np.maximum(var_signal / safe_b + signal**2 * var_background / (4 * safe_b**3)
                                - signal * covariance / safe_b**2, 0.0)
    error = np.sqrt(variance_sigma)
    error = np.where(empty, np.nan, error)
    _, kept_b, sigma = _sigma(c, background, lin, quad, min_background)
    if min_background is not None:
        error = np.where(kept_b >= min_background, error, np.nan)
    return sigma, error


class BestCut(NamedTuple):
    """The cut with the largest significance and what it selects."""

    cut: float
    sigma: float
    signal: float
    background: float


def best_cut(c, scores: ComponentScores, min_background=None) -> BestCut:
    """The cut of largest significance, found exactly among every distinct loss.

    sigma(cut) is a step function that changes only at the losses of the events, so its
    maximum is attained at one of :func:`all_cuts` (``-inf`` meaning "no cut"); all are
    evaluated at once. (The seed's golden-section search assumes a unimodal function and
    can stop at a lower local maximum.) Of equal maxima the lowest cut is returned.

    Args:
        As in :func:`significance`.

    Returns:
        :class:`BestCut` ``(cut, sigma, signal, background)``.

    Raises:
        ValueError: if ``min_background`` excludes every cut.

    >>> best_cut(1.0, ComponentScores([0.1, 0.2, 0.3, 0.4], [4, 3, 2, 1], [0.25, 0.35], [-1, 2],
    ...                               [0.45], [3]))
    BestCut(cut=0.3, sigma=5.0, signal=5.0, background=1.0)
    """
    _check_min_background(min_background)
    yields = _Yields(scores)
    cuts = yields.all_cuts()
    signal, background, sigma = _sigma(c, *yields.at(cuts), min_background)
    defined = np.isfinite(sigma)
    if not defined.any():
        raise ValueError(f"no cut leaves a background >= min_background={min_background}")
    i = int(np.argmax(np.where(defined, sigma, -np.inf)))
    return BestCut(float(cuts[i]), float(sigma[i]), float(signal[i]), float(background[i]))


def max_significance(c_values, scores: ComponentScores, min_background=None) -> np.ndarray:
    """The best-cut significance at each Wilson coefficient in ``c_values``.

    The yields above every cut are computed once; each ``c`` then costs one pass over the
    cuts. Returns NaN for a ``c`` where ``min_background`` excludes every cut.

    >>> max_significance([1.0, 2.0], ComponentScores([0.0], [4.0], [1.0], [2.0], [1.0], [1.0]))
    array([1.5, 4. ])
    """
    _check_min_background(min_background)
    yields = _Yields(scores)
    background, lin, quad = yields.at(yields.all_cuts())
    c_values = np.asarray(c_values, dtype=np.float64)
    out = np.full(c_values.shape, np.nan)
    for index, c in np.ndenumerate(c_values):
        sigma = _sigma(c, background, lin, quad, min_background)[2]
        if not np.isnan(sigma).all():
            out[index] = np.nanmax(sigma)
    return out


def _smallest_positive_root(a, b, d):
    """Smallest positive real root of ``a x^2 + b x + d = 0`` per element (inf if none)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        disc = b**2 - 4 * a * d
        real = disc >= 0
        root_disc = np.sqrt(np.where(real, disc, 0.0))
        # The cancellation-free pair of roots: q / a and d / q.
        q = -0.5 * (b + np.where(b >= 0, 1.0, -1.0) * root_disc)
        quadratic = np.stack([q / a, d / q])
        linear = -d / b
        roots = np.where(a != 0, quadratic, linear)
        valid = np.where(a != 0, real, b != 0) & (roots > 0) & np.isfinite(roots)
    return np.where(valid, roots, np.inf).min(axis=0)


def _crossings(scores: ComponentScores, sign: int, threshold: float, scale: float,
               min_background) -> tuple[np.ndarray, np.ndarray]:
    """Every cut and the smallest ``sign * c > 0`` at which it reaches ``threshold``."""
    yields = _Yields(scores)
    cuts = yields.all_cuts()
    background, lin, quad = (scale * y for y in yields.at(cuts))
    usable = background > 0
    if min_background is not None:
        usable &= background >= min_background
    return cuts[usable], _first_crossing(background[usable], sign * lin[usable],
                                         quad[usable], threshold)


def _first_crossing(background, lin, quad, threshold):
    """Smallest c > 0 with ``|Q c^2 + L c| = threshold * sqrt(B)``, per element."""
    target = threshold * np.sqrt(background)
    return np.minimum(_smallest_positive_root(quad, lin, -target),
                      _smallest_positive_root(quad, lin, target))


def _check_coefficient_options(sign, threshold, luminosity, weights_luminosity):
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign}")
    for name, value in (("threshold", threshold), ("luminosity", luminosity),
                        ("weights_luminosity", weights_luminosity)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value}")


def min_coefficient(scores: ComponentScores, *, sign: int = 1, threshold: float = THRESHOLD,
                    luminosity: float = 350.0, weights_luminosity: float = 350.0,
                    min_background=None) -> float:
    """The Wilson coefficient of smallest magnitude whose best-cut significance reaches 3.

    The seed's sensitivity: scanning c upwards, the first value where max over cuts of
    sigma reaches ``threshold``. The sign of c matters: the LIN term enters as ``c * LIN``,
    so destructive interference makes ``|c LIN + c^2 QUAD|`` dip to zero at some ``c`` of one
    sign, and sigma(c) is not monotone there. ``sign=+1`` searches c > 0 and returns a
    positive value, ``sign=-1`` searches c < 0 and returns a negative one; the interval
    between the two is where the model is not sensitive.

    Rather than bisecting (which assumes sigma(c) monotone and can step over a dip), the
    crossing is solved exactly: for each cut, ``|Q c^2 + L c| = threshold * sqrt(B)`` is a
    quadratic in c, its smallest positive root is where that cut first reaches the
    threshold, and the answer is the smallest over all cuts (every distinct loss).

    The cut is chosen on the same events the answer is computed from: the seed's procedure,
    optimistic in sparse tails. :func:`held_out_coefficient` chooses on one set of events
    and reports on another.

    Luminosity: the weights are yields at ``weights_luminosity`` (fb^-1, as returned by
    :func:`vaednn.data.lumi_weights`); they are rescaled to ``luminosity`` before the search,
    so S and B grow linearly and sigma as sqrt(L). ``min_background`` applies to B at
    ``luminosity``.

    Args:
        scores: as in :func:`significance` (LIN and QUAD yields at c = 1).
        sign: +1 or -1, the sign of c searched.
        threshold: the significance to reach (3 in the seed).
        luminosity: the luminosity of the answer, fb^-1 (350 in the seed).
        weights_luminosity: the luminosity the weights were normalised to, fb^-1.
        min_background: as in :func:`significance`.

    Returns:
        The signed coefficient, or ``inf`` / ``-inf`` if no c of that sign reaches the
        threshold (no cut with background has a signal that grows with c).

    >>> c = min_coefficient(ComponentScores([0.0], [4.0], [1.0], [2.0], [1.0], [1.0]))
    >>> round(c, 6), round(-1 + 7**0.5, 6)  # |2c + c^2| / sqrt(4) = 3
    (1.645751, 1.645751)
    """
    _check_coefficient_options(sign, threshold, luminosity, weights_luminosity)
    _check_min_background(min_background)
    _, first = _crossings(scores, sign, threshold, luminosity / weights_luminosity,
                          min_background)
    return sign * float(first.min()) if len(first) else sign * np.inf


def held_out_coefficient(choose: ComponentScores, report: ComponentScores, *, sign: int = 1,
                         threshold: float = THRESHOLD, min_background=None) -> tuple[float, float]:
    """:func:`min_coefficient` with the cut chosen on ``choose`` and the answer from ``report``.

    The cut that reaches ``threshold`` at the smallest ``|c|`` of sign ``sign`` on the
    ``choose`` events (the validation split) is applied to the ``report`` events (the test
    split), and ``|Q c^2 + L c| = threshold sqrt(B)`` is solved with their yields at that
    cut. Both sets' weights must be yields at the same luminosity.

    Returns:
        ``(c, cut)``: the signed coefficient (``+-inf`` where the chosen cut never reaches
        the threshold on ``report``, or no cut does on ``choose``) and the cut (NaN when
        none was usable on ``choose``).

    >>> choose = ComponentScores([0.0, 1.0], [4.0, 1.0], [2.0], [2.0], [2.0], [1.0])
    >>> report = ComponentScores([0.0, 1.0], [4.0, 4.0], [2.0], [2.0], [2.0], [1.0])
    >>> c, cut = held_out_coefficient(choose, report)
    >>> cut, round(c, 6), round(-1 + 7**0.5, 6)  # cut 0: B = 1 on choose, 4 on report
    (0.0, 1.645751, 1.645751)
    """
    _check_coefficient_options(sign, threshold, 1.0, 1.0)
    _check_min_background(min_background)
    cuts, first = _crossings(choose, sign, threshold, 1.0, min_background)
    if not len(first) or not np.isfinite(first.min()):
        return sign * np.inf, np.nan
    cut = float(cuts[int(np.argmin(first))])
    background, lin, quad = _Yields(report).at(np.array([cut]))
    if background[0] <= 0:
        return sign * np.inf, cut
    return sign * float(_first_crossing(background, sign * lin, quad, threshold)[0]), cut


# --------------------------------------------------------------------------- likelihood

def asimov_significance(s, b, background_uncertainty=0.0):
    """Median discovery significance of a counting experiment (Cowan et al., Asimov data).

    With a known background (``background_uncertainty`` = 0)::

        Z_A = sqrt(2 ((s + b) ln(1 + s/b) - s))

    With a relative background uncertainty ``d`` (``sigma_b = d b``), the closed form of
    Cowan, Cranmer, Gross, Vitells (arXiv:1007.1727) with the background profiled::

        Z_A = sqrt(2 ((s + b) ln((s + b)(b + sigma_b^2) / (b^2 + (s + b) sigma_b^2))
                      - b^2 / sigma_b^2 ln(1 + sigma_b^2 s / (b (b + sigma_b^2)))))

    Defined for ``b > 0`` and ``s > -b``; arrays broadcast. The result is signed like ``s``
    (a deficit has a negative significance), so ``Z_A^2`` is the usual ``q_0``.

    Raises:
        ValueError: ``b <= 0``, ``s <= -b`` or a negative uncertainty, naming the offending values.

    >>> round(float(asimov_significance(10.0, 100.0)), 4)  # close to s / sqrt(b) = 1 for s << b
    0.984
    >>> round(float(asimov_significance(10.0, 100.0, 0.1)), 4)  # vs s / sqrt(b + (0.1 b)^2)
    0.6902
    """
    s, b, delta = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64)
                                        for v in (s, b, background_uncertainty)))
    if (b <= 0).any():
        raise ValueError(f"asimov_significance: background must be > 0, got {b[b <= 0][:5]}")
    if (s <= -b).any():
        raise ValueError("asimov_significance: s must be > -b (a positive expected total), got "
                         f"s={s[s <= -b][:5]}")
    if (delta < 0).any() or not np.isfinite(delta).all():
        raise ValueError(f"background_uncertainty must be >= 0, got {delta[delta < 0][:5]}")
    n = s + b
    with np.errstate(divide="ignore", invalid="ignore"):
        known = 2 * (n * np.log1p(s / b) - s)
        var = (delta * b) ** 2
        profiled = 2 * (n * np.log(n * (b + var) / (b**2 + n * var))
                        - b**2 / var * np.log1p(var * s / (b * (b + var))))
    q0 = np.where(delta > 0, profiled, known)
    z = np.sign(s) * np.sqrt(np.maximum(q0, 0.0))
    return z if z.ndim else z[()]


class Interval(NamedTuple):
    """An expected confidence interval on a Wilson coefficient: ``(lo, hi)``."""

    lo: float
    hi: float


@dataclasses.dataclass(frozen=True)
class ProfileScan:
    """The profile-likelihood scan behind :func:`likelihood_interval`.

    Attributes:
        c, q: the scanned coefficients (sorted) and ``q(c) = -2 ln lambda(c)``; ``inf`` where
            some bin would expect a zero or negative yield.
        threshold: the chi-square (1 dof) quantile at ``cl``.
        interval: the connected region around ``c = 0`` with ``q < threshold``.
        falls_back: True when q drops below the threshold again outside the interval (a
            second minimum, e.g. at ``c* = -L/Q`` of a rate-only operator, where SM + EFT
            equals the SM again): values there are not excluded either.
    """

    c: np.ndarray
    q: np.ndarray
    threshold: float
    interval: Interval
    falls_back: bool


#: Largest |c| the interval search covers: beyond it a bound is reported as +-inf.
C_RANGE = 1e4
#: Largest log-normal background width of :func:`likelihood_interval`: a factor e^3 = 20
#: per standard deviation already leaves the normalisation free; the profiling is checked
#: against pyhf's fits up to it.
MAX_BACKGROUND_UNCERTAINTY = 3.0
_GRID = np.geomspace(1e-5, C_RANGE, 250)
_REFINE = 64
#: Coefficients per pyhf evaluation: the model is built once per scan for this batch size.
_BATCH = 2 * len(_GRID) + 32


def _as_bins(values, name: str, n: int | None = None) -> np.ndarray:
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{name} must be a non-empty 1-D array of per-bin yields")
    if n is not None and len(values) != n:
        raise ValueError(f"{name} has {len(values)} bins, background has {n}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} has NaN or infinite bins: {values}")
    return values


@contextlib.contextmanager
def _numpy_backend():
    """pyhf's 64-bit numpy backend inside the block, the caller's backend after it.

    pyhf's backend is global: switching it for good would change a caller's own fits. A
    model built under numpy evaluates with whatever backend is current, so both the build
    and every ``logpdf`` run inside this block.
    """
    import pyhf

    tensorlib, optimizer = pyhf.get_backend()
    if tensorlib.name == "numpy" and tensorlib.precision == "64b":
        yield
        return
    pyhf.set_backend("numpy", precision="64b")
    try:
        yield
    finally:
        pyhf.set_backend(tensorlib, optimizer)


class _Likelihood:
    """The binned model as a pyhf Model plus the numpy profiling of its nuisances.

    pyhf defines the likelihood (its numpy backend evaluates ``logpdf`` for a whole batch of
    coefficients at once); the nuisance parameters are profiled here directly, because one
    pyhf fit per point (~30 ms) would make an interval cost a second: the normalisation
    ``theta`` by a vectorised safeguarded Newton iteration, the per-bin MC-statistics
    ``gamma`` (if any) in closed form given ``theta``.
    """

    def __init__(self, background, lin, quad, delta, mc_errors):
        self.b, self.lin, self.quad = background, lin, quad
        self.log_kappa = delta
        self.rel = None if mc_errors is None else mc_errors / background
        self.spec = self._spec(delta, mc_errors)
        self._model = None

    def _spec(self, delta, mc_errors):
        bkg_modifiers = []
        if delta > 0:
            # hi = e^d, lo = e^-d with exponential interpolation (code1): a log-normal
            # normalisation b e^(d theta), smooth through theta = 0.
            bounds = {"hi": float(np.exp(delta)), "lo": float(np.exp(-delta))}
            bkg_modifiers.append({"name": "bkg_norm", "type": "normsys", "data": bounds})
        if mc_errors is not None:
            bkg_modifiers.append({"name": "mc_stat", "type": "staterror",
                                  "data": mc_errors.tolist()})
        samples = [{"name": "background", "data": self.b.tolist(), "modifiers": bkg_modifiers},
                   {"name": "lin", "data": self.lin.tolist(),
                    "modifiers": [{"name": "c_lin", "type": "normfactor", "data": None}]},
                   {"name": "quad", "data": self.quad.tolist(),
                    "modifiers": [{"name": "c_quad", "type": "normfactor", "data": None}]}]
        return {"channels": [{"name": "score", "samples": samples}]}

    def _profile(self, c):
        """``(theta, gamma)`` minimising the NLL at each ``c`` (arrays over c, then bins)."""
        s = c[:, None] * self.lin + c[:, None] ** 2 * self.quad
        n, k = self.b, self.log_kappa
        theta = np.zeros(len(c))
        gamma = np.ones((len(c), len(n)))
        for _ in range(60):
            scale = np.exp(k * theta)[:, None]
            if self.rel is not None:
                gamma = self._gamma(self.b * scale, s, self.rel ** 2)
            if k == 0:
                break
            base = gamma * self.b * scale
            nu = base + s
            grad = np.sum(base * k * (1 - n / nu), axis=1) + theta
            hess = np.sum(base * k**2 * (1 - n * s / nu**2), axis=1) + 1
            step = -grad / np.where(hess > 0, hess, np.abs(hess) + 1)
            step = np.clip(step, -1.0, 1.0)
            theta = theta + step
            if np.max(np.abs(step)) < 1e-10:
                break
        return theta, gamma

    def _gamma(self, base, s, var):
        """The gamma minimising ``gamma B - n ln(gamma B + s) + (gamma - 1)^2 / (2 var)``.

        The larger root of ``a g^2 + bb g + cc = 0``. Where ``bb > 0`` it is computed as
        ``2 cc / (-bb - disc)``: the textbook ``(-bb + disc) / 2a`` subtracts two nearly
        equal numbers there, and for a large relative MC error (``var`` ~ 1e14) loses
        every digit.
        """
        n = self.b
        a = base
        bb = s + base * (base * var - 1)
        cc = (base * var - 1) * s - n * base * var
        disc = np.sqrt(np.maximum(bb**2 - 4 * a * cc, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            stable = 2 * cc / (-bb - disc)
        return np.where(bb > 0, stable, (-bb + disc) / (2 * a))

    @property
    def model(self):
        """The pyhf model, built once, evaluating :data:`_BATCH` coefficients plus c = 0."""
        if self._model is None:
            import pyhf

            with _numpy_backend():
                self._model = pyhf.Model(self.spec, validate=False, poi_name=None,
                                         batch_size=_BATCH + 1,
                                         modifier_settings={"normsys": {"interpcode": "code1"},
                                                            "histosys": {"interpcode": "code0"}})
        return self._model

    def q(self, c) -> np.ndarray:
        """``-2 ln lambda(c)`` from pyhf's log-likelihood, nuisances profiled."""
        c = np.asarray(c, dtype=np.float64)
        return np.concatenate([self._q(c[i:i + _BATCH]) for i in range(0, len(c), _BATCH)])

    def _q(self, wanted: np.ndarray) -> np.ndarray:
        theta, gamma = self._profile(wanted)
        nu = gamma * self.b * np.exp(self.log_kappa * theta)[:, None] \
            + wanted[:, None] * self.lin + wanted[:, None] ** 2 * self.quad
        valid = np.all(nu > 0, axis=1)
        model = self.model
        order = model.config.par_order
        # Row 0 is the SM (c = 0, nominal nuisances; pyhf starts normfactors at 1, not 0);
        # unused rows repeat it.
        pars = np.tile(np.asarray(model.config.suggested_init(), dtype=np.float64),
                       (_BATCH + 1, 1))
        pars[:, [model.config.par_slice(name).start for name in ("c_lin", "c_quad")]] = 0.0
        rows = 1 + np.flatnonzero(valid)
        for name, values in (("c_lin", wanted), ("c_quad", wanted**2), ("bkg_norm", theta)):
            if name in order:
                pars[rows, model.config.par_slice(name).start] = values[valid]
        if "mc_stat" in order:
            pars[rows, model.config.par_slice("mc_stat")] = gamma[valid]
        with _numpy_backend():
            data = np.concatenate([self.b, model.config.auxdata])
            logpdf = np.asarray(model.logpdf(pars, data), dtype=np.float64)
        q = np.full(len(wanted), np.inf)
        q[valid] = np.maximum(2 * (logpdf[0] - logpdf[rows]), 0.0)
        return q


def profile_scan(background, lin, quad, *, background_uncertainty: float = 0.0,
                 cl: float = 0.95, mc_errors=None) -> ProfileScan:
    """The profile-likelihood scan of :func:`likelihood_interval`, with the details.

    Arguments as in :func:`likelihood_interval`. The search evaluates q on a logarithmic
    grid of |c| from 1e-5 to :data:`C_RANGE` on each side (in one batch), plus every
    ``c* = -LIN/QUAD`` (per bin and in total) where q can dip back, then on a fine
    linear grid inside the bracket of each first crossing; each bound is the linear
    interpolation of ``sqrt(q)`` (nearly linear in c) to the threshold there.
    """
    background = _as_bins(background, "background")
    if (background <= 0).any():
        raise ValueError(f"background must be > 0 in every bin (Asimov data), got {background}")
    lin = _as_bins(lin, "lin", len(background))
    quad = _as_bins(quad, "quad", len(background))
    if mc_errors is not None:
        mc_errors = _as_bins(mc_errors, "mc_errors", len(background))
        if (mc_errors <= 0).any():
            raise ValueError(f"mc_errors must be > 0 in every bin, got {mc_errors}")
    if not (np.isfinite(background_uncertainty) and background_uncertainty >= 0):
        raise ValueError(f"background_uncertainty must be >= 0, got {background_uncertainty}")
    if background_uncertainty > MAX_BACKGROUND_UNCERTAINTY:
        raise ValueError(
            f"background_uncertainty = {background_uncertainty:g} is the log-normal width d "
            f"(the background scales by e^d per standard deviation); above "
            f"{MAX_BACKGROUND_UNCERTAINTY:g} (a factor {np.exp(MAX_BACKGROUND_UNCERTAINTY):.0f}) "
            "the background is unconstrained and e^d overflows: give a fraction, 0.1 for 10%")
    if not 0 < cl < 1:
        raise ValueError(f"cl must be in (0, 1), got {cl}")
    threshold = float(scipy_stats.chi2.ppf(cl, 1))
    model = _Likelihood(background, lin, quad, float(background_uncertainty), mc_errors)
    # Where SM + c LIN + c^2 QUAD returns to the SM (in a bin, or in total) q can dip back
    # in a window narrower than the grid's steps: those points are always evaluated.
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = -np.r_[lin, lin.sum()] / np.r_[quad, quad.sum()]
    returns = returns[np.isfinite(returns) & (np.abs(returns) <= C_RANGE) & (returns != 0)]
    grids = {sign: np.unique(np.r_[_GRID, sign * returns[np.sign(returns) == sign]])
             for sign in (1, -1)}
    q_grid = model.q(np.r_[grids[1], -grids[-1]])
    sides = {1: q_grid[: len(grids[1])], -1: q_grid[len(grids[1]):]}
    bounds, falls_back, extra_c, extra_q = {}, False, [], []
    for sign, q in sides.items():
        grid = grids[sign]
        above = np.flatnonzero(q >= threshold)
        if not len(above):
            bounds[sign] = sign * np.inf
            continue
        first = above[0]
        falls_back |= bool((q[first:] < threshold).any())
        low = 0.0 if first == 0 else grid[first - 1]
        fine = np.linspace(low, grid[first], _REFINE)
        q_fine = model.q(sign * fine)
        cross = int(np.flatnonzero(q_fine >= threshold)[0])
        lo_c, hi_c = fine[cross - 1], fine[cross]
        lo_r, hi_r = np.sqrt(q_fine[cross - 1]), np.sqrt(q_fine[cross])
        root = threshold ** 0.5
        if np.isfinite(hi_r):
            value = lo_c + (root - lo_r) * (hi_c - lo_c) / (hi_r - lo_r)
        else:  # the next point expects a negative yield: the bound is where that starts
            value = hi_c
        bounds[sign] = sign * float(value)
        extra_c.append(sign * fine)
        extra_q.append(q_fine)
    c_all = np.concatenate([grids[1], -grids[-1], *extra_c])
    q_all = np.concatenate([q_grid, *extra_q])
    order = np.argsort(c_all)
    return ProfileScan(c_all[order], q_all[order], threshold,
                       Interval(bounds[-1], bounds[1]), falls_back)


def likelihood_interval(background, lin, quad, *, background_uncertainty: float = 0.0,
                        cl: float = 0.95, mc_errors=None) -> Interval:
    """Expected interval on a Wilson coefficient from a binned profile likelihood (pyhf).

    Per bin the expected yield is ``nu = b e^(d theta) + c LIN + c^2 QUAD``: ``theta`` a
    background normalisation with a unit Gaussian constraint (a log-normal of relative width
    ``d = background_uncertainty``; pyhf's ``normsys`` with ``hi = e^d``, ``lo = e^-d``),
    and with ``mc_errors`` a per-bin MC-statistics ``staterror``. The data are the SM-only
    Asimov data (``n = b``), so ``c_hat = 0`` and ``q(c) = 2 NLL(c, theta_hat_hat(c)) - 2
    NLL(0, 0)``. The interval is the connected region around ``c = 0`` where ``q`` stays
    below the chi-square (1 dof) quantile at ``cl``; a bound q never reaches within
    ``|c| <=`` :data:`C_RANGE` is ``+-inf``. Where some bin would expect a zero or negative
    yield, the SM-only data exclude that c (``q = inf``). Whether q falls back below the
    threshold outside the interval is reported by :func:`profile_scan`.

    Args:
        background, lin, quad: per-bin yields at ``c = 1`` (LIN may be negative).
        background_uncertainty: relative background normalisation uncertainty ``d``, at
            most :data:`MAX_BACKGROUND_UNCERTAINTY`.
        cl: confidence level (0.95; 0.6827 gives ``Delta(-2 ln lambda) = 1``).
        mc_errors: the background's per-bin ``sqrt(sum w^2)``, optional.

    Returns:
        :class:`Interval` ``(lo, hi)``.

    >>> lo, hi = likelihood_interval([100.0], [10.0], [0.0], cl=0.6827)
    >>> round(lo, 3), round(hi, 3)  # ~ +-1 sigma = +-sqrt(100) / 10, Poisson-skewed
    (-0.967, 1.034)
    """
    return profile_scan(background, lin, quad, background_uncertainty=background_uncertainty,
                        cl=cl, mc_errors=mc_errors).interval


# --------------------------------------------------------------------------- binning

#: Smallest expected SM yield of a fit bin.
MIN_BIN_BACKGROUND = 5.0
#: Most bins of a fit.
MAX_BINS = 10
#: Relative tolerance of the positivity condition ``LIN^2 <= 4 SM QUAD`` of a fit bin: an
#: operator that rescales a coupling has ``w(c) = w_SM (1 + k c)^2`` per event, so every bin
#: has ``LIN^2 = 4 SM QUAD`` exactly, and the sums' round-off (~1e-15 relative) must not
#: turn that valid perfect square into a refused bin.
PERFECT_SQUARE_RTOL = 1e-9


class BinningError(ValueError):
    """No binning satisfies the fit's requirements; the message names the bin."""


def _bin_ok(b, lin, quad, min_background):
    # LIN^2 <= 4 SM QUAD (and QUAD >= 0) is nu = b + c LIN + c^2 QUAD >= 0 for every c; at
    # equality nu = b (1 + k c)^2 touches 0 at one c, where the SM-only data exclude it.
    return b >= min_background and quad >= 0 and lin**2 <= 4 * b * quad * (1 + PERFECT_SQUARE_RTOL)


def fit_binning(scores: ComponentScores, *, max_bins: int = MAX_BINS,
                min_background: float = MIN_BIN_BACKGROUND) -> np.ndarray:
    """Bin edges for a binned fit of a score, chosen on ``scores`` (the validation split).

    Starts from ``max_bins`` SM-yield quantiles (open outer edges ``-inf``, ``+inf``) and
    merges neighbouring bins, from the lowest score up, until every bin has an expected SM
    yield ``>= min_background`` and ``LIN^2 <= 4 SM QUAD`` within the relative tolerance
    :data:`PERFECT_SQUARE_RTOL`: then ``nu = SM + c LIN + c^2 QUAD >= 0`` for every c, so the
    likelihood stays defined. Equality is the perfect square ``SM (1 + k c)^2`` of an operator
    that rescales a coupling, valid; a bin where Monte Carlo fluctuations give ``LIN^2 > 4 SM
    QUAD`` (a negative yield at some c) is merged with its neighbour. A merged bin that
    satisfies both keeps satisfying them when merged further (Cauchy-Schwarz), so a leftover
    top bin is merged downwards until it does.

    Returns:
        The edges, ``[-inf, ..., +inf]``; bins are ``(low, high]`` (a cut ``score > k``).

    Raises:
        BinningError: even the merged bins fail; the message names the bin and its yields.

    >>> scores = ComponentScores(sm=np.arange(100.0), w_sm=np.full(100, 1.0),
    ...                          lin=[10.0, 90.0], w_lin=[1.0, 1.0],
    ...                          quad=[10.0, 90.0], w_quad=[1.0, 1.0])
    >>> fit_binning(scores, max_bins=4).tolist()
    [-inf, 24.0, 49.0, 74.0, inf]
    """
    if not (isinstance(max_bins, int) and max_bins >= 1):
        raise ValueError(f"max_bins must be a positive integer, got {max_bins}")
    if not min_background > 0:
        raise ValueError(f"min_background must be > 0, got {min_background}")
    order = np.argsort(scores.sm, kind="stable")
    sorted_sm, cumulative = scores.sm[order], np.cumsum(scores.w_sm[order])
    if cumulative[-1] <= 0:
        raise BinningError("the SM yield is not positive: no binning has a background")
    targets = cumulative[-1] * np.arange(1, max_bins) / max_bins
    inner = np.unique(sorted_sm[np.minimum(np.searchsorted(cumulative, targets),
                                           len(sorted_sm) - 1)])
    inner = inner[inner < sorted_sm[-1]]
    edges = np.r_[-np.inf, inner, np.inf]
    b, lin, quad, _ = scores.histogram(edges)
    kept, acc = [-np.inf], np.zeros(3)
    for i in range(len(b)):
        acc += (b[i], lin[i], quad[i])
        if _bin_ok(*acc, min_background) and i < len(b) - 1:
            kept.append(edges[i + 1])
            acc = np.zeros(3)
    kept.append(np.inf)
    while True:
        b, lin, quad, _ = scores.histogram(kept)
        if _bin_ok(b[-1], lin[-1], quad[-1], min_background):
            return np.asarray(kept)
        if len(kept) == 2:
            raise BinningError(
                f"bin ({kept[-2]:.4g}, {kept[-1]:.4g}] (every event): SM yield {b[-1]:.4g} "
                f"(need >= {min_background:g}) and LIN^2 = {lin[-1] ** 2:.4g} vs 4 SM QUAD = "
                f"{4 * b[-1] * quad[-1]:.4g} (need LIN^2 <= 4 SM QUAD): no binning keeps the "
                "expected yield positive for every c")
        del kept[-2]
