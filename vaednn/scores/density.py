"""Density models trained on SM events and their scores: :class:`GaussianVAE` and the
:class:`RealNVP` flow (Keras 3, ``keras.ops`` only, so every backend), :func:`train`, and
the scores :class:`GaussianVAEScore` and :class:`FlowScore`, evaluated in the ``"scaled"``
or the ``"raw"`` space (:func:`scaling_log_jacobian` turns one into the other).
"""

from __future__ import annotations

import copy
import functools
import math

import keras
import numpy as np

from vaednn.data import FEATURES, LOG_FEATURES
from vaednn.models import Decoder, Encoder, LogMinMaxScaling, Sampling
from vaednn.models.inputs import features_array
from vaednn.scores.base import CHUNK, AnomalyScore, checked_weights, in_chunks, to_numpy

__all__ = ["GaussianVAE", "RealNVP", "AffineCoupling", "train", "GaussianVAEScore",
           "FlowScore", "scaling_log_jacobian", "SPACES"]

_EPS = 1e-7
_LOG_2PI = math.log(2.0 * math.pi)
_SCORE_BATCH = 1 << 15
SPACES = ("scaled", "raw")


def _check_space(space):
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


class _Batches(keras.utils.PyDataset):
    """Mini-batches ``(x, w)``, reshuffled every epoch from a seeded generator.

    Keras' own array shuffling draws from the backend's global random state; this one
    depends on ``seed`` alone, so a seeded fit is repeatable on every backend. The weights
    travel in the target slot: Keras 3.15's TensorFlow adapter cannot feed ``(x, None, w)``
    from a ``PyDataset`` (it expects an optional, gets None).
    """

    def __init__(self, x, w, batch_size, seed=None, pad=True):
        super().__init__()
        self.x, self.w, self.batch_size, self.pad = x, w, int(batch_size), pad
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.order = np.arange(len(x))
        self.on_epoch_end()

    def __len__(self):
        return max(1, math.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, i):
        index = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        x, w = self.x[index], self.w[index]
        short = self.batch_size - len(index)
        if short > 0 and self.pad:
            # Zero-weight copies fill the last batch: the loss Σ w l / Σ |w| is unchanged,
            # and every step has one shape, so JAX compiles the training step once.
            x = np.concatenate([x, np.repeat(x[:1], short, axis=0)])
            w = np.concatenate([w, np.zeros(short, dtype=w.dtype)])
        return x, w

    def on_epoch_end(self):
        if self.rng is not None:
            self.order = self.rng.permutation(len(self.x))


def _weighted_mean(values, sample_weight):
    """``Σ w l / Σ |w|`` over a mini-batch (plain mean without weights)."""
    if sample_weight is None:
        return keras.ops.mean(values)
    w = keras.ops.reshape(keras.ops.cast(sample_weight, values.dtype), (-1,))
    return keras.ops.sum(w * values) / keras.ops.maximum(keras.ops.sum(keras.ops.abs(w)), _EPS)


class _EventLossModel(keras.Model):
    """A model whose ``call`` returns one loss per event; the loss is their weighted mean.

    Overriding ``compute_loss`` (not ``train_step``) keeps Keras' training step, so the
    model trains on every backend. There is no target, so event weights come either as
    ``fit(x, sample_weight=w)`` or in the target slot, ``fit(x, w)``, as :func:`train`
    feeds them; not both.
    """

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is not None and sample_weight is not None:
            raise ValueError(f"{self.name} has no target: give the event weights as y or as "
                             f"sample_weight, not both")
        return _weighted_mean(y_pred, y if y is not None else sample_weight)


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
class RealNVP(_EventLossModel):
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
        self.log_scale.assign(np.log(np.maximum(t.std(axis=0), _EPS)))

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

    def log_density(self, x, space="scaled", batch_size=CHUNK):
        """``log p`` of raw events ``x`` (n, d) as a numpy array, in ``space``."""
        _check_space(space)
        x = np.asarray(x, dtype=np.float32)
        out = -in_chunks(self, x, batch_size)
        return out + scaling_log_jacobian(self.scaling, x) if space == "raw" else out

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def get_config(self):
        return {**super().get_config(), "coupling_layers": self.coupling_layers,
                "hidden_units": list(self.hidden_units), "bound": self.bound, "seed": self.seed,
                "features": list(self.features), "log_features": list(self.log_features)}

    @classmethod
    def from_config(cls, config):
        return cls(**_scaling_from_config(dict(config)), **{
            k: v for k, v in config.items() if k not in ("features", "log_features")})


# ----------------------------------------------------------------------- Gaussian VAE

@keras.saving.register_keras_serializable(package="vaednn")
class GaussianVAE(_EventLossModel):
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
                "kl_weight": self.kl_weight, "min_log_var": self.min_log_var, "seed": self.seed,
                "features": list(self.features), "log_features": list(self.log_features)}

    @classmethod
    def from_config(cls, config):
        return cls(**_scaling_from_config(dict(config)), **{
            k: v for k, v in config.items() if k not in ("features", "log_features")})


def train(model, x, sample_weight=None, validation=None, *, epochs=30, batch_size=512,
          learning_rate=1e-3, patience=3, seed=0):
    """Adapt and train a :class:`RealNVP` or :class:`GaussianVAE` on raw SM events.

    Adam at ``learning_rate``; the events are reshuffled every epoch from ``seed``. With
    ``validation = (x_val, w_val)`` training stops after ``patience`` epochs without a
    lower validation loss and keeps the best epoch's weights.

    Returns:
        The ``keras.callbacks.History``.

    Raises:
        RuntimeError: the training loss became NaN or infinite.
    """
    x = np.asarray(x, dtype=np.float32)
    w = checked_weights(sample_weight, len(x))
    model.adapt(x)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    callbacks = [keras.callbacks.TerminateOnNaN()]
    val_batches = None
    if validation is not None:
        xv = np.asarray(validation[0], dtype=np.float32)
        val_batches = _Batches(xv, checked_weights(validation[1], len(xv), "w_val"), _SCORE_BATCH,
                               pad=False)
        callbacks.append(keras.callbacks.EarlyStopping(patience=patience,
                                                       restore_best_weights=True))
    # shuffle=False: _Batches shuffles, seeded; Keras would reorder its batches unseeded.
    history = model.fit(_Batches(x, w, batch_size, seed=seed), validation_data=val_batches,
                        epochs=epochs, callbacks=callbacks, verbose=0, shuffle=False)
    last = history.history["loss"][-1]
    if not math.isfinite(last):
        raise RuntimeError(f"{model.name}: the training loss became {last} at epoch "
                           f"{len(history.history['loss'])}; lower the learning rate")
    return history


# -------------------------------------------------------------------------- the scores

class _KerasScore(AnomalyScore):
    """Shared training of the backend-agnostic Keras scores (Adam, early stopping)."""

    def __init__(self, epochs, batch_size, learning_rate, patience, space, seed, hyperparameters):
        super().__init__(seed)
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.learning_rate, self.patience = float(learning_rate), int(patience)
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
        self.space = _check_space(space)
        self.hyperparameters = hyperparameters
        self.model = None
        self.history = None

    def _fit(self, x, w, val):
        self.model = self._new_model()
        self.history = train(self.model, x, w, val, epochs=self.epochs,
                             batch_size=self.batch_size, learning_rate=self.learning_rate,
                             patience=self.patience, seed=self.seed)

    def _batched(self, fn, x):
        return in_chunks(fn, x)

    def adopt(self, model):
        """Take a trained (e.g. loaded) ``model`` of this score's kind; returns ``self``."""
        if not isinstance(model, (RealNVP, GaussianVAE)) or model.name != self.name:
            raise ValueError(f"{self.name}: cannot adopt a {type(model).__name__} named "
                             f"{model.name!r}")
        self.model, self.fitted = model, True
        self.features, self.log_features = model.features, model.log_features
        return self

    def in_space(self, space):
        """The same trained model, its density evaluated in ``space`` (no retraining)."""
        other = copy.copy(self)
        other.space = _check_space(space)
        return other

    def _in_space(self, neg_log_p, x):
        if self.space == "raw":
            return neg_log_p - scaling_log_jacobian(self.model.scaling, x)
        return neg_log_p


class FlowScore(_KerasScore):
    """``-log p`` of a :class:`RealNVP` flow trained on the SM events.

    Args:
        coupling_layers, hidden_units, bound: the flow (see :class:`RealNVP`).
        epochs, batch_size, learning_rate, patience: Adam training, early stopping on the
            validation loss.
        space: ``"raw"`` (default) or ``"scaled"``: where the density is evaluated
            (:mod:`vaednn.scores`).
        seed: seeds initial weights and shuffling.
    """

    name = "flow"

    def __init__(self, coupling_layers=6, hidden_units=(64, 64), bound=3.0, epochs=15,
                 batch_size=1024, learning_rate=2e-3, patience=3, space="raw", seed=0):
        super().__init__(epochs, batch_size, learning_rate, patience, space, seed,
                         dict(coupling_layers=coupling_layers, hidden_units=hidden_units,
                              bound=bound))

    def _new_model(self):
        return RealNVP(seed=self.seed, name="flow", features=self.features,
                       log_features=self.log_features, **self.hyperparameters)

    def _score(self, x):
        return self._in_space(self._batched(self.model, x), x)


class GaussianVAEScore(_KerasScore):
    """The negative ELBO (or IWAE bound) of a :class:`GaussianVAE` trained on SM events.

    Args:
        encoder_units, latent_dim, decoder_units, kl_weight, min_log_var: the model (see
            :class:`GaussianVAE`).
        iwae_samples: 0 scores with the ELBO at ``z = μ_z`` (deterministic, one pass);
            ``K ≥ 1`` with the ``K``-sample importance-weighted bound, seeded.
        epochs, batch_size, learning_rate, patience: Adam training, early stopping on the
            validation loss.
        space: ``"raw"`` (default) or ``"scaled"`` (:mod:`vaednn.scores`).
        seed: seeds initial weights, sampling and shuffling.
    """

    name = "gaussian_vae"

    def __init__(self, encoder_units=(64, 32), latent_dim=8, decoder_units=(32, 64),
                 kl_weight=1.0, min_log_var=-9.0, iwae_samples=0, epochs=30, batch_size=256,
                 learning_rate=1e-3, patience=3, space="raw", seed=0):
        super().__init__(epochs, batch_size, learning_rate, patience, space, seed,
                         dict(encoder_units=encoder_units, latent_dim=latent_dim,
                              decoder_units=decoder_units, kl_weight=kl_weight,
                              min_log_var=min_log_var))
        if int(iwae_samples) < 0:
            raise ValueError(f"iwae_samples must be >= 0, got {iwae_samples}")
        self.iwae_samples = int(iwae_samples)

    def _new_model(self):
        return GaussianVAE(seed=self.seed, name="gaussian_vae", features=self.features,
                           log_features=self.log_features, **self.hyperparameters)

    def _score(self, x):
        if self.iwae_samples:
            fn = functools.partial(self.model.iwae, samples=self.iwae_samples, seed=self.seed)
        else:
            def fn(batch):
                terms = self.model.event_terms(batch)
                return terms["nll"] + terms["kl"]
        return self._in_space(self._batched(fn, x), x)

