"""The export folder: every record's likelihoods and README, and the HEPData submission.

Layout of ``out_dir`` (:func:`export`)::

    records.json                       the records it was made from
    likelihoods/<operator>_<score>/    per record (the score's name with _ for other signs):
        <operator>_<score>_bkgonly.json, ..._patchset.json            no systematic
        <operator>_<score>_bkgonly_syst.json, ..._patchset_syst.json  background +-10 %
        <operator>_<score>_two_normfactor.json, ..._two_normfactor_syst.json
        README.md                      how pyhf alone reproduces the intervals
    submission/                        the HEPData submission (YAML + the JSON resources)
    submission.tar.gz                  the same, as the archive HEPData uploads
    export.json                        the files this export owns (what ``force`` replaces)
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vaednn import comparison, files
from vaednn.publish import hepdata
from vaednn.publish.records import ScoreRecord, records_to_json
from vaednn.publish.workspaces import (
    NO_INSPIRE_ID, patchset, reproduction_text, two_normfactor_workspace, workspace)

__all__ = ["MANIFEST", "SUBMISSION", "LIKELIHOOD_FILES", "record_name", "export"]

log = logging.getLogger("vaednn")

#: The file that lists what an export wrote, relative to its folder.
MANIFEST = "export.json"
#: The HEPData submission's folder (and, with ``.tar.gz``, its archive) in an export.
SUBMISSION = "submission"
#: Key -> file-name suffix of a record's likelihood files.
LIKELIHOOD_FILES = {"bkgonly": "bkgonly.json", "patchset": "patchset.json",
                    "bkgonly_syst": "bkgonly_syst.json", "patchset_syst": "patchset_syst.json",
                    "two_normfactor": "two_normfactor.json",
                    "two_normfactor_syst": "two_normfactor_syst.json"}


def record_name(record: ScoreRecord) -> str:
    """The folder and file prefix of a record: ``<operator>_<score>``, every run of signs
    other than letters and digits as one ``_``.

    >>> from types import SimpleNamespace
    >>> record_name(SimpleNamespace(operator="cW", model="BDT (supervised)"))
    'cW_BDT_supervised'
    """
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{record.operator}_{record.model}").strip("_")


def _results(results) -> pd.DataFrame | None:
    if results is None or isinstance(results, pd.DataFrame):
        return results
    path = Path(results)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results table (figures/results.csv)")
    return comparison.current_columns(pd.read_csv(path), str(path))


def _write_likelihoods(record: ScoreRecord, folder: Path, inspire_id: str) -> dict[str, Path]:
    name = record_name(record)
    paths = {key: folder / f"{name}_{suffix}" for key, suffix in LIKELIHOOD_FILES.items()}
    for syst, tail in ((False, ""), (True, "_syst")):
        content = {"bkgonly": workspace(record, systematic=syst),
                   "patchset": patchset(record, systematic=syst, inspire_id=inspire_id),
                   "two_normfactor": two_normfactor_workspace(record, systematic=syst)}
        for key, value in content.items():
            paths[key + tail].write_text(json.dumps(value, indent=1) + "\n")
    readme = folder / "README.md"
    readme.write_text(reproduction_text(record, {k: p.name for k, p in paths.items()}))
    return {**paths, "readme": readme}


def _build(records, results, scratch: Path, inspire_id: str) -> None:
    (scratch / "records.json").write_text(records_to_json(records))
    resources = {}
    for record in records:
        folder = scratch / "likelihoods" / record_name(record)
        folder.mkdir(parents=True)
        paths = _write_likelihoods(record, folder, inspire_id)
        log.info("export: %s / %s: workspaces and patchsets in %s", record.operator,
                 record.model, folder.relative_to(scratch))
        for key, path in paths.items():
            if key != "readme":
                resources[f"{record.operator}, {record.model}: {key.replace('_', ' ')} "
                          "(pyhf JSON)"] = path
    sub = hepdata.submission(records, results, resources=resources)
    archive = hepdata.write_submission(sub, scratch / SUBMISSION)
    errors = hepdata.validation_errors(archive)
    if errors:
        raise ValueError("export: hepdata-validator refuses the submission: "
                         + "; ".join(errors[:10]))
    log.info("export: HEPData submission with %d tables, validated", len(sub.tables))


def _owned(out: Path) -> list[str]:
    manifest = out / MANIFEST
    if not manifest.is_file():
        return []
    return json.loads(manifest.read_text())["files"]


def export(records: Sequence[ScoreRecord], results, out_dir, *, force: bool = False,
           inspire_id: str = NO_INSPIRE_ID) -> Path:
    """Write the publication of ``records`` into ``out_dir`` (layout: module docstring).

    Everything is written into a temporary sibling folder first and checked (the HEPData
    submission by hepdata-validator), then moved into place: a failure leaves ``out_dir``
    as it was.

    Args:
        records: the records (:func:`~vaednn.publish.score_record`,
            :func:`~vaednn.publish.load_records`).
        results: the results table (a DataFrame or the path of ``results.csv``) for the AUC
            table; None leaves that table out.
        out_dir: the folder to write.
        force: write into an existing, non-empty ``out_dir``: the files of an earlier export
            (its ``export.json``) are removed and this export's files replace any of the same
            name; other files stay.
        inspire_id: the paper's INSPIRE id, the patchsets' reference.

    Returns:
        The folder.

    Raises:
        FileExistsError: ``out_dir`` exists and is not empty, without ``force``.
        ValueError: no records, two records with the same :func:`record_name`, a submission
            hepdata-validator refuses.
    """
    out = Path(out_dir)
    records = list(records)
    if not records:
        raise ValueError("export: no records to export")
    names = [record_name(r) for r in records]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"export: several records would be written as {twice}: give each "
                         "operator and score once")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out}: exists and is not empty; pass force=True (vaednn export "
                              "--force) to replace the files an export writes there")
    results = _results(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        log.info("export: %d records into %s", len(records), out)
        _build(records, results, scratch, inspire_id)
        written = sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*") if p.is_file())
        (scratch / MANIFEST).write_text(json.dumps({"files": written}, indent=1) + "\n")
        if not out.exists():
            os.replace(scratch, out)
            return out
        for name in _owned(out):
            (out / name).unlink(missing_ok=True)
        for name in [*written, MANIFEST]:
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with files.atomic_path(target) as temporary:
                shutil.copyfile(scratch / name, temporary)
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
