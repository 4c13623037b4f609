"""Training behind ``model.fit``: Keras callbacks and History around one fused epoch per backend.

``fit`` keeps what ``keras.Model.fit`` gives (callbacks, History keys, validation, early
stopping, checkpoints, the NaN stop, sample weights) and true mini-batch SGD at the seed's
batch sizes, but runs ``chunk_steps`` mini-batches per compiled call instead of one Python
round trip per mini-batch, which dominates a batch-32 step of these small networks:

* JAX (:mod:`vaednn.models.fit_jax`): one jitted ``lax.scan`` over the mini-batches, built on
  ``StatelessScope`` and ``optimizer.stateless_apply``;
* TensorFlow (:mod:`vaednn.models.fit_tensorflow`): one ``tf.function`` with a
  ``tf.while_loop``.

Each epoch's order is a seeded permutation drawn from the model's seed and the optimizer's
step count, so training resumed from a saved model draws the same mini-batches as
uninterrupted training. The last mini-batch of a chunk is filled up with weight-0 copies
of real events: every term is ``Σ w·l / Σ|w|``, so they change nothing, and every compiled
call sees whole mini-batches.
"""

from __future__ import annotations

import weakref

import keras
import numpy as np

from vaednn.models.inputs import features_array, weights_array
from vaednn.models.loop import (
    SCORE_BATCH, BestCheckpoint, EpochSums, StopOnNaN, map_arrays, pad, set_batch_size,
    split_arrays, training_callbacks)

__all__ = ["StopOnNaN", "BestCheckpoint", "EpochSums", "fit", "evaluate", "runner",
           "SCORE_BATCH", "LoopTrained"]

_RUNNERS = weakref.WeakKeyDictionary()


def runner(model):
    """The backend's fused training and evaluation of ``model``, compiled once per model.

    A new optimizer (``compile``) or batch size gets a new runner.
    """
    key = (id(model.optimizer), model.batch_size)
    cached = _RUNNERS.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    backend = keras.backend.backend()
    if backend == "jax":
        from vaednn.models import fit_jax
        run = fit_jax.Runner(model)
    elif backend == "tensorflow":
        from vaednn.models import fit_tensorflow
        run = fit_tensorflow.Runner(model)
    else:
        raise ValueError(f"KERAS_BACKEND={backend!r} is not supported: use 'jax' or "
                         f"'tensorflow'")
    _RUNNERS[model] = (key, run)
    return run


def _epoch_chunks(arrays, chunk, order):
    for start in range(0, len(order), chunk):
        yield map_arrays(lambda a: a[order[start:start + chunk]], arrays)


def _stream_chunks(dataset):
    for element in dataset.as_numpy_iterator():
        parts = element if isinstance(element, tuple) else (element,)
        x = np.asarray(parts[0], np.float32)
        y = np.asarray(parts[1], np.float32).reshape(-1) if len(parts) > 1 \
            else np.zeros(len(x), np.float32)
        w = np.asarray(parts[2], np.float32) if len(parts) > 2 else np.ones(len(x), np.float32)
        yield x, y, w


def _train_chunk(model, run, arrays, chunk, sums):
    """Train on one chunk, padded to ``chunk`` events; add its sums to ``sums``."""
    n = len(arrays[1])
    stats, p = run.train(pad(arrays, chunk), -(-n // model.batch_size))
    _, y, w = arrays
    sums.add(stats, y, None if p is None else p[:n], w)


_COMPILED_UPDATES = {}


def update_state(metric, y, p, w):
    """``metric.update_state(y, p, sample_weight=w)`` on an epoch's numpy arrays.

    On JAX it runs as one compiled call of the metric's ``stateless_update_state``: eager
    JAX dispatches every operation of the AUC's threshold bucketing on its own, which costs
    about 0.1 s per 100k events and metric, more than an epoch's training of a member.
    """
    if keras.backend.backend() != "jax":
        metric.update_state(y, p, sample_weight=w)
        return
    import jax

    key = (type(metric).__qualname__, repr(sorted(metric.get_config().items())))
    if key not in _COMPILED_UPDATES:
        _COMPILED_UPDATES[key] = jax.jit(
            lambda values, y, p, w, m=metric: m.stateless_update_state(values, y, p,
                                                                       sample_weight=w))
    values = _COMPILED_UPDATES[key]([v.value for v in metric.variables],
                                    *(np.asarray(a, np.float32) for a in (y, p, w)))
    for variable, value in zip(metric.variables, values):
        variable.assign(value)


def evaluate(model, arrays, batch_size=None, run=None):
    """Every metric of ``model`` on checked ``(x, y, w)`` arrays, with ``z_mean``."""
    run = run or runner(model)
    n = len(arrays[1])
    batch = min(int(batch_size or SCORE_BATCH), SCORE_BATCH)
    # A fixed, rounded call size: one compilation serves every chunk.
    size = min(batch, -(-n // 1024) * 1024)
    sums = EpochSums()
    for start in range(0, n, size):
        part = map_arrays(lambda a: a[start:start + size], arrays)
        stats, p = run.evaluate(pad(part, size))
        sums.add(stats, part[1], None if p is None else p[:len(part[1])], part[2])
    return sums.results(model)


def fit(model, x, y=None, *, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, sample_weight=None,
        initial_epoch=0, early_stopping=None, patience=20, checkpoint=None, chunk_steps=256,
        nan="warn"):
    """Train ``model``, the one training loop of every model of the package.

    ``model`` offers the protocol of :mod:`vaednn.models.loop` (every VAE and VAE+DNN of
    :mod:`vaednn.models.variants`, the density models of :mod:`vaednn.models.density`).
    The arguments are :meth:`vaednn.models.VAE.fit`'s, and ``nan``: what the NaN stop does
    besides stopping, ``"warn"`` (a ``RuntimeWarning``) or ``"raise"`` (a ``RuntimeError``
    naming the model, the epoch and the chunk).
    """
    set_batch_size(model, batch_size)
    if int(chunk_steps) < 1:
        raise ValueError(f"chunk_steps must be >= 1, got {chunk_steps}")
    streaming = hasattr(x, "as_numpy_iterator")
    if streaming and (validation_split or sample_weight is not None or y is not None):
        raise ValueError("fit(dataset): labels and weights come from the dataset's elements; "
                         "give validation_data, not validation_split")
    if streaming:
        train, val = None, (None if validation_data is None
                            else model.validation_arrays(validation_data))
    else:
        train, val = split_arrays(model, x, y, sample_weight, validation_split, validation_data)
    callbacks = training_callbacks(model, callbacks, early_stopping, patience, checkpoint,
                                   val is not None, verbose, nan)
    if getattr(model, "_distribute_strategy", None) is not None:
        from vaednn.models import fit_tensorflow
        return fit_tensorflow.fit_distributed(model, train, val, epochs, verbose, callbacks,
                                              shuffle, initial_epoch, x if streaming else None)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    run = runner(model)
    b = model.batch_size
    if streaming:
        chunk, steps = None, None
    else:
        # No longer than the data: one compiled chunk length serves the whole fit.
        chunk = b * min(int(chunk_steps), -(-len(train[1]) // b))
        steps = -(-len(train[1]) // chunk)
    verbose = 1 if verbose == "auto" else verbose
    history = keras.callbacks.History()
    callback_list = keras.callbacks.CallbackList(
        callbacks + [history], add_progbar=bool(verbose), model=model, verbose=verbose,
        epochs=epochs, steps=steps)
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, epochs):
        callback_list.on_epoch_begin(epoch)
        if streaming:
            chunks = _stream_chunks(x)
        else:
            n = len(train[1])
            # Seeded by the step count, so a resumed fit draws what an uninterrupted one would.
            order = (np.random.default_rng([model.seed, int(model.optimizer.iterations)])
                     .permutation(n) if shuffle else np.arange(n))
            chunks = _epoch_chunks(train, chunk, order)
        sums = EpochSums()
        for step, arrays in enumerate(chunks):
            callback_list.on_train_batch_begin(step)
            _train_chunk(model, run, arrays, chunk or -(-len(arrays[1]) // b) * b, sums)
            callback_list.on_train_batch_end(step, sums.terms())
            if model.stop_training:
                break
        logs = sums.results(model) if sums.totals else {}
        if val is not None and not model.stop_training:
            logs.update({f"val_{k}": v for k, v in evaluate(model, val, run=run).items()})
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs)
    return history


class LoopTrained:
    """``fit`` and ``evaluate`` through the package's loop (:func:`fit`, :func:`evaluate`),
    for a ``keras.Model`` that trains on raw events ``x`` alone, and the input checks of the
    loop's protocol (:mod:`vaednn.models.loop`). A model with a target (the VAE+DNN)
    overrides :meth:`checked_arrays` and :meth:`validation_arrays`.

    The model provides ``features`` and ``log_features`` (its input columns, saved in its
    config here) and ``loss_trackers()`` (its :attr:`metrics`, unless it adds more).
    """

    @property
    def metrics(self):
        return self.loss_trackers()

    def get_config(self):
        return {**super().get_config(), "features": list(self.features),
                "log_features": list(self.log_features)}

    def _features(self, x, what):
        """Raw events as this model's input array; a DataFrame's columns are matched by name."""
        return features_array(x, what, self.features, self.log_features)

    def checked_arrays(self, x, y, sample_weight, what):
        """``(x, zeros, w)`` numpy arrays of ``fit``'s or ``evaluate``'s raw events ``x``
        and signed weights, checked; ``what`` names the call in error messages. A target
        is refused."""
        if y is not None:
            raise ValueError(f"{self.name} has no target, it trains on x alone: call "
                             f"fit(x, sample_weight=w), got a target y ({what})")
        x = self._features(x, f"{what} x")
        return x, np.zeros(len(x), np.float32), weights_array(sample_weight, len(x))

    def validation_arrays(self, validation_data):
        """``(x, y, w)`` arrays of ``fit``'s ``validation_data``, ``x`` or ``(x,
        sample_weight)``, as :meth:`checked_arrays`."""
        parts = tuple(validation_data) if isinstance(validation_data, tuple | list) \
            else (validation_data,)
        if len(parts) not in (1, 2):
            raise ValueError(f"validation_data for {self.name} must be x or (x, sample_weight)")
        return self.checked_arrays(parts[0], None, parts[1] if len(parts) == 2 else None,
                                   "validation_data")

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, sample_weight=None,
            initial_epoch=0, early_stopping=None, patience=20, checkpoint=None,
            chunk_steps=256):
        """Train with mini-batch Adam; same arguments and History as ``keras.Model.fit``.

        Args:
            x: raw features (n, 14), array or DataFrame; for ``vae_dnn_separate`` the pair
                ``(x_sm, x_mix)``. A ``tf.data.Dataset`` (e.g. :func:`vaednn.data.stream`)
                is read element by element, without the Python-side checks; each element is
                split into mini-batches of ``batch_size``.
            y: labels 0 (SM) / 1 (BSM) for VAE+DNN models; must be None otherwise.
            batch_size: optimizer mini-batch size (default: the model's, the seed's value).
            sample_weight: per-event weights, signs kept; see :mod:`vaednn.models`. All
                zero is refused.
            validation_split: fraction of the events (the last ones, as in Keras) held out.
            validation_data: ``x`` or ``(x, sample_weight)`` for models without a target,
                ``(x, y[, w])`` for VAE+DNN; evaluated with ``z_mean``.
            shuffle: reshuffle the events every epoch (seeded by the model's seed and the
                optimizer's step count, so a resumed fit draws what an uninterrupted one
                would).
            early_stopping: a monitored quantity (e.g. ``"val_auc"``, as the seed) to stop on
                after ``patience`` epochs without improvement, restoring the best weights.
            patience: epochs without improvement before stopping (seed: 20).
            checkpoint: path of a ``.keras`` file where the best model (by
                ``early_stopping``, or ``val_loss``/``loss`` if None) is saved, atomically.
            chunk_steps: mini-batches run per compiled call; changes speed, not the result.

        Returns:
            The ``keras.callbacks.History``.
        """
        return fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                   callbacks=callbacks, validation_split=validation_split,
                   validation_data=validation_data, shuffle=shuffle,
                   sample_weight=sample_weight, initial_epoch=initial_epoch,
                   early_stopping=early_stopping, patience=patience, checkpoint=checkpoint,
                   chunk_steps=chunk_steps)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 return_dict=False):
        """Every tracked term (and metric) with ``z_mean``, as ``keras.Model.evaluate``.

        Args:
            x, y, sample_weight: as :meth:`fit`.
            batch_size: events per compiled call (memory only).
            verbose: unused; kept for ``keras.Model.evaluate``'s signature.
            return_dict: a ``{name: value}`` dict instead of a list in :attr:`metrics` order.
        """
        results = evaluate(self, self.checked_arrays(x, y, sample_weight, "evaluate"),
                           batch_size)
        return results if return_dict else [results[m.name] for m in self.metrics]
