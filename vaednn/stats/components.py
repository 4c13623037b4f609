"""One operator's events as one type, and the checks and tail sums every statistic shares.

:class:`ComponentScores` carries the SM, LIN and QUAD scores and yields; :class:`Tail`
answers "sum of weights above each cut" for one sorted sample; :func:`checked_events` and
:func:`checked_cuts` validate the arrays every function of :mod:`vaednn.stats` takes.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["ComponentScores", "checked_events", "checked_cuts", "Tail", "all_cuts", "histogram"]


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
            weight (only :func:`~vaednn.stats.significance_error` with
            ``variance="poisson"`` reads them; None where unknown).
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
            scores, weights = checked_events(getattr(self, name), getattr(self, f"w_{name}"),
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

        Bins are ``(low, high]``, matching the cut convention ``score > k``, as everywhere
        (:func:`histogram`); outer edges may be infinite (open bins). Events outside the edges
        are not counted.
        """
        sm = histogram(self.sm, self.w_sm, edges)
        lin, quad = (histogram(scores, weights, edges).values()
                     for scores, weights in ((self.lin, self.w_lin), (self.quad, self.w_quad)))
        return sm.values(), lin, quad, np.sqrt(sm.variances())


def histogram(values, weights, edges):
    """The one bin convention of the package: a weighted ``hist.Hist`` (Weight storage) whose
    bins are ``(low, high]``, as the cut ``score > k`` (a value exactly on an edge belongs to
    the bin BELOW it).

    hist's own fill puts an edge value in the bin above (``[low, high)``), so the bin index
    is computed here, ``searchsorted(edges, values, side="left") - 1``, and the sums of
    weights and squared weights are written into the histogram directly. Values at or below
    the first edge fill the underflow bin, values above the last the overflow bin: counted
    in ``hist``'s flow bins (``values(flow=True)``), never among ``values()``. Infinite outer
    edges make open bins ``(-inf, e1]`` and ``(e_n-1, inf]`` (the fit's binning); a plot needs
    finite ones.

    Args:
        values: finite values, 1-D.
        weights: one weight per value, or None for unit weights.
        edges: at least two strictly increasing edges (the outer ones may be infinite).

    Raises:
        ValueError: NaN or infinite values or weights, lengths that differ, or edges that are
            not strictly increasing; the message names the argument.

    >>> h = histogram([0.0, 1.0, 1.5, 2.0, 3.0], [1.0, 2.0, 4.0, 8.0, 16.0], [0.0, 1.0, 2.0])
    >>> h.values().tolist(), h.values(flow=True).tolist()  # 0 is on the first edge: underflow
    ([2.0, 12.0], [1.0, 2.0, 12.0, 16.0])
    """
    import hist

    values, weights = checked_events(values, np.ones(np.shape(values)) if weights is None
                                     else weights, "histogram: values")
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or np.isnan(edges).any() or (np.diff(edges) <= 0).any():
        raise ValueError(f"histogram: edges must be at least two strictly increasing numbers, "
                         f"got {edges}")
    # flow index: 0 underflow, 1..n the bins, n + 1 overflow
    index = np.searchsorted(edges, values, side="left")
    result = hist.Hist(hist.axis.Variable(edges), storage=hist.storage.Weight())
    view = result.view(flow=True)
    view["value"] = np.bincount(index, weights=weights, minlength=len(edges) + 1)
    view["variance"] = np.bincount(index, weights=weights**2, minlength=len(edges) + 1)
    return result


def checked_events(scores, weights, name: str) -> tuple[np.ndarray, np.ndarray]:
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


def checked_cuts(cuts) -> np.ndarray:
    """Cuts as a float array of any shape; NaN (which no score is above or below) is refused."""
    cuts = np.asarray(cuts, dtype=np.float64)
    if np.isnan(cuts).any():
        raise ValueError("cuts contain NaN")
    return cuts


class Tail:
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
        """Sum of the weights of every event."""
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
