"""Models by name: :func:`build` (a variant of :mod:`vaednn.models.variants`, adapted and
compiled), :func:`train` (build, then fit) and :func:`is_classifier`.
"""

from __future__ import annotations

import contextlib
import math

import keras

from vaednn.models.inputs import feature_names, features_array
from vaednn.models.variants import (
    DEFAULTS,
    MODEL_NAMES,
    OPTIMIZER_OPTIONS,
    VAE,
    VAEDNN,
    FlatVAE,
    SeparateVAEDNN,
)

__all__ = ["build", "is_classifier", "train"]

_CLASSES = {"vae": VAE, "vae_model2": VAE, "vae_model3": VAE, "vae_flat": FlatVAE,
            "vae_dnn_latent": VAEDNN, "vae_dnn_reco": VAEDNN, "vae_dnn_reco_kl": VAEDNN,
            "vae_dnn_separate": SeparateVAEDNN}


def build(name, sm_train, seed=0, strategy=None, features=None, log_features=None,
          **hyperparameters):
    """Build, adapt and compile the model ``name`` (one of :data:`MODEL_NAMES`).

    Args:
        name: the variant; see the module docstring.
        sm_train: raw SM training features, a DataFrame (its columns are the model's
            variables, any set of them) or an array (columns in ``features`` order); the
            scaling layer's log10 + min-max is fitted on them.
        seed: seeds initial weights, the sampling noise and the shuffling.
        strategy: a ``tf.distribute`` strategy (e.g. ``tf.distribute.MirroredStrategy()``
            to train one large model on every GPU of a machine), TensorFlow backend only;
            on JAX the counterpart is ``keras.distribution`` (set a ``DataParallel``
            distribution before building), and a strategy is refused with a
            ``ValueError``. The model's variables are created in its scope and ``fit``
            then splits each mini-batch across the replicas; the fused Adam step gives way
            to Keras' own, which aggregates the replicas' gradients. Scale ``batch_size``
            with the number of replicas to keep each replica's share.
            Default: no strategy (one device).
        features: the variable of each column of an array ``sm_train`` (needed unless it
            has the 14 :data:`vaednn.data.FEATURES` columns); for a DataFrame, a subset
            and order of its columns. Stored in the model's config, so a ``.keras`` file
            knows its variables and scoring matches DataFrame columns by name.
        log_features: the variables that get log10 before the min-max scaling; default
            those of ``features`` that are in :data:`vaednn.data.LOG_FEATURES`.
        **hyperparameters: overrides of :data:`DEFAULTS` ``[name]``; documented in
            :class:`VAE`, :class:`VAEDNN` and :class:`SeparateVAEDNN`; and the
            :data:`OPTIMIZER_OPTIONS`: ``clipnorm`` (default None: no clipping) clips each
            gradient to that L2 norm, which tames the VAE+DNN's KL spikes.

    Returns:
        The compiled model (Adam at ``learning_rate``).

    >>> import numpy as np
    >>> x = np.random.default_rng(0).lognormal(4.0, 0.5, size=(200, 14))
    >>> from vaednn.models import scale
    >>> model = build("vae", x, kl_weight=1e-4)
    >>> scaled = scale(model, x)
    >>> scaled.shape
    (200, 14)
    >>> bool(np.allclose(scaled.min(axis=0), 0, atol=1e-6) and np.allclose(scaled.max(axis=0), 1))
    True
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
    unknown = set(hyperparameters) - set(DEFAULTS[name]) - set(OPTIMIZER_OPTIONS)
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)} for {name!r}; valid: "
                         f"{sorted(DEFAULTS[name]) + list(OPTIMIZER_OPTIONS)}")
    clipnorm = hyperparameters.pop("clipnorm", None)
    if clipnorm is not None and not (isinstance(clipnorm, int | float)
                                     and math.isfinite(clipnorm) and clipnorm > 0):
        raise ValueError(f"clipnorm must be None or a finite number > 0, got {clipnorm!r}")
    hp = {**DEFAULTS[name], **hyperparameters}
    rate = hp["learning_rate"]
    if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"learning_rate must be a finite number > 0, got {rate!r}")
    if strategy is not None and keras.backend.backend() != "tensorflow":
        raise ValueError(f"strategy= is a tf.distribute strategy and needs "
                         f"KERAS_BACKEND=tensorflow (this process runs "
                         f"{keras.backend.backend()!r}); on JAX, keras.distribution "
                         f"(e.g. DataParallel) spreads training over devices instead")
    features, log_features = feature_names(sm_train, features, log_features)
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = _CLASSES[name](seed=seed, name=name, features=features,
                               log_features=log_features, **hp)
        model.scaling.adapt(sm_train)
        sample = features_array(sm_train, "sm_train", features, log_features)[:2]
        model((sample, sample) if isinstance(model, SeparateVAEDNN) else sample)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp["learning_rate"],
                                                      clipnorm=clipnorm),
                      jit_compile=False)
    return model


def is_classifier(model):
    """True for VAE+DNN models (they have a classifier head); takes a model or a model name."""
    if isinstance(model, str):
        if model not in _CLASSES:
            raise ValueError(f"unknown model {model!r}; choose one of {MODEL_NAMES}")
        return issubclass(_CLASSES[model], VAEDNN)
    return isinstance(model, VAEDNN)


def train(name, sm_train, x, y=None, sample_weight=None, *, seed=0, epochs=1, save_to=None,
          **options):
    """Build the VAE or VAE+DNN ``name`` and fit it (:func:`vaednn.models.fitting.fit`).

    Args:
        name: one of :data:`MODEL_NAMES`.
        sm_train: raw SM training features the input scaling is fitted on.
        x, y, sample_weight: what :meth:`VAE.fit` takes for this variant.
        seed: seeds the initial weights, the sampling and the shuffling.
        epochs: training epochs.
        save_to: a ``.keras`` path the trained model is saved to (atomically), or None.
        **options: ``features``/``log_features`` and hyperparameters of :func:`build`
            (:data:`DEFAULTS` ``[name]``), and arguments of
            :meth:`VAE.fit` (``verbose``, ``validation_split``, ``early_stopping`` ...).

    Returns:
        ``(model, history)``.
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
    build_keys = {*DEFAULTS[name], *OPTIMIZER_OPTIONS, "features", "log_features"}
    hyperparameters = {k: v for k, v in options.items() if k in build_keys}
    fit_options = {k: v for k, v in options.items() if k not in build_keys}
    model = build(name, sm_train, seed=seed, **hyperparameters)
    history = model.fit(x, y, sample_weight=sample_weight, epochs=epochs, **fit_options)
    if save_to is not None:
        model.save(save_to)
    return model, history
