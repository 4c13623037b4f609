"""Cut-and-count figures of merit: S/sqrt(B) and its Monte Carlo error, the best cut, the
smallest Wilson coefficient seen at 3 sigma (in-sample and held out), and the Asimov
significance of a counting experiment.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vaednn.stats.components import ComponentScores, Tail, all_cuts, checked_cuts

__all__ = [
    "THRESHOLD", "VARIANCES", "significance", "significance_error", "BestCut", "best_cut",
    "max_significance", "min_coefficient", "held_out_coefficient", "asimov_significance",
]


#: The seed's sensitivity criterion: a Wilson coefficient is "seen" when max sigma >= 3.
THRESHOLD = 3.0

VARIANCES = ("poisson", "sumw2")


class _Yields:
    """SM, LIN and QUAD sums above any cut, for any ``c`` (LIN, QUAD at c = 1)."""

    def __init__(self, scores: ComponentScores):
        self.sm = Tail(scores.sm, scores.w_sm)
        self.lin = Tail(scores.lin, scores.w_lin)
        self.quad = Tail(scores.quad, scores.w_quad)

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
    return _sigma(c, *_Yields(scores).at(checked_cuts(cuts)), min_background)


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
    cuts = checked_cuts(cuts)
    yields = _Yields(scores)
    background, lin, quad = yields.at(cuts)
    signal = c * lin + c**2 * quad
    if variance == "poisson":
        norm_sm, norm_lin, norm_quad = scores.norms
        var_signal = c**2 * norm_lin * np.abs(lin) + c**4 * norm_quad * np.abs(quad)
        var_background = norm_sm * np.abs(background)
    elif scores.same_events:
        per_event = c * scores.w_lin + c**2 * scores.w_quad
        var_signal = Tail(scores.sm, per_event**2).above(cuts)
        covariance = Tail(scores.sm, per_event * scores.w_sm).above(cuts)
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

