"""Reading SSWW ntuples (real or generated) from ROOT files, whole or in chunks.

The on-disk format is the original analysis's: one ROOT file per sample,
``ntuple_SSWW_SM.root`` holding the TTree ``SSWW_SM``, and per EFT operator
``ntuple_SSWW_<op>_LI.root`` (interference, ``SSWW_<op>_LI``) and
``ntuple_SSWW_<op>_QU.root`` (squared term, ``SSWW_<op>_QU``). Each file also holds a
histogram ``<tree>_nums`` whose bin 1 is the cross section in pb and bin 2 the sum of
the generator weights of every event in the file. Branches: the 14
:data:`~vaednn.data.samples.FEATURES`, the event weight ``w``, and others that are ignored.
The tree may be a TTree or an RNTuple (ROOT's newer format); both read alike.

Another analysis chooses its own variables: ``features=[...]`` (and ``log_features``, the
ones the models take log10 of) in :func:`read_ntuple` or a sample map; cuts are then
written on those names.
"""

from __future__ import annotations

import os
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import uproot

from vaednn import expressions
from vaednn.data.samples import (
    COMPONENTS, FEATURES, VBS_CUTS, WEIGHT, NtupleError, Sample, check_finite,
    check_log_features, check_max_events, check_normalisation, check_regular_file,
    concatenate, cut_expression, cut_mask, feature_set)
from vaednn.expressions import ExpressionError

__all__ = ["default_data_dir", "ntuple_path", "open_tree", "iterate_ntuple", "read_ntuple"]

#: A step size (in entries) larger than any file: read_ntuple's one-chunk read.
_WHOLE_FILE = 2**62


def default_data_dir() -> Path:
    """Where the generated data set lives: ``$VAEDNN_DATA`` or ``data/generated``."""
    return Path(os.environ.get("VAEDNN_DATA", "data/generated"))


def ntuple_path(directory, component: str = "SM", operator: str | None = None,
                process: str = "SSWW") -> Path:
    """Path of one sample's file in a directory laid out as the original ntuples.

    >>> ntuple_path("data", "QUAD", "cW").as_posix()
    'data/ntuple_SSWW_cW_QU.root'
    """
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {sorted(COMPONENTS)}, got {component!r}")
    if component == "SM":
        tree = f"{process}_SM"
    elif operator is None:
        raise ValueError(f"the {component} sample needs an operator name")
    else:
        tree = f"{process}_{operator}_{COMPONENTS[component]}"
    return Path(directory) / f"ntuple_{tree}.root"


def _default_tree(path: Path) -> str:
    stem = path.name.removesuffix(".root")
    if not stem.startswith("ntuple_"):
        raise NtupleError(
            f"{path}: cannot infer the tree name (file is not named ntuple_<tree>.root); "
            "pass tree=..."
        )
    return stem.removeprefix("ntuple_")


def _open(path: Path):
    if path.is_dir():
        raise NtupleError(f"{path}: is a directory, not a ROOT file")
    check_regular_file(path)
    try:
        return uproot.open(path)
    except Exception as error:
        raise NtupleError(f"{path}: not a readable ROOT file ({error})") from error


def _normalisation(file, path: Path, tree: str, xsec, sumw) -> tuple[float, float]:
    if xsec is not None and sumw is not None:
        return check_normalisation(path, xsec, sumw, "as given")
    hist_name = f"{tree.rsplit('/', 1)[-1]}_nums"
    try:
        values = file[hist_name].values()
    except KeyError:
        raise NtupleError(
            f"{path}: no normalisation histogram {hist_name!r} (bin 1 = xsec in pb, bin 2 = "
            "sum of weights); pass xsec=... and sumw=... instead"
        ) from None
    except Exception as error:
        raise NtupleError(f"{path}: cannot read histogram {hist_name!r}: the file is "
                          f"truncated or corrupt ({type(error).__name__}: {error})") from None
    if len(values) < 2:
        raise NtupleError(f"{path}: histogram {hist_name!r} has {len(values)} bins, needs 2")
    xsec = float(values[0]) if xsec is None else xsec
    sumw = float(values[1]) if sumw is None else sumw
    return check_normalisation(path, xsec, sumw, f"histogram {hist_name!r} or as given")


def _expressions(branches, weight: str, path: Path,
                 features=FEATURES) -> dict[str, expressions.Expression]:
    """The checked expression of each feature and of the weight (a branch name is one)."""
    branches = dict(branches or {})
    unknown = set(branches) - set(features) - {WEIGHT}
    if unknown:
        raise ValueError(f"branch map names unknown feature(s) {sorted(unknown)}; "
                         f"the features are {list(features)} and {WEIGHT!r} for the weight")
    if WEIGHT in branches and weight != WEIGHT and branches[WEIGHT] != weight:
        raise ValueError(f"the weight is given twice: branches[{WEIGHT!r}] = "
                         f"{branches[WEIGHT]!r} and weight={weight!r}; give one")
    texts = {name: branches.get(name, name) for name in features}
    texts[WEIGHT] = branches.get(WEIGHT, weight)
    parsed = {}
    for name, text in texts.items():
        try:
            parsed[name] = expressions.parse(text)
        except ExpressionError as error:
            raise ExpressionError(f"{path}: {name!r} = {error}") from None
    return parsed


def _check_branches(present: set, path: Path, tree: str,
                    parsed: dict[str, expressions.Expression]) -> None:
    """Name a missing branch before anything is read."""
    for feature, expression in parsed.items():
        missing = sorted(expression.names - present)
        if not missing:
            continue
        if expression.is_name:
            what = "" if expression.text == feature else f" (for {feature!r})"
        else:
            what = f" (for {feature!r} = {expression.text!r})"
        raise NtupleError(f"{path}: tree {tree!r} has no branch {missing[0]!r}{what}")


def _one_element(expression: expressions.Expression) -> str:
    """The way out of a list-valued expression: its first element, with the right precedence."""
    text = expression.text.strip()
    return f"{text}[:, 0]" if expression.is_name else f"({text})[:, 0]"


def _column(expression: expressions.Expression, arrays: dict, n: int, path: Path,
            feature: str) -> np.ndarray:
    """One feature (or the weight) of a chunk: the expression's value, float64, one per event."""
    text = expression.text
    try:
        value = expressions.evaluate(expression, arrays)
    except Exception as error:
        if "out of range" in str(error) or isinstance(error, IndexError):
            raise NtupleError(
                f"{path}: {feature!r} = {text!r}: an index is out of range (some events have "
                "fewer elements than it asks for)") from None
        raise NtupleError(f"{path}: {feature!r} = {text!r} cannot be evaluated "
                          f"({type(error).__name__}: {error})") from None
    if not isinstance(value, ak.Array) and np.ndim(value) == 0:
        return np.full(n, float(value))
    if isinstance(value, ak.Array) and (
            value.fields or value.layout.purelist_parameter("__array__") in ("string",
                                                                             "bytestring")):
        what = (f"a record with fields {value.fields}" if value.fields else "a string")
        raise NtupleError(f"{path}: {feature!r} = {text!r} is {what} per event, not a number; "
                          "map the feature to a numeric branch")
    jagged = (isinstance(value, ak.Array) and value.ndim > 1
              and not isinstance(value.layout, ak.contents.RegularArray))
    try:
        values = ak.to_numpy(value)
    except ValueError:
        jagged = True
    if jagged:
        if expression.is_name:
            raise NtupleError(
                f"{path}: branch {text!r} (for {feature!r}) is jagged, a variable-length list "
                f"per event; map {feature!r} to one element, e.g. '{_one_element(expression)}'"
            ) from None
        raise NtupleError(
            f"{path}: {feature!r} = {text!r} is jagged (a list per event); "
            f"pick one element, e.g. '{_one_element(expression)}'"
        ) from None
    if values.ndim != 1:
        raise NtupleError(
            f"{path}: {feature!r} = {text!r} is a fixed-length list of "
            f"{' x '.join(map(str, values.shape[1:]))} values per event; pick one element, "
            f"e.g. '{_one_element(expression)}'")
    return values.astype(np.float64)


def _unreadable(path: Path, tree: str, error: Exception) -> NtupleError:
    """The error for a tree that uproot fails to read: the file is damaged."""
    return NtupleError(f"{path}: cannot read tree {tree!r}: the file is truncated or corrupt "
                       f"({type(error).__name__}: {error})")


def open_tree(path: Path, tree: str | None):
    """``(file, tree name, tree)`` of a ROOT file's TTree or RNTuple (``tree`` None: the default).

    Raises :class:`NtupleError` naming the file when the tree is missing, unreadable or of
    another kind.
    """
    file = _open(path)
    tree = tree or _default_tree(path)
    try:
        ttree = file[tree]
    except KeyError:
        keys = sorted({key.split(";")[0] for key in file.keys()})
        raise NtupleError(f"{path}: no tree {tree!r} (the file holds {keys})") from None
    except Exception as error:
        raise _unreadable(path, tree, error) from None
    if not isinstance(ttree, uproot.TTree | uproot.behaviors.RNTuple.RNTuple):
        raise NtupleError(f"{path}: {tree!r} is a {file.classname_of(tree)}, not a TTree or "
                          "an RNTuple")
    return file, tree, ttree


def iterate_ntuple(path, tree: str | None = None, cuts: str | None = VBS_CUTS,
                   max_events: int | None = None, branches: dict | None = None,
                   weight: str = WEIGHT, xsec: float | None = None, sumw: float | None = None,
                   step_size: int | str = "100 MB", features=None, log_features=None):
    """Read an ntuple chunk by chunk, each chunk a :class:`Sample` after the cuts.

    Memory stays bounded by ``step_size`` (entries, or a size such as ``"100 MB"``)
    whatever the size of the file. Arguments as :func:`read_ntuple`; each chunk's
    weights are already normalised to the whole file (``fraction`` refers to the file,
    not the chunk), so chunk yields add up. A chunk may be empty after the cuts.
    """
    path = Path(path)
    check_max_events(max_events)
    features, log_features = feature_set(features, log_features)
    parsed = _expressions(branches, weight, path, features)
    cut = cut_expression(cuts, features)
    file, tree, ttree = open_tree(path, tree)
    xsec, sumw = _normalisation(file, path, tree, xsec, sumw)
    _check_branches(set(ttree.keys()), path, tree, parsed)
    names = sorted(set().union(*(expression.names for expression in parsed.values())))
    entry_stop = ttree.num_entries if max_events is None else min(max_events, ttree.num_entries)
    fraction = entry_stop / ttree.num_entries if ttree.num_entries else 1.0
    # Only plain branch names reach uproot; every expression is evaluated here.
    chunks = ttree.iterate(names, entry_stop=entry_stop, step_size=step_size, library="ak",
                           report=True)
    n_selected = 0
    while True:
        try:
            chunk, report = next(chunks)
        except StopIteration:
            break
        except uproot.KeyInFileError as error:
            raise NtupleError(f"{path}: tree {tree!r} has no branch {error.key!r}") from None
        except Exception as error:
            raise _unreadable(path, tree, error) from None
        n_read = report.tree_entry_stop - report.tree_entry_start
        arrays = {name: chunk[name] for name in names}
        columns = {name: _column(expression, arrays, n_read, path, name)
                   for name, expression in parsed.items()}
        check_finite({parsed[name].text: values for name, values in columns.items()}, path)
        table = pd.DataFrame({name: columns[name] for name in features})
        weights = columns[WEIGHT]
        entries = np.arange(report.tree_entry_start, report.tree_entry_stop, dtype=np.int64)
        if cut is not None:
            keep = cut_mask(cut, table, n_read)
            table = table[keep].reset_index(drop=True)
            weights = weights[keep]
            entries = entries[keep]
        try:
            check_log_features(table, str(path), log_features)
        except ValueError as error:
            raise NtupleError(str(error)) from None
        n_selected += len(weights)
        yield Sample(name=tree.rsplit("/", 1)[-1], features=table, weights=weights,
                     xsec=xsec, sumw=sumw, fraction=fraction, n_read=n_read, path=path,
                     entries=entries, tree_entries=ttree.num_entries,
                     log_features=log_features)
    if n_selected == 0:
        raise NtupleError(f"{path}: no event left after the cuts {cuts!r} ({entry_stop} read)")


def read_ntuple(path, tree: str | None = None, cuts: str | None = VBS_CUTS,
                max_events: int | None = None, branches: dict | None = None,
                weight: str = WEIGHT, xsec: float | None = None, sumw: float | None = None,
                step_size: int | str | None = None, features=None,
                log_features=None) -> Sample:
    """Read one ntuple into a :class:`Sample`, applying ``cuts``.

    Args:
        path: the ROOT file.
        tree: the TTree or RNTuple, possibly inside directories (``"dir/sub/Events"``);
            defaults to ``<tree>`` of a file named ``ntuple_<tree>.root``.
        cuts: a selection on the feature names, e.g. ``"(ptj1 > 30) & (mjj > 200)"``, or
            None; checked as the branch expressions are (:mod:`vaednn.expressions`).
            With other ``features`` the default VBS cuts usually do not apply: pass cuts
            on those names, or None.
        max_events: read at most this many entries (before cuts), a positive integer;
            ``fraction`` then records the share read so yields stay right.
        branches: where each feature (and ``"w"``) comes from when the file names it
            otherwise: a branch name or an expression of branches, e.g.
            ``{"met": "MET", "ptll": derived.pt_pair("l1_pt", "l1_phi", "l2_pt", "l2_phi")}``
            (see :data:`~vaednn.data.derived`). Unmapped features are read from their own
            name. A map is always honoured, also when the file has a branch named as the
            feature.
            Expressions are checked against an allow-list before anything is read
            (:mod:`vaednn.expressions`): branch names, numbers, arithmetic, comparisons,
            indexing and a listed set of numpy functions; nothing else runs.
        weight: the event-weight branch (or expression).
        xsec, sumw: cross section (pb) and sum of generator weights, for files without a
            ``<tree>_nums`` histogram (or to override it).
        step_size: read in chunks of this many entries (or ``"100 MB"``) to bound memory;
            None reads the file at once. The result is the same either way.
        features: the variables (column names of the sample), in order; default the 14
            :data:`FEATURES`. Each is read from the branch of its name or from
            ``branches``.
        log_features: the features the models take log10 of, checked > 0; default those
            of ``features`` in :data:`LOG_FEATURES`.

    Raises:
        NtupleError: missing file, tree, branch or histogram; a truncated or corrupt file;
            zero, NaN or opposite-sign ``xsec``/``sumw``; a jagged or list-valued
            expression; an index out of range; NaN or infinite values; non-positive values
            in a log10 feature; no event left after the cuts.
        ExpressionError: an expression or cut outside the allowed language.
        ValueError: an unknown feature in ``branches``; a bad ``max_events``, ``features``
            or ``log_features``.
    """
    chunks = iterate_ntuple(path, tree, cuts, max_events, branches, weight, xsec, sumw,
                            step_size=step_size or _WHOLE_FILE, features=features,
                            log_features=log_features)
    return concatenate(chunks)

