"""The bins of a binned fit of a score: SM-yield quantiles merged until every bin keeps the
expected yield positive for every Wilson coefficient; and :func:`histogram`, the one bin
convention (``(low, high]``, as the cut ``score > k``) of the fit's yields and the drawn
score histograms (defined in :mod:`~vaednn.stats.components`, which
:class:`~vaednn.stats.ComponentScores` shares, and imported here: its home stays there)."""

from __future__ import annotations

import numpy as np

# histogram's home is components (ComponentScores uses it); binning.histogram names it too
from vaednn.stats.components import ComponentScores, histogram  # noqa: F401

__all__ = ["MIN_BIN_BACKGROUND", "MAX_BINS", "PERFECT_SQUARE_RTOL", "BinningError",
           "fit_binning"]


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
