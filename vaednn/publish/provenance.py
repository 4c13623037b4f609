"""Where each row of a results table comes from: the side file ``results.provenance.json``.

:func:`vaednn.workflow.save_results` writes ``results.csv`` (every float at full
precision) and, beside it, one provenance entry per ``(operator, model)`` row: the vaednn
version, the confidence level of the intervals, the luminosity, the training seeds and the
data fingerprint (:func:`data_digest`, sha256 of the input files). Rows are upserted as the
table's rows are, so each notebook's rows keep their own provenance. Any field the writer
did not know is ``null``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import vaednn
from vaednn import files

__all__ = ["PROVENANCE_FORMAT", "provenance_path", "data_digest", "update_provenance",
           "read_provenance"]

#: The ``format`` field of a provenance file, and the version written and read.
PROVENANCE_FORMAT = ("vaednn.results.provenance", 1)
_CHUNK = 1 << 20


def provenance_path(results) -> Path:
    """The side file of a results table: ``results.csv`` -> ``results.provenance.json``.

    >>> provenance_path("figures/results.csv").as_posix()
    'figures/results.provenance.json'
    """
    results = Path(results)
    return results.with_name(f"{results.stem}.provenance.json")


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def data_digest(source) -> str:
    """sha256 of the input data: of a file's bytes, or of a folder's files (each file's
    path relative to the folder and its sha256, in sorted order; hidden files left out).

    Raises:
        FileNotFoundError: ``source`` does not exist (the message names it).
        ValueError: a folder without files.
    """
    source = Path(source)
    if source.is_file():
        return _file_digest(source)
    if not source.is_dir():
        raise FileNotFoundError(f"{source}: no such data file or folder")
    found = sorted(p for p in source.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(source).parts))
    if not found:
        raise ValueError(f"{source}: a data folder without files")
    digest = hashlib.sha256()
    for path in found:
        digest.update(f"{path.relative_to(source).as_posix()}\0{_file_digest(path)}\n".encode())
    return digest.hexdigest()


def read_provenance(results) -> list[dict]:
    """The provenance entries of the results table ``results`` (a path), one per row it
    was written with; empty when there is no side file (a table written before it)."""
    path = provenance_path(results)
    if not path.is_file():
        return []
    plain = json.loads(path.read_text())
    name, version = PROVENANCE_FORMAT
    if plain.get("format") != name or plain.get("version") != version:
        raise ValueError(f"{path}: not a provenance file of version {version} ({name})")
    return plain["rows"]


def update_provenance(results, rows: Iterable[tuple[str, str]],
                      written: Iterable[tuple[str, str]], *, cl: float | None,
                      luminosity: float | None, seeds: Sequence[int] | None,
                      data: str | None) -> Path:
    """Upsert the entries of the rows ``written`` into the side file of ``results``.

    Args:
        results: the results table's path.
        rows: every ``(operator, model)`` of the table now, in order: entries of other rows
            are dropped.
        written: the rows just written; their entries get the fields below and
            ``vaednn_version``.
        cl, luminosity, seeds, data: the fields (None where unknown); ``data`` is the data
            fingerprint (:func:`data_digest`).

    Returns:
        The side file's path (written atomically).
    """
    entry = {"vaednn_version": vaednn.__version__, "cl": cl, "luminosity": luminosity,
             "seeds": None if seeds is None else [int(s) for s in seeds], "data_sha256": data}
    old = {(r["operator"], r["model"]): r for r in read_provenance(results)}
    new = {(operator, model): {"operator": operator, "model": model, **entry}
           for operator, model in written}
    out = [new.get(key) or old.get(key) or {"operator": key[0], "model": key[1],
                                            "vaednn_version": None, "cl": None,
                                            "luminosity": None, "seeds": None,
                                            "data_sha256": None}
           for key in dict.fromkeys(tuple(k) for k in rows)]
    name, version = PROVENANCE_FORMAT
    return files.atomic_write_text(provenance_path(results), json.dumps(
        {"format": name, "version": version, "rows": out}, indent=1) + "\n")
