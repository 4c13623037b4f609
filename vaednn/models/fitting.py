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

from vaednn.models.loop import (
    SCORE_BATCH, BestCheckpoint, EpochSums, StopOnNaN, map_arrays, pad, split_arrays,
    training_callbacks)

__all__ = ["StopOnNaN", "BestCheckpoint", "EpochSums", "fit", "evaluate", "runner",
           "SCORE_BATCH"]

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
    if batch_size is not None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        model.batch_size = int(batch_size)
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
