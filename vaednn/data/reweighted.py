"""The reweighted sample: one event set, one weight column per parameter point, and its
EFT decomposition.

Per event the weight at a point ``c`` is a quadratic polynomial (dimension-6 EFT,
squared amplitude)::

    w(c) = SM + sum_i c_i LIN_i + sum_i c_i**2 QUAD_i + sum_{i<j} c_i c_j MIX_ij

:meth:`ReweightedSample.decompose` solves for SM, LIN, QUAD (and MIX) of every event in one
least-squares solve over the points, and reports the condition number of the design
matrix. One point per operator fixes only ``c LIN + c**2 QUAD``: asking for both is an
:class:`LHEError`; ``linear_only=True`` fits SM and LIN alone, and says so on the result.
The readers of such samples are in :mod:`vaednn.data.reweight`.

>>> A = design_matrix([{}, {"cW": 1.0}, {"cW": -1.0}], ["cW"])[0]
>>> A.tolist()
[[1.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, -1.0, 1.0]]
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from vaednn.data.samples import (
    OperatorSamples, Sample, check_max_events, cut_expression, cut_mask)

__all__ = ["Decomposition", "LHEError", "ReweightedSample", "design_matrix"]

log = logging.getLogger("vaednn")


class LHEError(ValueError):
    """A reweighted sample that cannot be used as it is; the message names the file, the
    weight id, the operator or the variable at fault."""


# --------------------------------------------------------------------------- decomposition
def _terms(operators, linear_only: bool, points) -> list[tuple]:
    terms = [("SM",)] + [("LIN", op) for op in operators]
    if not linear_only:
        terms += [("QUAD", op) for op in operators]
        terms += [("MIX", a, b) for a, b in itertools.combinations(operators, 2)
                  if any(p.get(a, 0) != 0 and p.get(b, 0) != 0 for p in points)]
    return terms


def design_matrix(points, operators, linear_only: bool = False):
    """``(A, terms)``: row ``k`` of ``A`` holds each term's coefficient at ``points[k]``.

    Terms are ``("SM",)``, ``("LIN", op)``, ``("QUAD", op)`` and ``("MIX", a, b)`` (only
    where some point moves ``a`` and ``b`` together; none with ``linear_only``).
    """
    terms = _terms(list(operators), linear_only, points)
    rows = []
    for point in points:
        row = []
        for term in terms:
            if term[0] == "SM":
                row.append(1.0)
            elif term[0] == "LIN":
                row.append(float(point.get(term[1], 0.0)))
            elif term[0] == "QUAD":
                row.append(float(point.get(term[1], 0.0)) ** 2)
            else:
                row.append(float(point.get(term[1], 0.0)) * float(point.get(term[2], 0.0)))
        rows.append(row)
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(terms)), terms


def _term_name(term) -> str:
    return "_".join(term)


@dataclasses.dataclass
class Decomposition:
    """Per-event SM, LIN, QUAD (and MIX) weights of a :class:`ReweightedSample`.

    Attributes:
        operators: the operators solved for.
        terms: the names of the columns of ``weights`` (``SM``, ``LIN_cW``, ``QUAD_cW``,
            ``MIX_cW_cHq3``).
        weights: ``(n_events, n_terms)``, per-event weight of each term.
        ids: the weight ids (points) the solve used.
        condition_number: of the design matrix (points x terms); large means the points
            barely separate the terms and round-off in the weights is amplified.
        residual: largest |w(point) - fitted| over events and points, relative to the
            largest |weight|: zero (round-off) when the model fits; larger when points
            lie off a quadratic (or off a line with ``linear_only``).
        linear_only: True when QUAD and MIX were not fitted (taken as zero).
    """

    operators: tuple
    terms: tuple
    weights: np.ndarray
    ids: tuple
    condition_number: float
    residual: float
    linear_only: bool

    def __getitem__(self, term: str) -> np.ndarray:
        if term not in self.terms:
            raise KeyError(f"no term {term!r}; the decomposition has {list(self.terms)}")
        return self.weights[:, self.terms.index(term)]


# --------------------------------------------------------------------------- the sample
@dataclasses.dataclass
class ReweightedSample:
    """One event set with one weight column per reweighting point.

    Attributes:
        name: the sample's name in tables.
        features: the variables, one row per event.
        weights: ``(n_events, n_ids)``, the weight of each event at each id (signs kept).
        ids: the weight ids, in column order.
        points: ``{id: {operator: value}}`` (non-zero values only; ``{}`` is the SM) for
            every id with a known point.
        nominal: each event's nominal weight (``XWGTUP``).
        xsec: cross section (pb) the nominal weights stand for.
        sumw: sum of the nominal weights of every event read, before cuts.
        fraction: share of the events read that the sample stands for (1 unless
            :meth:`max_events` kept fewer).
        n_read: events read from the file.
        entries: each event's position in the file (0-based), kept through cuts.
        ids_setting_nothing: ids whose header entry sets no parameter (they reweight to the
            generation point), listed so none is dropped unseen.
        log_features: the features the models take log10 of.
        path: the file read.
    """

    name: str
    features: pd.DataFrame
    weights: np.ndarray
    ids: tuple
    points: dict
    nominal: np.ndarray
    xsec: float
    sumw: float
    fraction: float = 1.0
    n_read: int = 0
    entries: np.ndarray | None = None
    ids_setting_nothing: tuple = ()
    log_features: tuple = ()
    path: Path | None = None

    def __post_init__(self):
        self.ids = tuple(self.ids)
        n = len(self.features)
        if self.weights.shape != (n, len(self.ids)):
            raise LHEError(f"{self.name}: weights have shape {self.weights.shape}, expected "
                           f"({n} events, {len(self.ids)} ids)")
        if np.shape(self.nominal) != (n,):
            raise LHEError(f"{self.name}: {np.shape(self.nominal)} nominal weights for {n} "
                           "events")
        if len(set(self.ids)) != len(self.ids):
            raise LHEError(f"{self.name}: weight ids repeat: {list(self.ids)}")
        unknown = sorted(set(self.points) - set(self.ids))
        if unknown:
            raise LHEError(f"{self.name}: points given for unknown weight id(s) {unknown}; "
                           f"the sample's ids are {list(self.ids)}")
        if self.entries is None:
            self.entries = np.arange(n, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.features)

    def column(self, wid: str) -> np.ndarray:
        """The weights of every event at weight id ``wid``."""
        if wid not in self.ids:
            raise LHEError(f"{self.name}: no weight id {wid!r}; ids: {list(self.ids)}")
        return self.weights[:, self.ids.index(wid)]

    def select(self, index, fraction: float | None = None) -> ReweightedSample:
        """The events at ``index`` (positions or a boolean mask), all weights together."""
        index = np.asarray(index)
        return dataclasses.replace(
            self, features=self.features.iloc[index].reset_index(drop=True),
            weights=self.weights[index], nominal=self.nominal[index],
            entries=self.entries[index],
            fraction=self.fraction if fraction is None else fraction)

    def cut(self, cuts: str) -> ReweightedSample:
        """The events passing ``cuts`` (on the feature names, as :func:`vaednn.data.read_ntuple`).

        Raises:
            LHEError: no event passes.
        """
        expression = cut_expression(cuts, tuple(self.features.columns))
        keep = cut_mask(expression, self.features, len(self))
        if not keep.any():
            raise LHEError(f"{self.name}: no event left after the cuts {cuts!r} "
                           f"({len(self)} events)")
        return self.select(np.flatnonzero(keep))

    def max_events(self, n: int) -> ReweightedSample:
        """The events among the first ``n`` read (file order), normalised to full rate.

        ``fraction`` becomes ``n / n_read`` of the current one, as
        :func:`vaednn.data.read_ntuple` does with ``max_events``.
        """
        check_max_events(n)
        n = min(n, self.n_read)
        keep = np.flatnonzero(self.entries < n)
        if not keep.size:
            raise LHEError(f"{self.name}: none of the first {n} events read is left")
        return dataclasses.replace(self.select(keep, self.fraction * n / self.n_read), n_read=n)

    def decompose(self, operators, linear_only: bool = False, mixed: bool = True) -> Decomposition:
        """Per-event SM, LIN_i, QUAD_i (and MIX_ij) by one least-squares solve over the points.

        Uses every id whose point moves only ``operators`` (the SM point included). With
        ``mixed`` (default) a MIX term is fitted for each pair of operators some point moves
        together; a pair never moved together has no MIX term and its points are not used.

        Args:
            operators: the operators, names as in :attr:`points`.
            linear_only: fit SM and LIN only (QUAD and MIX taken as zero), e.g. for one
                point per operator; recorded on the result.
            mixed: False to leave out points that move two operators at once.

        Raises:
            LHEError: an operator no point moves, or too few points for the terms (one
                point per operator cannot separate LIN from QUAD), naming the operators.
        """
        operators = tuple(operators)
        if not operators or isinstance(operators, str):
            raise LHEError(f"{self.name}: give a list of operators, got {operators!r}")
        known = sorted(set().union(*self.points.values())) if self.points else []
        missing = [op for op in operators if op not in known]
        if missing:
            raise LHEError(f"{self.name}: no weight id moves {missing}; operators with points: "
                           f"{known}; ids that set nothing: {list(self.ids_setting_nothing)}")
        ids = [wid for wid in self.ids if wid in self.points
               and set(self.points[wid]) <= set(operators)
               and (mixed and not linear_only or len(self.points[wid]) <= 1)]
        points = [self.points[wid] for wid in ids]
        A, terms = design_matrix(points, operators, linear_only)
        self._check_identifiable(A, terms, points, operators, linear_only)
        W = self.weights[:, [self.ids.index(wid) for wid in ids]]
        solution = np.linalg.lstsq(A, W.T, rcond=None)[0]
        scale = np.max(np.abs(W)) or 1.0
        residual = float(np.max(np.abs(A @ solution - W.T)) / scale)
        condition = float(np.linalg.cond(A))
        log.info("%s: decomposed %s from %d points, condition number %.3g, residual %.2g%s",
                 self.name, ", ".join(operators), len(ids), condition, residual,
                 " (linear only)" if linear_only else "")
        return Decomposition(operators, tuple(_term_name(t) for t in terms), solution.T,
                             tuple(ids), condition, residual, linear_only)

    def _check_identifiable(self, A, terms, points, operators, linear_only):
        if np.linalg.matrix_rank(A) == len(terms):
            return
        for op in operators:
            values = sorted({p[op] for p in points if set(p) == {op}})
            if not linear_only and len(values) < 2:
                raise LHEError(
                    f"{self.name}: operator {op!r} has {len(values)} point(s) of its own "
                    f"(c = {values}): SM, LIN and QUAD need the SM and two non-zero values; "
                    "one point cannot separate LIN from QUAD. Add a point, or pass "
                    "linear_only=True to fit SM + LIN and take QUAD as zero")
        if not any(not p for p in points):
            raise LHEError(f"{self.name}: the points {points} do not fix the SM weight: "
                           "add the SM point (all operators zero)")
        raise LHEError(f"{self.name}: the {len(points)} points {points} cannot separate the "
                       f"{len(terms)} terms {[_term_name(t) for t in terms]} (rank "
                       f"{np.linalg.matrix_rank(A)})")

    def _sample(self, name: str, weights: np.ndarray) -> Sample:
        return Sample(name=name, features=self.features, weights=weights,
                            xsec=self.xsec, sumw=self.sumw, fraction=self.fraction,
                            n_read=self.n_read, path=self.path, entries=self.entries,
                            log_features=self.log_features)

    def operator_samples(self, operators, linear_only: bool = False,
                         mixed: bool = True) -> dict[str, OperatorSamples]:
        """``{operator: OperatorSamples}`` of one decomposition, each with ``same_events``.

        All operators share one SM sample (the fitted SM column) and the features frame;
        with ``linear_only`` each QUAD sample's weights are zero and its name ends in
        ``_QU_not_fitted``. Arguments as :meth:`decompose`.
        """
        parts = self.decompose(operators, linear_only, mixed)
        sm = self._sample(f"{self.name}_SM", parts["SM"])
        out = {}
        for op in parts.operators:
            quad = (np.zeros(len(self)) if linear_only else parts[f"QUAD_{op}"])
            out[op] = OperatorSamples(
                op, sm, self._sample(f"{self.name}_{op}_LI", parts[f"LIN_{op}"]),
                self._sample(f"{self.name}_{op}_QU" + ("_not_fitted" if linear_only else ""),
                             quad),
                same_events=True)
        return out

