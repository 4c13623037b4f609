"""Per-event scores written back to ROOT or parquet, aligned entry by entry with the
input tree (:func:`write_scores`)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import uproot

from vaednn.data.samples import Sample, checked_scores
from vaednn.files import atomic_path, check_writable

__all__ = ["ENTRY", "write_scores"]

#: The column of a parquet score file that holds the entry number in the input tree.
ENTRY = "entry"


def write_scores(path, sample: Sample, scores: dict, overwrite: bool = False,
                 tree: str | None = None) -> Path:
    """Write per-event scores aligned entry by entry with the sample's input tree.

    The output has one entry per entry of the input tree (all of them, also those
    ``max_events`` did not read): entry ``i`` holds the scores of the input's entry ``i``,
    and NaN where that event is not in ``sample`` (outside the cuts, or in another split).
    So the user's own code can join it: in ROOT as a friend tree
    (``tree.AddFriend("scores=SSWW_SM", "scores.root")``), with uproot by reading both
    files alike, in pandas by position or on the ``entry`` column.

    Args:
        path: ``.root`` for a friend TTree, ``.parquet`` for a table (pyarrow, the
            ``[parquet]`` extra) with an ``entry`` column (0 .. n-1) and one column per
            score. Written atomically.
        sample: a sample read from an ntuple (it carries the entry number of each event
            and the number of entries of its tree).
        scores: ``{name: values}``, one value per event of ``sample``, e.g.
            ``{"reco": losses["reco"], "kl": losses["kl"]}``.
        overwrite: replace an existing ``path``; otherwise an existing file is refused.
        tree: the TTree's name in a ``.root`` file (default: the sample's, ``sample.name``).

    Returns:
        The path written.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is False.
        ValueError: ``path`` is the sample's input file (refused also with ``overwrite``);
            an unknown suffix, a sample without entry numbers (built from a frame), a score
            of the wrong length or with NaN or infinite values, a bad or reserved score
            name, no scores.
    """
    path = Path(path)
    if path.suffix not in {".root", ".parquet"}:
        raise ValueError(f"{path}: scores are written as .root (a friend tree) or .parquet, "
                         f"not {path.suffix or 'a file without suffix'!r}")
    if sample.entries is None or sample.tree_entries is None:
        raise ValueError(f"{sample.name}: the sample has no entry numbers of an input tree (it "
                         "was built from a frame), so its scores cannot be aligned with one")
    if not scores:
        raise ValueError(f"{path}: no scores to write")
    if len(np.unique(sample.entries)) != len(sample.entries):
        raise ValueError(f"{sample.name}: an entry number occurs twice (events of several "
                         "reads joined?); scores align with one read of one tree")
    columns = {}
    for name, values in scores.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) \
                or name == ENTRY:
            raise ValueError(f"{path}: score name {name!r} is not a valid branch name "
                             f"(letters, digits, _; not {ENTRY!r})")
        values = checked_scores(values, sample, f"{path}: score {name!r}",
                                "; NaN in the output marks events not scored, so these "
                                "would read as outside the selection")
        column = np.full(sample.tree_entries, np.nan)
        column[sample.entries] = values
        columns[name] = column
    check_writable(path, overwrite, inputs=[sample.path])
    if path.suffix == ".parquet":
        from vaednn.extras import require

        require("pyarrow", "writing parquet")
        table = pd.DataFrame({ENTRY: np.arange(sample.tree_entries, dtype=np.int64), **columns})
        with atomic_path(path) as temporary:
            table.to_parquet(temporary, index=False)
        return path
    with atomic_path(path) as temporary:
        with uproot.recreate(temporary) as file:
            name = tree or sample.name
            file.mktree(name, {column: np.float64 for column in columns})
            file[name].extend(columns)
    return path

