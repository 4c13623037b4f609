"""Weighted samples: the :class:`Sample` of one ntuple, an operator's SM/LIN/QUAD, feature
sets, cuts, the checks every reader shares, normalisation and splits.

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
import hashlib
import json
import stat
from pathlib import Path

import numpy as np
import pandas as pd

from vaednn import expressions
from vaednn.expressions import ExpressionError

__all__ = [
    "FEATURES", "LOG_FEATURES", "VBS_CUTS", "LUMINOSITY", "WEIGHT", "COMPONENTS", "PB_TO_FB",
    "NtupleError", "Sample", "OperatorSamples", "feature_set", "check_regular_file",
    "check_number", "check_normalisation", "cut_expression", "check_finite",
    "check_log_features", "check_max_events", "cut_mask", "concatenate", "split",
    "normalisation", "lumi_weights", "wilson_weights", "checked_scores", "frame_columns",
    "feature_matrix", "row_weights", "mixture", "fingerprint", "sample_table"]

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
        weights = row_weights(weights, len(frame), f"{name}: weights", NtupleError)
        xsec, sumw = check_normalisation(name, xsec, sumw, "as given")
        table = frame.loc[:, list(features)].astype(np.float64).reset_index(drop=True)
        check_finite({**table, "weights": weights}, name, "column")
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


def check_regular_file(path: Path) -> None:
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


def check_number(where, name: str, value, source: str) -> float:
    """``value`` as a float, refusing what only converts to one (``True``, ``"1e-3"``)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer
                                                                | np.floating):
        raise NtupleError(f"{where}: {name} = {value!r} ({source}) is not a number")
    return float(value)


def check_normalisation(path, xsec, sumw, source: str) -> tuple[float, float]:
    """The checked ``(xsec, sumw)`` of a file, frame or sample-map entry, as floats.

    xsec and sumw make every yield: zero, NaN or opposite signs would make them wrong, and
    a value that is not a number (``true``, ``"abc"``, ``[1.0]`` in a sample map) is
    refused rather than converted. ``path`` names where they belong in the message.
    """
    xsec = check_number(path, "xsec", xsec, source)
    sumw = check_number(path, "sumw", sumw, source)
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


def check_finite(columns: dict, where, what: str = "branch") -> None:
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


def check_max_events(max_events) -> None:
    """Raise unless ``max_events`` is None or a positive integer."""
    if max_events is None:
        return
    if isinstance(max_events, bool) or not isinstance(max_events, int | np.integer) \
            or max_events < 1:
        raise ValueError(f"max_events must be a positive integer or None, got {max_events!r}")


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


def normalisation(sample: Sample, luminosity: float = LUMINOSITY) -> float:
    """Yield per unit generator weight of ``sample`` at ``luminosity`` (fb^-1), the seed's
    ``norm``: ``xsec[pb] * 1000 * L / sumw / fraction``.

    >>> s = Sample("t", pd.DataFrame({"x": [1.0, 2.0]}), np.array([1.0, 3.0]), xsec=0.002, sumw=4.0)
    >>> normalisation(s, 100.0)  # 2 fb * 100 fb^-1 = 200 events over a weight sum of 4
    50.0
    """
    return sample.xsec * PB_TO_FB * luminosity / sample.sumw / sample.fraction


def lumi_weights(sample: Sample, luminosity: float = LUMINOSITY) -> np.ndarray:
    """Expected yield of each event at ``luminosity`` (fb^-1): its weight times
    :func:`normalisation`, w * xsec * L / sumw / fraction.

    >>> s = Sample("t", pd.DataFrame({"x": [1.0, 2.0]}), np.array([1.0, 3.0]), xsec=0.002, sumw=4.0)
    >>> lumi_weights(s, 100.0)  # 2 fb * 100 fb^-1 = 200 events, shared 1:3
    array([ 50., 150.])
    """
    return sample.weights * normalisation(sample, luminosity)


def row_weights(weights, n: int, what: str, error: type[Exception] = ValueError) -> np.ndarray:
    """``weights`` as float64, one value per row of ``n`` rows, or ``error`` naming ``what``.

    >>> row_weights([1, 2], 3, "sample_weight")
    Traceback (most recent call last):
    ...
    ValueError: sample_weight must have one value per row (3), got shape (2,)
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (n,):
        raise error(f"{what} must have one value per row ({n}), got shape {weights.shape}")
    return weights


def frame_columns(frame: pd.DataFrame, names, what: str, why: str = "") -> pd.DataFrame:
    """The columns ``names`` of ``frame``, in that order (others dropped), or a ValueError
    that names ``what``, every missing column, and ``why`` when given.

    >>> frame = pd.DataFrame({"mjj": [500.0], "met": [40.0], "run": [1]})
    >>> frame_columns(frame, ["met", "mjj"], "x").columns.tolist()
    ['met', 'mjj']
    >>> frame_columns(frame, ["ptj1", "mjj", "ptll"], "x")
    Traceback (most recent call last):
    ...
    ValueError: x lacks the column(s) ['ptj1', 'ptll']
    """
    names = list(names)
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the column(s) {missing}{why}")
    return frame.loc[:, names]


def feature_matrix(x, names, what: str) -> np.ndarray:
    """Raw features as a float64 ``(n, len(names))`` array in ``names`` order, or a
    ValueError naming ``what``: a DataFrame is read by column name (others dropped), an
    array must already have its columns in that order.

    >>> feature_matrix([[1.0, 2.0, 3.0]], ["mjj", "met"], "x")
    Traceback (most recent call last):
    ...
    ValueError: x must have shape (n, 2) in the order ['mjj', 'met'], got (1, 3)
    """
    names = list(names)
    if isinstance(x, pd.DataFrame):
        x = frame_columns(x, names, what).to_numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"{what} must have shape (n, {len(names)}) in the order {names}, "
                         f"got {x.shape}")
    return x


def checked_scores(values, sample: Sample, what: str, why: str = "") -> np.ndarray:
    """``values`` as float64 scores, one finite score per event of ``sample``, or a
    ValueError that names ``what`` (and ends with ``why`` a NaN is refused, when given).

    >>> s = Sample("t", pd.DataFrame({"x": [1.0, 2.0]}), np.ones(2), xsec=1.0, sumw=2.0)
    >>> checked_scores([0.5], s, "score 'reco'")
    Traceback (most recent call last):
    ...
    ValueError: score 'reco' has 1 values for the 2 events of t
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) != len(sample):
        raise ValueError(f"{what} has {len(values)} values for the {len(sample)} events of "
                         f"{sample.name}")
    bad = int((~np.isfinite(values)).sum())
    if bad:
        raise ValueError(f"{what} has {bad} NaN or infinite value(s) of {len(sample)}{why}")
    return values


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

