"""Models against references on held-out events: splits, scoring, the comparison table.

One concern per module, each importing only those above it in this list:

- :mod:`~vaednn.comparison.splits`: training, validation and test splits
  (:class:`EvaluationData`, :func:`split_three`, :func:`prepare`) and where choices are made;
- :mod:`~vaednn.comparison.scoring`: per-event scores of samples with their yields
  (:func:`score`, :func:`score_samples`, :func:`feature_scorer`, :func:`counting_scorer`);
- :mod:`~vaednn.comparison.references`: the references (single variable, mjj fit, BDT,
  ratio regression);
- :mod:`~vaednn.comparison.merit`: figures of merit (:func:`metrics`,
  :func:`sensitivity` and its inputs :func:`fit_inputs`), the comparison table (:func:`compare`), :func:`operator_matrix`;
- :mod:`~vaednn.comparison.tables`: results tables, column names, the spread over seeds and
  the intervals next to the published ones;
- :mod:`~vaednn.comparison.uncertainties`: the declared uncertainties of a score's fit from
  its events (luminosity, background normalisation, detector-resolution shape, MC
  statistics: :func:`declared_uncertainties`).

This module only re-exports their public names; :mod:`vaednn.compare` re-exports the same.
"""

from vaednn.comparison.splits import CHOICES, SPLIT, EvaluationData, prepare, split_three
from vaednn.comparison.scoring import (
    counting_scorer, feature_scorer, normalisation, score, score_samples)
from vaednn.comparison.references import (
    REFERENCES, best_variable, train_bdt, train_ratio_regression)
from vaednn.comparison.merit import (
    INTERVAL_CL, MIN_BACKGROUND, SYSTEMATIC, FitInputs, compare, fit_inputs, metrics,
    operator_matrix, sensitivity)
from vaednn.comparison.tables import (
    EACH_OPERATOR, PUBLISHED_CL, PUBLISHED_INTERVALS, PUBLISHED_LUMINOSITY, RENAMED_COLUMNS,
    RESULT_COLUMNS, SEED_DDOF, TRAINED_ON, current_column, current_columns, interval_table,
    results_table, seed_spread)
from vaednn.comparison.uncertainties import (
    LUMINOSITY_UNCERTAINTY, RESOLUTION, declared_uncertainties, mc_statistics, resolution_shapes,
    smeared)

__all__ = [
    "SPLIT", "SYSTEMATIC", "CHOICES", "EvaluationData", "split_three", "prepare",
    "normalisation", "score", "score_samples", "feature_scorer", "counting_scorer",
    "REFERENCES", "train_bdt", "train_ratio_regression", "best_variable", "FitInputs",
    "fit_inputs", "sensitivity",
    "metrics", "compare",
    "operator_matrix",
    "SEED_DDOF", "seed_spread", "RENAMED_COLUMNS", "current_column", "current_columns",
    "RESULT_COLUMNS", "TRAINED_ON", "EACH_OPERATOR", "results_table", "PUBLISHED_INTERVALS",
    "PUBLISHED_LUMINOSITY", "PUBLISHED_CL", "interval_table", "MIN_BACKGROUND", "INTERVAL_CL",
    "LUMINOSITY_UNCERTAINTY", "RESOLUTION", "smeared", "resolution_shapes", "mc_statistics",
    "declared_uncertainties",
]
