"""One score on one operator, as published: the fit's inputs, the intervals, the curves.

A :class:`ScoreRecord` holds everything the workspaces, the patchsets and the HEPData
tables are made of, so they are built from records alone (``records.json``), without the
events: :func:`score_record` makes one from the validation and test scores,
:func:`save_records` / :func:`load_records` write and read a list of them.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from vaednn import comparison, files, stats

__all__ = ["RECORDS_FORMAT", "ROC_POINTS", "Curve", "ScoreHistogram", "ScoreRecord",
           "score_record", "records_to_json", "records_from_json", "save_records",
           "load_records"]

#: The ``format`` field of ``records.json``, and the version this module writes and reads.
RECORDS_FORMAT = ("vaednn.publish.records", 1)
#: Cuts of a record's ROC curve: the SM and BSM efficiencies at this many score quantiles.
ROC_POINTS = 201
#: A record's q(c) curve spans ``|c| <=`` this many times its largest finite bound.
_SCAN_SPAN = 2.0


class Curve(NamedTuple):
    """A curve as two arrays: ``x`` and ``y``."""

    x: np.ndarray
    y: np.ndarray


@dataclasses.dataclass(frozen=True)
class ScoreHistogram:
    """The reported score's yields per fit bin and component, in the shape of a ``hist.Hist``.

    Attributes:
        edges: the fit's bin edges (outer ones ``-inf``, ``+inf``); bins are ``(low, high]``.
        components: ``("SM", "LIN", "QUAD")``; LIN and QUAD at ``c = 1``.
        values, variances: arrays (component, bin) of ``sum w`` and ``sum w^2``.
    """

    edges: np.ndarray
    components: tuple[str, ...]
    values: np.ndarray
    variances: np.ndarray

    def hist(self):
        """The histogram as a ``hist.Hist`` (a category axis ``component``, a variable axis
        ``score`` without flow bins, weighted storage).

        >>> h = ScoreHistogram(np.array([-np.inf, 0.0, np.inf]), ("SM",),
        ...                    np.array([[3.0, 1.0]]), np.array([[3.0, 1.0]])).hist()
        >>> h["SM", :].values().tolist()
        [3.0, 1.0]
        """
        import hist

        out = hist.Hist(hist.axis.StrCategory(list(self.components), name="component"),
                        hist.axis.Variable(self.edges, name="score", underflow=False,
                                           overflow=False),
                        storage=hist.storage.Weight())
        out.view()["value"] = self.values
        out.view()["variance"] = self.variances
        return out


@dataclasses.dataclass(frozen=True)
class ScoreRecord:
    """One score on one operator: what its publication is built from.

    Attributes:
        operator, model: the operator and the results table's row name of the score.
        luminosity: fb^-1 of the yields.
        cl: confidence level of the intervals.
        systematic: the relative background normalisation uncertainty of the ``*_syst``
            numbers (:data:`vaednn.compare.SYSTEMATIC`).
        seeds: the training seeds behind the score.
        edges, background, lin, quad, mc_errors: the fit's inputs
            (:func:`vaednn.compare.fit_inputs`).
        interval, interval_syst: the package's expected intervals
            (:func:`vaednn.stats.profile_scan`) without and with the systematic.
        falls_back, falls_back_syst: whether q drops below the threshold again outside them.
        scan, scan_syst: the q(c) curves (finite q, ``|c|`` up to twice the largest finite
            bound).
        roc: SM efficiency (x) against BSM efficiency (y) of ``score > cut`` at ``c``.
        auc: the area under the ROC of SM against ``|c LIN + c^2 QUAD|``.
        c: the coefficient of the ROC and AUC.
        histogram: the reported score's yields in the fit's bins.
    """

    operator: str
    model: str
    luminosity: float
    cl: float
    systematic: float
    seeds: tuple[int, ...]
    edges: np.ndarray
    background: np.ndarray
    lin: np.ndarray
    quad: np.ndarray
    mc_errors: np.ndarray
    interval: stats.Interval
    interval_syst: stats.Interval
    falls_back: bool
    falls_back_syst: bool
    scan: Curve
    scan_syst: Curve
    roc: Curve
    auc: float
    c: float
    histogram: ScoreHistogram


def _kept_scan(scan: stats.ProfileScan) -> Curve:
    finite = [abs(b) for b in scan.interval if math.isfinite(b)]
    span = _SCAN_SPAN * max(finite) if finite else stats.C_RANGE
    keep = np.isfinite(scan.q) & (np.abs(scan.c) <= span)
    return Curve(scan.c[keep], scan.q[keep])


def _roc(report: stats.ComponentScores, c: float) -> tuple[Curve, float]:
    sm, w_sm, bsm, w_bsm = report.sm_vs_bsm(c)
    cuts = np.r_[-np.inf, np.unique(np.quantile(np.concatenate([sm, bsm]),
                                                np.linspace(0, 1, ROC_POINTS)))]
    eff_sm, eff_bsm, _ = stats.roc(sm, w_sm, bsm, w_bsm, cuts)
    return Curve(eff_sm, eff_bsm), stats.auc(sm, w_sm, bsm, w_bsm)


def _histogram(report: stats.ComponentScores, edges: np.ndarray) -> ScoreHistogram:
    values = report.histogram(edges)[:3]
    squared = stats.ComponentScores(report.sm, report.w_sm**2, report.lin, report.w_lin**2,
                                    report.quad, report.w_quad**2,
                                    same_events=report.same_events)
    variances = squared.histogram(edges)[:3]
    return ScoreHistogram(np.asarray(edges, dtype=np.float64), ("SM", "LIN", "QUAD"),
                          np.array(values), np.array(variances))


def score_record(choose: stats.ComponentScores, report: stats.ComponentScores, *,
                 operator: str, model: str, luminosity: float, seeds: Sequence[int],
                 cl: float = 0.95, systematic: float = comparison.SYSTEMATIC,
                 c: float = 1.0) -> ScoreRecord:
    """The record of one score on one operator, as :func:`vaednn.compare.metrics` computes
    its numbers: binning chosen on ``choose``, everything else from ``report``.

    Args:
        choose, report: the validation and test scores (the same object for the seed's
            procedure), their yields at ``luminosity``.
        operator, model: names of the operator and of the score (its results-table row).
        luminosity: fb^-1 of the yields, for the metadata.
        seeds: training seeds of the score (empty for a deterministic reference).
        cl: confidence level of the intervals.
        systematic: relative background normalisation uncertainty of the ``*_syst`` interval.
        c: coefficient of the ROC and the AUC.

    Raises:
        ValueError: no fit exists (the message says why, e.g. no binning), or bad numbers.
    """
    if not (math.isfinite(luminosity) and luminosity > 0):
        raise ValueError(f"luminosity must be a positive number of fb^-1, got {luminosity}")
    seeds = tuple(int(s) for s in seeds)
    inputs = comparison.fit_inputs(choose, report)
    if inputs.reason:
        raise ValueError(f"{operator} / {model}: no binned fit to publish: {inputs.reason}")
    scans = [stats.profile_scan(inputs.background, inputs.lin, inputs.quad,
                                background_uncertainty=delta, cl=cl)
             for delta in (0.0, systematic)]
    roc, area = _roc(report, c)
    return ScoreRecord(
        operator=operator, model=model, luminosity=float(luminosity), cl=float(cl),
        systematic=float(systematic), seeds=seeds, edges=inputs.edges,
        background=inputs.background, lin=inputs.lin, quad=inputs.quad,
        mc_errors=inputs.mc_errors, interval=scans[0].interval,
        interval_syst=scans[1].interval, falls_back=scans[0].falls_back,
        falls_back_syst=scans[1].falls_back, scan=_kept_scan(scans[0]),
        scan_syst=_kept_scan(scans[1]), roc=roc, auc=float(area), c=float(c),
        histogram=_histogram(report, inputs.edges))


def _number(value: float) -> float | str:
    # JSON has no infinities or NaN: they travel as the strings float() reads back.
    value = float(value)
    return value if math.isfinite(value) else repr(value)


def _numbers(values) -> list:
    return [_numbers(v) if np.ndim(v) else _number(v) for v in values]


def _array(values) -> np.ndarray:
    return np.array(values, dtype=object).astype(np.float64)


def _to_plain(record: ScoreRecord) -> dict:
    h = record.histogram
    return {
        "operator": record.operator, "model": record.model,
        "luminosity": record.luminosity, "cl": record.cl, "systematic": record.systematic,
        "seeds": list(record.seeds),
        **{name: _numbers(getattr(record, name))
           for name in ("edges", "background", "lin", "quad", "mc_errors", "interval",
                        "interval_syst")},
        "falls_back": record.falls_back, "falls_back_syst": record.falls_back_syst,
        **{name: {"x": _numbers(curve.x), "y": _numbers(curve.y)}
           for name, curve in (("scan", record.scan), ("scan_syst", record.scan_syst),
                               ("roc", record.roc))},
        "auc": _number(record.auc), "c": record.c,
        "histogram": {"edges": _numbers(h.edges), "components": list(h.components),
                      "values": _numbers(h.values), "variances": _numbers(h.variances)},
    }


def _from_plain(plain: dict, where: str) -> ScoreRecord:
    try:
        h = plain["histogram"]
        return ScoreRecord(
            operator=str(plain["operator"]), model=str(plain["model"]),
            luminosity=float(plain["luminosity"]), cl=float(plain["cl"]),
            systematic=float(plain["systematic"]), seeds=tuple(int(s) for s in plain["seeds"]),
            **{name: _array(plain[name])
               for name in ("edges", "background", "lin", "quad", "mc_errors")},
            interval=stats.Interval(*_array(plain["interval"]).tolist()),
            interval_syst=stats.Interval(*_array(plain["interval_syst"]).tolist()),
            falls_back=bool(plain["falls_back"]), falls_back_syst=bool(plain["falls_back_syst"]),
            **{name: Curve(_array(plain[name]["x"]), _array(plain[name]["y"]))
               for name in ("scan", "scan_syst", "roc")},
            auc=float(plain["auc"]), c=float(plain["c"]),
            histogram=ScoreHistogram(_array(h["edges"]), tuple(h["components"]),
                                     _array(h["values"]), _array(h["variances"])))
    except KeyError as error:
        raise ValueError(f"{where}: a record lacks the field {error.args[0]!r}") from None
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: a record has a malformed field: {error}") from None


def records_to_json(records: Sequence[ScoreRecord]) -> str:
    """``records`` as the text of ``records.json`` (floats exact: JSON keeps every digit;
    ``inf`` and ``nan`` as the strings ``"inf"``, ``"-inf"``, ``"nan"``)."""
    name, version = RECORDS_FORMAT
    return json.dumps({"format": name, "version": version,
                       "records": [_to_plain(r) for r in records]}, indent=1,
                      allow_nan=False) + "\n"


def records_from_json(text: str, where: str = "records.json") -> list[ScoreRecord]:
    """The records of a ``records.json`` text.

    Raises:
        ValueError: not JSON, another format or version, or a malformed record; the
            message names ``where``.
    """
    try:
        plain = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{where}: not a JSON file ({error})") from None
    name, version = RECORDS_FORMAT
    if not isinstance(plain, dict) or plain.get("format") != name:
        raise ValueError(f"{where}: not a records file of vaednn.publish (format {name!r})")
    if plain.get("version") != version:
        raise ValueError(f"{where}: records version {plain.get('version')!r}; this vaednn "
                         f"reads version {version}")
    return [_from_plain(r, where) for r in plain["records"]]


def save_records(records: Sequence[ScoreRecord], path) -> Path:
    """Write ``records`` to ``path`` (``records.json``) atomically; returns the path."""
    return files.atomic_write_text(path, records_to_json(records))


def load_records(path) -> list[ScoreRecord]:
    """The records of the file ``path``.

    Raises:
        FileNotFoundError: no such file (the message names it).
        ValueError: not a records file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such records file (write it with "
                                "vaednn.publish.save_records)")
    return records_from_json(path.read_text(), str(path))
