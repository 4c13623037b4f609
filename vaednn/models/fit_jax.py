"""The JAX backend's fused epoch: a chunk of mini-batches as one jitted ``lax.scan``.

The model's variables enter as arrays through ``keras.StatelessScope`` and the Adam step is
``optimizer.stateless_apply``, both public Keras 3 API, so no private field is read. The
sampling layer's seed-generator state is a non-trainable variable and is carried through
the scan like the weights. After each chunk the new values are assigned back to the
model's variables, so callbacks (early stopping, checkpoints) see the trained model.
"""

from __future__ import annotations

import json
import warnings

import jax
import jax.numpy as jnp
import keras
import numpy as np

from vaednn.models import loop

__all__ = ["Runner", "stateless_terms", "compile_inference", "fit_ensemble"]

_COMPILED = {}


def compiled_once(model, kind, make):
    """``make(model)``, a jitted function, made once per model structure and kind.

    The functions take every variable's value as an argument, so a model of the same
    class, hyperparameters, batch size and optimizer settings (another seed, a reloaded
    file) computes exactly what its own trace would: it reuses the compilation, which
    costs seconds, instead of repeating it.
    """
    config = {k: v for k, v in model.get_config().items() if k not in ("name", "seed")}
    with warnings.catch_warnings():
        # Keras 3.15 reads the learning rate with np.array(variable), deprecated in numpy 2.
        warnings.simplefilter("ignore", DeprecationWarning)
        optimizer = {k: v for k, v in model.optimizer.get_config().items() if k != "name"}
    key = (json.dumps([type(model).__qualname__, config, model.batch_size,
                       type(model.optimizer).__qualname__, optimizer],
                      sort_keys=True, default=str), kind)
    if key not in _COMPILED:
        _COMPILED[key] = make(model)
    return _COMPILED[key]


def stateless_terms(model, trainable, non_trainable, fn):
    """Run ``fn()`` (which calls the model's layers) on the given variable values.

    Returns:
        ``(fn's result, the non-trainable values after the call)``; the latter carry the
        advanced seed-generator state when ``fn`` sampled.
    """
    mapping = list(zip(model.trainable_variables, trainable)) + \
        list(zip(model.non_trainable_variables, non_trainable))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        out = fn()
    updated = []
    for variable, value in zip(model.non_trainable_variables, non_trainable):
        new = scope.get_current_value(variable)
        updated.append(value if new is None else new)
    return out, updated


def _stats_vector(model, stats):
    names = [m.name for m in model.loss_trackers()]
    return (jnp.stack([stats[k][0] * stats[k][1] for k in names]),
            jnp.stack([stats[k][1] for k in names]))


def _batched(arrays, batch_size, steps):
    """``(x, y, w, real)`` with a leading mini-batch axis; ``real``: the first ``steps``."""
    batched = jax.tree_util.tree_map(lambda a: a.reshape(-1, batch_size, *a.shape[1:]), arrays)
    real = jnp.arange(len(batched[1])) < steps
    return (*batched, real)


def train_step(model):
    """One Adam step of ``model`` as a pure function ``(state, (x, y, w)) -> (state, out)``.

    ``state`` is ``(trainable, non_trainable, optimizer)`` value lists; ``out`` is the
    batch's (value·weight, weight) per tracked term and its classifier probabilities. A
    batch whose flag ``real`` is false leaves the state as it is: a chunk has a fixed number
    of steps, so that one compilation serves every chunk of a fit, and the last chunk's
    steps after the data run out are skipped, not trained on padding.
    """
    optimizer = model.optimizer

    def loss(trainable, non_trainable, x, y, w):
        (value, stats, p), non_trainable = stateless_terms(
            model, trainable, non_trainable, lambda: model.batch_terms(x, y, w, training=True))
        return value, (non_trainable, _stats_vector(model, stats), p)

    grad = jax.value_and_grad(loss, has_aux=True)

    def update(state, batch):
        trainable, non_trainable, opt = state
        (_, (non_trainable, stats, p)), grads = grad(trainable, non_trainable, *batch)
        trainable, opt = optimizer.stateless_apply(opt, grads, trainable)
        return (trainable, non_trainable, opt), (stats, p)

    def skip(state, batch):
        # The shapes of update's outputs, for the padding steps after a chunk's last batch.
        _, out = jax.eval_shape(update, state, batch)
        return state, jax.tree_util.tree_map(lambda a: jnp.zeros(a.shape, a.dtype), out)

    def step(state, batch):
        *arrays, real = batch
        return jax.lax.cond(real, update, skip, state, tuple(arrays))

    return step


def _chunk_function(model):
    step = train_step(model)

    def chunk(state, arrays, steps):
        state, (stats, p) = jax.lax.scan(step, state, _batched(arrays, model.batch_size, steps))
        totals, norms = stats
        return state, (totals.sum(0), norms.sum(0)), (None if p is None else p.reshape(-1))

    return chunk


def _evaluate_function(model):
    def evaluate(trainable, non_trainable, arrays):
        x, y, w = arrays
        (_, stats, p), _ = stateless_terms(
            model, trainable, non_trainable, lambda: model.batch_terms(x, y, w, training=False))
        return _stats_vector(model, stats), p

    return evaluate


def _make_chunk(model):
    return jax.jit(_chunk_function(model))


def _make_evaluate(model):
    return jax.jit(_evaluate_function(model))


class Runner:
    """Fused training and evaluation of one model on the JAX backend."""

    def __init__(self, model):
        self.model = model
        self._chunk = compiled_once(model, "train", _make_chunk)
        self._evaluate = compiled_once(model, "evaluate", _make_evaluate)

    def _state(self):
        model = self.model
        return ([v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables],
                [v.value for v in model.optimizer.variables])

    def train(self, arrays, steps):
        """Train the first ``steps`` mini-batches of ``(x, y, w)``; return their sums."""
        model = self.model
        state, stats, p = self._chunk(self._state(), arrays, steps)
        for variables, values in zip((model.trainable_variables, model.non_trainable_variables,
                                      model.optimizer.variables), state):
            for variable, value in zip(variables, values):
                variable.assign(value)
        return _sums_by_term(model, stats), (None if p is None else np.asarray(p))

    def evaluate(self, arrays):
        """Sums of every tracked term on ``(x, y, w)`` with ``z_mean``, and the probabilities."""
        trainable, non_trainable, _ = self._state()
        stats, p = self._evaluate(trainable, non_trainable, arrays)
        return _sums_by_term(self.model, stats), (None if p is None else np.asarray(p))


def _sums_by_term(model, stats):
    totals, norms = (np.asarray(s, dtype=np.float64) for s in stats)
    return {m.name: (t, c) for m, t, c in zip(model.loss_trackers(), totals, norms)}


def compile_inference(model, fn, kind):
    """``fn(model, x)`` (calling the model's layers) as a jitted function of the current weights.

    ``kind`` names ``fn`` for :func:`compiled_once`.
    """
    def make(template):
        def pure(trainable, non_trainable, x):
            return stateless_terms(template, trainable, non_trainable,
                                   lambda: fn(template, x))[0]
        return jax.jit(pure)

    jitted = compiled_once(model, f"inference {kind}", make)

    def call(x):
        return jitted([v.value for v in model.trainable_variables],
                      [v.value for v in model.non_trainable_variables], x)

    return call


def _stack(models, values):
    return [jnp.stack(parts) for parts in zip(*values)]


def _member_state(model):
    return ([v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in model.optimizer.variables])


def _make_masked_chunk(model):
    """The vmapped chunk; members whose flag in ``active`` is false keep their state.

    The mask is applied inside the compiled call: an eager ``where`` per variable and chunk
    would cost more than the chunk's training.
    """
    chunk = jax.vmap(_chunk_function(model), in_axes=(0, 0, None))

    def run(state, arrays, steps, active):
        new_state, stats, p = chunk(state, arrays, steps)
        keep = jax.tree_util.tree_map(
            lambda new, old: jnp.where(active.reshape((-1,) + (1,) * (new.ndim - 1)), new, old),
            new_state, state)
        return keep, stats, p

    return jax.jit(run)


def fit_ensemble(models, x, y=None, paths=None, *, sample_weight=None, batch_size=None,
                 epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
                 validation_data=None, shuffle=True, initial_epoch=0, early_stopping=None,
                 patience=20, chunk_steps=256):
    """Train models of one shape together, vmapped; arguments as ``fitting.fit``.

    Every member draws its own epoch order (as it would alone) and its own sampling noise;
    a member whose early stopping or NaN stop fires keeps its state while the others go on.
    """
    template = models[0]
    if callbacks:
        raise ValueError("callbacks: an ensemble takes no extra callbacks; use "
                         "early_stopping and checkpoint, which act per member")
    for model in models:
        loop.set_batch_size(model, batch_size)
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
    train, val = loop.split_arrays(template, x, y, sample_weight, validation_split, validation_data)
    b = template.batch_size
    n = len(train[1])
    chunk_steps = min(int(chunk_steps), -(-n // b))
    chunk = b * chunk_steps
    run_chunk = compiled_once(template, "vmap masked train", _make_masked_chunk)
    run_evaluate = compiled_once(template, "vmap evaluate", lambda m: jax.jit(
        jax.vmap(_evaluate_function(m), in_axes=(0, 0, None))))
    verbose = 1 if verbose == "auto" else verbose
    histories, lists = [], []
    for model, path in zip(models, paths or [None] * len(models)):
        history = keras.callbacks.History()
        member = loop.training_callbacks(model, None, early_stopping, patience, path,
                                         val is not None, verbose)
        lists.append(keras.callbacks.CallbackList(member + [history], model=model,
                                                  epochs=epochs, steps=-(-n // chunk)))
        histories.append(history)
        model.stop_training = False
    for callback_list in lists:
        callback_list.on_train_begin()
    states = [_member_state(m) for m in models]
    state = tuple(_stack(models, [s[i] for s in states]) for i in range(3))
    logs = [{} for _ in models]
    for epoch in range(initial_epoch, epochs):
        # A member stopped by early stopping or a NaN stays masked: its stacked state is
        # stale (early stopping restored its best weights into the model) and never used.
        started = np.array([not m.stop_training for m in models])
        if not started.any():
            break
        active = started.copy()
        for i, (model, callback_list) in enumerate(zip(models, lists)):
            if started[i]:
                callback_list.on_epoch_begin(epoch)
        orders = [np.random.default_rng([m.seed, int(m.optimizer.iterations)]).permutation(n)
                  if shuffle else np.arange(n) for m in models]
        sums = [loop.EpochSums() for _ in models]
        for start in range(0, n, chunk):
            parts = [loop.map_arrays(lambda a, o=o: a[o[start:start + chunk]], train)
                     for o in orders]
            padded = [loop.pad(p, chunk) for p in parts]
            arrays = jax.tree_util.tree_map(lambda *a: np.stack(a), *padded)
            state, stats, p = run_chunk(state, arrays, -(-len(parts[0][1]) // b),
                                        jnp.asarray(active))
            totals, norms = (np.asarray(s, np.float64) for s in stats)
            for i, (model, callback_list) in enumerate(zip(models, lists)):
                if not active[i]:
                    continue
                m = len(parts[i][1])
                sums[i].add(_sums_by_term(model, (totals[i], norms[i])), parts[i][1],
                            None if p is None else np.asarray(p[i])[:m], parts[i][2])
                callback_list.on_train_batch_end(start // chunk, sums[i].terms())
                if model.stop_training:
                    active[i] = False
            if not active.any():
                break
        _assign(models, state, started)
        logs = [sums[i].results(model) if started[i] else logs[i]
                for i, model in enumerate(models)]
        if val is not None:
            _validate(models, run_evaluate, state, val, logs, started)
        for i, callback_list in enumerate(lists):
            if started[i]:
                callback_list.on_epoch_end(epoch, logs[i])
    for model, callback_list, log in zip(models, lists, logs):
        callback_list.on_train_end(log)
    return histories


def _assign(models, state, members):
    """Write the stacked state back into the models flagged in ``members``."""
    for variables, values in zip(zip(*((m.trainable_variables, m.non_trainable_variables,
                                        m.optimizer.variables) for m in models)), state):
        for per_member, value in zip(zip(*variables), values):
            value = np.asarray(value)
            for i, variable in enumerate(per_member):
                if members[i]:
                    variable.assign(value[i])


def _validate(models, run_evaluate, state, val, logs, members):
    n = len(val[1])
    size = min(loop.SCORE_BATCH, -(-n // 1024) * 1024)
    sums = [loop.EpochSums() for _ in models]
    for start in range(0, n, size):
        part = loop.map_arrays(lambda a: a[start:start + size], val)
        (totals, norms), p = run_evaluate(state[0], state[1], loop.pad(part, size))
        totals, norms = np.asarray(totals, np.float64), np.asarray(norms, np.float64)
        m = len(part[1])
        for i, model in enumerate(models):
            if members[i]:
                sums[i].add(_sums_by_term(model, (totals[i], norms[i])),
                            part[1], None if p is None else np.asarray(p[i])[:m], part[2])
    for i, model in enumerate(models):
        if members[i]:
            logs[i].update({f"val_{k}": v for k, v in sums[i].results(model).items()})
