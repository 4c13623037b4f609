"""Models against references on held-out events: the names of :mod:`vaednn.comparison`
where users found them (``vaednn.compare.compare``, ``vaednn.compare.prepare``, ...).

Every choice (the cut, the fit binning, the best single variable) is made on the
**validation** split and every reported number comes from the **test** split
(``choose_on="validation"``, the default); see :mod:`vaednn.comparison.splits`.

This module only re-exports; the code lives in :mod:`vaednn.comparison`.
"""

from vaednn.comparison import (
    CHOICES, EACH_OPERATOR, MIN_BACKGROUND, PUBLISHED_CL, PUBLISHED_INTERVALS,
    PUBLISHED_LUMINOSITY, REFERENCES, RENAMED_COLUMNS, RESULT_COLUMNS, SEED_DDOF, SPLIT,
    SYSTEMATIC, TRAINED_ON, EvaluationData, best_variable, compare, counting_scorer,
    current_column, current_columns, feature_scorer, interval_table, metrics, normalisation,
    operator_matrix, prepare, results_table, score, score_samples, seed_spread, sensitivity,
    split_three, train_bdt, train_ratio_regression)

__all__ = [
    "SPLIT", "SYSTEMATIC", "CHOICES", "EvaluationData", "split_three", "prepare",
    "normalisation", "score", "score_samples", "feature_scorer", "counting_scorer",
    "REFERENCES", "train_bdt", "train_ratio_regression", "best_variable", "sensitivity",
    "metrics", "compare",
    "operator_matrix",
    "SEED_DDOF", "seed_spread", "RENAMED_COLUMNS", "current_column", "current_columns",
    "RESULT_COLUMNS", "TRAINED_ON", "EACH_OPERATOR", "results_table", "PUBLISHED_INTERVALS",
    "PUBLISHED_LUMINOSITY", "PUBLISHED_CL", "interval_table", "MIN_BACKGROUND",
]
