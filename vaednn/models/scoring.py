"""Scores of trained models: per-event losses, latent means, per-feature errors, classifier output.

Everything here uses ``z_mean`` (no sampling), so scores are deterministic. The forward
pass is compiled once per model and kind (``tf.function`` or ``jax.jit``, whichever backend
runs) and reads the model's current weights at each call.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
from keras import ops

from vaednn.models.loop import SCORE_BATCH, pad_rows
from vaednn.models.inputs import features_array
from vaednn.models.building import is_classifier
from vaednn.models.variants import VAE

__all__ = ["event_losses", "encode", "feature_errors", "scale", "classifier_output",
           "is_classifier"]

_FUNCTIONS = weakref.WeakKeyDictionary()
_ROUND = 1024


def _scorer(model, kind):
    """A compiled, cached inference function of ``model`` (z_mean, large batches)."""
    cache = _FUNCTIONS.setdefault(model, {})
    if kind not in cache:
        def terms(template, x):
            t = template.event_terms(x, training=False)
            if kind == "losses":
                return t["reco"], t["kl"]
            if kind == "classifier":
                return template.classify(t)
            return t[kind]
        cache[kind] = _compile(model, terms, kind)
    return cache[kind]


def _compile(model, fn, kind):
    import keras

    if keras.backend.backend() == "jax":
        from vaednn.models.fit_jax import compile_inference
    else:
        from vaednn.models.fit_tensorflow import compile_inference
    return compile_inference(model, fn, kind)


def _run(model, kind, x, batch_size):
    if not isinstance(model, VAE):
        raise TypeError(f"expected a vaednn model, got {type(model).__name__}")
    x = features_array(x, "x", model.features, model.log_features)
    fn = _scorer(model, kind)
    parts = []
    for start in range(0, len(x), batch_size):
        part = x[start:start + batch_size]
        # Calls of a few rounded sizes: a jitted function compiles once per input shape.
        size = -(-len(part) // _ROUND) * _ROUND
        out = fn(pad_rows(part, size))
        out = out if isinstance(out, tuple) else (out,)
        parts.append([ops.convert_to_numpy(o)[:len(part)] for o in out])
    joined = tuple(np.concatenate(column) for column in zip(*parts))
    return joined if len(joined) > 1 else joined[0]


def event_losses(model, x, batch_size=SCORE_BATCH):
    """Per-event reconstruction MSE and KL, with ``z_mean`` (deterministic), in one pass.

    Args:
        model: a vaednn model.
        x: raw features, a DataFrame (columns matched by name to the model's
            ``features``) or an array in that column order.
        batch_size: events per graph call (memory only; the result does not depend on it).

    Returns:
        DataFrame with columns ``reco`` and ``kl`` (n rows, index of ``x`` if a DataFrame).
    """
    reco, kl = _run(model, "losses", x, batch_size)
    index = x.index if isinstance(x, pd.DataFrame) else None
    return pd.DataFrame({"reco": reco, "kl": kl}, index=index)


def encode(model, x, batch_size=SCORE_BATCH):
    """Latent means ``z_mean`` (n, latent_dim) of raw features ``x``."""
    return _run(model, "z_mean", x, batch_size)


def feature_errors(model, x, batch_size=SCORE_BATCH):
    """Per-feature squared reconstruction errors in the scaled space, DataFrame (n, features).

    Their row mean is :func:`event_losses` ``reco``.
    """
    squared = _run(model, "squared", x, batch_size)
    index = x.index if isinstance(x, pd.DataFrame) else None
    return pd.DataFrame(squared, columns=list(model.features), index=index)


def scale(model, x, batch_size=SCORE_BATCH):
    """The log10 + min-max scaled features the encoder sees, (n, features)."""
    return _run(model, "xs", x, batch_size)


def classifier_output(model, x, batch_size=SCORE_BATCH):
    """Classifier probability (n,) of raw events ``x`` for a VAE+DNN model.

    For ``vae_dnn_separate``, ``x`` are the mixture events the classifier sees.
    """
    if not is_classifier(model):
        raise TypeError(f"model {model.name!r} is a plain VAE and has no classifier output; "
                        f"use event_losses for its anomaly score")
    return _run(model, "classifier", x, batch_size)
