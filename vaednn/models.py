"""Every VAE and VAE+DNN variant of the seed analysis, in Keras 3 (TensorFlow backend).

Build a model by name with :func:`build`; it comes back compiled, with its input scaling
(log10 of the momenta and masses, then min-max on the SM training split) as its first
layer, so it consumes raw ntuple features in :data:`vaednn.data.FEATURES` order and carries
its preprocessing into the ``.keras`` file.

=====================  =====================================================================
name                   seed model
=====================  =====================================================================
``vae``                ``VAE_model_extended.py``: encoder and decoder as separate layers
``vae_model2``         ``VAE_model2.py``: other layer sizes
``vae_model3``         ``VAE_model3.py``: 128-64-32, he_normal initialiser, linear output
``vae_flat``           ``VAE_new_model.py``: every layer a named attribute (``get_layer``)
``vae_dnn_latent``     ``VAE_DNN_model.py`` option A: classifier on the latent vector
``vae_dnn_reco``       option B: classifier on the per-event reconstruction loss
``vae_dnn_reco_kl``    option C: classifier on the per-event (reconstruction, KL) pair
``vae_dnn_separate``   ``VAE_separate.py``: VAE terms on SM only, classifier on SM+BSM
=====================  =====================================================================

Losses, per event ``i`` (``x̂`` the scaled input, ``d`` features, ``k`` latent dimensions):

* ``reco_i = mean_d (decoder(z)_i - x̂_i)²`` — MSE in the scaled space, as in the seed;
* ``kl_i = mean_k -½ (1 + log σ² - μ² - σ²)`` — the seed's KL, averaged over latent
  dimensions;
* ``bce_i`` — binary cross-entropy of the classifier output (VAE+DNN only).

The training loss is ``reco_weight·reco + kl_weight·kl (+ classifier_weight·bce)``, each
term a weighted mean over the mini-batch. With event weights ``w`` (``sample_weight``, signs
kept) a term is ``Σ w_i l_i / Σ |w_i|``: doubling every weight changes nothing, negative
(LIN interference) weights pull the loss the physical way, and unlike ``Σ w_i`` the
denominator cannot vanish in a mini-batch dominated by LIN events of both signs.
``history.history`` records the unweighted-by-coefficient terms ``reconstruction_loss``,
``kl_loss`` (and ``classifier_loss``, ``binary_accuracy``, ``auc``) next to the total ``loss``.

Training samples ``z`` with the reparameterisation trick; everything else (``call``,
validation, :func:`event_losses`, :func:`classifier_output`) uses ``z_mean``, so scores and
validation curves are deterministic.

``fit`` keeps Keras' ``model.fit`` (callbacks, history, validation) but feeds the shuffled
epoch in chunks of ``chunk_steps`` mini-batches and runs the chunk's optimizer steps inside
one ``tf.while_loop``: true mini-batch SGD at the seed's batch size, several times faster
than one Python round trip per mini-batch (``benchmarks/bench_fit.py``).
"""

from __future__ import annotations

import contextlib
import math
import warnings
import weakref

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from vaednn.data import FEATURES, LOG_FEATURES

__all__ = [
    "MODEL_NAMES",
    "DEFAULTS",
    "build",
    "event_losses",
    "encode",
    "feature_errors",
    "classifier_output",
    "is_classifier",
    "scale",
    "LogMinMaxScaling",
    "Sampling",
    "Encoder",
    "Decoder",
    "Classifier",
    "VAE",
    "FlatVAE",
    "VAEDNN",
    "SeparateVAEDNN",
    "StopOnNaN",
]

MODEL_NAMES = (
    "vae", "vae_model2", "vae_model3", "vae_flat",
    "vae_dnn_latent", "vae_dnn_reco", "vae_dnn_reco_kl", "vae_dnn_separate",
)

#: Seed values of every hyperparameter, per model name (see :func:`build` for their meaning).
DEFAULTS = {
    # VAE_model_extended.py with the sizes its training scripts used (20_10_7_3 in the saved
    # model names): intermediate, input, input, input, half; latent 3; KL / 1e6.
    "vae": dict(encoder_units=(20, 10, 10, 10, 7), latent_dim=3, decoder_units=(7, 10, 10, 10, 20),
                output_activation="leaky_relu", kernel_initializer="glorot_uniform",
                reco_weight=1.0, kl_weight=1e-6, learning_rate=5e-4, batch_size=32),
    # VAE_model2.py: intermediate 28, input = 14 features, half 7, latent 4; the decoder
    # opens with a Dense of width latent_dim.
    "vae_model2": dict(encoder_units=(28, 14, 14, 14, 7), latent_dim=4,
                       decoder_units=(4, 14, 14, 7),
                       output_activation="leaky_relu", kernel_initializer="glorot_uniform",
                       reco_weight=1.0, kl_weight=1e-6, learning_rate=5e-4, batch_size=32),
    # VAE_model3.py: 128-64-32-latent-(latent)-32-64-128, he_normal, linear output, KL / 1e8.
    "vae_model3": dict(encoder_units=(128, 64, 32), latent_dim=4, decoder_units=(4, 32, 64, 128),
                       output_activation="linear", kernel_initializer="he_normal",
                       reco_weight=1.0, kl_weight=1e-8, learning_rate=5e-4, batch_size=32),
    # VAE_new_model.py: model2's sizes, every layer a named attribute.
    "vae_flat": dict(encoder_units=(28, 14, 14, 14, 7), latent_dim=4, decoder_units=(4, 14, 14, 7),
                     output_activation="leaky_relu", kernel_initializer="glorot_uniform",
                     reco_weight=1.0, kl_weight=1e-6, learning_rate=5e-4, batch_size=32),
}
# VAE_DNN_training.py: 20/10/7, latent 7, batch 64, MSE × 0.01, KL / 1e8, classifier
# Dense(10, relu) -> Dense(1, hard_sigmoid); early stopping on val_auc with patience 20.
_DNN = dict(encoder_units=(20, 10, 10, 10, 7), latent_dim=7, decoder_units=(7, 10, 10, 10, 20),
            output_activation="leaky_relu", kernel_initializer="glorot_uniform",
            reco_weight=0.01, kl_weight=1e-8, classifier_weight=1.0,
            classifier_units=(10,), classifier_activation="relu",
            classifier_output_activation="hard_sigmoid", learning_rate=5e-4, batch_size=64)
DEFAULTS["vae_dnn_latent"] = dict(_DNN, classifier_input="latent")
DEFAULTS["vae_dnn_reco"] = dict(_DNN, classifier_input="reco")
DEFAULTS["vae_dnn_reco_kl"] = dict(_DNN, classifier_input="reco_kl")
# VAE_separate_training_forSSWW.py: 100/50/7, latent 3, batch 128, MSE × 1, KL / 1e6,
# BCE × 10 (loss_weights), classifier Dense(50, softmax) -> Dense(1, hard_sigmoid) on (reco, KL).
DEFAULTS["vae_dnn_separate"] = dict(
    _DNN, encoder_units=(100, 50, 50, 50, 7), latent_dim=3, decoder_units=(7, 50, 50, 50, 100),
    reco_weight=1.0, kl_weight=1e-6, classifier_weight=10.0, classifier_units=(50,),
    classifier_activation="softmax", classifier_input="reco_kl", batch_size=128)

_CLASSIFIER_INPUTS = ("latent", "reco", "reco_kl")
_EPS = 1e-7
_SCORE_BATCH = 1 << 16


def _initializer(kind, seed, index):
    """A seeded kernel initialiser; each layer gets its own seed so equal shapes differ."""
    layer_seed = int(seed) * 7919 + index
    if kind == "he_normal":
        return keras.initializers.HeNormal(seed=layer_seed)
    if kind == "glorot_uniform":
        return keras.initializers.GlorotUniform(seed=layer_seed)
    raise ValueError(f"kernel_initializer must be 'glorot_uniform' or 'he_normal', got {kind!r}")


def _build_stack(layers, input_shape):
    """Build Dense layers applied in sequence; return the shape coming out of the last."""
    shape = tuple(input_shape)
    for dense in layers:
        dense.build(shape)
        shape = (*shape[:-1], dense.units)
    return shape


def _activation_layer(kind, name):
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(name=name)
    if kind == "linear":
        return keras.layers.Activation("linear", name=name)
    raise ValueError(f"output_activation must be 'leaky_relu' or 'linear', got {kind!r}")


# ----------------------------------------------------------------------------- input checks

def _features_array(x, what="x"):
    """Raw features as a float32 (n, 14) array, columns in FEATURES order, or a clear error."""
    if isinstance(x, pd.DataFrame):
        missing = [f for f in FEATURES if f not in x.columns]
        if missing:
            raise ValueError(f"{what}: DataFrame lacks feature column(s) {missing}; "
                             f"expected the 14 vaednn.data.FEATURES")
        x = x.loc[:, list(FEATURES)].to_numpy()
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{what}: expected a 2-D array (events, 14 features), got shape {x.shape}")
    if x.shape[1] != len(FEATURES):
        raise ValueError(f"{what}: expected {len(FEATURES)} features (vaednn.data.FEATURES), "
                         f"got {x.shape[1]}")
    x = x.astype(np.float32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():
        counts = {f: int(c) for f, c in zip(FEATURES, bad.sum(axis=0)) if c}
        raise ValueError(f"{what}: non-finite (NaN or inf) values per feature: {counts}")
    log_cols = [FEATURES.index(f) for f in LOG_FEATURES]
    nonpos = x[:, log_cols] <= 0
    if nonpos.any():
        counts = {f: int(c) for f, c in zip(LOG_FEATURES, nonpos.sum(axis=0)) if c}
        raise ValueError(f"{what}: log10 is taken of these features but they have values <= 0 "
                         f"(count per feature): {counts}")
    return x


def _labels_array(y, n, what="y"):
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if len(y) != n:
        raise ValueError(f"{what}: {len(y)} labels for {n} events")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError(f"{what}: labels must be 0 (SM) or 1 (BSM), got values "
                         f"{np.unique(y[~np.isin(y, (0.0, 1.0))])[:5]}")
    return y


def _weights_array(w, n, columns=1, what="sample_weight"):
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
    return w


# ----------------------------------------------------------------------------------- layers

@keras.saving.register_keras_serializable(package="vaednn")
class LogMinMaxScaling(keras.layers.Layer):
    """log10 of the momenta and masses, then min-max scaling fitted on SM training events.

    The minimum and range of every feature (after the log) are non-trainable weights, so
    they are saved with the model. SM training events land in [0, 1]; BSM events may leave
    it, which is why the decoders' output activations are unbounded.

    Args:
        features: input column names, in order (default ``vaednn.data.FEATURES``).
        log_features: the columns that get log10 (default ``vaednn.data.LOG_FEATURES``).
    """

    def __init__(self, features=FEATURES, log_features=LOG_FEATURES, **kwargs):
        super().__init__(**kwargs)
        self.features = tuple(features)
        self.log_features = tuple(log_features)
        unknown = set(self.log_features) - set(self.features)
        if unknown:
            raise ValueError(f"log_features {sorted(unknown)} are not among features")
        self._log_mask = np.array([f in self.log_features for f in self.features])

    def build(self, input_shape):
        if input_shape[-1] != len(self.features):
            raise ValueError(f"expected {len(self.features)} features "
                             f"({', '.join(self.features)}), got {input_shape[-1]}")
        n = len(self.features)
        self.data_min = self.add_weight(shape=(n,), initializer="zeros", trainable=False,
                                        name="data_min")
        self.data_range = self.add_weight(shape=(n,), initializer="ones", trainable=False,
                                          name="data_range")

    def adapt(self, x):
        """Fit the min and range on raw training features ``x`` (n, 14)."""
        x = _features_array(x, "sm_train")
        if not self.built:
            self.build(x.shape)
        t = np.where(self._log_mask, np.log10(np.where(self._log_mask, x, 1.0)), x)
        lo, hi = t.min(axis=0), t.max(axis=0)
        constant = [f for f, r in zip(self.features, hi - lo) if r <= 0]
        if constant:
            raise ValueError(f"sm_train: feature(s) {constant} are constant; min-max scaling "
                             f"needs a spread")
        self.data_min.assign(lo)
        self.data_range.assign(hi - lo)

    def call(self, x):
        mask = keras.ops.convert_to_tensor(self._log_mask)
        safe = keras.ops.where(mask, x, keras.ops.ones_like(x))
        t = keras.ops.where(mask, keras.ops.log10(safe), x)
        return (t - self.data_min) / self.data_range

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "features": list(self.features),
                "log_features": list(self.log_features)}


@keras.saving.register_keras_serializable(package="vaednn")
class Sampling(keras.layers.Layer):
    """Reparameterisation trick ``z = μ + exp(½ log σ²)·ε`` with a seeded generator."""

    def __init__(self, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.seed = int(seed)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(keras.ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="vaednn")
class Encoder(keras.layers.Layer):
    """Dense + LeakyReLU stack mapping scaled features to ``(z_mean, z_log_var)``."""

    def __init__(self, units, latent_dim, kernel_initializer="glorot_uniform", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.latent_dim = tuple(int(u) for u in units), int(latent_dim)
        self.kernel_initializer, self.seed = kernel_initializer, int(seed)
        init = lambda i: _initializer(kernel_initializer, seed, i)  # noqa: E731
        self.dense = [keras.layers.Dense(u, kernel_initializer=init(i), name=f"dense_{i + 1}")
                      for i, u in enumerate(self.units)]
        self.activations = [keras.layers.LeakyReLU(name=f"leaky_relu_{i + 1}")
                            for i in range(len(self.units))]
        self.dense_mean = keras.layers.Dense(self.latent_dim, name="dense_mean",
                                             kernel_initializer=init(len(self.units)))
        self.dense_log_var = keras.layers.Dense(self.latent_dim, name="dense_log_var",
                                                kernel_initializer=init(len(self.units) + 1))

    def build(self, input_shape):
        shape = _build_stack(self.dense, input_shape)
        self.dense_mean.build(shape)
        self.dense_log_var.build(shape)

    def call(self, x):
        for dense, act in zip(self.dense, self.activations):
            x = act(dense(x))
        return self.dense_mean(x), self.dense_log_var(x)

    def compute_output_shape(self, input_shape):
        shape = (*input_shape[:-1], self.latent_dim)
        return shape, shape

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "latent_dim": self.latent_dim,
                "kernel_initializer": self.kernel_initializer, "seed": self.seed}


@keras.saving.register_keras_serializable(package="vaednn")
class Decoder(keras.layers.Layer):
    """Dense + LeakyReLU stack mapping ``z`` back to the scaled features (unbounded output)."""

    def __init__(self, units, output_dim, output_activation="leaky_relu",
                 kernel_initializer="glorot_uniform", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.output_dim = tuple(int(u) for u in units), int(output_dim)
        self.output_activation, self.kernel_initializer = output_activation, kernel_initializer
        self.seed = int(seed)
        # Offset the seeds so decoder layers never repeat an encoder layer's initial weights.
        init = lambda i: _initializer(kernel_initializer, seed, 100 + i)  # noqa: E731
        self.dense = [keras.layers.Dense(u, kernel_initializer=init(i), name=f"dense_{i + 1}")
                      for i, u in enumerate(self.units)]
        self.activations = [keras.layers.LeakyReLU(name=f"leaky_relu_{i + 1}")
                            for i in range(len(self.units))]
        self.dense_output = keras.layers.Dense(self.output_dim, name="dense_output",
                                               kernel_initializer=init(len(self.units)))
        self.output_layer = _activation_layer(output_activation, "output_activation")

    def build(self, input_shape):
        self.dense_output.build(_build_stack(self.dense, input_shape))

    def call(self, z):
        for dense, act in zip(self.dense, self.activations):
            z = act(dense(z))
        return self.output_layer(self.dense_output(z))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "output_dim": self.output_dim,
                "output_activation": self.output_activation,
                "kernel_initializer": self.kernel_initializer, "seed": self.seed}


@keras.saving.register_keras_serializable(package="vaednn")
class Classifier(keras.layers.Layer):
    """The DNN head: hidden Dense layers, then one unit with ``output_activation``.

    The seed's output activation is ``hard_sigmoid``; note that Keras 3 defines it as
    ``relu6(x + 3) / 6`` (slope 1/6) where TF 2 used ``clip(0.2 x + 0.5)`` (slope 0.2).
    """

    def __init__(self, units=(10,), activation="relu", output_activation="hard_sigmoid",
                 seed=0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.activation = tuple(int(u) for u in units), activation
        self.output_activation, self.seed = output_activation, int(seed)
        init = lambda i: _initializer("glorot_uniform", seed, 200 + i)  # noqa: E731
        self.hidden = [keras.layers.Dense(u, activation=activation, kernel_initializer=init(i),
                                          name=f"dense_{i + 1}") for i, u in enumerate(self.units)]
        self.output_dense = keras.layers.Dense(1, activation=output_activation, name="output",
                                               kernel_initializer=init(len(self.units)))

    def build(self, input_shape):
        self.output_dense.build(_build_stack(self.hidden, input_shape))

    def call(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.output_dense(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "activation": self.activation,
                "output_activation": self.output_activation, "seed": self.seed}


# ---------------------------------------------------------------------------------- training

class StopOnNaN(keras.callbacks.TerminateOnNaN):
    """Stop training cleanly when a loss term turns NaN/inf, and say which one.

    ``fit`` adds it automatically. After a stop, :attr:`message` holds the explanation; it
    is also issued as a ``RuntimeWarning``.
    """

    TERMS = ("reconstruction_loss", "kl_loss", "classifier_loss", "loss")

    def __init__(self):
        super().__init__()
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
        warnings.warn(self.message, RuntimeWarning, stacklevel=2)
        self.model.stop_training = True


def _chunks(arrays, chunk, shuffle, seed):
    """A tf.data pipeline of an epoch's events in chunks of ``chunk`` events.

    With ``shuffle`` the events are reshuffled every epoch, deterministically from ``seed``
    (tf.data reshuffles each iteration from the same seeded sequence).
    """
    n = len(arrays[1])
    tensors = tf.nest.map_structure(tf.constant, arrays)
    order = tf.data.Dataset.range(n)
    if shuffle:
        order = order.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    gather = lambda idx: tf.nest.map_structure(lambda t: tf.gather(t, idx), tensors)  # noqa: E731
    return order.batch(chunk).map(gather).prefetch(1)


def _wmean(values, w):
    """Σ w·l / Σ|w|; an all-zero-weight mini-batch contributes 0, not NaN."""
    return tf.reduce_sum(w * values) / tf.maximum(tf.reduce_sum(tf.abs(w)), _EPS)


def _kl_per_event(z_mean, z_log_var):
    return tf.reduce_mean(-0.5 * (1.0 + z_log_var - tf.square(z_mean) - tf.exp(z_log_var)), axis=-1)


def _bce_per_event(y, p):
    p = tf.clip_by_value(p, _EPS, 1.0 - _EPS)
    return -(y * tf.math.log(p) + (1.0 - y) * tf.math.log(1.0 - p))


# ------------------------------------------------------------------------------------ models

@keras.saving.register_keras_serializable(package="vaednn")
class VAE(keras.Model):
    """Variational autoencoder with encoder and decoder as separate layers.

    Use :func:`build` rather than the constructor: it adapts the scaling and compiles.
    ``call`` returns the ``z_mean`` reconstruction in the scaled space.

    Args:
        encoder_units: widths of the encoder's Dense + LeakyReLU layers (seed ``vae``:
            intermediate 20, input 10, 10, 10, half 7).
        latent_dim: latent dimensions (seed ``vae``: 3).
        decoder_units: widths of the decoder's Dense + LeakyReLU layers before the output
            layer (seed ``vae``: mirror of the encoder).
        output_activation: ``"leaky_relu"`` (seed) or ``"linear"`` (model3); never bounded,
            since BSM events leave [0, 1].
        kernel_initializer: ``"glorot_uniform"`` (Keras default, seed) or ``"he_normal"`` (model3).
        reco_weight: coefficient of the reconstruction MSE in the loss (seed: 1).
        kl_weight: coefficient of the KL term (seed ``vae``: 1e-6, model3: 1e-8).
        learning_rate: Adam learning rate set by :func:`build` (seed: 5e-4).
        batch_size: default mini-batch size of ``fit`` (seed: 32).
        seed: seeds initial weights, sampling and shuffling.
        features, log_features: the input columns and which of them get log10.
    """

    def __init__(self, encoder_units=(20, 10, 10, 10, 7), latent_dim=3,
                 decoder_units=(7, 10, 10, 10, 20), output_activation="leaky_relu",
                 kernel_initializer="glorot_uniform", reco_weight=1.0, kl_weight=1e-6,
                 learning_rate=5e-4, batch_size=32, seed=0, features=FEATURES,
                 log_features=LOG_FEATURES, **kwargs):
        super().__init__(**kwargs)
        self.hyperparameters = dict(
            encoder_units=tuple(int(u) for u in encoder_units), latent_dim=int(latent_dim),
            decoder_units=tuple(int(u) for u in decoder_units),
            output_activation=output_activation, kernel_initializer=kernel_initializer,
            reco_weight=float(reco_weight), kl_weight=float(kl_weight),
            learning_rate=float(learning_rate), batch_size=int(batch_size))
        if self.hyperparameters["batch_size"] < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.seed = int(seed)
        self.features, self.log_features = tuple(features), tuple(log_features)
        self.batch_size = self.hyperparameters["batch_size"]
        self.reco_weight = self.hyperparameters["reco_weight"]
        self.kl_weight = self.hyperparameters["kl_weight"]
        self.scaling = LogMinMaxScaling(self.features, self.log_features, name="scaling")
        self.sampling = Sampling(seed=self.seed, name="sampling")
        self._make_layers()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reco_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    def _make_layers(self):
        hp = self.hyperparameters
        self.encoder = Encoder(hp["encoder_units"], hp["latent_dim"], hp["kernel_initializer"],
                               seed=self.seed, name="encoder")
        self.decoder = Decoder(hp["decoder_units"], len(self.features), hp["output_activation"],
                               hp["kernel_initializer"], seed=self.seed, name="decoder")

    def build(self, input_shape):
        if not self.scaling.built:
            self.scaling.build(input_shape)
        self._build_vae(input_shape)

    def _build_vae(self, input_shape):
        self.encoder.build(input_shape)
        self.decoder.build((*input_shape[:-1], self.hyperparameters["latent_dim"]))

    def get_config(self):
        hp = {k: list(v) if isinstance(v, tuple) else v for k, v in self.hyperparameters.items()}
        return {**super().get_config(), **hp, "seed": self.seed, "features": list(self.features),
                "log_features": list(self.log_features)}

    @property
    def metrics(self):
        return self._loss_trackers()

    def _loss_trackers(self):
        return [self.loss_tracker, self.reco_tracker, self.kl_tracker]

    # -- forward pieces, all on the scaled features
    def encode_scaled(self, xs):
        """``(z_mean, z_log_var)`` of scaled features."""
        return self.encoder(xs)

    def decode(self, z):
        """Reconstruction (scaled space) of latent vectors."""
        return self.decoder(z)

    def event_terms(self, x, training=False):
        """Per-event pieces of the loss for raw features ``x``; samples ``z`` if training."""
        xs = self.scaling(x)
        z_mean, z_log_var = self.encode_scaled(xs)
        z = self.sampling((z_mean, z_log_var)) if training else z_mean
        reconstructed = self.decode(z)
        squared = tf.square(reconstructed - xs)
        return dict(xs=xs, z_mean=z_mean, z_log_var=z_log_var, z=z, reconstructed=reconstructed,
                    squared=squared, reco=tf.reduce_mean(squared, axis=-1),
                    kl=_kl_per_event(z_mean, z_log_var))

    def call(self, x, training=False):
        return self.event_terms(x, training=training)["reconstructed"]

    # -- losses and steps
    def _split_data(self, data):
        x, y, w = keras.utils.unpack_x_y_sample_weight(data)
        n = tf.shape(tf.nest.flatten(x)[0])[0]
        y = tf.zeros((n,)) if y is None else tf.reshape(tf.cast(y, tf.float32), (-1,))
        w = tf.ones((n,)) if w is None else tf.cast(w, tf.float32)
        return x, y, w

    def _batch_terms(self, x, y, w, training):
        """(total loss, {tracker: (value, weight)}, (y, p, w) for the classifier metrics)."""
        t = self.event_terms(x, training=training)
        reco, kl = _wmean(t["reco"], w), _wmean(t["kl"], w)
        norm = tf.reduce_sum(tf.abs(w))
        loss = self.reco_weight * reco + self.kl_weight * kl
        return loss, {self.loss_tracker: (loss, norm), self.reco_tracker: (reco, norm),
                      self.kl_tracker: (kl, norm)}, None

    def _update_metrics(self, tracked, classified):
        for tracker, (value, weight) in tracked.items():
            tracker.update_state(value, sample_weight=weight)

    def _results(self):
        return {m.name: m.result() for m in self.metrics}

    def _optimizer_step(self, grads, weights):
        """Adam step; plain Adam runs as one fused kernel per variable.

        Keras' Adam costs ~15 small graph ops per variable per step, which dominates a
        batch-32 step of these small networks. ``ResourceApplyAdam`` computes the same
        update (same bias correction, same epsilon placement) in one op. Any other
        optimizer, or Adam with clipping, decay, EMA, AMSGrad or a schedule, goes through
        ``optimizer.apply``; so does training under a ``tf.distribute`` strategy, where
        ``apply`` aggregates the replicas' gradients.
        """
        opt = self.optimizer
        fused = (not tf.distribute.has_strategy() and type(opt) is keras.optimizers.Adam and not opt.amsgrad and not opt.use_ema
                 and opt.weight_decay is None and opt.clipnorm is None and opt.clipvalue is None
                 and opt.global_clipnorm is None and opt.gradient_accumulation_steps is None
                 and opt.loss_scale_factor is None
                 and isinstance(opt._learning_rate, keras.Variable))
        if not fused:
            opt.apply(grads, weights)
            return
        t = tf.cast(opt.iterations + 1, tf.float32)
        beta_1, beta_2 = tf.constant(opt.beta_1, tf.float32), tf.constant(opt.beta_2, tf.float32)
        common = dict(beta1_power=tf.pow(beta_1, t), beta2_power=tf.pow(beta_2, t),
                      lr=tf.cast(opt.learning_rate, tf.float32), beta1=beta_1, beta2=beta_2,
                      epsilon=tf.constant(opt.epsilon, tf.float32))
        for var, grad in zip(weights, grads):
            i = opt._get_variable_index(var)
            tf.raw_ops.ResourceApplyAdam(var=var.value.handle, m=opt._momentums[i].value.handle,
                                         v=opt._velocities[i].value.handle, grad=grad, **common)
        opt.iterations.assign_add(1)

    def train_step(self, data):
        # ``data`` is a chunk of many mini-batches: run their optimizer steps in one
        # tf.while_loop, so the per-step cost is graph execution, not Python dispatch.
        # Tracker sums are carried through the loop and written once per chunk.
        if self._distribute_strategy is not None:
            return self._replica_train_step(data)
        x, y, w = self._split_data(data)
        n = tf.shape(y)[0]
        b = self.batch_size
        weights = self.trainable_weights
        trackers = self._loss_trackers()
        zeros = tuple(tf.constant(0.0) for _ in trackers)
        probabilities = tf.TensorArray(tf.float32, size=0, dynamic_size=True, infer_shape=False,
                                       element_shape=tf.TensorShape([None]))

        def body(i, sums, norms, probabilities):
            sl = lambda a: a[i * b:(i + 1) * b]  # noqa: E731
            xb, yb, wb = tf.nest.map_structure(sl, x), sl(y), sl(w)
            with tf.GradientTape() as tape:
                loss, tracked, classified = self._batch_terms(xb, yb, wb, training=True)
            self._optimizer_step(tape.gradient(loss, weights), weights)
            sums = tuple(s + tracked[m][0] * tracked[m][1] for s, m in zip(sums, trackers))
            norms = tuple(s + tracked[m][1] for s, m in zip(norms, trackers))
            if classified is not None:
                probabilities = probabilities.write(i, classified[1])
            return i + 1, sums, norms, probabilities

        _, sums, norms, probabilities = tf.while_loop(
            lambda i, *_: i * b < n, body, (tf.constant(0), zeros, zeros, probabilities),
            parallel_iterations=1)
        tracked = {m: (s / tf.maximum(c, _EPS), c) for m, s, c in zip(trackers, sums, norms)}
        classified = self._chunk_classified(y, w, probabilities)
        self._update_metrics(tracked, classified)
        return self._results()

    def _replica_train_step(self, data):
        # Under tf.distribute the optimizer update synchronises the replicas, which cannot
        # happen inside a tf.while_loop: one mini-batch per step, as Keras does it.
        x, y, w = self._split_data(data)
        weights = self.trainable_weights
        with tf.GradientTape() as tape:
            loss, tracked, classified = self._batch_terms(x, y, w, training=True)
        self.optimizer.apply(tape.gradient(loss, weights), weights)
        self._update_metrics(tracked, classified)
        return self._results()

    def _chunk_classified(self, y, w, probabilities):
        return None

    def test_step(self, data):
        x, y, w = self._split_data(data)
        _, tracked, classified = self._batch_terms(x, y, w, training=False)
        self._update_metrics(tracked, classified)
        return self._results()

    # -- fit with Python-side input checks and chunked feeding
    def _prepare(self, x, y, sample_weight, what):
        if y is not None:
            raise ValueError(f"a plain VAE trains on x alone: call fit(x), got a target y ({what})")
        x = _features_array(x, f"{what} x")
        return x, np.zeros(len(x), np.float32), _weights_array(sample_weight, len(x))

    def _validation_arrays(self, validation_data):
        parts = tuple(validation_data) if isinstance(validation_data, tuple | list) \
            else (validation_data,)
        if len(parts) not in (1, 2):
            raise ValueError("validation_data for a plain VAE must be x or (x, sample_weight)")
        return self._prepare(parts[0], None, parts[1] if len(parts) == 2 else None,
                             "validation_data")

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, sample_weight=None,
            initial_epoch=0, early_stopping=None, patience=20, checkpoint=None,
            chunk_steps=256, **kwargs):
        """Train with mini-batch Adam; same signature and History as ``keras.Model.fit``.

        Args:
            x: raw features (n, 14), array or DataFrame; for ``vae_dnn_separate`` the pair
                ``(x_sm, x_mix)``. A ``tf.data.Dataset`` is passed to Keras
                as is (no Python-side checks; each of its batches is split into
                mini-batches of ``batch_size``).
            y: labels 0 (SM) / 1 (BSM) for VAE+DNN models; must be None for plain VAEs.
            batch_size: optimizer mini-batch size (default: the model's, the seed's value).
            sample_weight: per-event weights, signs kept; see the module docstring.
            validation_split: fraction of the events (the last ones, as in Keras) held out.
            validation_data: ``x`` or ``(x, sample_weight)`` for VAEs, ``(x, y[, w])`` for
                VAE+DNN; evaluated with ``z_mean``.
            early_stopping: a monitored quantity (e.g. ``"val_auc"``, as the seed) to stop on
                after ``patience`` epochs without improvement, restoring the best weights.
            patience: epochs without improvement before stopping (seed: 20).
            checkpoint: path of a ``.keras`` file where the best model (by
                ``early_stopping``, or ``val_loss``/``loss`` if None) is saved.
            chunk_steps: mini-batches run per graph call; changes speed, not the result.
            **kwargs: passed to ``keras.Model.fit``.

        Returns:
            The ``keras.callbacks.History``.
        """
        if batch_size is not None:
            if int(batch_size) < 1:
                raise ValueError(f"batch_size must be >= 1, got {batch_size}")
            self.batch_size = int(batch_size)
        callbacks = list(callbacks or []) + [StopOnNaN()]
        monitor = early_stopping or ("val_loss" if validation_data is not None
                                     or validation_split else "loss")
        mode = "max" if ("auc" in monitor or "accuracy" in monitor) else "min"
        if early_stopping:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor=early_stopping, mode=mode, patience=patience, restore_best_weights=True,
                verbose=1 if verbose else 0))
        if checkpoint:
            callbacks.append(keras.callbacks.ModelCheckpoint(
                str(checkpoint), monitor=monitor, mode=mode, save_best_only=True))
        if isinstance(x, tf.data.Dataset):
            return super().fit(x, epochs=epochs, verbose=verbose, callbacks=callbacks,
                               validation_data=validation_data, initial_epoch=initial_epoch,
                               shuffle=False, **kwargs)
        train = self._prepare(x, y, sample_weight, "fit")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
        if validation_split and validation_data is not None:
            raise ValueError("give validation_split or validation_data, not both")
        n = len(train[-1])
        if validation_split:
            cut = n - int(round(n * validation_split))
            if cut in (0, n):
                raise ValueError(f"validation_split={validation_split} leaves an empty split "
                                 f"of {n} events")
            val = tf.nest.map_structure(lambda a: a[cut:], train)
            train = tf.nest.map_structure(lambda a: a[:cut], train)
        elif validation_data is not None:
            val = self._validation_arrays(validation_data)
        else:
            val = None
        steps = 1 if self._distribute_strategy is not None else int(chunk_steps)
        chunk = self.batch_size * steps
        # Seeded, but different for every successive fit() of the same model.
        shuffle_seed = self.seed * 1_000_003 + int(self.optimizer.iterations.numpy())
        train_ds = _chunks(train, chunk, shuffle, shuffle_seed)
        val_ds = None if val is None else _chunks(val, max(chunk, _SCORE_BATCH), False, 0)
        if not self.optimizer.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)
        return super().fit(train_ds, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_data=val_ds, initial_epoch=initial_epoch, shuffle=False,
                           **kwargs)


@keras.saving.register_keras_serializable(package="vaednn")
class FlatVAE(VAE):
    """The seed's ``VAE_new_model``: every layer a named attribute of the model.

    ``model.get_layer("encoder_l1")`` is the first Dense layer (its kernel rows are the 14
    scaled features), as the seed's SHAP ablation needs. Layers: ``encoder_l1`` …
    ``encoder_lN``, ``dense_mean``, ``dense_log_var``, ``decoder_l1`` … ``decoder_lM``,
    ``decoder_output``. Hyperparameters as :class:`VAE` (defaults: the seed's model2 sizes).
    """

    def _make_layers(self):
        hp = self.hyperparameters
        init = lambda i: _initializer(hp["kernel_initializer"], self.seed, i)  # noqa: E731
        self.encoder_names, self.decoder_names = [], []
        for i, u in enumerate(hp["encoder_units"], start=1):
            setattr(self, f"encoder_l{i}", keras.layers.Dense(u, kernel_initializer=init(i),
                                                               name=f"encoder_l{i}"))
            setattr(self, f"encoder_leakyrelu_{i}", keras.layers.LeakyReLU(
                name=f"encoder_leakyrelu_{i}"))
            self.encoder_names.append(i)
        self.dense_mean = keras.layers.Dense(hp["latent_dim"], kernel_initializer=init(50),
                                             name="dense_mean")
        self.dense_log_var = keras.layers.Dense(hp["latent_dim"], kernel_initializer=init(51),
                                                name="dense_log_var")
        for i, u in enumerate(hp["decoder_units"], start=1):
            setattr(self, f"decoder_l{i}", keras.layers.Dense(u, kernel_initializer=init(100 + i),
                                                               name=f"decoder_l{i}"))
            setattr(self, f"decoder_leakyrelu_{i}", keras.layers.LeakyReLU(
                name=f"decoder_leakyrelu_{i}"))
            self.decoder_names.append(i)
        self.decoder_output = keras.layers.Dense(len(self.features), kernel_initializer=init(150),
                                                 name="decoder_output")
        self.decoder_activation = _activation_layer(hp["output_activation"],
                                                    "decoder_output_activation")

    def _build_vae(self, input_shape):
        encoder = [getattr(self, f"encoder_l{i}") for i in self.encoder_names]
        shape = _build_stack(encoder, input_shape)
        self.dense_mean.build(shape)
        self.dense_log_var.build(shape)
        decoder = [getattr(self, f"decoder_l{i}") for i in self.decoder_names]
        self.decoder_output.build(_build_stack(
            decoder, (*input_shape[:-1], self.hyperparameters["latent_dim"])))

    def encode_scaled(self, xs):
        for i in self.encoder_names:
            xs = getattr(self, f"encoder_leakyrelu_{i}")(getattr(self, f"encoder_l{i}")(xs))
        return self.dense_mean(xs), self.dense_log_var(xs)

    def decode(self, z):
        for i in self.decoder_names:
            z = getattr(self, f"decoder_leakyrelu_{i}")(getattr(self, f"decoder_l{i}")(z))
        return self.decoder_activation(self.decoder_output(z))


@keras.saving.register_keras_serializable(package="vaednn")
class VAEDNN(VAE):
    """VAE with a DNN classifier head, trained on BCE + weighted MSE + weighted KL.

    ``call`` returns the classifier probability (n, 1), computed with ``z_mean``. Train with
    ``fit(x, y, sample_weight=w)`` on the SM+BSM mixture (labels SM = 0, BSM = 1).

    Args:
        classifier_input: what the classifier sees — ``"latent"`` (seed option A, ``z``),
            ``"reco"`` (B, the per-event MSE) or ``"reco_kl"`` (C, per-event MSE and KL).
            Gradients of the BCE flow back into the VAE through these inputs, as in the seed.
        classifier_units: hidden layer widths (seed: (10,)).
        classifier_activation: hidden activation (seed: ``"relu"``).
        classifier_output_activation: output activation (seed: ``"hard_sigmoid"``).
        classifier_weight: coefficient of the BCE (seed: 1).
        reco_weight: coefficient of the MSE (seed: 0.01).
        kl_weight: coefficient of the KL (seed: 1e-8).
        **kwargs: the VAE hyperparameters of :class:`VAE` (seed: 20/10/10/10/7, latent 7,
            batch size 64, learning rate 5e-4).
    """

    def __init__(self, classifier_input="latent", classifier_units=(10,),
                 classifier_activation="relu", classifier_output_activation="hard_sigmoid",
                 classifier_weight=1.0, reco_weight=0.01, kl_weight=1e-8, **kwargs):
        if classifier_input not in _CLASSIFIER_INPUTS:
            raise ValueError(f"classifier_input must be one of {_CLASSIFIER_INPUTS}, "
                             f"got {classifier_input!r}")
        super().__init__(reco_weight=reco_weight, kl_weight=kl_weight, **kwargs)
        self.hyperparameters.update(dict(
            classifier_input=classifier_input,
            classifier_units=tuple(int(u) for u in classifier_units),
            classifier_activation=classifier_activation,
            classifier_output_activation=classifier_output_activation,
            classifier_weight=float(classifier_weight)))
        self.classifier_input = classifier_input
        self.classifier_weight = float(classifier_weight)
        self.classifier = Classifier(classifier_units, classifier_activation,
                                     classifier_output_activation, seed=self.seed,
                                     name="classifier")
        self.classifier_tracker = keras.metrics.Mean(name="classifier_loss")
        self.accuracy_metric = keras.metrics.BinaryAccuracy(name="binary_accuracy")
        self.auc_metric = keras.metrics.AUC(name="auc")

    @property
    def metrics(self):
        return self._loss_trackers() + [self.accuracy_metric, self.auc_metric]

    def _loss_trackers(self):
        return super()._loss_trackers() + [self.classifier_tracker]

    def build(self, input_shape):
        super().build(input_shape)
        width = {"latent": self.hyperparameters["latent_dim"], "reco": 1, "reco_kl": 2}
        self.classifier.build((None, width[self.classifier_input]))

    def classify(self, terms):
        """Classifier probability (n,) from the per-event terms of :meth:`event_terms`."""
        if self.classifier_input == "latent":
            features = terms["z"]
        elif self.classifier_input == "reco":
            features = terms["reco"][:, None]
        else:
            features = tf.stack([terms["reco"], terms["kl"]], axis=1)
        return self.classifier(features)[:, 0]

    def call(self, x, training=False):
        return self.classify(self.event_terms(x, training=training))[:, None]

    def _batch_terms(self, x, y, w, training):
        t = self.event_terms(x, training=training)
        p = self.classify(t)
        reco, kl, bce = _wmean(t["reco"], w), _wmean(t["kl"], w), _wmean(_bce_per_event(y, p), w)
        norm = tf.reduce_sum(tf.abs(w))
        loss = self.reco_weight * reco + self.kl_weight * kl + self.classifier_weight * bce
        tracked = {self.loss_tracker: (loss, norm), self.reco_tracker: (reco, norm),
                   self.kl_tracker: (kl, norm), self.classifier_tracker: (bce, norm)}
        return loss, tracked, (y, p, w)

    def _chunk_classified(self, y, w, probabilities):
        return y, probabilities.concat(), w if w.shape.rank == 1 else w[:, 1]

    def _update_metrics(self, tracked, classified):
        super()._update_metrics(tracked, classified)
        y, p, w = classified
        # Signed weights: accuracy and AUC are then fractions of the weighted yield, as the
        # physics ROC in vaednn.evaluate. Per-batch sums may be ~0; the epoch sums are not.
        self.accuracy_metric.update_state(y, p, sample_weight=w)
        self.auc_metric.update_state(y, p, sample_weight=w)

    def _validation_arrays(self, validation_data):
        if not (isinstance(validation_data, tuple | list) and len(validation_data) in (2, 3)):
            raise ValueError("validation_data must be (x, y) or (x, y, sample_weight)")
        return self._prepare(*validation_data, *(None,) * (3 - len(validation_data)),
                             "validation_data")

    def _prepare(self, x, y, sample_weight, what):
        if y is None:
            raise ValueError(f"a VAE+DNN model needs labels: call fit(x, y) with y = 0 (SM) / 1 "
                             f"(BSM) ({what})")
        x = _features_array(x, f"{what} x")
        return x, _labels_array(y, len(x), f"{what} y"), _weights_array(sample_weight, len(x))


@keras.saving.register_keras_serializable(package="vaednn")
class SeparateVAEDNN(VAEDNN):
    """The original author's ``VAE_separate``: two inputs, ``(x_sm, x_mix)``.

    The VAE terms (MSE, KL) are computed on the SM events ``x_sm`` only; the classifier
    sees the per-event (MSE, KL) of the SM+BSM mixture ``x_mix`` (labels ``y``). Rows are
    pairs: the seed paired the SM training sample, repeated to the mixture's length, with
    the mixture. ``sample_weight`` is either one weight per pair, applied to the classifier
    term of the mixture event (the SM terms then count events equally), or an (n, 2) array
    ``(w_sm, w_mix)``; each term is normalised by the sum of its own ``|w|``.

    ``call((x_sm, x_mix))`` and :func:`classifier_output` give the classifier probability of
    the mixture events. Defaults (seed): 100/50/50/50/7, latent 3, MSE × 1, KL / 1e6,
    BCE × 10, classifier Dense(50, softmax) → Dense(1, hard_sigmoid) on (MSE, KL), batch 128.
    """

    def __init__(self, classifier_input="reco_kl", **kwargs):
        super().__init__(classifier_input=classifier_input, **kwargs)

    def build(self, input_shape):
        super().build(input_shape[1])

    def call(self, inputs, training=False):
        _, x_mix = inputs
        return self.classify(self.event_terms(x_mix, training=training))[:, None]

    def _split_data(self, data):
        x, y, w = keras.utils.unpack_x_y_sample_weight(data)
        n = tf.shape(x[1])[0]
        y = tf.reshape(tf.cast(y, tf.float32), (-1,))
        if w is None:
            w = tf.ones((n, 2))
        else:
            w = tf.cast(w, tf.float32)
            if w.shape.rank == 1:
                w = tf.stack([tf.ones_like(w), w], axis=1)
        return x, y, w

    def _batch_terms(self, x, y, w, training):
        x_sm, x_mix = x
        w_sm, w_mix = w[:, 0], w[:, 1]
        sm = self.event_terms(x_sm, training=training)
        p = self.classify(self.event_terms(x_mix, training=training))
        reco, kl = _wmean(sm["reco"], w_sm), _wmean(sm["kl"], w_sm)
        bce = _wmean(_bce_per_event(y, p), w_mix)
        loss = self.reco_weight * reco + self.kl_weight * kl + self.classifier_weight * bce
        norm_sm, norm_mix = tf.reduce_sum(tf.abs(w_sm)), tf.reduce_sum(tf.abs(w_mix))
        tracked = {self.loss_tracker: (loss, tf.cast(tf.shape(y)[0], tf.float32)),
                   self.reco_tracker: (reco, norm_sm), self.kl_tracker: (kl, norm_sm),
                   self.classifier_tracker: (bce, norm_mix)}
        return loss, tracked, (y, p, w_mix)

    def _prepare(self, x, y, sample_weight, what):
        if not (isinstance(x, tuple | list) and len(x) == 2):
            raise ValueError(f"{what}: vae_dnn_separate takes x = (x_sm, x_mix)")
        if y is None:
            raise ValueError(f"{what}: vae_dnn_separate needs labels y of the mixture events")
        x_sm, x_mix = _features_array(x[0], f"{what} x_sm"), _features_array(x[1], f"{what} x_mix")
        if len(x_sm) != len(x_mix):
            raise ValueError(f"{what}: x_sm has {len(x_sm)} events and x_mix {len(x_mix)}; rows "
                             f"are (SM, mixture) pairs, repeat the SM sample to match")
        n = len(x_mix)
        return (x_sm, x_mix), _labels_array(y, n, f"{what} y"), _weights_array(sample_weight, n, 2)


_CLASSES = {"vae": VAE, "vae_model2": VAE, "vae_model3": VAE, "vae_flat": FlatVAE,
            "vae_dnn_latent": VAEDNN, "vae_dnn_reco": VAEDNN, "vae_dnn_reco_kl": VAEDNN,
            "vae_dnn_separate": SeparateVAEDNN}


def build(name, sm_train, seed=0, strategy=None, **hyperparameters):
    """Build, adapt and compile the model ``name`` (one of :data:`MODEL_NAMES`).

    Args:
        name: the variant; see the module docstring.
        sm_train: raw SM training features (n, 14), array or DataFrame; the scaling layer's
            log10 + min-max is fitted on them.
        seed: seeds initial weights, the sampling noise and the shuffling.
        strategy: a ``tf.distribute`` strategy (e.g. ``tf.distribute.MirroredStrategy()``
            to train one large model on every GPU of a machine). The model's variables are
            created in its scope and ``fit`` then splits each mini-batch across the
            replicas; the fused Adam step gives way to Keras' own, which aggregates the
            replicas' gradients. Scale ``batch_size`` with the number of replicas to keep
            each replica's share. Default: no strategy (one device).
        **hyperparameters: overrides of :data:`DEFAULTS` ``[name]``; documented in
            :class:`VAE`, :class:`VAEDNN` and :class:`SeparateVAEDNN`.

    Returns:
        The compiled model (Adam at ``learning_rate``).

    >>> import numpy as np
    >>> x = np.random.default_rng(0).lognormal(4.0, 0.5, size=(200, 14))
    >>> model = build("vae", x, kl_weight=1e-4)
    >>> scaled = scale(model, x)
    >>> scaled.shape
    (200, 14)
    >>> bool(np.allclose(scaled.min(axis=0), 0, atol=1e-6) and np.allclose(scaled.max(axis=0), 1))
    True
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown model {name!r}; choose one of {MODEL_NAMES}")
    unknown = set(hyperparameters) - set(DEFAULTS[name])
    if unknown:
        raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)} for {name!r}; valid: "
                         f"{sorted(DEFAULTS[name])}")
    hp = {**DEFAULTS[name], **hyperparameters}
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        model = _CLASSES[name](seed=seed, name=name, **hp)
        model.scaling.adapt(sm_train)
        sample = _features_array(sm_train, "sm_train")[:2]
        model((sample, sample) if isinstance(model, SeparateVAEDNN) else sample)
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp["learning_rate"]),
                      jit_compile=False)
    return model


# ---------------------------------------------------------------------------------- scoring

_FUNCTIONS = weakref.WeakKeyDictionary()


def _scorer(model, kind):
    """A compiled, cached inference function of ``model`` (z_mean, large batches)."""
    cache = _FUNCTIONS.setdefault(model, {})
    if kind not in cache:
        def terms(x):
            t = model.event_terms(x, training=False)
            if kind == "losses":
                return t["reco"], t["kl"]
            if kind == "classifier":
                return model.classify(t)
            return t[kind]
        spec = tf.TensorSpec((None, len(model.features)), tf.float32)
        cache[kind] = tf.function(terms, input_signature=[spec])
    return cache[kind]


def _run(model, kind, x, batch_size):
    if not isinstance(model, VAE):
        raise TypeError(f"expected a vaednn model, got {type(model).__name__}")
    x = _features_array(x)
    fn = _scorer(model, kind)
    outputs = [fn(tf.constant(x[i:i + batch_size])) for i in range(0, max(len(x), 1), batch_size)]
    return tf.nest.map_structure(lambda *parts: np.concatenate([p.numpy() for p in parts]),
                                 *outputs)


def event_losses(model, x, batch_size=_SCORE_BATCH):
    """Per-event reconstruction MSE and KL, with ``z_mean`` (deterministic), in one pass.

    Args:
        model: a vaednn model.
        x: raw features (n, 14), array or DataFrame.
        batch_size: events per graph call (memory only; the result does not depend on it).

    Returns:
        DataFrame with columns ``reco`` and ``kl`` (n rows, index of ``x`` if a DataFrame).
    """
    reco, kl = _run(model, "losses", x, batch_size)
    index = x.index if isinstance(x, pd.DataFrame) else None
    return pd.DataFrame({"reco": reco, "kl": kl}, index=index)


def encode(model, x, batch_size=_SCORE_BATCH):
    """Latent means ``z_mean`` (n, latent_dim) of raw features ``x``."""
    return _run(model, "z_mean", x, batch_size)


def feature_errors(model, x, batch_size=_SCORE_BATCH):
    """Per-feature squared reconstruction errors in the scaled space, DataFrame (n, 14).

    Their row mean is :func:`event_losses` ``reco``.
    """
    squared = _run(model, "squared", x, batch_size)
    index = x.index if isinstance(x, pd.DataFrame) else None
    return pd.DataFrame(squared, columns=list(model.features), index=index)


def scale(model, x, batch_size=_SCORE_BATCH):
    """The log10 + min-max scaled features the encoder sees, (n, 14)."""
    return _run(model, "xs", x, batch_size)


def is_classifier(model):
    """True for VAE+DNN models (they have a classifier head)."""
    return isinstance(model, VAEDNN)


def classifier_output(model, x, batch_size=_SCORE_BATCH):
    """Classifier probability (n,) of raw events ``x`` for a VAE+DNN model.

    For ``vae_dnn_separate``, ``x`` are the mixture events the classifier sees.
    """
    if not is_classifier(model):
        raise TypeError(f"model {model.name!r} is a plain VAE and has no classifier output; "
                        f"use event_losses for its anomaly score")
    return _run(model, "classifier", x, batch_size)
