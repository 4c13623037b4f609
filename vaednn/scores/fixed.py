"""Fixed scores, trained on nothing: :func:`log_energy_sum`, the reference a raw-space
density must beat."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaednn.data import LOG_FEATURES
from vaednn.data.samples import feature_matrix
from vaednn.models.inputs import feature_names

__all__ = ["log_energy_sum"]


def log_energy_sum(x, features=None, log_features=None) -> np.ndarray:
    """``Σ log x_f`` over the energy-like variables: the log features of the data.

    A fixed variable, trained on nothing: up to a constant it is minus the log-Jacobian of
    the log10 scaling (:func:`vaednn.scores.density.scaling_log_jacobian`), the term that
    turns a density of the scaled features into a density of the raw ones. A raw-space
    density score that does no better than this variable has learnt nothing beyond
    "energetic events are rare".

    Args:
        x: raw events, a DataFrame or an array (columns in ``features`` order).
        features: the variables of ``x``'s columns (default: a DataFrame's columns; an
            array of 14 columns is read as :data:`vaednn.data.FEATURES`).
        log_features: the energy-like variables summed (default: those of the variables in
            :data:`vaednn.data.LOG_FEATURES`, so momenta and masses); give them for an
            analysis whose variables have other names, e.g. with ``functools.partial``.

    >>> frame = pd.DataFrame({"ptl1": [10.0], "etal1": [0.5], "mjj": [100.0]})
    >>> bool(np.isclose(log_energy_sum(frame)[0], np.log(10.0 * 100.0)))  # ptl1 and mjj
    True
    """
    if log_features is None and features is None and isinstance(x, pd.DataFrame):
        # Any other column (an event weight, a run number) is not an input: only the
        # energy-like ones are read.
        log_features = tuple(str(c) for c in x.columns if c in LOG_FEATURES)
        names, variables = log_features, [str(c) for c in x.columns]
    else:
        names, log_features = feature_names(x, features, log_features)
        variables = list(names)
    if not log_features:
        raise ValueError(f"log_energy_sum: none of the variables {variables} is energy-like; "
                         f"pass log_features=[...] (the momenta and masses)")
    if isinstance(x, pd.DataFrame):
        values = feature_matrix(x, log_features, "log_energy_sum: DataFrame")
    else:
        values = feature_matrix(x, names, "log_energy_sum: x")
        values = values[:, [names.index(f) for f in log_features]]
    if not (values > 0).all():
        bad = {f: int(c) for f, c in zip(log_features, (values <= 0).sum(axis=0)) if c}
        raise ValueError(f"log_energy_sum: momenta and masses must be > 0 (count <= 0 per "
                         f"variable: {bad})")
    return np.log(values).sum(axis=1)

