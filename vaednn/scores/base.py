"""What every SM-only anomaly score shares: :class:`AnomalyScore` (``fit``, ``score``, the
recorded variables), the checks of SM event weights (:func:`check_sm_weights`,
:func:`checked_weights`) and evaluation in fixed-size chunks (:func:`in_chunks`).
"""

from __future__ import annotations

import numpy as np

from vaednn.models.inputs import feature_names, features_array, to_numpy

__all__ = ["AnomalyScore", "CHUNK", "check_sm_weights", "checked_weights", "in_chunks"]

#: Events per chunk of :func:`in_chunks`.
CHUNK = 1 << 13


def in_chunks(fn, x, size=CHUNK):
    """``fn`` over chunks of ``size`` events of ``x``, concatenated, as float64 numpy.

    The last chunk is padded (its first event repeated) and the padding's outputs dropped,
    so ``fn`` always sees one shape: on JAX every eager op compiles once per input shape,
    and samples of many sizes would otherwise recompile the whole model for each.
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return to_numpy(fn(x)).astype(np.float64)
    out = []
    for i in range(0, len(x), size):
        chunk = x[i:i + size]
        n = len(chunk)
        if n < size:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], size - n, axis=0)])
        out.append(to_numpy(fn(chunk))[:n])
    return np.concatenate(out).astype(np.float64)


def check_sm_weights(w, what="sample_weight") -> float:
    """The net weight ``Σ w`` of SM events with signed weights ``w``, or a ValueError.

    Signed (NLO) SM weights are accepted; a set whose net weight is ``<= 0`` has no SM yield,
    so no density, quantile or loss of it means anything, and is refused by name.

    >>> check_sm_weights([1.0, -0.5, 1.0])
    1.5
    >>> check_sm_weights([1.0, -2.0], "x_sm weights")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x_sm weights: the net SM weight Σw = -1 is <= 0 (Σ|w| = 3, 1 of 2 weights ...
    """
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    net = float(w.sum())
    if not net > 0:
        raise ValueError(f"{what}: the net SM weight Σw = {net:.6g} is <= 0 (Σ|w| = "
                         f"{float(np.abs(w).sum()):.6g}, {int((w < 0).sum())} of {len(w)} weights "
                         f"negative); a sample with no net SM yield cannot be trained on or "
                         f"define a quantile")
    return net


def checked_weights(w, n, what="sample_weight"):
    """Event weights ``w`` for ``n`` events as float32 (ones when None), or a ValueError
    naming ``what``: a count other than ``n``, a non-finite weight, all zero, or a net
    weight ``<= 0`` (:func:`check_sm_weights`)."""
    if w is None:
        return np.ones(n, dtype=np.float32)
    w = np.asarray(w, dtype=np.float32).reshape(-1)
    if len(w) != n:
        raise ValueError(f"{what}: {len(w)} weights for {n} events")
    if not np.isfinite(w).all():
        raise ValueError(f"{what}: {int((~np.isfinite(w)).sum())} non-finite weights")
    if not np.abs(w).sum() > 0:
        raise ValueError(f"{what}: every weight is zero")
    check_sm_weights(w, what)
    return w




class AnomalyScore:
    """An SM-only score: ``fit`` on SM events, then ``score`` any events (higher = more
    anomalous). Calling the object is ``score``.

    Args:
        seed: seeds everything random in ``fit`` (initial weights, shuffling, sampling).
    """

    name = "anomaly score"
    #: The variables it reads and which of them get log10; set by ``fit`` (None before).
    features = log_features = None

    def __init__(self, seed=0):
        self.seed = int(seed)
        self.fitted = False

    def fit(self, x_sm, sample_weight=None, x_val=None, w_val=None, *, features=None,
            log_features=None):
        """Train on raw SM features ``x_sm``; returns ``self``.

        Args:
            x_sm: raw SM training features: a DataFrame (its columns are the variables) or
                an array (columns in ``features`` order).
            sample_weight: per-event weights, signed (see :mod:`vaednn.scores`); their net
                sum must be > 0.
            x_val, w_val: SM validation events and weights; the Keras scores stop early on
                their loss and keep the best epoch's weights. The scikit-learn scores, which
                do not iterate, do not use them.
            features, log_features: the variables, as for :func:`vaednn.models.build`
                (default: a DataFrame's columns; those of them in ``LOG_FEATURES`` get log10).
        """
        names, logs = feature_names(x_sm, features, log_features)
        x = features_array(x_sm, "x_sm", names, logs)
        w = checked_weights(sample_weight, len(x))
        if x_val is None and w_val is not None:
            raise ValueError("w_val given without x_val")
        val = None
        if x_val is not None:
            xv = features_array(x_val, "x_val", names, logs)
            val = (xv, checked_weights(w_val, len(xv), "w_val"))
        self.features, self.log_features = names, logs
        self._fit(x, w, val)
        self.fitted = True
        return self

    def score(self, x) -> np.ndarray:
        """One float64 per event of raw features ``x``, larger meaning more anomalous."""
        if not self.fitted:
            raise RuntimeError(f"{self.name}: call fit(x_sm) before score(x)")
        x = features_array(x, "x", self.features, self.log_features)
        values = np.asarray(self._score(x), dtype=np.float64).reshape(-1)
        if not np.isfinite(values).all():
            raise ValueError(f"{self.name}: {int((~np.isfinite(values)).sum())} non-finite scores")
        return values

    def __call__(self, features):
        return self.score(features)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r} seed={self.seed} fitted={self.fitted}>"
