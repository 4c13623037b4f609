"""The HEPData submission of a list of records (hepdata_lib, checked by hepdata-validator).

Tables: the expected intervals (one table per group of records sharing CL, luminosity,
systematic and seeds, all of them qualifiers), and per record its q(c) curves, its ROC
curve and its score histogram (from :meth:`ScoreHistogram.hist`); the AUC with its seed
spread from the results table. The likelihoods travel as additional resources of type
``HistFactory``. Values are written with every digit (hepdata_lib rounds to 5 by default).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vaednn import extras, stats
from vaednn.publish.records import ScoreRecord

__all__ = ["SQRT_S", "DIGITS", "ONE_BIN", "submission", "write_submission", "validation_errors"]

#: Centre-of-mass energy of the simulated collisions, GeV.
SQRT_S = 13000.0
#: Significant digits of every value written (a float's round-trip precision).
DIGITS = 17
_PURPOSE = "vaednn.publish (HEPData)"
_DATA = "expected (SM-only Asimov data)"
#: The score's value in the histogram of a fit with one bin (counting): every event.
ONE_BIN = "all events (one bin)"


def _hepdata_lib():
    return extras.require("hepdata_lib", _PURPOSE)


def _variable(name, values, *, independent=False, binned=False, units=""):
    hl = _hepdata_lib()
    variable = hl.Variable(name, is_independent=independent, is_binned=binned, units=units,
                           zero_uncertainties_warning=False)
    variable.values = values
    variable.digits = DIGITS
    return variable


def _table(name: str, description: str, variables) -> object:
    hl = _hepdata_lib()
    table = hl.Table(name)
    table.description = description
    table.location = "vaednn results"
    table.keywords["observables"] = ["Wilson coefficient"]
    table.keywords["reactions"] = ["P P --> W W J J"]
    table.keywords["cmenergies"] = [SQRT_S]
    for variable in variables:
        table.add_variable(variable)
    return table


def _seeds(seeds) -> str:
    return " ".join(str(s) for s in seeds) if seeds else "none (deterministic)"


def _qualify(variable, record: ScoreRecord, systematics: str):
    variable.add_qualifier("CL", record.cl)
    variable.add_qualifier("luminosity", record.luminosity, "fb$^{-1}$")
    variable.add_qualifier("SQRT(S)", SQRT_S, "GeV")
    variable.add_qualifier("data", _DATA)
    variable.add_qualifier("systematics", systematics)
    variable.add_qualifier("training seeds", _seeds(record.seeds))
    return variable


def _systematics(record: ScoreRecord, syst: bool) -> str:
    return (f"background normalisation +-{100 * record.systematic:g} % (log-normal)" if syst
            else "none")


def _interval_tables(records: Sequence[ScoreRecord]) -> list:
    groups: dict[tuple, list[ScoreRecord]] = {}
    for record in records:
        key = (record.cl, record.luminosity, record.systematic, record.seeds)
        groups.setdefault(key, []).append(record)
    tables = []
    for number, ((cl, luminosity, _, seeds), members) in enumerate(groups.items(), 1):
        variables = [_variable("operator", [r.operator for r in members], independent=True),
                     _variable("score", [r.model for r in members], independent=True)]
        for syst in (False, True):
            for side, label in ((0, "lower"), (1, "upper")):
                values = [(r.interval_syst if syst else r.interval)[side] for r in members]
                variables.append(_qualify(_variable(f"c {label} bound", values), members[0],
                                          _systematics(members[0], syst)))
        name = "Expected intervals" + (f" {number}" if len(groups) > 1 else "")
        tables.append(_table(
            name, f"Expected {cl:g} CL intervals on Wilson coefficients at {luminosity:g} "
            f"fb^-1 from a binned profile likelihood of each score (pyhf), with and without "
            f"the background normalisation systematic; training seeds: {_seeds(seeds)}. "
            f"An infinite bound: q(c) stays below the threshold up to |c| = {stats.C_RANGE:g}.",
            variables))
    return tables


def _record_tables(record: ScoreRecord) -> list:
    what = f"{record.operator}, {record.model}"
    tables = []
    for syst, curve in ((False, record.scan), (True, record.scan_syst)):
        q = _qualify(_variable("q = -2 ln lambda", curve.y.tolist()), record,
                     _systematics(record, syst))
        tables.append(_table(
            f"Profile likelihood {what}" + (" syst" if syst else ""),
            f"q(c) = -2 ln lambda(c) of {what}, nuisances profiled, against SM-only Asimov "
            f"data ({_systematics(record, syst)}).",
            [_variable("c", curve.x.tolist(), independent=True), q]))
    eff_bsm = _variable("BSM efficiency", record.roc.y.tolist())
    eff_bsm.add_qualifier("c", record.c)
    eff_bsm.add_qualifier("AUC", record.auc)
    tables.append(_table(
        f"ROC {what}", f"Efficiencies of the cut score > k on the SM and on the BSM deviation "
        f"|c LIN + c^2 QUAD| at c = {record.c:g} of {what}.",
        [_variable("SM efficiency", record.roc.x.tolist(), independent=True), eff_bsm]))
    histogram = record.histogram.hist()
    edges = histogram.axes["score"].edges
    if len(edges) == 2:
        # HEPData refuses a bin infinite on both sides: one bin is every event.
        variables = [_variable("score", [ONE_BIN], independent=True)]
    else:
        variables = [_variable("score", list(zip(edges[:-1].tolist(), edges[1:].tolist())),
                               independent=True, binned=True)]
    hl = _hepdata_lib()
    for component in record.histogram.components:
        view = histogram[component, :]
        variable = _variable(f"{component} yield", view.values().tolist())
        variable.add_qualifier("luminosity", record.luminosity, "fb$^{-1}$")
        variable.add_qualifier("c", 1.0)
        error = hl.Uncertainty("MC stat.", is_symmetric=True)
        error.values = np.sqrt(view.variances()).tolist()
        variable.add_uncertainty(error)
        variables.append(variable)
    tables.append(_table(
        f"Score histogram {what}", f"Expected yields of {what} per fit bin (bins (low, high], "
        "outer edges infinite); LIN and QUAD at c = 1.", variables))
    return tables


def _auc_table(results: pd.DataFrame):
    missing = [c for c in ("operator", "model", "AUC") if c not in results]
    if missing:
        raise ValueError(f"the results table lacks the columns {missing}")
    hl = _hepdata_lib()
    auc = _variable("AUC", results["AUC"].astype(float).tolist())
    if "AUC_std" in results:
        spread = hl.Uncertainty("seed spread (sample std. dev.)", is_symmetric=True)
        spread.values = [None if not math.isfinite(v) else v
                         for v in results["AUC_std"].astype(float)]
        auc.add_uncertainty(spread)
    variables = [_variable("operator", results["operator"].astype(str).tolist(), independent=True),
                 _variable("score", results["model"].astype(str).tolist(), independent=True),
                 auc]
    if "n_seeds" in results:
        variables.append(_variable("seeds", [int(n) if math.isfinite(n) else "-" for n in
                                             results["n_seeds"].astype(float)]))
    return _table("AUC", "Area under the ROC curve of each score (SM against |c LIN + c^2 "
                  "QUAD| at c = 1) with its spread over training seeds (none for a single "
                  "seed or a deterministic reference).", variables)


def submission(records: Sequence[ScoreRecord], results: pd.DataFrame | None = None, *,
               resources: Mapping[str, Path] | None = None):
    """The ``hepdata_lib.Submission`` of ``records`` (and the AUC table of ``results``, a
    :func:`vaednn.compare.results_table`, if given).

    Args:
        records: the scores to publish.
        results: the results table (``operator``, ``model``, ``AUC``; ``AUC_std`` and
            ``n_seeds`` where present).
        resources: description -> existing file, each added as an additional resource of
            type ``HistFactory`` (the workspaces and patchsets); file names must differ.

    Raises:
        ValueError: no records, two resources with the same file name, a results table
            without its columns.
    """
    if not records:
        raise ValueError("submission: no records to publish")
    hl = _hepdata_lib()
    out = hl.Submission()
    out.comment = ("Expected sensitivity of anomaly scores and classifiers to dimension-6 EFT "
                   "operators in vector boson scattering (vaednn).")
    for table in _interval_tables(records):
        out.add_table(table)
    for record in records:
        for table in _record_tables(record):
            out.add_table(table)
    if results is not None:
        out.add_table(_auc_table(results))
    names = [Path(path).name for path in (resources or {}).values()]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"submission: resources share the file names {twice}")
    for description, path in (resources or {}).items():
        out.add_additional_resource(description, str(path), copy_file=True,
                                    file_type="HistFactory")
    return out


def write_submission(sub, folder) -> Path:
    """Write ``sub`` into ``folder`` and its archive ``<folder>.tar.gz`` beside it; returns
    the archive.

    hepdata_lib writes the archive into the working directory: it runs in a temporary one
    here, so a caller's own ``submission.tar.gz`` is never touched.
    """
    folder = Path(folder).resolve()
    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
        sub.create_files(str(folder), validate=False)
        archive = folder.with_name(folder.name + ".tar.gz")
        os.replace(Path(scratch) / "submission.tar.gz", archive)
    return archive


def validation_errors(path) -> list[str]:
    """hepdata-validator's messages on a submission folder or ``.tar.gz`` archive (empty
    when it is valid)."""
    extras.require("hepdata_validator", _PURPOSE)
    from hepdata_validator.full_submission_validator import FullSubmissionValidator

    validator = FullSubmissionValidator()
    path = Path(path)
    with warnings.catch_warnings():
        # hepdata-validator 0.3 opens each data file without closing it: collected here,
        # inside the block, so the ResourceWarnings of its handles are not left to whoever
        # collects next.
        warnings.simplefilter("ignore", ResourceWarning)
        ok = (validator.validate(archive=str(path)) if path.is_file()
              else validator.validate(directory=str(path)))
        gc.collect()
    messages = [f"{name}: {message.message}" for name, found in validator.get_messages().items()
                for message in found]
    if not ok and not messages:
        messages = [f"{path}: hepdata-validator refused it without a message"]
    return messages
