"""Checks of what a model is given: raw features, labels and event weights.

Each function returns the array a model trains on, or raises a ``ValueError`` that names
the argument and what is wrong with it; nothing is dropped or substituted silently.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from vaednn.data import FEATURES, LOG_FEATURES, feature_set

__all__ = ["feature_names", "features_array", "labels_array", "weights_array", "to_numpy"]


def feature_names(x, features=None, log_features=None):
    """The ``(features, log_features)`` a model built on ``x`` uses.

    The features are the DataFrame's columns, or ``features`` (required for an array
    unless it has 14 columns, read as :data:`FEATURES`);
    ``log_features`` defaults to those of them that are also in :data:`LOG_FEATURES`.

    >>> feature_names(pd.DataFrame(columns=["mjj", "etaj1", "nu_pt"]))
    (('mjj', 'etaj1', 'nu_pt'), ('mjj',))
    """
    if features is None:
        if isinstance(x, pd.DataFrame):
            features = [str(column) for column in x.columns]
        elif np.ndim(x) == 2 and np.shape(x)[1] == len(FEATURES):
            features = FEATURES
        else:
            raise ValueError(f"an array of shape {np.shape(x)} has no column names: pass "
                             f"features=[...] (one name per column)")
    return feature_set(features, log_features)


def features_array(x, what="x", features=FEATURES, log_features=LOG_FEATURES):
    """Raw features as a float32 (n, d) array, columns in ``features`` order, or a clear error.

    A DataFrame is matched by column name (order and extra columns do not matter); an
    array must already have its columns in ``features`` order.
    """
    features = tuple(features)
    if isinstance(x, pd.DataFrame):
        missing = [f for f in features if f not in x.columns]
        if missing:
            raise ValueError(f"{what}: DataFrame lacks feature column(s) {missing}; "
                             f"the model reads {list(features)}")
        x = x.loc[:, list(features)].to_numpy()
    x = np.asarray(x)
    if x.ndim == 2 and len(x) == 0:
        raise ValueError(f"{what}: no events (an empty array of shape {x.shape})")
    if x.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D array (events, {len(features)} features), "
                         f"got shape {x.shape}")
    if x.shape[1] != len(features):
        raise ValueError(f"{what}: expected {len(features)} features ({', '.join(features)}), "
                         f"got {x.shape[1]}")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        counts = {f: int(c) for f, c in zip(features, bad.sum(axis=0)) if c}
        raise ValueError(f"{what}: non-finite (NaN or inf) values per feature: {counts}")
    log_cols = [features.index(f) for f in log_features]
    nonpos = x[:, log_cols] <= 0
    if nonpos.any():
        counts = {f: int(c) for f, c in zip(log_features, nonpos.sum(axis=0)) if c}
        raise ValueError(f"{what}: log10 is taken of these features but they have values <= 0 "
                         f"(count per feature): {counts}")
    return x


def labels_array(y, n, what="y"):
    """Labels as a float32 (n,) array of 0 (SM) and 1 (BSM), or a clear error."""
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if len(y) != n:
        raise ValueError(f"{what}: {len(y)} labels for {n} events")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{what}: labels must be 0 (SM) or 1 (BSM), got values "
                         f"{np.unique(y[~np.isin(y, (0.0, 1.0))])[:5]}")
    return y


def weights_array(w, n, columns=1, what="sample_weight"):
    """Event weights (n,) or (n, columns), ones if None; finite and not all zero."""
    if w is None:
        return np.ones((n, columns) if columns > 1 else n, dtype=np.float32)
    w = np.asarray(w, dtype=np.float32)
    if columns > 1 and w.ndim == 1:
        # One weight per pair weights the classifier term; the SM events of the VAE terms
        # then count equally (see SeparateVAEDNN).
        w = np.stack([np.ones_like(w), w], axis=1)
    expected = (n, columns) if columns > 1 else (n,)
    if w.shape != expected:
        raise ValueError(f"{what}: expected shape {expected}, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError(f"{what}: {int((~np.isfinite(w)).sum())} non-finite weights")
    for column in (w.T if w.ndim == 2 else (w,)):
        if not column.any():
            raise ValueError(f"{what}: every weight is zero, so no event would count in the "
                             f"loss; give events non-zero weights")
    return w


def to_numpy(tensor):
    """A Keras tensor or variable as a numpy array, on every backend."""
    if isinstance(tensor, keras.Variable):
        # On JAX, converting the Variable itself goes through numpy-2-deprecated __array__.
        tensor = tensor.value
    return np.asarray(keras.ops.convert_to_numpy(tensor))
