"""Density models trained on SM events: :class:`GaussianVAE` and the :class:`RealNVP` flow
(Keras 3, ``keras.ops`` only, so every backend), :func:`train_density`, and
:func:`scaling_log_jacobian`, which turns a density of the scaled features into one of the
raw features.

They train through the one loop of every model of the package
(:func:`vaednn.models.fitting.fit`): :class:`DensityModel` offers the trainers' protocol
(:mod:`vaednn.models.loop`), its loss being the weighted mean ``Σ w l / Σ |w|`` of
``call``'s per-event ``-log p`` (or negative ELBO), signs kept. Their scores, evaluated in
the scaled or the raw space, are :mod:`vaednn.scores.density`'s.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from vaednn.data import FEATURES, LOG_FEATURES
from vaednn.models import fitting
from vaednn.models.inputs import features_array, to_numpy
from vaednn.models.layers import Decoder, Encoder, LogMinMaxScaling, Sampling
from vaednn.models.loop import chunked, update_trackers
from vaednn.models.losses import EPS, weighted_mean

__all__ = ["DensityModel", "GaussianVAE", "RealNVP", "AffineCoupling", "train_density",
           "scaling_log_jacobian", "SPACES", "check_space", "DENSITY_CHUNK"]

_LOG_2PI = math.log(2.0 * math.pi)
#: Events per call of :meth:`RealNVP.log_density`.
DENSITY_CHUNK = 1 << 13
#: Where a density is evaluated: the scaled features the model sees, or the raw ones.
SPACES = ("scaled", "raw")


def check_space(space):
    """``space`` if it is one of :data:`SPACES`, else a ValueError naming them."""
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    return space


def scaling_log_jacobian(scaling: LogMinMaxScaling, x) -> np.ndarray:
    """Per-event ``log |det ∂t/∂x|`` of the scaling ``t(x)`` (log10, then min-max).

    Adding it to a density of the scaled features ``t`` gives the density of the raw
    features ``x``.

    >>> import numpy as np
    >>> layer = LogMinMaxScaling(("a", "b"), ("b",))
    >>> layer.build((None, 2))
    >>> _ = layer.data_range.assign([2.0, 2.0])  # a spans 2, log10(b) spans 2 decades
    >>> x = np.array([[1.0, 10.0]])
    >>> bool(np.isclose(scaling_log_jacobian(layer, x)[0], -np.log(2) - np.log(2 * 10 * np.log(10))))
    True
    """
    x = np.asarray(x, dtype=np.float64)
    mask = np.array([f in scaling.log_features for f in scaling.features])
    log_range = np.log(to_numpy(scaling.data_range).astype(np.float64))
    constant = -log_range.sum()
    if not mask.any():
        return np.full(len(x), constant)
    return constant - np.log(x[:, mask] * math.log(10.0)).sum(axis=1)


def _scaling_from_config(config):
    return dict(features=tuple(config.pop("features", FEATURES)),
                log_features=tuple(config.pop("log_features", LOG_FEATURES)))


class DensityModel(fitting.LoopTrained, keras.Model):
    """A model whose ``call`` returns one loss per event (``-log p`` or a negative ELBO).

    Its training loss is their weighted mean ``Σ w l / Σ |w|`` over a mini-batch, tracked
    as ``loss``; :meth:`fit` and :meth:`evaluate` are the package's loop
    (:func:`vaednn.models.fitting.fit`), and the methods below are the protocol that loop
    reads (:mod:`vaednn.models.loop`). The mini-batch size is :attr:`batch_size` unless
    ``fit`` is given one.
    """

    #: Events per mini-batch when ``fit`` is given no ``batch_size``.
    batch_size = 512

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def loss_trackers(self):
        """The mean tracker of the loss, keyed ``loss`` in :meth:`batch_terms`' stats."""
        return [self.loss_tracker]

    def batch_terms(self, x, y, w, training):
        """``(loss, {"loss": (loss, Σ|w|)}, None)`` of a mini-batch; ``y`` is unused."""
        loss = weighted_mean(self.call(x, training=training), w)
        return loss, {"loss": (loss, keras.ops.sum(keras.ops.abs(w)))}, None

    def update_metrics(self, stats, y=None, p=None, w=None):
        """Add a chunk's ``{"loss": (sum of value·weight, sum of weights)}``."""
        update_trackers(self.loss_trackers(), stats)

    @classmethod
    def from_config(cls, config):
        return cls(**_scaling_from_config(dict(config)), **{
            k: v for k, v in config.items() if k not in ("features", "log_features")})


# ------------------------------------------------------------------------------ the flow

@keras.saving.register_keras_serializable(package="vaednn")
class AffineCoupling(keras.layers.Layer):
    """RealNVP affine coupling: ``y = m·x + (1-m)·(x·exp(s(m·x)) + t(m·x))``.

    ``s`` and ``t`` share a Dense + ReLU stack; ``s = bound·tanh(·)`` keeps one layer from
    scaling by more than ``exp(±bound)``. Their output kernels start at zero, so a new layer
    is the identity. ``call`` returns ``(y, log|det ∂y/∂x|)``.

    Args:
        mask: 0/1 per feature; features with 1 pass unchanged and condition the others.
        hidden_units: widths of the shared hidden layers.
        bound: largest log-scale one layer applies.
        seed: seeds the hidden layers' initial weights.
    """

    def __init__(self, mask, hidden_units=(64, 64), bound=3.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.mask = tuple(float(m) for m in mask)
        if not set(self.mask) <= {0.0, 1.0} or len(set(self.mask)) != 2:
            raise ValueError(f"mask must hold both 0 and 1 and nothing else, got {self.mask}")
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.bound, self.seed = float(bound), int(seed)
        self.hidden = [keras.layers.Dense(u, activation="relu", name=f"dense_{i + 1}",
                                          kernel_initializer=keras.initializers.GlorotUniform(
                                              seed=self.seed * 7919 + i))
                       for i, u in enumerate(self.hidden_units)]
        d = len(self.mask)
        self.dense_s = keras.layers.Dense(d, kernel_initializer="zeros", name="dense_s")
        self.dense_t = keras.layers.Dense(d, kernel_initializer="zeros", name="dense_t")

    def build(self, input_shape):
        if input_shape[-1] != len(self.mask):
            raise ValueError(f"mask has {len(self.mask)} entries, inputs {input_shape[-1]} features")
        shape = (*input_shape[:-1], len(self.mask))
        for dense in self.hidden:
            dense.build(shape)
            shape = (*shape[:-1], dense.units)
        self.dense_s.build(shape)
        self.dense_t.build(shape)

    def call(self, x):
        mask = keras.ops.convert_to_tensor(self.mask, dtype=x.dtype)
        free = 1.0 - mask
        h = x * mask
        for dense in self.hidden:
            h = dense(h)
        s = self.bound * keras.ops.tanh(self.dense_s(h)) * free
        t = self.dense_t(h) * free
        return x * mask + free * (x * keras.ops.exp(s) + t), keras.ops.sum(s, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape, input_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "mask": list(self.mask),
                "hidden_units": list(self.hidden_units), "bound": self.bound, "seed": self.seed}


def _masks(d, n):
    """Coupling masks cycling even/odd and first/second half, so every pair of features
    sits on opposite sides in some layer."""
    index = np.arange(d)
    patterns = [index % 2 == 0, index % 2 == 1, index < d // 2, index >= d // 2]
    return [patterns[i % 4].astype(float) for i in range(n)]


@keras.saving.register_keras_serializable(package="vaednn")
class RealNVP(DensityModel):
    """A RealNVP normalising flow on the log10 + min-max scaled features.

    After the scaling, a fixed standardisation (mean and standard deviation of the SM
    training events, saved with the model) brings the features near the flow's standard
    normal base; then ``coupling_layers`` :class:`AffineCoupling` layers map them to ``z``.
    ``call`` returns ``-log p`` of each event's *scaled* features (the training loss);
    :meth:`log_density` gives ``log p`` in either space.

    Build with :meth:`adapt` (or use :class:`FlowScore`), which fits the scaling.

    Args:
        coupling_layers: number of affine coupling layers.
        hidden_units: widths of each coupling layer's hidden stack.
        bound: largest log-scale of one coupling layer.
        seed: seeds the initial weights.
        features, log_features: the input columns and which of them get log10.
    """

    def __init__(self, coupling_layers=6, hidden_units=(64, 64), bound=3.0, seed=0,
                 features=FEATURES, log_features=LOG_FEATURES, **kwargs):
        super().__init__(**kwargs)
        if int(coupling_layers) < 1:
            raise ValueError(f"coupling_layers must be >= 1, got {coupling_layers}")
        self.coupling_layers, self.bound = int(coupling_layers), float(bound)
        self.hidden_units = tuple(int(u) for u in hidden_units)
        self.seed = int(seed)
        self.features, self.log_features = tuple(features), tuple(log_features)
        if len(self.features) < 2:
            raise ValueError("a coupling flow needs at least 2 features")
        self.scaling = LogMinMaxScaling(self.features, self.log_features, name="scaling")
        self.couplings = [AffineCoupling(m, self.hidden_units, self.bound, seed=self.seed * 101 + i,
                                         name=f"coupling_{i + 1}")
                          for i, m in enumerate(_masks(len(self.features), self.coupling_layers))]

    def build(self, input_shape):
        d = len(self.features)
        if not self.scaling.built:
            self.scaling.build(input_shape)
        self.shift = self.add_weight(shape=(d,), initializer="zeros", trainable=False, name="shift")
        self.log_scale = self.add_weight(shape=(d,), initializer="zeros", trainable=False,
                                         name="log_scale")
        for layer in self.couplings:
            layer.build((None, d))

    def adapt(self, x):
        """Fit the scaling and the standardisation on raw SM training features ``x``."""
        if not self.built:
            self.build((None, len(self.features)))
        x = features_array(x, "sm_train", self.features, self.log_features)
        self.scaling.adapt(x)
        t = to_numpy(self.scaling(x))
        self.shift.assign(t.mean(axis=0))
        self.log_scale.assign(np.log(np.maximum(t.std(axis=0), EPS)))

    def forward(self, t):
        """``(z, log|det ∂z/∂t|)`` of scaled features ``t``."""
        z = (t - self.shift) * keras.ops.exp(-self.log_scale)
        log_det = -keras.ops.sum(self.log_scale) * keras.ops.ones_like(z[:, 0])
        for layer in self.couplings:
            z, step = layer(z)
            log_det = log_det + step
        return z, log_det

    def scaled_log_prob(self, t):
        """``log p(t)`` of scaled features ``t`` (per event)."""
        z, log_det = self.forward(t)
        return -0.5 * keras.ops.sum(keras.ops.square(z) + _LOG_2PI, axis=-1) + log_det

    def call(self, x, training=False):
        return -self.scaled_log_prob(self.scaling(x))

    def log_density(self, x, space="scaled", batch_size=DENSITY_CHUNK):
        """``log p`` of raw events ``x`` (n, d) as a numpy array, in ``space``."""
        check_space(space)
        x = np.asarray(x, dtype=np.float32)
        out = -chunked(self, x, batch_size)
        return out + scaling_log_jacobian(self.scaling, x) if space == "raw" else out

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "coupling_layers": self.coupling_layers,
                "hidden_units": list(self.hidden_units), "bound": self.bound, "seed": self.seed}


# ----------------------------------------------------------------------- Gaussian VAE

@keras.saving.register_keras_serializable(package="vaednn")
class GaussianVAE(DensityModel):
    """A VAE whose decoder predicts a mean and a log-variance per scaled feature.

    Per event, with ``t`` the scaled features, ``(μ_z, log σ_z²)`` the encoder output and
    ``(μ, log s²)`` the decoder's:

    * ``nll = ½ Σ_d [log 2π + log s²_d + (t_d - μ_d)² / s²_d]`` — a Gaussian likelihood, so
      each feature is measured in units of its own predicted spread;
    * ``kl = Σ_k -½ (1 + log σ_z² - μ_z² - σ_z²)`` — summed, not averaged, over the latent
      dimensions, so ``nll + kl`` is the negative ELBO.

    ``call`` returns ``nll + kl_weight·kl`` per event (``z`` sampled when training, ``z = μ_z``
    otherwise); with ``kl_weight = 1`` that is the negative ELBO. The decoder's log-variance
    is bounded below by ``min_log_var`` (softly), so a feature the SM reconstructs almost
    exactly cannot blow up the likelihood.

    Args:
        encoder_units, decoder_units: Dense + LeakyReLU widths.
        latent_dim: latent dimensions.
        kl_weight: coefficient of the KL term in the training loss (1: a true VAE).
        min_log_var: soft lower bound of the decoder's log-variance.
        seed: seeds initial weights and the sampling.
        features, log_features: the input columns and which of them get log10.
    """

    def __init__(self, encoder_units=(64, 32), latent_dim=8, decoder_units=(32, 64), kl_weight=1.0,
                 min_log_var=-9.0, seed=0, features=FEATURES, log_features=LOG_FEATURES, **kwargs):
        super().__init__(**kwargs)
        self.encoder_units = tuple(int(u) for u in encoder_units)
        self.decoder_units = tuple(int(u) for u in decoder_units)
        self.latent_dim, self.kl_weight = int(latent_dim), float(kl_weight)
        self.min_log_var, self.seed = float(min_log_var), int(seed)
        self.features, self.log_features = tuple(features), tuple(log_features)
        self.scaling = LogMinMaxScaling(self.features, self.log_features, name="scaling")
        self.encoder = Encoder(self.encoder_units, self.latent_dim, seed=self.seed, name="encoder")
        self.decoder = Decoder(self.decoder_units, 2 * len(self.features), "linear",
                               seed=self.seed, name="decoder")
        self.sampling = Sampling(seed=self.seed, name="sampling")

    def build(self, input_shape):
        if not self.scaling.built:
            self.scaling.build(input_shape)
        self.encoder.build((None, len(self.features)))
        self.decoder.build((None, self.latent_dim))

    def adapt(self, x):
        """Fit the scaling on raw SM training features ``x``."""
        if not self.built:
            self.build((None, len(self.features)))
        self.scaling.adapt(x)

    def decode(self, z):
        """``(μ, log s²)`` of the scaled features given latent vectors ``z``."""
        out = self.decoder(z)
        d = len(self.features)
        mean, raw = out[:, :d], out[:, d:]
        return mean, self.min_log_var + keras.ops.softplus(raw - self.min_log_var)

    def log_likelihood(self, t, z):
        """``log p(t | z)`` per event."""
        mean, log_var = self.decode(z)
        return -0.5 * keras.ops.sum(_LOG_2PI + log_var + keras.ops.square(t - mean)
                                    * keras.ops.exp(-log_var), axis=-1)

    def event_terms(self, x, training=False):
        """Per-event ``nll`` and ``kl`` (see the class docstring) of raw features ``x``."""
        t = self.scaling(x)
        z_mean, z_log_var = self.encoder(t)
        z = self.sampling((z_mean, z_log_var)) if training else z_mean
        kl = keras.ops.sum(-0.5 * (1.0 + z_log_var - keras.ops.square(z_mean)
                                   - keras.ops.exp(z_log_var)), axis=-1)
        return {"nll": -self.log_likelihood(t, z), "kl": kl}

    def call(self, x, training=False):
        terms = self.event_terms(x, training=training)
        return terms["nll"] + self.kl_weight * terms["kl"]

    def iwae(self, x, samples, seed=0):
        """The ``samples``-sample importance-weighted bound on ``-log p(t)`` (per event).

        ``log p(t) ≥ E[log (1/K) Σ_k p(t|z_k) p(z_k) / q(z_k|t)]``; ``K = 1`` is the ELBO and
        the bound tightens as ``K`` grows. The noise comes from ``seed``: the same call gives
        the same numbers.
        """
        if int(samples) < 1:
            raise ValueError(f"samples must be >= 1, got {samples}")
        t = self.scaling(x)
        z_mean, z_log_var = self.encoder(t)
        generator = keras.random.SeedGenerator(int(seed))
        log_w = []
        for _ in range(int(samples)):
            eps = keras.random.normal(keras.ops.shape(z_mean), seed=generator)
            z = z_mean + keras.ops.exp(0.5 * z_log_var) * eps
            log_prior = -0.5 * keras.ops.sum(keras.ops.square(z) + _LOG_2PI, axis=-1)
            log_q = -0.5 * keras.ops.sum(keras.ops.square(eps) + _LOG_2PI + z_log_var, axis=-1)
            log_w.append(self.log_likelihood(t, z) + log_prior - log_q)
        log_w = keras.ops.stack(log_w, axis=0)
        return -(keras.ops.logsumexp(log_w, axis=0) - math.log(int(samples)))

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "encoder_units": list(self.encoder_units),
                "decoder_units": list(self.decoder_units), "latent_dim": self.latent_dim,
                "kl_weight": self.kl_weight, "min_log_var": self.min_log_var, "seed": self.seed}


def train_density(model, x, sample_weight=None, validation=None, *, epochs=30, batch_size=512,
                  learning_rate=1e-3, patience=3, callbacks=None, verbose=0):
    """Adapt and train a :class:`RealNVP` or :class:`GaussianVAE` on raw SM events.

    Adam at ``learning_rate`` through :func:`vaednn.models.fitting.fit`, the loop of every
    model of the package: the events are reshuffled every epoch from the model's seed, and
    each loss is ``Σ w l / Σ |w|`` with the signed ``sample_weight``. With ``validation =
    x_val`` or ``(x_val, w_val)`` training stops after ``patience`` epochs without a lower
    validation loss and keeps the best epoch's weights.

    Args:
        callbacks: Keras callbacks, handed to the loop.
        verbose: the loop's progress bar (0: none).

    Returns:
        The ``keras.callbacks.History``.

    Raises:
        RuntimeError: the training loss became NaN or infinite (naming the model and epoch).
    """
    model.adapt(x)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return fitting.fit(model, x, sample_weight=sample_weight, batch_size=batch_size,
                       epochs=epochs, verbose=verbose, callbacks=callbacks,
                       validation_data=validation, patience=patience,
                       early_stopping=None if validation is None else "val_loss",
                       nan="raise")
