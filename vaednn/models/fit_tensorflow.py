"""The TensorFlow backend's fused epoch: a chunk of mini-batches in one ``tf.while_loop``.

Plain Adam runs as one ``ResourceApplyAdam`` kernel per variable: Keras' Adam costs ~15
small graph ops per variable per step, which dominates a batch-32 step of these small
networks. That kernel needs Adam's slot variables, which Keras keeps in private fields;
:func:`adam_slots` reads them and returns None when they are missing or renamed (another
Keras release), and the step then goes through the public ``optimizer.apply`` (tested in
``tests/test_models.py``). Any other optimizer, or Adam with clipping, decay, EMA, AMSGrad
or a schedule, also takes ``optimizer.apply``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["Runner", "adam_slots", "fit_distributed", "compile_inference"]

#: The private fields of ``keras.optimizers.Adam`` the fused kernel reads.
ADAM_FIELDS = ("_momentums", "_velocities", "_get_variable_index", "_learning_rate")


def adam_slots(optimizer):
    """``(momentums, velocities, index_of)`` of a plain Adam, or None to use ``apply``."""
    opt = optimizer
    if type(opt) is not keras.optimizers.Adam or opt.amsgrad or opt.use_ema or any(
            getattr(opt, k, None) is not None for k in (
                "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
                "gradient_accumulation_steps", "loss_scale_factor")):
        return None
    fields = [getattr(opt, name, None) for name in ADAM_FIELDS]
    momentums, velocities, index_of, rate = fields
    if any(f is None for f in fields) or not isinstance(rate, keras.Variable):
        return None
    return momentums, velocities, index_of


def _apply(optimizer, grads, weights, slots):
    if slots is None:
        optimizer.apply(grads, weights)
        return
    momentums, velocities, index_of = slots
    t = tf.cast(optimizer.iterations + 1, tf.float32)
    beta_1 = tf.constant(optimizer.beta_1, tf.float32)
    beta_2 = tf.constant(optimizer.beta_2, tf.float32)
    common = dict(beta1_power=tf.pow(beta_1, t), beta2_power=tf.pow(beta_2, t),
                  lr=tf.cast(optimizer.learning_rate, tf.float32), beta1=beta_1, beta2=beta_2,
                  epsilon=tf.constant(optimizer.epsilon, tf.float32))
    for var, grad in zip(weights, grads):
        i = index_of(var)
        tf.raw_ops.ResourceApplyAdam(var=var.value.handle, m=momentums[i].value.handle,
                                     v=velocities[i].value.handle, grad=grad, **common)
    optimizer.iterations.assign_add(1)


class Runner:
    """Fused training and evaluation of one model on the TensorFlow backend."""

    def __init__(self, model):
        self.model = model
        self.slots = adam_slots(model.optimizer)
        self._chunk = tf.function(self._train_chunk, reduce_retracing=True)
        self._evaluate = tf.function(self._evaluate_chunk, reduce_retracing=True)

    def _train_chunk(self, x, y, w, steps):
        model = self.model
        b = model.batch_size
        weights = model.trainable_weights
        names = [m.name for m in model.loss_trackers()]
        zeros = tf.zeros((len(names),))
        probabilities = tf.TensorArray(tf.float32, size=steps, element_shape=tf.TensorShape([b]))

        def body(i, totals, norms, probabilities):
            sl = lambda a: a[i * b:(i + 1) * b]  # noqa: E731
            xb = tf.nest.map_structure(sl, x)
            with tf.GradientTape() as tape:
                loss, stats, p = model.batch_terms(xb, sl(y), sl(w), training=True)
            _apply(model.optimizer, tape.gradient(loss, weights), weights, self.slots)
            totals += tf.stack([stats[k][0] * stats[k][1] for k in names])
            norms += tf.stack([stats[k][1] for k in names])
            if p is not None:
                probabilities = probabilities.write(i, p)
            return i + 1, totals, norms, probabilities

        _, totals, norms, probabilities = tf.while_loop(
            lambda i, *_: i < steps, body, (tf.constant(0), zeros, zeros, probabilities),
            parallel_iterations=1)
        return totals, norms, probabilities.concat()

    def _evaluate_chunk(self, x, y, w):
        _, stats, p = self.model.batch_terms(x, y, w, training=False)
        names = [m.name for m in self.model.loss_trackers()]
        totals = tf.stack([stats[k][0] * stats[k][1] for k in names])
        norms = tf.stack([stats[k][1] for k in names])
        return totals, norms, (tf.zeros((0,)) if p is None else p)

    def _sums_by_term(self, totals, norms):
        return {m.name: (float(t), float(c)) for m, t, c in
                zip(self.model.loss_trackers(), totals.numpy(), norms.numpy())}

    def train(self, arrays, steps):
        """Train the first ``steps`` mini-batches of ``(x, y, w)``; return their sums."""
        totals, norms, p = self._chunk(*arrays, tf.constant(steps))
        return self._sums_by_term(totals, norms), (p.numpy() if _classifies(self.model) else None)

    def evaluate(self, arrays):
        """Sums of every tracked term on ``(x, y, w)`` with ``z_mean``, and the probabilities."""
        totals, norms, p = self._evaluate(*arrays)
        return self._sums_by_term(totals, norms), (p.numpy() if _classifies(self.model) else None)


def _classifies(model):
    return hasattr(model, "classifier")


def _dataset(arrays, batch_size, shuffle, seed):
    n = len(arrays[1])
    tensors = tf.nest.map_structure(tf.constant, arrays)
    order = tf.data.Dataset.range(n)
    if shuffle:
        order = order.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    gather = lambda idx: tf.nest.map_structure(lambda t: tf.gather(t, idx), tensors)  # noqa: E731
    return order.batch(batch_size).map(gather).prefetch(1)


def fit_distributed(model, train, val, epochs, verbose, callbacks, shuffle, initial_epoch,
                    stream=None):
    """Keras' own ``fit`` under a ``tf.distribute`` strategy, one mini-batch per step.

    The optimizer update synchronises the replicas, which cannot happen inside a
    ``tf.while_loop``; this path trades the fused chunk for Keras' per-step loop.
    """
    b = model.batch_size
    seed = model.seed * 1_000_003 + int(model.optimizer.iterations.numpy())
    train_ds = stream if stream is not None else _dataset(train, b, shuffle, seed)
    val_ds = None if val is None else _dataset(val, 1 << 16, False, 0)
    if not model.optimizer.built:
        with model.distribute_strategy.scope():
            model.optimizer.build(model.trainable_variables)
    return keras.Model.fit(model, train_ds, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_data=val_ds, initial_epoch=initial_epoch, shuffle=False)


def compile_inference(model, fn, kind):
    """``fn(model, x)`` (calling the model's layers) as a ``tf.function`` of float32 (n, d) input.

    ``kind`` is unused: a ``tf.function`` traces in milliseconds, per model.
    """
    spec = tf.TensorSpec((None, len(model.features)), tf.float32)
    compiled = tf.function(lambda x: fn(model, x), input_signature=[spec])
    return lambda x: tf.nest.map_structure(np.asarray, compiled(tf.constant(x)))
