"""Results tables: column names, the spread over seeds, one row per operator and model,
and the binned-fit intervals next to the published ones."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from vaednn.comparison.merit import SYSTEMATIC, sensitivity
from vaednn.comparison.scoring import counting_scorer, feature_scorer, score_samples
from vaednn.comparison.splits import EvaluationData

__all__ = [
    "SEED_DDOF",
    "seed_spread",
    "RENAMED_COLUMNS",
    "current_column",
    "current_columns",
    "RESULT_COLUMNS",
    "TRAINED_ON",
    "EACH_OPERATOR",
    "results_table",
    "PUBLISHED_INTERVALS",
    "PUBLISHED_LUMINOSITY",
    "PUBLISHED_CL",
    "interval_table",
]

#: Columns renamed since an earlier release -> today's name: the 3 sigma reach was
#: ``c_minus``/``c_plus`` in :func:`metrics` and ``c_lo_3sigma``/``c_hi_3sigma`` in the results
#: table; it is ``c_lo_3sigma``/``c_hi_3sigma`` everywhere now.
RENAMED_COLUMNS = {"c_minus": "c_lo_3sigma", "c_plus": "c_hi_3sigma"}


def current_column(name: str, where: str) -> str:
    """Today's name of the column (or metric) ``name``: a name of :data:`RENAMED_COLUMNS`
    is still read, with a DeprecationWarning that names ``where`` it came from.

    >>> current_column("AUC", "metric")
    'AUC'
    """
    if name not in RENAMED_COLUMNS:
        return name
    warnings.warn(f"{where}: {name!r} is now called {RENAMED_COLUMNS[name]!r}; the old name "
                  "will stop working in a later release", DeprecationWarning, stacklevel=2)
    return RENAMED_COLUMNS[name]


def current_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """``frame`` with the columns of :data:`RENAMED_COLUMNS` under today's names (a
    DeprecationWarning names ``where`` the frame came from, e.g. a saved file).

    Raises:
        ValueError: ``frame`` has a column under both its old and its new name.
    """
    old = [column for column in frame.columns if column in RENAMED_COLUMNS]
    if not old:
        return frame
    both = [column for column in old if RENAMED_COLUMNS[column] in frame.columns]
    if both:
        raise ValueError(f"{where}: has both {both} and their new names "
                         f"{[RENAMED_COLUMNS[c] for c in both]}; keep one of each")
    warnings.warn(f"{where}: columns {old} are now called {[RENAMED_COLUMNS[c] for c in old]}; "
                  "the old names will stop working in a later release", DeprecationWarning,
                  stacklevel=2)
    return frame.rename(columns=RENAMED_COLUMNS)


#: Delta degrees of freedom of :func:`seed_spread`: the sample standard deviation.
SEED_DDOF = 1


def seed_spread(values) -> float:
    """The spread of one result over training seeds: the sample standard deviation
    (ddof = :data:`SEED_DDOF`) of the seeds' values.

    The one rule for every seed average (:func:`vaednn.workflow.seed_average`,
    :func:`vaednn.anomaly.seed_tables`, :func:`vaednn.anomaly.width_ratios`). A NaN value (a
    seed without that number, e.g. a fit that gave no bound) is left out, as the mean over
    seeds leaves it out. Fewer than two values give NaN, not 0: one value (a deterministic
    reference, or a single training) has no measured spread, and 0 would claim a result
    that does not move with the seed; ``results.csv`` keeps the NaN, the README shows "—".

    >>> round(seed_spread([0.6, 0.8]), 6)  # sqrt((0.1**2 + 0.1**2) / (2 - 1))
    0.141421
    >>> seed_spread([0.7])
    nan

    Raises:
        ValueError: no values at all.
    """
    values = pd.Series(np.asarray(values, dtype=float).ravel())
    if values.empty:
        raise ValueError("seed_spread: no values (give one value per seed)")
    return float(values.std(ddof=SEED_DDOF))


#: The results table's columns (``figures/results.csv``), in order; extra columns follow.
RESULT_COLUMNS = ("operator", "model", "trained_on", "AUC", "score", "c_lo_3sigma", "c_hi_3sigma",
                  "c_lo_95", "c_hi_95", "c_lo_95_syst", "c_hi_95_syst", "extrapolated",
                  "falls_back", "falls_back_syst", "binning")

#: A ``trained_on`` value meaning "the operator of the row": a model trained per operator.
EACH_OPERATOR = "each operator"

#: Model name -> what it was trained on, for the rows every results table can have:
#: ``"SM"`` (SM events alone), ``"none"`` (nothing trained), or :data:`EACH_OPERATOR`.
TRAINED_ON = {
    "counting": "none", "single variable": "none", "mjj fit": "none",
    "BDT (supervised)": EACH_OPERATOR, "ratio regression (SALLY)": EACH_OPERATOR,
    "VAE": "SM", "VAE+DNN": EACH_OPERATOR,
    "IsolationForest (unsupervised)": "SM",
}

_BOUNDS = ("c_lo_3sigma", "c_hi_3sigma", "c_lo_95", "c_hi_95", "c_lo_95_syst", "c_hi_95_syst")


def results_table(tables: Mapping[str, pd.DataFrame], generated_at: float = 1.0,
                  trained_on: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per operator × model from :func:`compare` tables, the columns of
    :data:`RESULT_COLUMNS` first (any further columns of the tables follow, so later rows
    and columns pass through).

    ``extrapolated`` is True where any bound has ``|c| > generated_at``, the coefficient the
    samples were generated at: such a bound extrapolates the LIN and QUAD yields.

    ``trained_on`` says what each model learnt from: ``SM`` for SM-only scores, the row's
    operator for supervised ones, ``none`` for counting and the single-variable fits. It
    comes from :data:`TRAINED_ON`, updated by the ``trained_on`` argument (model name ->
    ``"SM"``, ``"none"``, an operator name, or :data:`EACH_OPERATOR`).

    Raises:
        ValueError: a model has no ``trained_on`` entry.
    """
    known = {**TRAINED_ON, **(trained_on or {})}
    frames = []
    for operator, table in tables.items():
        frame = current_columns(table.reset_index(), f"results_table: tables[{operator!r}]")
        missing = sorted(set(frame["model"]) - set(known))
        if missing:
            raise ValueError(f"results_table: no trained_on entry for model(s) {missing}; pass "
                             f"trained_on={{name: 'SM' | 'none' | operator | EACH_OPERATOR}}")
        frame.insert(0, "operator", operator)
        frame["trained_on"] = [operator if known[m] == EACH_OPERATOR else known[m]
                               for m in frame["model"]]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    for column in _BOUNDS:
        if column not in out:
            out[column] = np.nan
    out["extrapolated"] = (out[list(_BOUNDS)].abs() > generated_at).any(axis=1)
    first = [c for c in RESULT_COLUMNS if c in out]
    return out[first + [c for c in out.columns if c not in first]]


#: Expected 1 sigma intervals (Delta(-2 ln lambda) = 1, 100 fb^-1, LIN + QUAD) of the SSWW
#: analysis of arXiv:2108.03199 (see PHYSICS.md): each from a binned fit of one variable.
PUBLISHED_INTERVALS = {
    "cqq3": (-0.039, 0.044), "cqq31": (-0.044, 0.061), "cqq11": (-0.146, 0.276),
    "cqq1": (-0.151, 0.267), "cHl3": (-0.153, 0.151), "cll1": (-0.201, 0.204),
    "cW": (-0.202, 0.202), "cHq3": (-0.218, 0.206), "cHq1": (-1.28, 1.18),
    "cHW": (-2.07, 1.76), "cHWB": (-5.26, 6.60), "cHbox": (-5.41, 6.64), "cHDD": (-5.42, 9.08),
}
#: Luminosity (fb^-1) and confidence level of :data:`PUBLISHED_INTERVALS`.
PUBLISHED_LUMINOSITY = 100.0
PUBLISHED_CL = 0.6827


def interval_table(scorers: Mapping, data: EvaluationData, *, cl: float = PUBLISHED_CL,
                   luminosity: float = PUBLISHED_LUMINOSITY, systematic: float = SYSTEMATIC,
                   operators=None) -> pd.DataFrame:
    """Binned-fit intervals of several scores, with and without the systematic, next to the
    published ones: the like-for-like comparison of PHYSICS.md (``cl`` 0.6827, 100 fb^-1).

    Args:
        scorers: name -> scorer (as in :func:`compare`); a ``{operator: scorer}`` mapping of
            callables/models gives each operator its own model (a VAE+DNN per operator).
            The ``counting`` and ``mjj fit`` rows are always added.
        data: from :func:`prepare`; binning chosen on validation, yields from test, both
            rescaled to ``luminosity``.

    Returns:
        One row per operator, model and ``systematic`` (0 or the given value): ``lo``,
        ``hi``, ``falls_back``, ``no_fit_because`` (why the bounds are NaN; empty where
        they are not), and the published ``published_lo``, ``published_hi`` (NaN
        for an operator without a published interval).
    """
    operators = data.operators if operators is None else tuple(operators)
    rescaled = data.at_luminosity(luminosity)
    rows = []
    for op in operators:
        here = {"counting": counting_scorer}
        if "mjj" in data.test[op].sm.features.columns:
            here["mjj fit"] = feature_scorer("mjj")
        for name, scorer in scorers.items():
            per_operator = isinstance(scorer, Mapping) and op in scorer and not isinstance(
                scorer[op], Mapping)
            here[name] = scorer[op] if per_operator else scorer
        published = PUBLISHED_INTERVALS.get(op, (np.nan, np.nan))
        for name, scorer in here.items():
            choose, report = (score_samples(scorer, getattr(rescaled, split)[op], luminosity)
                              for split in ("validation", "test"))
            for delta in (0.0, systematic):
                fit = sensitivity(choose, report, background_uncertainty=delta, cl=cl)
                rows.append({"operator": op, "model": name, "systematic": delta,
                             "lo": fit["lo"], "hi": fit["hi"], "falls_back": fit["falls_back"],
                             "no_fit_because": fit["binning"],
                             "published_lo": published[0], "published_hi": published[1]})
    return pd.DataFrame(rows)
