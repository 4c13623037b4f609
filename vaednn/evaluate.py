"""How well a score tells SM from EFT events, and what that means for a measurement.

Conventions used by every function here:

- A *score* (a VAE's reconstruction loss, a classifier's output, a raw variable) is
  larger for BSM-like events. A cut ``k`` keeps the events with score **strictly above**
  ``k``, as in the original analysis.
- *Weights* are expected yields, i.e. :func:`vaednn.data.lumi_weights` of the sample at
  some luminosity; signs are kept everywhere (LIN samples have negative weights).
  LIN and QUAD weights are those of Wilson coefficient ``c = 1``; the functions that take
  ``c`` scale them by ``c`` and ``c**2``. Only :func:`min_coefficient` changes the
  luminosity itself (its ``luminosity`` / ``weights_luminosity`` arguments); everything else
  reports numbers at the luminosity the weights were normalised to.
- Every sum over "events above a cut" is computed by sorting each sample once and taking
  cumulative sums, located with :func:`numpy.searchsorted`: O(N log N + K log N) for N events
  and K cuts, never a loop over cuts or events.

>>> loss_sm, w_sm = np.array([0.1, 0.2, 0.3, 0.4]), np.array([4.0, 3.0, 2.0, 1.0])
>>> loss_lin, w_lin = np.array([0.25, 0.35]), np.array([-1.0, 2.0])
>>> loss_quad, w_quad = np.array([0.45]), np.array([3.0])
>>> S, B, sigma = significance([0.2, 0.3, 0.4], 1.0, loss_sm, w_sm, loss_lin, w_lin,
...                            loss_quad, w_quad)
>>> S.tolist(), B.tolist(), sigma.round(3).tolist()
([4.0, 5.0, 0.0], [3.0, 1.0, 0.5], [2.309, 5.0, 0.0])
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from vaednn import data as vdata
from vaednn import plotting

__all__ = [
    "THRESHOLD", "VARIANCES", "all_cuts", "roc", "auc", "significance", "significance_error",
    "BestCut", "best_cut", "max_significance", "min_coefficient", "normalisation",
    "EvaluationData", "prepare", "score", "feature_scorer", "metrics", "train_bdt",
    "best_variable", "compare", "operator_matrix", "METRIC_LABELS", "plot_operator_matrix",
    "plot_roc", "plot_loss_distributions", "plot_significance", "plot_sigma_vs_c",
]

#: The seed's sensitivity criterion: a Wilson coefficient is "seen" when max sigma >= 3.
THRESHOLD = 3.0

VARIANCES = ("poisson", "sumw2")


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

def roc(score_sm, w_sm, score_bsm, w_bsm, cuts=None):
    """Weighted ROC curve: the SM and BSM efficiencies of the cut ``score > cut``.

    The efficiency of a sample is the sum of the weights of its events above the cut over
    the sum of all its weights (the seed's ``lossCutROC`` definition), so with negative
    weights it can leave [0, 1] and need not be monotone.

    Args:
        score_sm, w_sm: scores and weights of the SM events.
        score_bsm, w_bsm: scores and weights of the BSM events (e.g. LIN and QUAD
            concatenated, weighted ``c * w_lin`` and ``c**2 * w_quad``).
        cuts: where to evaluate; default :func:`all_cuts` of both samples, so the curve
            runs from (1, 1) at ``-inf`` to (0, 0) at the highest score.

    Returns:
        ``(eff_sm, eff_bsm, cuts)``, arrays of the shape of ``cuts``.

    Raises:
        ValueError: bad arrays, or a sample whose weights sum to zero.

    >>> eff_sm, eff_bsm, cuts = roc([1, 2], [1, 1], [2, 3], [1, 3])
    >>> cuts.tolist(), eff_sm.tolist(), eff_bsm.tolist()
    ([-inf, 1.0, 2.0, 3.0], [1.0, 0.5, 0.0, 0.0], [1.0, 1.0, 0.75, 0.0])
    """
    score_sm, w_sm = _events(score_sm, w_sm, "SM")
    score_bsm, w_bsm = _events(score_bsm, w_bsm, "BSM")
    cuts = all_cuts(score_sm, score_bsm) if cuts is None else _cuts(cuts)
    effs = []
    for name, scores, weights in (("SM", score_sm, w_sm), ("BSM", score_bsm, w_bsm)):
        tail = _Tail(scores, weights)
        if tail.total == 0:
            raise ValueError(f"{name}: weights sum to zero, efficiency undefined")
        effs.append(tail.above(cuts) / tail.total)
    return effs[0], effs[1], cuts


def auc(score_sm, w_sm, score_bsm, w_bsm) -> float:
    """Area under the weighted ROC curve, ties counted half.

    It is the weighted Mann-Whitney statistic, the probability that a BSM event scores
    above an SM event::

        AUC = sum_i sum_j w_i w_j ([s_i > s_j] + 1/2 [s_i = s_j]) / (W_bsm W_sm)

    with i over BSM events, j over SM events and W the sums of weights. This equals the
    trapezoidal area under :func:`roc` with its default cuts and scikit-learn's
    ``roc_auc_score(..., sample_weight=...)`` when every weight is positive. With negative
    weights (which scikit-learn refuses) the same formula is used: each event counts with its
    signed weight, exactly as it does in the yields, so the AUC can leave [0, 1] in
    pathological samples. ``auc`` of ``-score`` is exactly ``1 - auc`` of ``score``.

    Raises:
        ValueError: bad arrays, or a sample whose weights sum to zero.

    >>> auc([1, 2], [1, 1], [2, 3], [1, 3])  # pairs: (2,1) 1, (2,2) 1/2, 3 beats both
    0.9375
    """
    score_sm, w_sm = _events(score_sm, w_sm, "SM")
    score_bsm, w_bsm = _events(score_bsm, w_bsm, "BSM")
    for name, weights in (("SM", w_sm), ("BSM", w_bsm)):
        if weights.sum() == 0:
            raise ValueError(f"{name}: weights sum to zero, AUC undefined")
    values, index = np.unique(np.concatenate([score_sm, score_bsm]), return_inverse=True)
    per_value_sm = np.bincount(index[: len(score_sm)], weights=w_sm, minlength=len(values))
    per_value_bsm = np.bincount(index[len(score_sm):], weights=w_bsm, minlength=len(values))
    sm_below = np.cumsum(per_value_sm) - per_value_sm
    pairs = np.sum(per_value_bsm * (sm_below + 0.5 * per_value_sm))
    return float(pairs / (w_sm.sum() * w_bsm.sum()))


# --------------------------------------------------------------------------- significance

class _Yields:
    """SM, LIN and QUAD sums above any cut, for any ``c`` (LIN, QUAD at c = 1)."""

    def __init__(self, loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad):
        self.sm = _Tail(*_events(loss_sm, w_sm, "SM"))
        self.lin = _Tail(*_events(loss_lin, w_lin, "LIN"))
        self.quad = _Tail(*_events(loss_quad, w_quad, "QUAD"))

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


def significance(cuts, c, loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad,
                 min_background=None):
    """Signal, background and significance ``S / sqrt(B)`` of the cut ``loss > cut``.

    ``S = |c * LIN + c**2 * QUAD|`` and ``B = SM``, each the sum of the weights above the
    cut. The seed's conventions: where ``B = 0`` (no SM event left), ``B`` is set to 0.5
    and ``S`` to 0, so sigma is 0 rather than infinite. A negative ``B`` (possible only
    if negative SM weights dominate a tail) has no meaning as a background and is treated
    the same way.

    Args:
        cuts: the cuts (any shape; :func:`all_cuts` gives every distinct one).
        c: the Wilson coefficient (its sign matters through the LIN term).
        loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad: scores and yields (LIN and QUAD
            at c = 1) of the three samples.
        min_background: the seed kept only cuts with ``B >= 1`` (the plot's x range ends
            where the background runs out); pass 1 to do the same. Excluded cuts get
            sigma = NaN (S and B are still reported), so the arrays stay aligned with ``cuts``.

    Returns:
        ``(S, B, sigma)``, arrays of the shape of ``cuts``.
    """
    _check_min_background(min_background)
    yields = _Yields(loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad)
    return _sigma(c, *yields.at(_cuts(cuts)), min_background)


def significance_error(cuts, c, loss_sm, w_sm, norm_sm, loss_lin, w_lin, norm_lin,
                       loss_quad, w_quad, norm_quad, min_background=None,
                       variance: str = "sumw2"):
    """Significance and its statistical error from the finite Monte Carlo samples.

    Each yield above a cut is ``Y = k * n``: a normalisation ``k = xsec * L / sumw /
    fraction`` (the ``norm_*`` arguments; :func:`normalisation` of a sample) times ``n``,
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

    The seed's conventions of :func:`significance` hold: where ``B <= 0``, sigma = 0
    by convention and its error is NaN (a convention has no statistical error);
    ``min_background`` excludes cuts as there (sigma and error NaN).

    Args:
        cuts, c, min_background: as in :func:`significance`.
        loss_*, w_*: scores and yields of each sample (LIN and QUAD at c = 1), as in
            :func:`significance`.
        norm_sm, norm_lin, norm_quad: each sample's yield per unit generator weight,
            ``xsec[pb] * 1000 * L[fb^-1] / sumw / fraction`` at the luminosity of the weights.
        variance: ``"poisson"`` or ``"sumw2"``, see above.

    Returns:
        ``(sigma, error)``, arrays of the shape of ``cuts``.

    >>> args = ([1.0], [4.0], 2.0, [1.0], [2.0], 1.0, [1.0], [1.0], 1.0)
    >>> sigma, error = significance_error([0.0], 1.0, *args, variance="poisson")
    >>> float(sigma[0]), round(float(error[0]) ** 2, 6)  # S=3, B=4, var(S)=3, var(B)=8
    (1.5, 1.03125)
    >>> round(float(significance_error([0.0], 1.0, *args)[1][0]) ** 2, 6)  # var(S)=5, var(B)=16
    1.8125
    """
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}, got {variance!r}")
    for name, norm in (("norm_sm", norm_sm), ("norm_lin", norm_lin), ("norm_quad", norm_quad)):
        if not (np.isfinite(norm) and norm > 0):
            raise ValueError(f"{name} must be a positive number, got {norm}")
    _check_min_background(min_background)
    cuts = _cuts(cuts)
    yields = _Yields(loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad)
    background, lin, quad = yields.at(cuts)
    signal = c * lin + c**2 * quad
    if variance == "poisson":
        var_signal = c**2 * norm_lin * np.abs(lin) + c**4 * norm_quad * np.abs(quad)
        var_background = norm_sm * np.abs(background)
    else:
        var_signal = c**2 * yields.lin.above(cuts, 2) + c**4 * yields.quad.above(cuts, 2)
        var_background = yields.sm.above(cuts, 2)
    empty = background <= 0
    safe_b = np.where(empty, 1.0, background)
    error = np.sqrt(var_signal / safe_b + signal**2 * var_background / (4 * safe_b**3))
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


def best_cut(c, loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad,
             min_background=None) -> BestCut:
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

    >>> best_cut(1.0, [0.1, 0.2, 0.3, 0.4], [4, 3, 2, 1], [0.25, 0.35], [-1, 2], [0.45], [3])
    BestCut(cut=0.3, sigma=5.0, signal=5.0, background=1.0)
    """
    _check_min_background(min_background)
    yields = _Yields(loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad)
    cuts = yields.all_cuts()
    signal, background, sigma = _sigma(c, *yields.at(cuts), min_background)
    if np.isnan(sigma).all():
        raise ValueError(f"no cut leaves a background >= min_background={min_background}")
    i = int(np.nanargmax(sigma))
    return BestCut(float(cuts[i]), float(sigma[i]), float(signal[i]), float(background[i]))


def max_significance(c_values, loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad,
                     min_background=None) -> np.ndarray:
    """The best-cut significance at each Wilson coefficient in ``c_values``.

    The yields above every cut are computed once; each ``c`` then costs one pass over the
    cuts. Returns NaN for a ``c`` where ``min_background`` excludes every cut.

    >>> max_significance([1.0, 2.0], [0.0], [4.0], [1.0], [2.0], [1.0], [1.0])
    array([1.5, 4. ])
    """
    _check_min_background(min_background)
    yields = _Yields(loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad)
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


def min_coefficient(loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad, *, sign: int = 1,
                    threshold: float = THRESHOLD, luminosity: float = vdata.LUMINOSITY,
                    weights_luminosity: float = vdata.LUMINOSITY,
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

    Luminosity: the weights are yields at ``weights_luminosity`` (fb^-1, as returned by
    :func:`vaednn.data.lumi_weights`); they are rescaled to ``luminosity`` before the search,
    so S and B grow linearly and sigma as sqrt(L). ``min_background`` applies to B at
    ``luminosity``.

    Args:
        loss_*, w_*: as in :func:`significance` (LIN and QUAD yields at c = 1).
        sign: +1 or -1, the sign of c searched.
        threshold: the significance to reach (3 in the seed).
        luminosity: the luminosity of the answer, fb^-1 (350 in the seed).
        weights_luminosity: the luminosity the weights were normalised to, fb^-1.
        min_background: as in :func:`significance`.

    Returns:
        The signed coefficient, or ``inf`` / ``-inf`` if no c of that sign reaches the
        threshold (no cut with background has a signal that grows with c).

    >>> c = min_coefficient([0.0], [4.0], [1.0], [2.0], [1.0], [1.0])
    >>> round(c, 6), round(-1 + 7**0.5, 6)  # |2c + c^2| / sqrt(4) = 3
    (1.645751, 1.645751)
    """
    if sign not in (1, -1):
        raise ValueError(f"sign must be +1 or -1, got {sign}")
    for name, value in (("threshold", threshold), ("luminosity", luminosity),
                        ("weights_luminosity", weights_luminosity)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value}")
    _check_min_background(min_background)
    yields = _Yields(loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad)
    scale = luminosity / weights_luminosity
    background, lin, quad = (scale * y for y in yields.at(yields.all_cuts()))
    usable = background > 0
    if min_background is not None:
        usable &= background >= min_background
    background, lin, quad = background[usable], sign * lin[usable], quad[usable]
    target = threshold * np.sqrt(background)
    first = np.minimum(_smallest_positive_root(quad, lin, -target),
                       _smallest_positive_root(quad, lin, target))
    return sign * float(first.min()) if len(first) else sign * np.inf


def normalisation(sample: vdata.Sample, luminosity: float = vdata.LUMINOSITY) -> float:
    """Yield per unit generator weight of ``sample`` at ``luminosity`` (the seed's ``norm``).

    ``xsec[pb] * 1000 * L[fb^-1] / sumw / fraction``, the factor
    :func:`vaednn.data.lumi_weights` multiplies the generator weights by.
    """
    return sample.xsec * vdata.PB_TO_FB * luminosity / sample.sumw / sample.fraction


# --------------------------------------------------------------------------- comparison

@dataclasses.dataclass
class EvaluationData:
    """Training and test splits of several operators, sharing one SM sample.

    Attributes:
        train, test: operator -> :class:`vaednn.data.OperatorSamples` of the training and
            test splits; the SM split is the same object for every operator.
        luminosity: fb^-1 at which yields, significances and coefficients are reported.
    """

    train: dict
    test: dict
    luminosity: float = vdata.LUMINOSITY

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(self.test)


def prepare(source, operators, *, test_fraction: float = 0.2, seed: int = 0,
            luminosity: float = vdata.LUMINOSITY, process: str = "SSWW",
            cuts: str | None = vdata.VBS_CUTS, max_events: int | None = None) -> EvaluationData:
    """Read and split the SM sample and each operator's LIN and QUAD samples.

    ``source`` is a directory of ntuples or a sample map (see :class:`vaednn.data.SampleMap`).
    Every sample is split with :func:`vaednn.data.split` and the same ``seed``; the SM
    sample is read and split once, so models trained on ``data.train[op].sm`` for any
    ``op`` never see the SM test events.
    """
    operators = list(operators)
    if not operators:
        raise ValueError("operators is empty")
    read = dict(cuts=cuts, max_events=max_events)
    sm = vdata.read_sample(source, "SM", process=process, **read)
    sm_train, sm_test = vdata.split(sm, test_fraction, seed)
    train, test = {}, {}
    for op in operators:
        parts = {}
        for component in ("LIN", "QUAD"):
            sample = vdata.read_sample(source, component, op, process, **read)
            parts[component] = vdata.split(sample, test_fraction, seed)
        train[op] = vdata.OperatorSamples(op, sm_train, parts["LIN"][0], parts["QUAD"][0])
        test[op] = vdata.OperatorSamples(op, sm_test, parts["LIN"][1], parts["QUAD"][1])
    return EvaluationData(train, test, luminosity)


def _is_keras_model(scorer) -> bool:
    # An object can only be a Keras model if keras has been imported; checking
    # sys.modules keeps `compare` with plain callables free of the TensorFlow import.
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(scorer, keras.Model)


def score(scorer, sample: vdata.Sample) -> np.ndarray:
    """Per-event scores of ``sample``, larger meaning more BSM-like.

    Args:
        scorer: a Keras model from :mod:`vaednn.models` (a VAE+DNN gives its classifier
            output, a VAE its reconstruction loss), or a callable taking the raw features
            DataFrame (columns :data:`vaednn.data.FEATURES`) and returning one score per event.
        sample: the events.

    Raises:
        ValueError: the callable returned the wrong number of scores or NaN.
    """
    if _is_keras_model(scorer):
        from vaednn import models

        x = sample.features.to_numpy(np.float64)
        if models.is_classifier(scorer):
            values = models.classifier_output(scorer, x)
        else:
            values = models.event_losses(scorer, x)["reco"].to_numpy()
    elif callable(scorer):
        values = scorer(sample.features)
    else:
        raise ValueError("a scorer must be a Keras model or a callable, got "
                         f"{type(scorer).__name__}")
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) != len(sample):
        raise ValueError(f"{sample.name}: scorer returned {len(values)} scores for "
                         f"{len(sample)} events")
    if not np.isfinite(values).all():
        raise ValueError(f"{sample.name}: scorer returned NaN or infinite scores")
    return values


def _score_kind(scorer) -> str:
    if isinstance(scorer, Mapping):
        return "precomputed"
    if _is_keras_model(scorer):
        from vaednn import models

        return "classifier output" if models.is_classifier(scorer) else "reco loss"
    return "callable"


def _scores(scorer, samples, operator: str) -> tuple[np.ndarray, ...]:
    """Scores of ``samples`` (sm, lin, quad) by a scorer or from precomputed arrays."""
    if not isinstance(scorer, Mapping):
        return tuple(score(scorer, s) for s in samples)
    if operator not in scorer:
        raise ValueError(f"precomputed scores have no entry for operator {operator!r}")
    given = scorer[operator]
    out = []
    for key, sample in zip(("sm", "lin", "quad"), samples):
        if key not in given:
            raise ValueError(f"precomputed scores of {operator!r} lack {key!r}")
        values = np.asarray(given[key], dtype=np.float64).reshape(-1)
        if len(values) != len(sample):
            raise ValueError(f"precomputed {operator!r} {key!r}: {len(values)} scores for "
                             f"{len(sample)} test events")
        out.append(values)
    return tuple(out)


def metrics(scores, samples, *, c: float = 1.0, luminosity: float = vdata.LUMINOSITY,
            min_background=None, variance: str = "sumw2") -> dict:
    """Every figure of merit of one score on one operator's samples.

    Args:
        scores: ``(score_sm, score_lin, score_quad)``.
        samples: the matching :class:`vaednn.data.OperatorSamples` (or ``(sm, lin, quad)``).
        c: Wilson coefficient of the BSM mixture for AUC, best sigma and its error.
        luminosity: fb^-1 of the yields.
        min_background, variance: as in :func:`significance_error`.

    Returns:
        A dict with ``AUC``, ``best_sigma``, ``best_cut``, ``sigma_error``, ``c_minus``,
        ``c_plus`` (the :func:`min_coefficient` of each sign) and ``min_abs_c``.
    """
    sm, lin, quad = samples
    s_sm, s_lin, s_quad = scores
    w_sm, w_lin, w_quad = (vdata.lumi_weights(s, luminosity) for s in (sm, lin, quad))
    losses = (s_sm, w_sm, s_lin, w_lin, s_quad, w_quad)
    area = auc(s_sm, w_sm, np.concatenate([s_lin, s_quad]),
               np.concatenate([c * w_lin, c**2 * w_quad]))
    best = best_cut(c, *losses, min_background=min_background)
    norms = [normalisation(s, luminosity) for s in (sm, lin, quad)]
    _, error = significance_error(best.cut, c, s_sm, w_sm, norms[0], s_lin, w_lin, norms[1],
                                  s_quad, w_quad, norms[2], min_background=min_background,
                                  variance=variance)
    sensitivity = dict(luminosity=luminosity, weights_luminosity=luminosity,
                       min_background=min_background)
    c_plus = min_coefficient(*losses, sign=1, **sensitivity)
    c_minus = min_coefficient(*losses, sign=-1, **sensitivity)
    return {"AUC": area, "best_sigma": best.sigma, "best_cut": best.cut,
            "sigma_error": float(error), "c_minus": c_minus, "c_plus": c_plus,
            "min_abs_c": min(-c_minus, c_plus)}


def train_bdt(samples, *, c: float = 1.0, luminosity: float = vdata.LUMINOSITY, seed: int = 0):
    """The supervised reference: a gradient-boosted SM-vs-BSM classifier.

    scikit-learn's ``HistGradientBoostingClassifier`` on the raw features of the training
    split, SM labelled 0 and LIN + QUAD (at ``c``) labelled 1. It is trained with the
    magnitudes ``|w|`` of the yields, each class rescaled to the same total: a classifier
    cannot take negative sample weights meaningfully, and |w| teaches it where the BSM
    samples populate phase space whatever the sign of the interference. Its score is
    then evaluated with the signed weights like every other.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    x, y, w = vdata.mixture(*samples, c=c, luminosity=luminosity)
    w = np.abs(w)
    for label in (0, 1):
        mask = y == label
        w[mask] *= mask.sum() / w[mask].sum()
    model = HistGradientBoostingClassifier(random_state=seed)
    model.fit(x, y, sample_weight=w)
    return model


def best_variable(samples, *, c: float = 1.0, luminosity: float = vdata.LUMINOSITY):
    """The analysis without ML: the single raw variable and direction of largest AUC.

    Every one of the 14 features is tried as a score in both directions (``x`` and
    ``-x``, i.e. keep events above or below a cut), on ``samples`` (pass the training
    split, so the choice is not tuned on the test events).

    Returns:
        ``(feature, direction)`` with direction +1 (cut ``x > k``) or -1 (``x < k``).
    """
    sm, lin, quad = samples
    w_sm = vdata.lumi_weights(sm, luminosity)
    w_bsm = np.concatenate([c * vdata.lumi_weights(lin, luminosity),
                            c**2 * vdata.lumi_weights(quad, luminosity)])
    best = None
    for feature in vdata.FEATURES:
        area = auc(sm.features[feature], w_sm,
                   np.concatenate([lin.features[feature], quad.features[feature]]), w_bsm)
        for direction, value in ((1, area), (-1, 1 - area)):
            if best is None or value > best[0]:
                best = (value, feature, direction)
    return best[1], best[2]


def feature_scorer(feature: str, direction: int = 1) -> Callable[[pd.DataFrame], np.ndarray]:
    """A scorer cutting on one raw variable: ``direction * features[feature]``.

    >>> feature_scorer("mjj")(pd.DataFrame({"mjj": [500.0, 900.0]}))
    array([500., 900.])
    """
    if feature not in vdata.FEATURES:
        raise ValueError(f"unknown feature {feature!r}; expected one of {vdata.FEATURES}")
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")
    return lambda features: direction * features[feature].to_numpy(np.float64)


def compare(scorers: Mapping, data: EvaluationData, *, c: float = 1.0, operators=None,
            references: bool = True, min_background=None, variance: str = "sumw2",
            seed: int = 0) -> dict[str, pd.DataFrame]:
    """Figures of merit of several models, one table per operator, with two references.

    Args:
        scorers: name -> scorer. A scorer is a Keras model (VAE: reconstruction loss;
            VAE+DNN: classifier output), a callable on the raw features DataFrame (see
            :func:`score`), or precomputed test scores ``{operator: {"sm": ..., "lin": ...,
            "quad": ...}}`` in the order of ``data.test[operator]``.
        data: from :func:`prepare`; scores are computed on the test splits.
        c: Wilson coefficient of the BSM mixture for AUC and best sigma.
        operators: which of ``data.operators`` to evaluate (default all).
        references: add the rows ``"BDT (supervised)"`` (:func:`train_bdt` on the training
            split: the upper bound of a supervised search) and ``"single variable"`` (the
            cut on the raw variable chosen by :func:`best_variable` on the training split:
            what an analysis without ML would do).
        min_background, variance: as in :func:`significance_error`.
        seed: seed of the BDT.

    Returns:
        operator -> DataFrame, one row per model, columns ``score`` (what was cut on),
        and those of :func:`metrics`: ``AUC``, ``best_sigma``, ``best_cut``,
        ``sigma_error``, ``c_minus``, ``c_plus``, ``min_abs_c``, all at ``data.luminosity``.
        ``pd.concat(tables, names=["operator"])`` makes one table of them.
    """
    operators = data.operators if operators is None else tuple(operators)
    unknown = [op for op in operators if op not in data.test]
    if unknown:
        raise ValueError(f"operators {unknown} are not in the data ({data.operators})")
    options = dict(c=c, luminosity=data.luminosity, min_background=min_background,
                   variance=variance)
    sm_cache: dict[tuple[str, int], np.ndarray] = {}
    tables = {}
    for op in operators:
        test = data.test[op]
        rows = {}
        for name, scorer in scorers.items():
            if isinstance(scorer, Mapping):
                scores = _scores(scorer, test, op)
            else:
                # prepare() shares one SM test split between operators: score it once per model.
                key = (name, id(test.sm))
                if key not in sm_cache:
                    sm_cache[key] = score(scorer, test.sm)
                scores = (sm_cache[key], score(scorer, test.lin), score(scorer, test.quad))
            rows[name] = {"score": _score_kind(scorer), **metrics(scores, test, **options)}
        if references:
            bdt = train_bdt(data.train[op], c=c, luminosity=data.luminosity, seed=seed)
            scores = tuple(bdt.predict_proba(s.features.to_numpy(np.float64))[:, 1] for s in test)
            rows["BDT (supervised)"] = {"score": "P(BSM)", **metrics(scores, test, **options)}
            feature, direction = best_variable(data.train[op], c=c, luminosity=data.luminosity)
            scorer = feature_scorer(feature, direction)
            scores = tuple(scorer(s.features) for s in test)
            rows["single variable"] = {"score": f"{feature} {'>' if direction > 0 else '<'}",
                                       **metrics(scores, test, **options)}
        tables[op] = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    return tables


def operator_matrix(scorers: Mapping, data: EvaluationData, *, c: float = 1.0,
                    min_background=None) -> pd.DataFrame:
    """A model trained on each operator X evaluated on every operator Y.

    Args:
        scorers: trained operator X -> scorer (as in :func:`compare`; precomputed scores
            must then cover every operator of ``data``).
        data: from :func:`prepare`; every operator in it is evaluated.
        c, min_background: as in :func:`compare`.

    Returns:
        A tidy DataFrame, one row per (trained, evaluated) pair, with the columns of
        :func:`metrics`; ``table.pivot(index="trained", columns="evaluated", values="AUC")``
        is the matrix.
    """
    rows = []
    for trained, scorer in scorers.items():
        table = compare({trained: scorer}, data, c=c, references=False,
                        min_background=min_background)
        for evaluated, frame in table.items():
            rows.append({"trained": trained, "evaluated": evaluated,
                         **frame.iloc[0].drop("score").to_dict()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- plots

METRIC_LABELS = {
    "AUC": "AUC",
    "best_sigma": r"best $\sigma$",
    "min_abs_c": r"min $|c|$ for $\sigma \geq 3$",
    "c_plus": r"min $c > 0$ for $\sigma \geq 3$",
    "c_minus": r"max $c < 0$ for $\sigma \geq 3$",
}


def plot_operator_matrix(table: pd.DataFrame, metric: str = "AUC", ax=None):
    """Heatmap of :func:`operator_matrix`: rows the training operator, columns the tested one.

    Cells where the value is not finite (a coefficient that never reaches 3 sigma) are
    left blank. Returns the axis seaborn drew on.
    """
    import seaborn as sns

    if metric not in table:
        raise ValueError(f"metric {metric!r} is not a column of the table ({list(table.columns)})")
    matrix = table.pivot(index="trained", columns="evaluated", values=metric).astype(float)
    matrix = matrix.where(np.isfinite(matrix))
    _, ax = plotting.new_axes(ax)
    sns.heatmap(matrix, annot=True, fmt=".3g", cmap="viridis", ax=ax,
                cbar_kws={"label": METRIC_LABELS.get(metric, metric)})
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("trained on")
    return ax


def plot_roc(curves: Mapping, ax=None, max_points: int = 2000):
    """ROC curves of several models on one axis, each with its AUC in the legend.

    Args:
        curves: label -> ``(score_sm, w_sm, score_bsm, w_bsm)``.
        ax: axis to draw on (default a new figure).
        max_points: each curve is drawn through at most this many of its points, evenly
            spaced along it (the legend's AUC is always computed from every event).

    Returns:
        The list of drawn curves (Line2D), then the diagonal of a random guess.
    """
    _, ax = plotting.new_axes(ax)
    lines = []
    for index, (label, (score_sm, w_sm, score_bsm, w_bsm)) in enumerate(curves.items()):
        eff_sm, eff_bsm, _ = roc(score_sm, w_sm, score_bsm, w_bsm)
        keep = np.unique(np.linspace(0, len(eff_sm) - 1, min(max_points, len(eff_sm))).astype(int))
        area = auc(score_sm, w_sm, score_bsm, w_bsm)
        (line,) = ax.plot(eff_sm[keep], eff_bsm[keep], color=plotting.model_color(index),
                          label=f"{label} (AUC = {area:.3f})")
        lines.append(line)
    (diagonal,) = ax.plot([0, 1], [0, 1], ls=":", color="grey", label="random")
    ax.set_xlabel("SM efficiency")
    ax.set_ylabel("BSM efficiency")
    ax.legend(loc="lower right")
    return [*lines, diagonal]


def plot_loss_distributions(loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad, *,
                            c: float = 1.0, bins=60, ax=None, xlabel: str = "reconstruction loss"):
    """Weighted loss distributions of SM, LIN (x c) and QUAD (x c^2), log y.

    A log axis cannot show negative yields, and LIN bins can be negative: those are drawn
    as their magnitude with a dashed line (labelled), never dropped.

    Args:
        loss_*, w_*: scores and yields (LIN and QUAD at c = 1).
        c: the Wilson coefficient the BSM samples are scaled to.
        bins: number of bins or bin edges (default: 60 over the range of all losses).
        ax: axis to draw on.

    Returns:
        dict name -> the drawn StepPatch (``"SM"``, ``"LIN"``, ``"QUAD"`` and, if any
        LIN bin is negative, ``"LIN < 0"``).
    """
    samples = {"SM": _events(loss_sm, w_sm, "SM"),
               "LIN": _events(loss_lin, c * np.asarray(w_lin, dtype=float), "LIN"),
               "QUAD": _events(loss_quad, c**2 * np.asarray(w_quad, dtype=float), "QUAD")}
    edges = np.histogram_bin_edges(np.concatenate([s for s, _ in samples.values()]), bins=bins)
    _, ax = plotting.new_axes(ax)
    drawn = {}
    for name, (scores, weights) in samples.items():
        counts, _ = np.histogram(scores, bins=edges, weights=weights)
        color = plotting.SAMPLE_COLORS[name]
        label = name if name == "SM" else f"{name} (c = {c:g})"
        drawn[name] = ax.stairs(np.where(counts > 0, counts, 0.0), edges, color=color,
                                label=label, lw=1.5)
        if (counts < 0).any():
            drawn[f"{name} < 0"] = ax.stairs(np.where(counts < 0, -counts, 0.0), edges,
                                             color=color, ls="--", lw=1.5,
                                             label=f"|{label}|, negative bins")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("events / bin")
    ax.legend()
    return drawn


def plot_significance(cuts, sigma, error=None, *, ax=None, label=None, color=None,
                      xlabel: str = "cut on the loss"):
    """Significance versus cut, with its error as a band.

    Args:
        cuts, sigma: as from :func:`significance` (NaN sigma, e.g. cuts excluded by
            ``min_background``, leave a gap; the ``-inf`` "no cut" point has no place on
            the axis and is not drawn).
        error: the error of sigma (:func:`significance_error`), drawn as a band.
        ax, label, color: matplotlib options.

    Returns:
        ``(line, band)``; ``band`` is None without ``error``.
    """
    cuts = np.asarray(cuts, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    shown = np.isfinite(cuts)
    _, ax = plotting.new_axes(ax)
    (line,) = ax.plot(cuts[shown], sigma[shown], label=label, color=color)
    band = None
    if error is not None:
        error = np.asarray(error, dtype=float)[shown]
        band = ax.fill_between(cuts[shown], sigma[shown] - error, sigma[shown] + error,
                               color=line.get_color(), alpha=0.3, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$S/\sqrt{B}$")
    if label is not None:
        ax.legend()
    return line, band


def plot_sigma_vs_c(c_values, sigma_max, *, ax=None, label=None, color=None,
                    threshold: float = THRESHOLD, operator: str = "c"):
    """Best-cut significance versus the Wilson coefficient, with the 3 sigma line.

    Args:
        c_values, sigma_max: as from :func:`max_significance`.
        threshold: the horizontal line (3 sigma in the seed).
        operator: the coefficient's name for the x label.

    Returns:
        ``(line, threshold_line)``; a second model drawn on the same axis reuses the
        threshold line of the first.
    """
    _, ax = plotting.new_axes(ax)
    (line,) = ax.plot(c_values, sigma_max, label=label, color=color)
    threshold_label = rf"{threshold:g}$\sigma$"
    # Several models share one axis: draw their common threshold line once.
    drawn = [existing for existing in ax.lines if existing.get_label() == threshold_label]
    hline = drawn[0] if drawn else ax.axhline(threshold, ls="--", color="grey",
                                                label=threshold_label)
    ax.set_xlabel(operator)
    ax.set_ylabel(r"max $S/\sqrt{B}$")
    ax.legend()
    return line, hline
