"""Reading SSWW ntuples (real or generated) into weighted samples.

The on-disk format is the original analysis's: one ROOT file per sample,
``ntuple_SSWW_SM.root`` holding the TTree ``SSWW_SM``, and per EFT operator
``ntuple_SSWW_<op>_LI.root`` (interference, ``SSWW_<op>_LI``) and
``ntuple_SSWW_<op>_QU.root`` (squared term, ``SSWW_<op>_QU``). Each file also holds a
histogram ``<tree>_nums`` whose bin 1 is the cross section in pb and bin 2 the sum of
the generator weights of every event in the file. Branches: the 14 :data:`FEATURES`,
the event weight ``w``, and others that are ignored. The tree may be a TTree or an
RNTuple (ROOT's newer format); both read alike.

Another analysis chooses its own variables: ``features=[...]`` (and ``log_features``, the
ones the models take log10 of) in :func:`read_ntuple` or a sample map; cuts are then
written on those names. :func:`write_scores` writes per-event scores back, aligned entry
by entry with the input tree.

A :class:`Sample` keeps raw features and generator weights; expected yields at a
luminosity come from :func:`lumi_weights`, and the EFT prediction at a Wilson
coefficient ``c`` is ``SM + c * LIN + c**2 * QUAD`` (:func:`wilson_weights`).

>>> FEATURES[:3]
('deltaetajj', 'deltaphijj', 'etaj1')
>>> len(FEATURES), len(LOG_FEATURES)
(14, 8)
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import uproot
import awkward as ak

from vaednn import expressions
from vaednn.expressions import ExpressionError
from vaednn.files import atomic_path, check_writable

__all__ = [
    "FEATURES", "LOG_FEATURES", "VBS_CUTS", "LUMINOSITY", "WEIGHT", "COMPONENTS", "PB_TO_FB",
    "NtupleError", "Sample", "OperatorSamples", "feature_set", "ntuple_path", "cut_expression",
    "check_log_features", "open_tree", "check_max_events", "iterate_ntuple", "cut_mask",
    "concatenate", "read_ntuple", "derived", "SampleSpec", "SampleMap", "is_sample_map",
    "read_sample", "stream", "load_operator", "operators_in", "split", "lumi_weights",
    "wilson_weights", "mixture", "fingerprint", "DETECTOR_RESOLUTION", "jet_pt_resolution",
    "resolutions", "smear", "default_data_dir", "sample_table", "read_parquet", "ENTRY",
    "write_scores"]

FEATURES = (
    "deltaetajj", "deltaphijj", "etaj1", "etaj2", "etal1", "etal2", "met",
    "mjj", "mll", "ptj1", "ptj2", "ptl1", "ptl2", "ptll",
)
#: Energy-like features that the models see as log10 (heavy tails span decades).
LOG_FEATURES = ("met", "mjj", "mll", "ptj1", "ptj2", "ptl1", "ptl2", "ptll")
#: The VBS selection of the original analysis, in terms of the feature names (GeV).
VBS_CUTS = "(ptj1 > 30) & (ptj2 > 30) & (deltaetajj > 2) & (mjj > 200)"
#: The seed's integrated luminosity, in fb^-1.
LUMINOSITY = 350.0
WEIGHT = "w"
#: Names of the three components of one operator, as they appear in file and tree names.
COMPONENTS = {"SM": "SM", "LIN": "LI", "QUAD": "QU"}

PB_TO_FB = 1000.0
#: A step size (in entries) larger than any file: read_ntuple's one-chunk read.
_WHOLE_FILE = 2**62


class NtupleError(ValueError):
    """An ntuple that cannot be used as it is; the message names the file and the problem."""


@dataclasses.dataclass
class Sample:
    """Events of one ntuple after the cuts.

    Attributes:
        name: the tree name, e.g. ``SSWW_cW_QU``.
        features: the raw variables (float64 columns, in order): the 14 :data:`FEATURES`
            unless the analysis chose others.
        weights: generator weights, float64, signs kept (LIN samples have negative ones).
        xsec: cross section of the whole file, in pb.
        sumw: sum of generator weights of the whole file (before cuts).
        fraction: share of the file's events this sample stands for: 1 for a whole
            file, less after :func:`split` or ``max_events``, so that
            :func:`lumi_weights` always predicts full-rate yields.
        n_read: events read from the file before the cuts (the cut flow's first row).
        path: the file it came from.
        entries: the entry number of each event in its input tree (int64), carried
            through cuts, chunked reading, :func:`concatenate` and :func:`split`, so
            per-event results can be written back aligned with the input; None for a
            sample built from a frame.
        tree_entries: the number of entries of the input tree (all of them, also when
            ``max_events`` read fewer), the length of a friend tree
            (:func:`write_scores`); None for a sample built from a frame.
        log_features: the feature columns that are log10-scaled by the models (all > 0).
    """

    name: str
    features: pd.DataFrame
    weights: np.ndarray
    xsec: float
    sumw: float
    fraction: float = 1.0
    n_read: int = 0
    path: Path | None = None
    entries: np.ndarray | None = None
    tree_entries: int | None = None
    log_features: tuple[str, ...] = LOG_FEATURES

    def __len__(self) -> int:
        return len(self.weights)

    def select(self, index, fraction: float) -> Sample:
        """The events at ``index`` (positions), standing for ``fraction`` of the file."""
        return dataclasses.replace(
            self,
            features=self.features.iloc[index].reset_index(drop=True),
            weights=self.weights[index],
            fraction=fraction,
            entries=None if self.entries is None else self.entries[index],
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, weights, xsec: float, sumw: float,
                   name: str = "frame", cuts: str | None = None,
                   features=FEATURES, log_features=None) -> Sample:
        """A sample from events already in memory (a DataFrame), e.g. from parquet or HDF5.

        Args:
            frame: one row per event, with a column per feature (others are ignored).
            weights: the generator weights, an array (one per row) or the name of a column
                of ``frame``.
            xsec: cross section of the whole sample the rows come from, in pb.
            sumw: sum of generator weights of that whole sample (before any cut).
            name: the sample's name in tables.
            cuts: a selection on the feature names, checked and evaluated as
                :func:`read_ntuple`'s, or None for events already selected.
            features: the columns to keep, in this order.
            log_features: the features that must be > 0 (the models take their log10);
                default those of ``features`` in :data:`LOG_FEATURES`.

        Returns:
            The sample; ``n_read`` is the number of rows before ``cuts``.

        Raises:
            NtupleError: a missing column, a weight array of the wrong length, NaN or
                infinite values, non-positive values in a log10 feature, an ``xsec`` or
                ``sumw`` that is not a number, zero, not finite, or of the other's sign
                (the checks of :func:`read_ntuple`), or no event left after the cuts.
            ExpressionError: cuts outside the allowed language, or not a condition.

        >>> frame = pd.DataFrame({f: [1.0, 2.0] for f in FEATURES}).assign(w=[0.5, 1.5])
        >>> sample = Sample.from_frame(frame, "w", xsec=0.01, sumw=4.0)
        >>> len(sample), sample.weights.tolist(), sample.n_read
        (2, [0.5, 1.5], 2)
        """
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{name}: from_frame needs a pandas DataFrame, "
                            f"got {type(frame).__name__}")
        features, log_features = feature_set(features, log_features)
        missing = [f for f in features if f not in frame.columns]
        if isinstance(weights, str):
            if weights not in frame.columns:
                missing.append(weights)
            else:
                weights = frame[weights].to_numpy()
        if missing:
            raise NtupleError(f"{name}: the frame lacks the column(s) {missing}")
        numbers = {column: frame[column] for column in features}
        numbers["weights"] = np.asarray(weights)
        text = [column for column, values in numbers.items()
                if not pd.api.types.is_numeric_dtype(values)]
        if text:
            raise NtupleError(f"{name}: the column(s) {text} do not hold numbers")
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(frame),):
            raise NtupleError(f"{name}: weights must have one value per row ({len(frame)}), "
                              f"got shape {weights.shape}")
        xsec, sumw = _check_normalisation(name, xsec, sumw, "as given")
        table = frame.loc[:, list(features)].astype(np.float64).reset_index(drop=True)
        _check_finite({**table, "weights": weights}, name, "column")
        cut = cut_expression(cuts, features)
        if cut is not None:
            keep = cut_mask(cut, table, len(table))
            table, weights = table[keep].reset_index(drop=True), weights[keep]
            if not keep.any():
                raise NtupleError(f"{name}: no event left after the cuts {cuts!r} "
                                  f"({len(frame)} rows)")
        try:
            check_log_features(table, name, log_features)
        except ValueError as error:
            raise NtupleError(str(error)) from None
        return cls(name=name, features=table, weights=weights, xsec=xsec, sumw=sumw,
                   fraction=1.0, n_read=len(frame), log_features=log_features)


@dataclasses.dataclass
class OperatorSamples:
    """The SM sample and the LIN and QUAD samples of one EFT operator.

    Attributes:
        operator: the operator's name.
        sm, lin, quad: the three samples.
        same_events: True when the three are one event set with three weight columns (a
            reweighted generator sample): the same events in the same order, so every split
            and cut must act on all three at once, and Monte Carlo errors are correlated.
            False for three independent samples (the original ntuples).
    """

    operator: str
    sm: Sample
    lin: Sample
    quad: Sample
    same_events: bool = False

    def __post_init__(self):
        if self.same_events and not len(self.sm) == len(self.lin) == len(self.quad):
            raise ValueError(f"{self.operator}: same_events needs three weight columns of one "
                             f"event set, got {len(self.sm)}, {len(self.lin)} and "
                             f"{len(self.quad)} events")

    def __iter__(self):
        return iter((self.sm, self.lin, self.quad))


def feature_set(features=None, log_features=None) -> tuple[tuple, tuple]:
    """The checked ``(features, log_features)`` of an analysis.

    ``features`` defaults to :data:`FEATURES`; ``log_features`` to those of the features
    that are in :data:`LOG_FEATURES` (so the 14 defaults give :data:`LOG_FEATURES`).

    >>> feature_set(["mjj", "etaj1", "nu_pt"])
    (('mjj', 'etaj1', 'nu_pt'), ('mjj',))
    """
    features = FEATURES if features is None else features
    if isinstance(features, str) or not all(isinstance(f, str) and f for f in features):
        raise ValueError(f"features must be a list of variable names, got {features!r}")
    features = tuple(features)
    if not features:
        raise ValueError("features is empty; give at least one variable")
    if len(set(features)) != len(features):
        raise ValueError(f"features name a variable twice: {list(features)}")
    if WEIGHT in features:
        raise ValueError(f"{WEIGHT!r} is the event weight and cannot be a feature")
    if log_features is None:
        log_features = tuple(f for f in features if f in LOG_FEATURES)
    if isinstance(log_features, str):
        raise ValueError(f"log_features must be a list of names, got {log_features!r}")
    log_features = tuple(log_features)
    unknown = [f for f in log_features if f not in features]
    if unknown:
        raise ValueError(f"log_features {unknown} are not among the features {list(features)}")
    return features, log_features


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
    _check_regular_file(path)
    try:
        return uproot.open(path)
    except Exception as error:
        raise NtupleError(f"{path}: not a readable ROOT file ({error})") from error


def _check_regular_file(path: Path) -> None:
    """Refuse what is not a regular file with its reason, not as "file not found".

    ``Path.is_file`` is False for a missing file, but also for a device (``/dev/zero``,
    which a reader would read for ever) and a symbolic-link loop.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise NtupleError(f"{path}: file not found") from None
    except OSError as failure:
        raise NtupleError(f"{path}: cannot be opened ({failure.strerror})") from None
    if not stat.S_ISREG(mode):
        raise NtupleError(f"{path}: not a regular file (a device, pipe or socket)")


def _check_number(where, name: str, value, source: str) -> float:
    """``value`` as a float, refusing what only converts to one (``True``, ``"1e-3"``)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer
                                                                | np.floating):
        raise NtupleError(f"{where}: {name} = {value!r} ({source}) is not a number")
    return float(value)


def _check_normalisation(path, xsec, sumw, source: str) -> tuple[float, float]:
    """The checked ``(xsec, sumw)`` of a file, frame or sample-map entry, as floats.

    xsec and sumw make every yield: zero, NaN or opposite signs would make them wrong, and
    a value that is not a number (``true``, ``"abc"``, ``[1.0]`` in a sample map) is
    refused rather than converted. ``path`` names where they belong in the message.
    """
    xsec = _check_number(path, "xsec", xsec, source)
    sumw = _check_number(path, "sumw", sumw, source)
    for name, value in (("xsec", xsec), ("sumw", sumw)):
        if not np.isfinite(value) or value == 0:
            raise NtupleError(f"{path}: {name} = {value!r} ({source}); it must be finite and "
                              "non-zero")
    if (xsec > 0) != (sumw > 0):
        raise NtupleError(
            f"{path}: xsec = {xsec:g} pb and sumw = {sumw:g} ({source}) have opposite signs, "
            "which would flip the sign of every yield (a LIN sample with destructive "
            "interference has both negative)")
    return xsec, sumw


def _normalisation(file, path: Path, tree: str, xsec, sumw) -> tuple[float, float]:
    if xsec is not None and sumw is not None:
        return _check_normalisation(path, xsec, sumw, "as given")
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
    return _check_normalisation(path, xsec, sumw, f"histogram {hist_name!r} or as given")


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


def cut_expression(cuts: str | None, features=FEATURES) -> expressions.Expression | None:
    """The parsed ``cuts`` string (None for no cuts), checked to name only ``features``."""
    if not cuts:
        return None
    try:
        expression = expressions.parse(cuts)
    except ExpressionError as error:
        raise ExpressionError(f"cuts {error}") from None
    unknown = sorted(expression.names - set(features))
    if unknown:
        raise ExpressionError(f"cuts {cuts!r} name {unknown}, which are not features; "
                              f"cuts select on {list(features)}")
    return expression


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


def _check_finite(columns: dict, where, what: str = "branch") -> None:
    """Refuse NaN or infinite values: one check for the branches of a file and the columns
    of a frame."""
    for name, values in columns.items():
        bad = ~np.isfinite(np.asarray(values))
        if bad.any():
            raise NtupleError(
                f"{where}: {what} {name!r} has {int(bad.sum())} NaN or infinite value(s)"
            )


def check_log_features(features: pd.DataFrame, where: str, log_features=LOG_FEATURES) -> None:
    """Raise if a ``log_features`` column has a value log10 cannot take.

    >>> check_log_features(pd.DataFrame({"met": [1.0, 0.0]}), "demo")
    Traceback (most recent call last):
    ...
    ValueError: demo: 'met' has 1 non-positive value(s), log10 needs > 0
    """
    for name in log_features:
        if name in features:
            bad = int((features[name].to_numpy() <= 0).sum())
            if bad:
                raise ValueError(f"{where}: {name!r} has {bad} non-positive value(s), log10 needs > 0")


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
        raise NtupleError(f"{path}: cannot read tree {tree!r}: the file is truncated or "
                          f"corrupt ({type(error).__name__}: {error})") from None
    if not isinstance(ttree, uproot.TTree | uproot.behaviors.RNTuple.RNTuple):
        raise NtupleError(f"{path}: {tree!r} is a {file.classname_of(tree)}, not a TTree or "
                          "an RNTuple")
    return file, tree, ttree


def check_max_events(max_events) -> None:
    """Raise unless ``max_events`` is None or a positive integer."""
    if max_events is None:
        return
    if isinstance(max_events, bool) or not isinstance(max_events, int | np.integer) \
            or max_events < 1:
        raise ValueError(f"max_events must be a positive integer or None, got {max_events!r}")


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
            raise NtupleError(f"{path}: cannot read tree {tree!r}: the file is truncated or "
                              f"corrupt ({type(error).__name__}: {error})") from None
        n_read = report.tree_entry_stop - report.tree_entry_start
        arrays = {name: chunk[name] for name in names}
        columns = {name: _column(expression, arrays, n_read, path, name)
                   for name, expression in parsed.items()}
        _check_finite({parsed[name].text: values for name, values in columns.items()}, path)
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


def cut_mask(cut: expressions.Expression, features: pd.DataFrame, n: int) -> np.ndarray:
    """The per-event boolean mask of a parsed ``cut`` on ``features`` (``n`` events)."""
    try:
        keep = np.asarray(expressions.evaluate(
            cut, {name: features[name].to_numpy() for name in cut.names}))
    except ExpressionError as error:
        raise ExpressionError(f"cuts {error}") from None
    except Exception as error:
        raise ExpressionError(f"cuts {cut.text!r} cannot be evaluated "
                              f"({type(error).__name__}: {error})") from None
    if keep.dtype != bool or keep.shape not in ((n,), ()):
        raise ExpressionError(f"cuts {cut.text!r} are not a condition (true or false per "
                              "event), e.g. '(ptj1 > 30) & (mjj > 200)'")
    return np.broadcast_to(keep, (n,))


def concatenate(chunks) -> Sample:
    """One :class:`Sample` from chunks of the same file (see :func:`iterate_ntuple`)."""
    chunks = list(chunks)
    first = chunks[0]
    return dataclasses.replace(
        first,
        features=pd.concat([c.features for c in chunks], ignore_index=True),
        weights=np.concatenate([c.weights for c in chunks]),
        n_read=sum(c.n_read for c in chunks),
        entries=(None if any(c.entries is None for c in chunks)
                 else np.concatenate([c.entries for c in chunks])),
    )


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
            ``{"met": "MET", "ptll": derived.ptll("l1_pt", "l1_phi", "l2_pt", "l2_phi")}``
            (see :class:`derived`). Unmapped features are read from their own name. A map
            is always honoured, also when the file has a branch named as the feature.
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


class derived:
    """Expressions for variables an ntuple may lack, from their ingredients.

    Each returns a string to use as a value in a ``branches`` map; the arguments are
    branch names (or expressions) of the file. Massless objects, as at generator level.
    Every function they use is in :data:`vaednn.expressions.FUNCTIONS`.

    >>> derived.deltaphi("j1_phi", "j2_phi")
    'arccos(cos((j1_phi) - (j2_phi)))'
    """

    @staticmethod
    def deltaeta(eta1: str, eta2: str) -> str:
        """|eta1 - eta2|."""
        return f"abs(({eta1}) - ({eta2}))"

    @staticmethod
    def deltaphi(phi1: str, phi2: str) -> str:
        """Azimuthal separation folded into [0, pi]."""
        return f"arccos(cos(({phi1}) - ({phi2})))"

    @staticmethod
    def pt_pair(pt1: str, phi1: str, pt2: str, phi2: str) -> str:
        """Transverse momentum of the pair's vector sum (ptll from the two leptons)."""
        return f"sqrt(({pt1})**2 + ({pt2})**2 + 2*({pt1})*({pt2})*cos(({phi1}) - ({phi2})))"

    @staticmethod
    def mass(pt1: str, eta1: str, phi1: str, pt2: str, eta2: str, phi2: str) -> str:
        """Invariant mass of two massless objects: sqrt(2 pt1 pt2 (cosh deta - cos dphi))."""
        return (f"sqrt(2*({pt1})*({pt2})*(cosh(({eta1}) - ({eta2})) "
                f"- cos(({phi1}) - ({phi2}))))")


def _branch_expression(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"derive", "args"}:
        recipes = [n for n in vars(derived) if not n.startswith("_")]
        if value["derive"] not in recipes:
            raise ValueError(f"{where}: unknown derivation {value['derive']!r}; "
                             f"choose from {recipes}")
        args = value["args"]
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError(f"{where}: args of a derivation are a list of branch names, "
                             f"got {args!r}")
        try:
            return getattr(derived, value["derive"])(*args)
        except TypeError as error:
            raise ValueError(f"{where}: {error}") from None
    raise ValueError(f"{where}: a branch is a name, an expression, or "
                     f"{{derive = ..., args = [...]}}, got {value!r}")


@dataclasses.dataclass
class SampleSpec:
    """Where one sample lives and how to read it (one entry of a :class:`SampleMap`)."""

    file: Path
    tree: str | None = None
    branches: dict = dataclasses.field(default_factory=dict)
    weight: str = WEIGHT
    xsec: float | None = None
    sumw: float | None = None
    features: tuple | None = None
    log_features: tuple | None = None
    #: A reweighted sample (see :mod:`vaednn.reweight`): the branch holding each event's
    #: weights at several parameter points, the id of each element, the point
    #: ``{operator: value}`` of each id, and whether the weights are ratios to ``weight``.
    weight_vector: str | None = None
    weight_ids: tuple | None = None
    points: dict | None = None
    relative_weights: bool = False

    def read(self, cuts: str | None = VBS_CUTS, max_events: int | None = None,
             step_size: int | str | None = None) -> Sample:
        return read_ntuple(self.file, self.tree, cuts, max_events, self.branches, self.weight,
                           self.xsec, self.sumw, step_size, self.features, self.log_features)


def _read_map(path: Path) -> dict:
    """The content of a TOML or YAML map (data only: ``tomllib``, ``yaml.safe_load``)."""
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        try:
            content = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML ({error})") from None
    else:
        import yaml

        try:
            content = yaml.safe_load(text)
        except yaml.YAMLError as error:
            reason = " ".join(str(error).split())
            raise ValueError(f"{path}: not valid YAML ({reason})") from None
    if not content:
        raise ValueError(f"{path}: the sample map is empty; it needs an [sm] sample")
    if not isinstance(content, dict):
        raise ValueError(f"{path}: a sample map is a table of keys (defaults, sm, operators), "
                         f"got {type(content).__name__}")
    return content


def _check_reweighting(entry: dict, where: str) -> None:
    """Check (in place: ids to a tuple, values to floats) a map entry's reweighting fields."""
    fields = ("weight_vector", "weight_ids", "points")
    given = [f for f in fields if f in entry]
    if not given and "relative_weights" not in entry:
        return
    missing = [f for f in fields if f not in entry]
    if missing:
        raise ValueError(f"{where}: a reweighted sample needs {list(fields)}; "
                         f"{missing} missing")
    if not isinstance(entry["weight_vector"], str) or not entry["weight_vector"]:
        raise ValueError(f"{where}.weight_vector must be a branch name, "
                         f"got {entry['weight_vector']!r}")
    ids = entry["weight_ids"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"{where}.weight_ids must be a list of names, got {ids!r}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{where}.weight_ids names an id twice: {ids}")
    points = entry["points"]
    if not isinstance(points, dict):
        raise ValueError(f"{where}.points must be a table {{id = {{operator = value}}}}, "
                         f"got {points!r}")
    unknown = sorted(set(points) - set(ids))
    if unknown:
        raise ValueError(f"{where}.points names id(s) {unknown} not in weight_ids {ids}")
    checked = {}
    for wid, point in points.items():
        if not isinstance(point, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in point.values()):
            raise ValueError(f"{where}.points.{wid} must be a table {{operator = number}}, "
                             f"got {point!r}")
        checked[wid] = {op: float(v) for op, v in point.items()}
    if not isinstance(entry.get("relative_weights", False), bool):
        raise ValueError(f"{where}.relative_weights must be true or false, "
                         f"got {entry['relative_weights']!r}")
    entry["weight_ids"], entry["points"] = tuple(ids), checked


@dataclasses.dataclass
class SampleMap:
    """A directory of real samples described by a TOML or YAML file.

    The file names the SM sample and the LIN and QUAD samples of each operator, with
    their tree, branch map, weight, cross section (pb) and sum of weights, and the
    analysis's ``features`` and ``log_features`` (default: the 14 SSWW variables); a
    ``defaults`` table applies to every sample. Paths are relative to the map file.
    A complete example is in the README ("Bring your own ntuples").

    A reweighted sample (one event set with a weight per parameter point, e.g. NanoAOD's
    ``LHEReweightingWeight``) is an ``[sm]`` entry with ``weight_vector`` (the branch),
    ``weight_ids`` (the name of each element), ``points`` (``{id = {operator = value}}``),
    ``xsec`` and optionally ``relative_weights = true`` (ratios to ``weight``); it is read
    with :func:`vaednn.reweight.read_map`. :func:`vaednn.simulate.write_reweighted` writes
    one.
    """

    path: Path
    sm: SampleSpec
    operators: dict[str, dict[str, SampleSpec]]

    KEYS = {"file", "tree", "branches", "weight", "xsec", "sumw", "features", "log_features",
            "weight_vector", "weight_ids", "points", "relative_weights"}
    TOP_KEYS = {"defaults", "sm", "operators"}

    @classmethod
    def load(cls, path) -> SampleMap:
        """Read and check a map; every error names the file and what is wrong in it.

        Raises:
            FileNotFoundError: no such file.
            ValueError: not TOML/YAML, an unknown key anywhere (a typo such as
                ``[default]`` or ``[operator.cW.lin]``), a missing ``sm`` or ``file``,
                or a branch expression outside the allowed language.
        """
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"{path}: is a directory, not a sample map")
        if not path.is_file():
            raise FileNotFoundError(f"{path}: sample map not found")
        content = _read_map(path)

        def unknown_keys(found, allowed, where):
            unknown = sorted(set(found) - set(allowed))
            if unknown:
                close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"{path}: {where} has unknown key(s) {unknown}{hint}; "
                                 f"allowed: {sorted(allowed)}")

        def table(value, where) -> dict:
            if not isinstance(value, dict):
                raise ValueError(f"{path}: {where} must be a table of keys, got {value!r}")
            return value

        unknown_keys(content, cls.TOP_KEYS, "the map")
        defaults = table(content.get("defaults", {}), "defaults")
        unknown_keys(defaults, cls.KEYS - {"file"}, "defaults")

        def spec(entry, where: str) -> SampleSpec:
            entry = table(entry, where)
            unknown_keys(entry, cls.KEYS, where)
            merged = {**defaults, **entry}
            if "file" not in merged:
                raise ValueError(f"{path}: {where} needs a 'file'")
            for key in ("file", "tree", "weight"):
                if key in merged and not (isinstance(merged[key], str) and merged[key]):
                    raise ValueError(f"{path}: {where}.{key} = {merged[key]!r}; it must be a "
                                     "non-empty string")
            # Zero, NaN and signs are checked with both values when the sample is read
            # (_check_normalisation); a TOML `true` or "abc" is refused here, by key.
            for key in ("xsec", "sumw"):
                if key in merged:
                    _check_number(f"{path}: {where}", key, merged[key], "in the map")
            branches = {**table(defaults.get("branches", {}), "defaults.branches"),
                        **table(entry.get("branches", {}), f"{where}.branches")}
            merged["branches"] = {name: _branch_expression(value, f"{path}: {where}.{name}")
                                  for name, value in branches.items()}
            checked = {**merged["branches"], WEIGHT: merged.get("weight", WEIGHT)}
            for name, text in checked.items():
                try:
                    expressions.parse(text)
                except ExpressionError as error:
                    raise ExpressionError(f"{path}: {where}.{name} = {error}") from None
            merged["file"] = path.parent / merged["file"]
            try:
                if "features" in merged or "log_features" in merged:
                    merged["features"], merged["log_features"] = feature_set(
                        merged.get("features"), merged.get("log_features"))
            except ValueError as error:
                raise ValueError(f"{path}: {where}: {error}") from None
            _check_reweighting(merged, f"{path}: {where}")
            return SampleSpec(**merged)

        if "sm" not in content:
            raise ValueError(f"{path}: the map needs an [sm] sample")
        operators = {}
        for operator, parts in table(content.get("operators", {}), "operators").items():
            where = f"operators.{operator}"
            unknown_keys(table(parts, where), {"lin", "quad"}, where)
            missing = {"lin", "quad"} - set(parts)
            if missing:
                raise ValueError(f"{path}: operator {operator!r} lacks {sorted(missing)}")
            operators[operator] = {"LIN": spec(parts["lin"], f"{where}.lin"),
                                   "QUAD": spec(parts["quad"], f"{where}.quad")}
        sm = spec(content["sm"], "sm")
        # One model reads every sample: a feature list in one entry only would read the
        # others with the 14 defaults and fail later, far from its cause.
        chosen = {"sm": (sm.features, sm.log_features)}
        chosen.update({f"operators.{operator}.{part.lower()}": (entry.features,
                                                                  entry.log_features)
                       for operator, parts in operators.items() for part, entry in parts.items()})
        if len(set(chosen.values())) > 1:
            differ = [where for where, value in chosen.items() if value != chosen["sm"]]
            raise ValueError(f"{path}: features/log_features differ between sm and {differ}; "
                             "give them once, in [defaults], so every sample has them")
        return cls(path, sm, operators)

    def spec(self, component: str, operator: str | None = None) -> SampleSpec:
        if component == "SM":
            return self.sm
        if operator not in self.operators:
            raise KeyError(f"{self.path}: no operator {operator!r}; the map has {sorted(self.operators)}")
        return self.operators[operator][component]


def is_sample_map(source) -> bool:
    """True when ``source`` names a sample-map file rather than a directory of ntuples."""
    return Path(source).suffix in {".toml", ".yaml", ".yml"}


def _locate(source, component: str, operator: str | None, process: str,
            features=None, log_features=None) -> dict:
    """read_ntuple's arguments for one sample of a directory or a sample map.

    ``features``/``log_features`` given here take precedence over the map's.
    """
    if is_sample_map(source):
        spec = SampleMap.load(source).spec(component, operator)
        if features is None and log_features is None:
            features, log_features = spec.features, spec.log_features
        return dict(path=spec.file, tree=spec.tree, branches=spec.branches, weight=spec.weight,
                    xsec=spec.xsec, sumw=spec.sumw, features=features,
                    log_features=log_features)
    return dict(path=ntuple_path(source, component, operator, process), features=features,
                log_features=log_features)


def read_sample(source, component: str = "SM", operator: str | None = None,
                process: str = "SSWW", cuts: str | None = VBS_CUTS,
                max_events: int | None = None, step_size: int | str | None = None,
                features=None, log_features=None) -> Sample:
    """One sample from a directory of ntuples or a sample map (features as :func:`read_ntuple`)."""
    return read_ntuple(**_locate(source, component, operator, process, features, log_features),
                       cuts=cuts, max_events=max_events, step_size=step_size)


def stream(source, component: str = "SM", operator: str | None = None, process: str = "SSWW",
           cuts: str | None = VBS_CUTS, batch_events: int = 8192, step_size: int | str = "50 MB",
           seed: int | None = 0, weights: bool = False):
    """A ``tf.data.Dataset`` that reads one sample from disk while a model trains on it.

    Every epoch re-reads the file chunk by chunk (:func:`iterate_ntuple`, cuts applied per
    chunk), so memory stays bounded by ``step_size`` however large the file: pass it to
    ``model.fit`` in place of an array. Events are shuffled within each chunk (seeded,
    differently every epoch); chunks come in file order, so a file sorted by some variable
    should be read with a ``step_size`` that spans many of its regions. Elements are raw
    features (float32, shape ``(batch_events, n_features)``), or ``(features, labels, yields)`` with
    ``weights=True``: labels 0 for the SM, 1 for LIN and QUAD, and the luminosity-normalised
    yields of :func:`lumi_weights`.
    """
    import tensorflow as tf

    location = _locate(source, component, operator, process)
    label = 0.0 if component == "SM" else 1.0
    epoch = [0]

    def batches():
        rng = None if seed is None else np.random.default_rng([seed, epoch[0]])
        epoch[0] += 1
        for chunk in iterate_ntuple(**location, cuts=cuts, step_size=step_size):
            x = chunk.features.to_numpy(np.float32)
            w = lumi_weights(chunk).astype(np.float32)
            order = np.arange(len(x)) if rng is None else rng.permutation(len(x))
            for start in range(0, len(x), batch_events):
                index = order[start:start + batch_events]
                yield (x[index], w[index]) if weights else x[index]

    feature_spec = tf.TensorSpec((None, len(feature_set(location["features"],
                                                         location["log_features"])[0])),
                                 tf.float32)
    if weights:
        signature = (feature_spec, tf.TensorSpec((None,), tf.float32))
        dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
        dataset = dataset.map(lambda x, w: (x, tf.fill(tf.shape(w), label), w))
    else:
        dataset = tf.data.Dataset.from_generator(batches, output_signature=feature_spec)
    return dataset.prefetch(2)


def load_operator(source, operator: str, process: str = "SSWW", cuts: str | None = VBS_CUTS,
                  max_events: int | None = None, features=None,
                  log_features=None) -> OperatorSamples:
    """The SM, LIN and QUAD samples of one operator.

    ``source`` is a directory laid out as the original ntuples or a sample map
    (``.toml``/``.yaml``, see :class:`SampleMap`); ``features``/``log_features`` as in
    :func:`read_ntuple` (default: the map's, else the 14 :data:`FEATURES`).
    """
    samples = {component: read_sample(source, component, operator, process, cuts, max_events,
                                      features=features, log_features=log_features)
               for component in COMPONENTS}
    return OperatorSamples(operator, samples["SM"], samples["LIN"], samples["QUAD"])


def operators_in(source, process: str = "SSWW") -> list[str]:
    """Operators with both a LIN and a QUAD sample in a directory or a sample map."""
    if is_sample_map(source):
        return sorted(SampleMap.load(source).operators)
    found = {}
    for path in Path(source).glob(f"ntuple_{process}_*_*.root"):
        match = re.fullmatch(rf"ntuple_{process}_(.+)_(LI|QU)\.root", path.name)
        if match:
            found.setdefault(match.group(1), set()).add(match.group(2))
    return sorted(op for op, kinds in found.items() if kinds == {"LI", "QU"})


def split(sample: Sample, test_fraction: float = 0.2, seed: int = 0) -> tuple[Sample, Sample]:
    """Seeded random train/test split (80/20 by default, as in the seed).

    Each part keeps full-rate normalisation through ``fraction``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(sample))
    n_test = int(round(test_fraction * len(sample)))
    if n_test == 0 or n_test == len(sample):
        raise ValueError(f"{sample.name}: {len(sample)} events cannot be split {1 - test_fraction:.0%}/"
                         f"{test_fraction:.0%} with both parts non-empty")
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return (sample.select(train, sample.fraction * (1 - test_fraction)),
            sample.select(test, sample.fraction * test_fraction))


def lumi_weights(sample: Sample, luminosity: float = LUMINOSITY) -> np.ndarray:
    """Expected yield of each event at ``luminosity`` (fb^-1): w * xsec * L / sumw / fraction.

    >>> s = Sample("t", pd.DataFrame({"x": [1.0, 2.0]}), np.array([1.0, 3.0]), xsec=0.002, sumw=4.0)
    >>> lumi_weights(s, 100.0)  # 2 fb * 100 fb^-1 = 200 events, shared 1:3
    array([ 50., 150.])
    """
    return sample.weights * (sample.xsec * PB_TO_FB * luminosity / sample.sumw / sample.fraction)


def wilson_weights(lin: Sample, quad: Sample, c: float = 1.0,
                   luminosity: float = LUMINOSITY) -> tuple[np.ndarray, np.ndarray]:
    """Yields of the LIN and QUAD events at Wilson coefficient ``c``: LIN x c, QUAD x c^2."""
    return c * lumi_weights(lin, luminosity), c**2 * lumi_weights(quad, luminosity)


def mixture(sm: Sample, lin: Sample, quad: Sample, c: float = 1.0,
            luminosity: float = LUMINOSITY) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A labelled SM + BSM set for the classifier: ``(X, y, w)``.

    SM events get label 0, LIN and QUAD events label 1; ``w`` are the yields at
    ``luminosity`` with LIN x c and QUAD x c^2 (LIN weights may be negative).
    """
    for sample in (sm, lin, quad):
        if len(sample) == 0:
            raise ValueError(f"{sample.name}: empty sample, cannot build a mixture")
    w_lin, w_quad = wilson_weights(lin, quad, c, luminosity)
    x = np.concatenate([s.features.to_numpy(np.float64) for s in (sm, lin, quad)])
    y = np.concatenate([np.zeros(len(sm)), np.ones(len(lin) + len(quad))])
    w = np.concatenate([lumi_weights(sm, luminosity), w_lin, w_quad])
    return x, y, w


#: Nominal detector resolutions for the smearing study (PHYSICS.md [E]). Jet pT:
#: σ/pT = a/√(pT/GeV) ⊕ c, i.e. 12.5% at 50 GeV falling to 5% at 500 GeV; lepton pT: 2%;
#: η and φ: absolute, jets 0.03, leptons 0.01; MET: 25 GeV, absolute.
def fingerprint(samples) -> str:
    """A short hash of the contents of ``samples`` (any iterable of :class:`vaednn.data.Sample`).

    It covers what a result depends on: every feature value and weight, the normalisation
    (``xsec``, ``sumw``, ``fraction``) and the sample names, so regenerated or re-selected
    data in the same folder gets a new fingerprint, and moved data keeps its own.
    """
    digest = hashlib.sha1()
    for sample in samples:
        digest.update(json.dumps([sample.name, sample.xsec, sample.sumw, sample.fraction,
                                  list(sample.features.columns)]).encode())
        digest.update(np.ascontiguousarray(sample.features.to_numpy()).tobytes())
        digest.update(np.ascontiguousarray(sample.weights).tobytes())
    return digest.hexdigest()[:12]


DETECTOR_RESOLUTION = {"jet_pt_stochastic": 0.853, "jet_pt_constant": 0.032,
                       "lepton_pt": 0.02, "jet_angle": 0.03, "lepton_angle": 0.01,
                       "met_gev": 25.0}


def jet_pt_resolution(pt, resolution=DETECTOR_RESOLUTION):
    """Relative jet pT resolution σ/pT at ``pt`` (GeV).

    >>> [round(float(jet_pt_resolution(pt)), 3) for pt in (50.0, 500.0)]
    [0.125, 0.05]
    """
    return np.hypot(resolution["jet_pt_stochastic"] / np.sqrt(pt), resolution["jet_pt_constant"])


def resolutions(features: pd.DataFrame, resolution=DETECTOR_RESOLUTION) -> pd.DataFrame:
    """Absolute Gaussian resolution σ of every feature of every event.

    Absolute for η, φ and MET; relative for pT and masses. A difference of two angles
    gets √2 times one angle's resolution; a pair mass ``m² ∝ p1 p2`` gets half the
    quadrature sum of its two pT resolutions (the angles' share is neglected).

    Raises:
        ValueError: a column that is not one of :data:`FEATURES`, or a feature a
            resolution needs (``ptj1``, ``ptj2`` for ``mjj``) is missing.
    """
    unknown = [c for c in features.columns if c not in FEATURES]
    if unknown:
        raise ValueError(f"no detector resolution for column(s) {unknown}; known: {FEATURES}")
    r = resolution
    sigma = {}
    for name in features.columns:
        x = features[name].to_numpy(np.float64)
        if name in ("etaj1", "etaj2"):
            sigma[name] = np.full(len(x), r["jet_angle"])
        elif name in ("etal1", "etal2"):
            sigma[name] = np.full(len(x), r["lepton_angle"])
        elif name in ("deltaetajj", "deltaphijj"):
            sigma[name] = np.full(len(x), np.sqrt(2) * r["jet_angle"])
        elif name == "met":
            sigma[name] = np.full(len(x), r["met_gev"])
        elif name in ("ptj1", "ptj2"):
            sigma[name] = x * jet_pt_resolution(x, r)
        elif name in ("ptl1", "ptl2", "ptll"):
            sigma[name] = x * r["lepton_pt"]
        elif name == "mll":
            sigma[name] = x * r["lepton_pt"] / np.sqrt(2)
        else:  # mjj
            missing = [c for c in ("ptj1", "ptj2") if c not in features]
            if missing:
                raise ValueError(f"the mjj resolution needs the jet pT; missing {missing}")
            relative = np.hypot(jet_pt_resolution(features["ptj1"].to_numpy(np.float64), r),
                                jet_pt_resolution(features["ptj2"].to_numpy(np.float64), r))
            sigma[name] = x * relative / 2
    return pd.DataFrame(sigma, index=features.index)


def smear(features: pd.DataFrame, scale: float = 1.0, seed: int = 0,
          resolution=DETECTOR_RESOLUTION) -> pd.DataFrame:
    """Gaussian detector smearing with ``scale`` times the nominal resolutions.

    The resolutions are :func:`resolutions`: absolute in η, φ and MET, relative in pT and
    masses (PHYSICS.md). A measured quantity keeps its range: ``deltaetajj`` is the
    magnitude of the smeared difference, ``deltaphijj`` is folded back into [0, π], and a
    positive quantity (the :data:`LOG_FEATURES`) takes a Gaussian truncated at zero
    (draws that would make it non-positive are drawn again). Weights are not touched:
    pass the sample's weights along unchanged.

    Args:
        features: events, columns a subset of :data:`FEATURES`.
        scale: multiple of the nominal resolution (0: no smearing, 1: nominal, 2: twice).
        seed: seed of the noise.
        resolution: the resolution parameters (default :data:`DETECTOR_RESOLUTION`).

    Raises:
        ValueError: a negative ``scale`` or a column without a resolution.
    """
    if scale < 0:
        raise ValueError(f"smearing scale must be >= 0 (a multiple of the resolution), got {scale}")
    sigma = resolutions(features, resolution) * scale
    rng = np.random.default_rng(seed)
    out = features.copy()
    for name in features.columns:
        values = features[name].to_numpy(np.float64)
        width = sigma[name].to_numpy()
        smeared = values + width * rng.standard_normal(len(values))
        if name in LOG_FEATURES:
            bad = smeared <= 0
            while bad.any():
                smeared[bad] = values[bad] + width[bad] * rng.standard_normal(int(bad.sum()))
                bad = smeared <= 0
        elif name == "deltaetajj":
            smeared = np.abs(smeared)
        elif name == "deltaphijj":
            smeared = np.abs(np.angle(np.exp(1j * smeared)))
        out[name] = smeared
    return out


def default_data_dir() -> Path:
    """Where the generated data set lives: ``$VAEDNN_DATA`` or ``data/generated``."""
    return Path(os.environ.get("VAEDNN_DATA", "data/generated"))


def sample_table(samples, luminosity: float = LUMINOSITY) -> pd.DataFrame:
    """One row per sample: events read and after cuts, cross sections and yields.

    ``xsec_fb`` is the file's cross section; ``selected_fb`` the part of it that passes
    the cuts (signed: a LIN sample's is negative when its interference is destructive);
    ``yield`` the expected events at ``luminosity``; ``neg_weight_fraction`` the share of
    selected events with a negative weight.
    """
    rows = []
    for sample in samples:
        yields = lumi_weights(sample, luminosity)
        rows.append({
            "sample": sample.name,
            "events_read": sample.n_read,
            "events_selected": len(sample),
            "xsec_fb": sample.xsec * PB_TO_FB,
            "selected_fb": yields.sum() / luminosity,
            "yield": yields.sum(),
            "neg_weight_fraction": float(np.mean(sample.weights < 0)),
        })
    return pd.DataFrame(rows).set_index("sample")


def read_parquet(path, xsec: float, sumw: float, weights: str = WEIGHT,
                 cuts: str | None = VBS_CUTS, features=FEATURES, name: str | None = None,
                 log_features=None) -> Sample:
    """Read a parquet file of events (one row each) into a :class:`Sample`.

    Parquet holds no normalisation histogram, so the cross section and sum of weights are
    given. Needs pyarrow (``pip install 'vaednn[parquet]'``).

    Args:
        path: the parquet file (or a folder of them, as pandas reads it).
        xsec: cross section of the whole sample, in pb.
        sumw: sum of generator weights of the whole sample (before cuts).
        weights: the event-weight column.
        cuts: a selection on the feature names, as in :func:`read_ntuple`, or None.
        features: the feature columns, in order.
        name: the sample's name (default: the file name without ``.parquet``).
        log_features: the features that must be > 0, as in :meth:`Sample.from_frame`.

    Raises:
        NtupleError: file not found or not parquet, and everything :meth:`Sample.from_frame`
            refuses.
    """
    from vaednn.extras import require

    require("pyarrow", "reading parquet")
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_dir():
        _check_regular_file(path)
    try:
        present = pq.ParquetDataset(path).schema.names
    except Exception as error:
        raise NtupleError(f"{path}: not a readable parquet file "
                          f"({type(error).__name__}: {error})") from error
    columns = list(dict.fromkeys([*features, weights]))
    missing = [column for column in columns if column not in present]
    if missing:
        raise NtupleError(f"{path}: no column(s) {missing} (the file has {present})")
    frame = pd.read_parquet(path, columns=columns)
    sample = Sample.from_frame(frame, weights, xsec, sumw,
                               name=name or path.name.removesuffix(".parquet"), cuts=cuts,
                               features=features, log_features=log_features)
    return dataclasses.replace(sample, path=path)


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
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(values) != len(sample):
            raise ValueError(f"{path}: score {name!r} has {len(values)} values for the "
                             f"{len(sample)} events of {sample.name}")
        bad = int((~np.isfinite(values)).sum())
        if bad:
            raise ValueError(f"{path}: score {name!r} has {bad} NaN or infinite value(s) of "
                             f"{len(sample)}; NaN in the output marks events not scored, so "
                             "these would read as outside the selection")
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
