"""Reweighted generator samples: one event set, one weight column per parameter point.

A MadGraph sample is usually generated once (at the SM) and reweighted per event to a few
values of the Wilson coefficients: a Les Houches file carries a ``<rwgt>`` block of
``<wgt id=...>`` per event, a NanoAOD-style ntuple a weight vector branch
(``LHEReweightingWeight``). :class:`ReweightedSample` holds such a sample: the features of
the events, every weight column, and the parameter point ``{operator: value}`` of each
weight id. Cuts, ``max_events`` and splits act on events, so an event and all its weights
always stay together.

Per event the weight at a point ``c`` is a quadratic polynomial (dimension-6 EFT,
squared amplitude)::

    w(c) = SM + sum_i c_i LIN_i + sum_i c_i**2 QUAD_i + sum_{i<j} c_i c_j MIX_ij

:meth:`ReweightedSample.decompose` solves for SM, LIN, QUAD (and MIX) of every event in one
least-squares solve over the points, and reports the condition number of the design
matrix. One point per operator fixes only ``c LIN + c**2 QUAD``: asking for both is an
:class:`LHEError`; ``linear_only=True`` fits SM and LIN alone, and says so on the result.

Normalisation (the package's convention is :func:`vaednn.data.lumi_weights`,
``w * xsec * L / sumw / fraction``): ``xsec`` is the cross section of the ``<init>`` block
(the sum over its processes, pb) and ``sumw`` the sum of the nominal event weights
(``XWGTUP``) of the events read, before any cut. In MadGraph's average convention
(``sigma = sum(w) / N``) the yield of an event is then ``w * L / N``, the usual meaning of an
LHE weight; the same formula holds if the weights sum to sigma instead. Every component
(SM, LIN, QUAD) uses the same ``xsec`` and ``sumw``: they are weights of the same events.

The generator writes such a sample (:func:`vaednn.simulate.write_reweighted`); reading it
and splitting it by event:

>>> import tempfile
>>> from vaednn import compare, simulate
>>> files = simulate.write_reweighted(tempfile.mkdtemp(), ["cW", "cHq3"], n_events=500)
>>> sample = read_lhe(files["lhe"]).cut(vdata.VBS_CUTS)
>>> sample.points["cW_cHq3_p1"]
{'cW': 1.0, 'cHq3': 1.0}
>>> parts = sample.decompose(["cW", "cHq3"])
>>> parts.terms, round(parts.condition_number, 2)
(('SM', 'LIN_cW', 'LIN_cHq3', 'QUAD_cW', 'QUAD_cHq3', 'MIX_cW_cHq3'), 8.07)
>>> split = compare.prepare(sample, ["cW", "cHq3"])
>>> bool((split.test["cW"].sm.entries == split.test["cW"].lin.entries).all())
True

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

from vaednn import data as vdata
from vaednn.extras import require

__all__ = ["Decomposition", "FinalState", "LHEError", "ReweightedSample", "VARIABLES",
           "design_matrix", "parse_param_card", "points_from_header", "read_lhe",
           "read_map", "read_root"]

log = logging.getLogger("vaednn")

#: PDG ids of the final-state objects :class:`FinalState` sorts the particles into.
JET_IDS = frozenset({1, 2, 3, 4, 5, 21})
LEPTON_IDS = frozenset({11, 13, 15})
NEUTRINO_IDS = frozenset({12, 14, 16})
PHOTON_IDS = frozenset({22})
_KINDS = {"j": JET_IDS, "l": LEPTON_IDS, "v": NEUTRINO_IDS, "a": PHOTON_IDS}


class LHEError(ValueError):
    """A reweighted sample that cannot be used as it is; the message names the file, the
    weight id, the operator or the variable at fault."""


# --------------------------------------------------------------------------- kinematics
@dataclasses.dataclass
class FinalState:
    """The final-state (status 1) objects of many events, leading first.

    ``momenta[kind]`` is an array ``(n_events, n_max, 4)`` of ``(px, py, pz, E)`` sorted by
    decreasing pT, NaN where an event has fewer objects; kinds are ``"j"`` (quarks and
    gluons), ``"l"`` (charged leptons), ``"v"`` (neutrinos) and ``"a"`` (photons).
    ``unclassified`` counts the final-state particles of no kind by PDG id (a top quark
    or a W left undecayed), which no variable of :data:`VARIABLES` uses.
    """

    momenta: dict
    unclassified: dict = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.momenta.values())))

    def count(self, kind: str) -> np.ndarray:
        """Number of objects of ``kind`` in each event."""
        return (~np.isnan(self.momenta[kind][:, :, 3])).sum(axis=1)

    def object(self, kind: str, rank: int):
        """The ``rank``-th (1 = leading) object of ``kind`` of every event, a vector array
        (NaN where an event has fewer)."""
        vector = require("vector", "reading LHE kinematics")
        p = self.momenta[kind]
        if rank > p.shape[1]:
            p = np.full((len(self), rank, 4), np.nan)
        v = p[:, rank - 1]
        return vector.array({"px": v[:, 0], "py": v[:, 1], "pz": v[:, 2], "E": v[:, 3]})

    def total(self, kind: str):
        """The vector sum of every object of ``kind`` (zero for an event without any)."""
        vector = require("vector", "reading LHE kinematics")
        v = np.nansum(self.momenta[kind], axis=1)
        return vector.array({"px": v[:, 0], "py": v[:, 1], "pz": v[:, 2], "E": v[:, 3]})

    @classmethod
    def from_particles(cls, events) -> FinalState:
        """From a list of events, each a list of ``(pdg_id, px, py, pz, E)`` of status 1."""
        sorted_ = {kind: [] for kind in _KINDS}
        known = frozenset().union(*_KINDS.values())
        unclassified = {}
        for particles in events:
            for p in particles:
                if abs(p[0]) not in known:
                    unclassified[p[0]] = unclassified.get(p[0], 0) + 1
            for kind, ids in _KINDS.items():
                found = [p[1:] for p in particles if abs(p[0]) in ids]
                found.sort(key=lambda p: -(p[0] ** 2 + p[1] ** 2))
                sorted_[kind].append(found)
        momenta = {}
        for kind, lists in sorted_.items():
            most = max((len(x) for x in lists), default=0)
            array = np.full((len(lists), max(most, 1), 4), np.nan)
            for i, found in enumerate(lists):
                if found:
                    array[i, :len(found)] = found
            momenta[kind] = array
        return cls(momenta, unclassified)


def _single(kind, rank, quantity):
    def variable(state):
        return getattr(state.object(kind, rank), quantity)
    variable.needs = {kind: rank}
    return variable


def _pair(kind, quantity):
    def variable(state):
        a, b = state.object(kind, 1), state.object(kind, 2)
        if quantity == "deltaeta":
            return np.abs(a.eta - b.eta)
        if quantity == "deltaphi":
            return np.abs(a.deltaphi(b))
        pair = a + b
        return pair.mass if quantity == "m" else pair.pt
    variable.needs = {kind: 2}
    return variable


def _met(state):
    return state.total("v").pt


_met.needs = {}

#: The variables :func:`read_lhe` computes by name: ``pt``/``eta``/``phi`` of the leading
#: two jets (``j``), charged leptons (``l``) and photons (``a``) (``ptj1``, ``etal2``, ...),
#: the pair variables ``mjj``, ``ptjj``, ``deltaetajj``, ``deltaphijj`` (and ``ll``), ``met``
#: (pT of the sum of the neutrinos) and ``njets``/``nleptons``. Each takes a
#: :class:`FinalState` and returns one value per event; pass others as ``variables=``.
VARIABLES = {
    **{f"{q}{kind}{rank}": _single(kind, rank, q)
       for kind in ("j", "l", "a") for rank in (1, 2) for q in ("pt", "eta", "phi")},
    **{f"{name}{kind}{kind}": _pair(kind, q)
       for kind in ("j", "l") for name, q in (("m", "m"), ("pt", "pt"),
                                              ("deltaeta", "deltaeta"),
                                              ("deltaphi", "deltaphi"))},
    "met": _met,
    "njets": lambda state: state.count("j").astype(np.float64),
    "nleptons": lambda state: state.count("l").astype(np.float64),
}


def _features(state: FinalState, features, variables, where: str) -> pd.DataFrame:
    known = {**VARIABLES, **(variables or {})}
    unknown = [f for f in features if f not in known]
    if unknown:
        raise LHEError(f"{where}: no recipe for the variable(s) {unknown}; known: "
                       f"{sorted(known)} (or pass variables={{name: function}})")
    table = {}
    for name in features:
        values = np.asarray(known[name](state), dtype=np.float64)
        if values.shape != (len(state),):
            raise LHEError(f"{where}: variable {name!r} gave shape {values.shape}, "
                           f"not one value per event ({len(state)})")
        bad = ~np.isfinite(values)
        if bad.any():
            counts = {k: int((state.count(k)[bad] < r).sum())
                      for k, r in getattr(known[name], "needs", {}).items()}
            raise LHEError(f"{where}: variable {name!r} is undefined in {int(bad.sum())} of "
                           f"{len(state)} events (events lacking the objects it needs: "
                           f"{counts}); choose variables every event has")
        table[name] = values
    return pd.DataFrame(table)


# --------------------------------------------------------------------------- header
def parse_param_card(text: str) -> dict:
    """``{(block, indices): (name, value)}`` of an SLHA card (block names lower case).

    >>> card = "BLOCK SMEFT # \\n    5 0.000000e+00 # chdd\\n    9 1.0e-01 # chwb\\n"
    >>> parse_param_card(card)[("smeft", (5,))]
    ('chdd', 0.0)
    """
    entries, block = {}, None
    for line in text.splitlines():
        body, _, comment = line.partition("#")
        tokens = body.split()
        if not tokens:
            continue
        if tokens[0].upper() == "BLOCK":
            block = tokens[1].lower() if len(tokens) > 1 else None
            continue
        if tokens[0].upper() == "DECAY":
            block = None
            continue
        if block is None:
            continue
        try:
            indices = tuple(int(t) for t in tokens[:-1])
            value = float(tokens[-1])
        except ValueError:
            continue
        entries[(block, indices)] = (comment.strip() or f"{block}{list(indices)}", value)
    return entries


def _settings(wid: str, body: str, card: dict, where: str) -> dict:
    """The ``{name: value}`` an ``<initrwgt>`` weight body sets (``set param_card ...``)."""
    by_name = {name.lower(): name for name, _ in card.values()}
    settings = {}
    for line in body.splitlines():
        command = line.split("#", 1)[0].split()
        if not command:
            continue
        if command[0].lower() != "set":
            raise LHEError(f"{where}: weight id {wid!r}: cannot interpret {line.strip()!r} "
                           "(only 'set param_card <block> <index> <value>' and "
                           "'set <name> <value>' map an id to a point)")
        args = command[1:]
        if args and args[0].lower() == "param_card":
            args = args[1:]
        try:
            value = float(args[-1])
            if len(args) == 2 and args[0].lower() in by_name:
                name = by_name[args[0].lower()]
            elif len(args) >= 3:
                key = (args[0].lower(), tuple(int(a) for a in args[1:-1]))
                if key not in card:
                    raise LHEError(f"{where}: weight id {wid!r} sets block {args[0]} entry "
                                   f"{list(key[1])}, which the header's param card lacks")
                name = card[key][0]
            else:
                raise LHEError(f"{where}: weight id {wid!r} sets {args[0]!r}, which is not "
                               "a parameter of the header's param card")
        except (ValueError, IndexError) as error:
            if isinstance(error, LHEError):
                raise
            raise LHEError(f"{where}: weight id {wid!r}: cannot read {line.strip()!r}") from None
        if name in settings and settings[name] != value:
            raise LHEError(f"{where}: weight id {wid!r} sets {name} twice, to "
                           f"{settings[name]} and {value}")
        settings[name] = value
    return settings


def points_from_header(weights: list[tuple[str, str]], card: dict, where: str = "header"):
    """Map each weight id to its parameter point.

    Args:
        weights: ``(id, body)`` of each ``<weight>`` of ``<initrwgt>``, in order.
        card: the header's param card (:func:`parse_param_card`).
        where: the file, for messages.

    Returns:
        ``(points, setting_nothing)``: ``points[id]`` is ``{name: value}`` of the
        parameters the reweighting changes that are non-zero at that point (the card's
        value where the id sets nothing); ``setting_nothing`` the ids whose body sets no
        parameter: they reweight to the card itself, the generation point (``SM`` does).

    Raises:
        LHEError: an id declared twice, a body that names an entry the card lacks, or a
            parameter set twice to different values.
    """
    seen, settings = set(), {}
    for wid, body in weights:
        if wid in seen:
            raise LHEError(f"{where}: weight id {wid!r} is declared twice in <initrwgt>")
        seen.add(wid)
        settings[wid] = _settings(wid, body or "", card, where)
    changed = sorted(set().union(*settings.values())) if settings else []
    generation = {name: value for name, value in card.values() if name in changed}
    points = {}
    for wid, sets in settings.items():
        full = {**generation, **sets}
        points[wid] = {name: value for name, value in full.items() if value != 0}
    return points, tuple(wid for wid, sets in settings.items() if not sets)


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
        expression = vdata.cut_expression(cuts, tuple(self.features.columns))
        keep = vdata.cut_mask(expression, self.features, len(self))
        if not keep.any():
            raise LHEError(f"{self.name}: no event left after the cuts {cuts!r} "
                           f"({len(self)} events)")
        return self.select(np.flatnonzero(keep))

    def max_events(self, n: int) -> ReweightedSample:
        """The events among the first ``n`` read (file order), normalised to full rate.

        ``fraction`` becomes ``n / n_read`` of the current one, as
        :func:`vaednn.data.read_ntuple` does with ``max_events``.
        """
        vdata.check_max_events(n)
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

    def _sample(self, name: str, weights: np.ndarray) -> vdata.Sample:
        return vdata.Sample(name=name, features=self.features, weights=weights,
                            xsec=self.xsec, sumw=self.sumw, fraction=self.fraction,
                            n_read=self.n_read, path=self.path, entries=self.entries,
                            log_features=self.log_features)

    def operator_samples(self, operators, linear_only: bool = False,
                         mixed: bool = True) -> dict[str, vdata.OperatorSamples]:
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
            out[op] = vdata.OperatorSamples(
                op, sm, self._sample(f"{self.name}_{op}_LI", parts[f"LIN_{op}"]),
                self._sample(f"{self.name}_{op}_QU" + ("_not_fitted" if linear_only else ""),
                             quad),
                same_events=True)
        return out


# --------------------------------------------------------------------------- readers
def _override(points: dict, mapping, ids, where: str) -> dict:
    if not mapping:
        return points
    unknown = sorted(set(mapping) - set(ids))
    if unknown:
        raise LHEError(f"{where}: the mapping names weight id(s) {unknown} that the file "
                       f"lacks; its ids are {list(ids)}")
    out = dict(points)
    for wid, point in mapping.items():
        if not isinstance(point, dict) or not all(
                isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
                for k, v in point.items()):
            raise LHEError(f"{where}: the point of weight id {wid!r} must be "
                           f"{{operator: number}}, got {point!r}")
        out[wid] = {k: float(v) for k, v in point.items() if v != 0}
    return out


def read_lhe(path, features=vdata.FEATURES, log_features=None, *, points=None,
             variables=None, max_events: int | None = None, cuts: str | None = None,
             name: str | None = None) -> ReweightedSample:
    """Read a Les Houches event file with reweighting weights (pylhe; kinematics with vector).

    Args:
        path: the ``.lhe`` or ``.lhe.gz`` file.
        features: variable names, each from :data:`VARIABLES` or ``variables``.
        log_features: the features the models take log10 of (checked > 0); default those
            of ``features`` in :data:`vaednn.data.LOG_FEATURES`.
        points: ``{id: {operator: value}}`` overriding (or, without an ``<initrwgt>``,
            giving) the header's mapping.
        variables: more variable recipes, ``{name: function(FinalState) -> array}``.
        max_events: read at most this many events; normalisation uses those read.
        cuts: a selection on the feature names, applied after reading.
        name: the sample's name (default: the file name).

    Raises:
        LHEError: no ``<init>`` cross section, an event whose weight ids differ from the
            header's, header ids that cannot be mapped (see :func:`points_from_header`),
            a mapping naming ids the file lacks, a variable undefined in some event.
    """
    pylhe = require("pylhe", "reading LHE files")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: LHE file not found")
    vdata.check_max_events(max_events)
    features, log_features = vdata.feature_set(features, log_features)
    try:
        lhe = pylhe.LHEFile.fromfile(str(path))
    except Exception as error:
        raise LHEError(f"{path}: not a readable Les Houches file ({type(error).__name__}: "
                       f"{error})") from None
    processes = lhe.init.procInfo if lhe.init is not None else []
    if not processes:
        raise LHEError(f"{path}: the <init> block gives no process cross section")
    xsec = float(sum(p.xSection for p in processes))
    declared, header_points, nothing = _header_mapping(lhe.header, path)
    particles, weights, nominal = [], [], []
    ids = declared
    for number, event in enumerate(_events(lhe, path)):
        if max_events is not None and number >= max_events:
            break
        if ids is None:
            ids = tuple(event.weights)
        if tuple(event.weights) != ids:
            extra = sorted(set(event.weights) - set(ids))
            lacking = sorted(set(ids) - set(event.weights))
            raise LHEError(f"{path}: event {number} has weight ids unknown to the header "
                           f"{extra} and lacks {lacking}" if extra or lacking else
                           f"{path}: event {number} lists its weight ids in another order "
                           "than the header")
        weights.append(list(event.weights.values()))
        nominal.append(event.eventinfo.weight)
        particles.append([(p.id, p.px, p.py, p.pz, p.e) for p in event.particles
                          if p.status == 1])
    if not particles:
        raise LHEError(f"{path}: no event")
    ids = ids or ()
    points = _override(header_points, points, ids, str(path))
    state = FinalState.from_particles(particles)
    if state.unclassified:
        log.info("%s: final-state particles that are no jet, lepton, neutrino or photon "
                 "(PDG id: count): %s", path, state.unclassified)
    table = _features(state, features, variables, str(path))
    vdata.check_log_features(table, str(path), log_features)
    nominal = np.asarray(nominal, dtype=np.float64)
    sumw = float(nominal.sum())
    if sumw == 0:
        raise LHEError(f"{path}: the nominal weights sum to zero; no normalisation")
    sample = ReweightedSample(
        name=name or path.name.split(".")[0], features=table,
        weights=np.asarray(weights, dtype=np.float64).reshape(len(table), len(ids)),
        ids=ids, points=points, nominal=nominal, xsec=xsec, sumw=sumw,
        n_read=len(table), ids_setting_nothing=nothing, log_features=log_features,
        path=path)
    return sample.cut(cuts) if cuts else sample


def _events(lhe, path):
    """pylhe's events, with a malformed event reported as an :class:`LHEError` naming it."""
    events, number = iter(lhe.events), 0
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except Exception as error:
            raise LHEError(f"{path}: cannot read event {number} ({type(error).__name__}: "
                           f"{error})") from None
        yield event
        number += 1


def _header_mapping(header, path):
    """``(ids, points, setting_nothing)`` from ``<initrwgt>`` and the ``<slha>`` card."""
    initrwgt = getattr(header, "initrwgt", None)
    if header is None or initrwgt is None:
        return None, {}, ()
    declared = []
    for entry in initrwgt.entries:
        for weight in getattr(entry, "weights", [entry]):
            declared.append((weight.id, weight.name))
    card_text = "".join(element.text or "" for element in header.extra_elements
                        if element.tag.lower() == "slha")
    card = parse_param_card(card_text)
    needs_card = [wid for wid, body in declared if body and body.strip() and not card]
    if needs_card:
        raise LHEError(f"{path}: weight ids {needs_card[:3]}... set parameters but the "
                       "header has no <slha> param card to name them; pass points=")
    points, nothing = points_from_header(declared, card, str(path))
    if nothing:
        log.info("%s: %d weight id(s) set no parameter and reweight to the header's card "
                 "(the generation point): %s", path, len(nothing), ", ".join(nothing))
    return tuple(wid for wid, _ in declared), points, nothing


def read_root(path, tree: str | None = None, *, weight_vector: str, ids, points,
              xsec: float, weight: str = vdata.WEIGHT, relative: bool = False,
              features=None, log_features=None, branches: dict | None = None,
              cuts: str | None = None, max_events: int | None = None,
              name: str | None = None) -> ReweightedSample:
    """The same as :func:`read_lhe` from an ntuple with a weight vector branch.

    Args:
        path, tree, features, log_features, branches: as :func:`vaednn.data.read_ntuple`.
        weight_vector: the branch holding each event's weights, one per id
            (NanoAOD: ``LHEReweightingWeight``).
        ids: the name of each element of the vector, in order.
        points: ``{id: {operator: value}}`` for the ids (ntuples carry no header).
        xsec: the cross section (pb) the nominal weights stand for.
        weight: the nominal weight branch (its sum over the entries read is ``sumw``).
        relative: True when the vector holds ratios to the nominal weight (NanoAOD's
            convention); they are multiplied by it.
        cuts: a selection on the feature names, applied after reading.
        max_events: read at most this many entries.

    Raises:
        LHEError: a vector whose length differs from ``ids`` (naming the entry), points
            for ids not in ``ids``; anything :func:`vaednn.data.read_ntuple` refuses.
    """
    path = Path(path)
    ids = tuple(ids)
    # sumw = 1 only gets past read_ntuple's check; the real one is the nominal sum below.
    sample = vdata.read_ntuple(path, tree, cuts=None, max_events=max_events,
                               branches=branches, weight=weight, xsec=xsec, sumw=1.0,
                               features=features, log_features=log_features)
    file, tree_name, ttree = vdata.open_tree(path, tree)
    if weight_vector not in ttree.keys():
        raise LHEError(f"{path}: tree {tree_name!r} has no weight vector branch "
                       f"{weight_vector!r}")
    vectors = ttree[weight_vector].array(entry_stop=len(sample), library="ak")
    import awkward as ak

    lengths = np.asarray(ak.num(vectors, axis=1))
    wrong = np.flatnonzero(lengths != len(ids))
    if wrong.size:
        raise LHEError(f"{path}: {weight_vector} has {lengths[wrong[0]]} weights at entry "
                       f"{wrong[0]}, but {len(ids)} ids are given")
    matrix = ak.to_numpy(vectors).astype(np.float64)
    if relative:
        matrix = matrix * sample.weights[:, None]
    rw = ReweightedSample(
        name=name or sample.name, features=sample.features, weights=matrix, ids=ids,
        points=_override({}, points, ids, str(path)), nominal=sample.weights,
        xsec=float(xsec), sumw=float(sample.weights.sum()), n_read=len(sample),
        entries=sample.entries, log_features=sample.log_features, path=path)
    return rw.cut(cuts) if cuts else rw


def read_map(path, cuts: str | None = None, max_events: int | None = None) -> ReweightedSample:
    """The reweighted ``[sm]`` sample of a sample map (``weight_vector``, ``weight_ids`` and
    ``points`` set, see :class:`vaednn.data.SampleMap`), read with :func:`read_root`."""
    spec = vdata.SampleMap.load(path).sm
    if spec.weight_vector is None:
        raise LHEError(f"{path}: [sm] names no weight_vector; it is not a reweighted sample")
    if spec.xsec is None:
        raise LHEError(f"{path}: [sm] needs 'xsec' (pb) for a reweighted sample")
    return read_root(spec.file, spec.tree, weight_vector=spec.weight_vector,
                     ids=spec.weight_ids, points=spec.points, xsec=spec.xsec,
                     weight=spec.weight, relative=spec.relative_weights,
                     features=spec.features, log_features=spec.log_features,
                     branches=spec.branches, cuts=cuts, max_events=max_events)
