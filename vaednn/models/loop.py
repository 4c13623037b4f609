"""The pieces of the training loop that :mod:`vaednn.models.fitting` and the backend trainers
(:mod:`vaednn.models.fit_jax`, :mod:`vaednn.models.fit_tensorflow`) share.

A model class trains here when it offers this protocol (every class of
:mod:`vaednn.models.variants` and :mod:`vaednn.models.density` does):

* ``checked_arrays(x, y, sample_weight, what)``: the checked numpy ``(x, y, w)`` of
  ``fit``'s or ``evaluate``'s inputs (``what`` names the call in error messages);
* ``validation_arrays(validation_data)``: the same for ``fit``'s ``validation_data``;
* ``loss_trackers()``: the mean trackers whose names key the ``stats`` of ``batch_terms``;
* ``batch_terms(x, y, w, training)`` and ``update_metrics(stats, y, p, w)``;
* the attributes ``batch_size`` (the default mini-batch), ``seed`` (the epochs' order),
  ``metrics`` and a compiled ``optimizer``.

Arrays travel as ``(x, y, w)`` tuples, ``x`` itself a tuple for two-input models.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import keras
import numpy as np

from vaednn.files import atomic_path
from vaednn.models.losses import EPS

__all__ = ["SCORE_BATCH", "NAN_ACTIONS", "StopOnNaN", "BestCheckpoint", "EpochSums",
           "map_arrays", "pad", "pad_rows", "chunked", "update_trackers", "training_callbacks",
           "split_arrays", "set_batch_size"]

#: The most events one compiled evaluation or inference call takes.
SCORE_BATCH = 1 << 16
#: What :class:`StopOnNaN` does besides stopping: issue a ``RuntimeWarning`` or raise.
NAN_ACTIONS = ("warn", "raise")


class StopOnNaN(keras.callbacks.Callback):
    """Stop training cleanly when a loss term turns NaN/inf, and say which one.

    ``fit`` adds it automatically. After a stop, :attr:`message` holds the explanation; it
    is also issued as a ``RuntimeWarning``, or, with ``action="raise"``, raised as a
    ``RuntimeError`` that starts with the model's name.
    """

    TERMS = ("reconstruction_loss", "kl_loss", "classifier_loss", "loss")

    def __init__(self, action="warn"):
        super().__init__()
        if action not in NAN_ACTIONS:
            raise ValueError(f"action must be one of {NAN_ACTIONS}, got {action!r}")
        self.action = action
        self.message = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        bad = [t for t in self.TERMS if t in logs and not math.isfinite(float(logs[t]))]
        if not bad:
            return
        values = ", ".join(f"{t}={float(logs[t]):.4g}" for t in self.TERMS if t in logs)
        self.message = (
            f"training stopped at epoch {self._epoch + 1}, chunk {batch + 1}: {bad[0]} is not "
            f"finite ({values}). Usual causes: a learning rate too high, a loss weight too "
            f"large, or inputs far outside the SM training range; the weights are not usable.")
        if self.action == "raise":
            raise RuntimeError(f"{self.model.name}: {self.message}")
        warnings.warn(self.message, RuntimeWarning, stacklevel=2)
        self.model.stop_training = True


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model to ``path`` whenever ``monitor`` improves, atomically.

    The model is written to a temporary sibling and renamed over ``path``, so an
    interrupted save leaves the previous best model whole and loadable.

    Args:
        path: the ``.keras`` file.
        monitor: the logged quantity.
        mode: ``"min"`` or ``"max"``.
    """

    def __init__(self, path, monitor, mode):
        super().__init__()
        self.path, self.monitor, self.mode = Path(path), monitor, mode
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best = value
            with atomic_path(self.path) as temporary:
                # keras.Model.save, not the model's own atomic save: one temporary is enough.
                keras.Model.save(self.model, temporary)


def set_batch_size(model, batch_size) -> None:
    """Set ``model.batch_size`` to a ``fit`` call's ``batch_size``; None keeps the model's."""
    if batch_size is None:
        return
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model.batch_size = int(batch_size)


def map_arrays(fn, arrays):
    """``fn`` applied to every array of ``(x, y, w)``, each input of a two-input ``x`` too."""
    x, y, w = arrays
    return (tuple(fn(a) for a in x) if isinstance(x, tuple) else fn(x)), fn(y), fn(w)


def pad_rows(a, size):
    """``a`` filled up to ``size`` rows with copies of its first rows (cycled); every
    compiled call then sees one shape."""
    return a[np.arange(size) % len(a)]


def pad(arrays, size):
    """Fill ``(x, y, w)`` up to ``size`` events with weight-0 copies of its first events."""
    n = len(arrays[1])
    if n == size:
        return arrays
    x, y, w = map_arrays(lambda a: pad_rows(a, size), arrays)
    w = w.copy()
    w[n:] = 0.0
    return x, y, w


def chunked(fn, x, size):
    """``fn`` over chunks of ``size`` events of ``x``, concatenated, as float64 numpy.

    The last chunk is padded (:func:`pad_rows`) and the padding's outputs dropped: on JAX
    every eager op compiles once per input shape.
    """
    x = np.asarray(x, dtype=np.float32)
    out = []
    for start in range(0, len(x), size):
        part = x[start:start + size]
        out.append(np.asarray(keras.ops.convert_to_numpy(fn(pad_rows(part, size))))[:len(part)])
    return np.concatenate(out).astype(np.float64) if out else np.zeros(0)


def update_trackers(trackers, stats):
    """Add ``{tracker name: (sum of value·weight, sum of weights)}`` to the mean trackers."""
    for tracker in trackers:
        total, norm = stats[tracker.name]
        tracker.update_state(total / max(float(norm), EPS), sample_weight=norm)


class EpochSums:
    """One epoch's (or one evaluation's) sums, turned into the model's metrics once at the end.

    The tracked terms are summed in float64 and the classifier's labels, probabilities and
    weights are kept, so the Keras metric objects (AUC, accuracy, the term means) are updated
    once per epoch: an eager metric update per chunk costs more than training the chunk.
    The results are those of per-chunk updates, the AUC's confusion counts and the means
    being sums over events.
    """

    def __init__(self):
        self.totals, self.norms = {}, {}
        self.parts = []

    def add(self, stats, y=None, p=None, w=None):
        """A chunk's ``{term: (sum of value·weight, sum of weights)}`` and classifier outputs."""
        for name, (total, norm) in stats.items():
            self.totals[name] = self.totals.get(name, 0.0) + float(total)
            self.norms[name] = self.norms.get(name, 0.0) + float(norm)
        if p is not None:
            self.parts.append((np.asarray(y), np.asarray(p)[:len(y)], np.asarray(w)))

    def terms(self):
        """The running mean of every tracked term (the logs between chunks)."""
        return {name: total / max(self.norms[name], EPS) for name, total in self.totals.items()}

    def results(self, model):
        """Every metric of ``model`` over the summed chunks; the metric objects are left reset."""
        _reset(model)
        stats = {name: (total, self.norms[name]) for name, total in self.totals.items()}
        if self.parts:
            y, p, w = (np.concatenate(a) for a in zip(*self.parts))
            model.update_metrics(stats, y, p, w)
        else:
            model.update_metrics(stats)
        results = _results(model)
        _reset(model)
        return results


def _results(model):
    return {m.name: float(m.result()) for m in model.metrics}


def _reset(model):
    for m in model.metrics:
        m.reset_state()


def training_callbacks(model, callbacks, early_stopping, patience, checkpoint, validation,
                       verbose, nan="warn"):
    """``callbacks`` plus the NaN stop, early stopping and the best checkpoint ``fit`` asks for.

    The monitored quantity is ``early_stopping``, else ``val_loss`` with ``validation`` and
    ``loss`` without; AUC and accuracy are maximised, everything else minimised. ``nan`` is
    the :class:`StopOnNaN` action.
    """
    callbacks = list(callbacks or []) + [StopOnNaN(nan)]
    monitor = early_stopping or ("val_loss" if validation else "loss")
    mode = "max" if ("auc" in monitor or "accuracy" in monitor) else "min"
    if early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=early_stopping, mode=mode, patience=patience, restore_best_weights=True,
            verbose=1 if verbose else 0))
    if checkpoint:
        callbacks.append(BestCheckpoint(checkpoint, monitor, mode))
    return callbacks


def split_arrays(model, x, y, sample_weight, validation_split, validation_data):
    """The checked training and validation ``(x, y, w)`` of ``fit``'s arguments.

    ``validation_split`` takes the last fraction of the events, as Keras does; the
    validation part is None when neither it nor ``validation_data`` is given.
    """
    train = model.checked_arrays(x, y, sample_weight, "fit")
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if validation_split and validation_data is not None:
        raise ValueError("give validation_split or validation_data, not both")
    n = len(train[1])
    if validation_split:
        cut = n - int(round(n * validation_split))
        if cut in (0, n):
            raise ValueError(f"validation_split={validation_split} leaves an empty split "
                             f"of {n} events")
        return map_arrays(lambda a: a[:cut], train), map_arrays(lambda a: a[cut:], train)
    if validation_data is not None:
        return train, model.validation_arrays(validation_data)
    return train, None
