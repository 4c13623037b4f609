"""Reading reweighted generator samples: one event set, one weight column per parameter point.

A MadGraph sample is usually generated once (at the SM) and reweighted per event to a few
values of the Wilson coefficients: a Les Houches file carries a ``<rwgt>`` block of
``<wgt id=...>`` per event, a NanoAOD-style ntuple a weight vector branch
(``LHEReweightingWeight``). :class:`~vaednn.data.reweighted.ReweightedSample` holds such a
sample: the features of the events, every weight column, and the parameter point
``{operator: value}`` of each weight id. Cuts, ``max_events`` and splits act on events, so an
event and all its weights always stay together; its EFT decomposition is described in
:mod:`vaednn.data.reweighted`.

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
>>> from vaednn import compare, data, simulate
>>> files = simulate.write_reweighted(tempfile.mkdtemp(), ["cW", "cHq3"], n_events=500)
>>> sample = read_lhe(files["lhe"]).cut(data.VBS_CUTS)
>>> sample.points["cW_cHq3_p1"]
{'cW': 1.0, 'cHq3': 1.0}
>>> parts = sample.decompose(["cW", "cHq3"])
>>> parts.terms, round(parts.condition_number, 2)
(('SM', 'LIN_cW', 'LIN_cHq3', 'QUAD_cW', 'QUAD_cHq3', 'MIX_cW_cHq3'), 8.07)
>>> split = compare.prepare(sample, ["cW", "cHq3"])
>>> bool((split.test["cW"].sm.entries == split.test["cW"].lin.entries).all())
True
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from vaednn.data.maps import SampleMap
from vaednn.data.ntuples import open_tree, read_ntuple
from vaednn.data.reweighted import LHEError, ReweightedSample
from vaednn.data.samples import (
    FEATURES, WEIGHT, check_log_features, check_max_events, feature_set)
from vaednn.extras import require

__all__ = ["FinalState", "VARIABLES", "parse_param_card", "points_from_header", "read_lhe",
           "read_map", "read_root"]

log = logging.getLogger("vaednn")


#: PDG ids of the final-state objects :class:`FinalState` sorts the particles into.
JET_IDS = frozenset({1, 2, 3, 4, 5, 21})


LEPTON_IDS = frozenset({11, 13, 15})


NEUTRINO_IDS = frozenset({12, 14, 16})


PHOTON_IDS = frozenset({22})


_KINDS = {"j": JET_IDS, "l": LEPTON_IDS, "v": NEUTRINO_IDS, "a": PHOTON_IDS}


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


def read_lhe(path, features=FEATURES, log_features=None, *, points=None,
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
    check_max_events(max_events)
    features, log_features = feature_set(features, log_features)
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
    check_log_features(table, str(path), log_features)
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
              xsec: float, weight: str = WEIGHT, relative: bool = False,
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
    sample = read_ntuple(path, tree, cuts=None, max_events=max_events,
                               branches=branches, weight=weight, xsec=xsec, sumw=1.0,
                               features=features, log_features=log_features)
    file, tree_name, ttree = open_tree(path, tree)
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
    spec = SampleMap.load(path).sm
    if spec.weight_vector is None:
        raise LHEError(f"{path}: [sm] names no weight_vector; it is not a reweighted sample")
    if spec.xsec is None:
        raise LHEError(f"{path}: [sm] needs 'xsec' (pb) for a reweighted sample")
    return read_root(spec.file, spec.tree, weight_vector=spec.weight_vector,
                     ids=spec.weight_ids, points=spec.points, xsec=spec.xsec,
                     weight=spec.weight, relative=spec.relative_weights,
                     features=spec.features, log_features=spec.log_features,
                     branches=spec.branches, cuts=cuts, max_events=max_events)

