"""The layers every variant is made of: input scaling, encoder, sampling, decoder, classifier.

They use ``keras.ops`` and ``keras.random`` only, so they run on every Keras backend and
their ``.keras`` files move between backends. Registered under the package name
``"vaednn"``, as before the models module became a package, so older files still load.
"""

from __future__ import annotations

import keras
import numpy as np

from vaednn.data import FEATURES, LOG_FEATURES
from vaednn.models.inputs import features_array

__all__ = ["LogMinMaxScaling", "Sampling", "Encoder", "Decoder", "Classifier", "build_stack",
           "dense_stack", "initializer", "activation_layer"]


def initializer(kind, seed, index):
    """A seeded kernel initialiser; each layer gets its own seed so equal shapes differ."""
    layer_seed = int(seed) * 7919 + index
    if kind == "he_normal":
        return keras.initializers.HeNormal(seed=layer_seed)
    if kind == "glorot_uniform":
        return keras.initializers.GlorotUniform(seed=layer_seed)
    raise ValueError(f"kernel_initializer must be 'glorot_uniform' or 'he_normal', got {kind!r}")


def dense_stack(units, init):
    """The hidden Dense layers (``init(i)`` initialises layer i) and their LeakyReLUs."""
    dense = [keras.layers.Dense(u, kernel_initializer=init(i), name=f"dense_{i + 1}")
             for i, u in enumerate(units)]
    activations = [keras.layers.LeakyReLU(name=f"leaky_relu_{i + 1}") for i in range(len(units))]
    return dense, activations


def build_stack(layers, input_shape):
    """Build Dense layers applied in sequence; return the shape coming out of the last."""
    shape = tuple(input_shape)
    for dense in layers:
        dense.build(shape)
        shape = (*shape[:-1], dense.units)
    return shape


def activation_layer(kind, name):
    """The decoder's output activation layer, ``"leaky_relu"`` or ``"linear"``."""
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(name=name)
    if kind == "linear":
        return keras.layers.Activation("linear", name=name)
    raise ValueError(f"output_activation must be 'leaky_relu' or 'linear', got {kind!r}")



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
        """Fit the min and range on raw training features ``x`` (n, features), any feature list."""
        x = features_array(x, "sm_train", self.features, self.log_features)
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

    # The generator's state is saved with the model so that training resumed from a
    # ``.keras`` file draws the same noise as uninterrupted training; Keras' own layer
    # saving leaves it out. Files saved before this have no entry and keep the fresh state.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["seed_state"] = self.seed_generator.state

    def load_own_variables(self, store):
        if "seed_state" in store:
            self.seed_generator.state.assign(store["seed_state"])
        super().load_own_variables({k: store[k] for k in store.keys() if k != "seed_state"})


@keras.saving.register_keras_serializable(package="vaednn")
class Encoder(keras.layers.Layer):
    """Dense + LeakyReLU stack mapping scaled features to ``(z_mean, z_log_var)``."""

    def __init__(self, units, latent_dim, kernel_initializer="glorot_uniform", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.latent_dim = tuple(int(u) for u in units), int(latent_dim)
        self.kernel_initializer, self.seed = kernel_initializer, int(seed)
        init = lambda i: initializer(kernel_initializer, seed, i)  # noqa: E731
        self.dense, self.activations = dense_stack(self.units, init)
        self.dense_mean = keras.layers.Dense(self.latent_dim, name="dense_mean",
                                             kernel_initializer=init(len(self.units)))
        self.dense_log_var = keras.layers.Dense(self.latent_dim, name="dense_log_var",
                                                kernel_initializer=init(len(self.units) + 1))

    def build(self, input_shape):
        shape = build_stack(self.dense, input_shape)
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
        init = lambda i: initializer(kernel_initializer, seed, 100 + i)  # noqa: E731
        self.dense, self.activations = dense_stack(self.units, init)
        self.dense_output = keras.layers.Dense(self.output_dim, name="dense_output",
                                               kernel_initializer=init(len(self.units)))
        self.output_layer = activation_layer(output_activation, "output_activation")

    def build(self, input_shape):
        self.dense_output.build(build_stack(self.dense, input_shape))

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
        init = lambda i: initializer("glorot_uniform", seed, 200 + i)  # noqa: E731
        self.hidden = [keras.layers.Dense(u, activation=activation, kernel_initializer=init(i),
                                          name=f"dense_{i + 1}") for i, u in enumerate(self.units)]
        self.output_dense = keras.layers.Dense(1, activation=output_activation, name="output",
                                               kernel_initializer=init(len(self.units)))

    def build(self, input_shape):
        self.output_dense.build(build_stack(self.hidden, input_shape))

    def call(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.output_dense(x)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 1)

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "activation": self.activation,
                "output_activation": self.output_activation, "seed": self.seed}

