"""SM-only anomaly scores: trained on SM events alone, they map events to one number.

Every score has the same interface: build it by name with :func:`make`, train it with
``fit(x_sm, sample_weight=None, x_val=None, w_val=None, features=None, log_features=None)``
on raw SM features, then ``score(x)`` gives one float per event, larger meaning more
anomalous. The variables are the data's, as for :func:`vaednn.models.build`: a DataFrame's
columns (or the ``features`` among them), an array's ``features`` (an array of 14 columns
without names is read as :data:`vaednn.data.FEATURES`); ``log_features`` default to those of
them in :data:`vaednn.data.LOG_FEATURES`. A fitted score records them (``score.features``,
``score.log_features``; a Keras score's ``.keras`` file holds them in its config) and scores
a DataFrame by column name; one lacking a recorded variable is an error naming it. A score
object is also a callable of the raw features, so it plugs into :func:`vaednn.compare.score`
and ``compare`` as is.

=========================  ==================================================================
name (:data:`SCORES`)      score
=========================  ==================================================================
``vae_reco``               the original analysis' VAE (``models.build("vae")``), its
                           per-event reconstruction MSE
``vae_kl``                 the same VAE, its per-event KL term
``vae_sum``                the same VAE, its training loss ``reco_weight·reco + kl_weight·kl``
``vae_feature_errors``     the same VAE, each feature's squared error divided by its SM
                           median (or interquartile scale), averaged over features
``gaussian_vae``           :class:`GaussianVAE`: the decoder predicts a mean and a log-variance
                           per feature; the negative ELBO (or an importance-weighted bound)
``flow``                   :class:`RealNVP`: affine coupling layers; the negative
                           log-density
``isolation_forest``       scikit-learn's IsolationForest on the scaled inputs
``gmm``                    a scikit-learn Gaussian mixture's negative log-likelihood on the
                           scaled inputs
=========================  ==================================================================

Every model sees the inputs through :class:`vaednn.models.LogMinMaxScaling` (log10 of the
momenta and masses, min-max on the SM training events), and the Keras models carry that
layer, so a ``.keras`` file holds its preprocessing. :class:`GaussianVAE` and
:class:`RealNVP` use ``keras.ops`` and ``keras.random`` only and override ``compute_loss``,
so they train on every Keras backend (TensorFlow, JAX). The ``vae_*`` scores wrap
:mod:`vaednn.models`, which trains on both backends too.

Densities live in a space: ``"scaled"`` (the log10 + min-max features the model sees) or
``"raw"`` (the ntuple's features, GeV and radians). They differ by the log-Jacobian of the
scaling, ``-Σ_f log range_f - Σ_{f log} log(x_f ln 10)``, which makes high-momentum events
less dense in raw space: the two spaces rank events differently.

:data:`SCORES` is the package's one registry of scores and :data:`DEFAULT` its one default:
:class:`vaednn.Detector` trains ``DEFAULT`` when given no model, scores a density model
with the model's own entry and a plain VAE with the entry ``vae_<term>`` of the term it is
asked for (``Detector("vae", score="kl")`` is ``make("vae_kl")`` on the VAE it trained).

The default score (:data:`DEFAULT`) is the Gaussian VAE's negative ELBO in raw space: in
the study of notebook 07 (binned fits of cW, cqq1, cqq3, cHq3 on the default generated
samples, the score chosen on the validation split) it gave the narrowest intervals of the
SM-only scores, the flow's raw-space density a close second. Most of the edge of these two
over the scaled-space densities is the Jacobian term above, a sum of log momenta and masses:
read them as "SM density of the events as measured", which is sparse where the energy is
high.

Event weights (``sample_weight``, signed as an NLO SM sample's are): the Keras scores (and
the ``vae_*`` scores, through :mod:`vaednn.models`) minimise ``Σ w_i l_i / Σ |w_i|`` per
mini-batch, signs kept. Why signed and not ``|w|``: the signed sum estimates the SM
expectation of the loss, ``∫ p_SM(x) l(x) dx``, without bias (the negative events cancel
the phase space the positive ones over-count), while ``|w|`` would fit the density of
``|dσ|``, another distribution (on a toy whose sample holds a component twice, at +1 and
-1, a flow trained on the signed weights is 0.18 nats closer to the net density than one
trained on ``|w|``; ``tests/test_any_features.py``). A negative weight therefore pulls that
event's density down
(its loss up); with a net-positive sample the expected loss is bounded below, but a very
flexible model can overfit single negative events: watch the validation loss. The
normalisation ``Σ |w|`` only sets the scale of the loss. A training (or validation) set
whose net SM weight ``Σ w`` is ``<= 0`` has no SM density to learn, and is refused with an
error naming it (:func:`check_sm_weights`). The scikit-learn scores cannot take negative
weights: they use the magnitudes (:data:`SKLEARN_WEIGHTS`); IsolationForest gets ``|w|`` as
``sample_weight``, and the Gaussian mixture, which has no ``sample_weight``, is fitted on a
seeded resample with probabilities ∝ ``|w|``. The generated SM samples have equal weights.

>>> sorted(SCORES)[:3]
['flow', 'gaussian_vae', 'gmm']
"""

from __future__ import annotations

import copy
import functools
import json
import math
from collections.abc import Mapping

import keras
import numpy as np
import pandas as pd

from vaednn import models, plotting
from vaednn.data import FEATURES, LOG_FEATURES
from vaednn.models import Decoder, Encoder, LogMinMaxScaling, Sampling
from vaednn.models.inputs import feature_names, features_array

__all__ = [
    "SCORES",
    "DEFAULT",
    "make",
    "AnomalyScore",
    "VAEScore",
    "FeatureErrorScore",
    "GaussianVAEScore",
    "FlowScore",
    "IsolationForestScore",
    "GaussianMixtureScore",
    "GaussianVAE",
    "RealNVP",
    "AffineCoupling",
    "SKLEARN_WEIGHTS",
    "check_sm_weights",
    "scaling_log_jacobian",
    "train",
    "LABELS",
    "fit_seeds",
    "log_energy_sum",
    "seed_study",
    "seed_tables",
    "width_ratios",
    "plot_width_ratios",
]

#: The package's default anomaly score (see the module docstring).
DEFAULT = "gaussian_vae"

#: What the scikit-learn scores (IsolationForest, Gaussian mixture) do with signed SM
#: weights: scikit-learn refuses negative ``sample_weight``, so they are fitted with the
#: magnitudes ``|w|`` (the density of ``|dσ|``, an approximation where negative weights are
#: rare); the Keras scores keep the signs (module docstring).
SKLEARN_WEIGHTS = "magnitude"

_EPS = 1e-7
_LOG_2PI = math.log(2.0 * math.pi)
_SCORE_BATCH = 1 << 15
_CHUNK = 1 << 13
SPACES = ("scaled", "raw")


def _in_chunks(fn, x, size=_CHUNK):
    """``fn`` over chunks of ``size`` events of ``x``, concatenated, as float64 numpy.

    The last chunk is padded (its first event repeated) and the padding's outputs dropped,
    so ``fn`` always sees one shape: on JAX every eager op compiles once per input shape,
    and samples of many sizes would otherwise recompile the whole model for each.
    """
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return _to_numpy(fn(x)).astype(np.float64)
    out = []
    for i in range(0, len(x), size):
        chunk = x[i:i + size]
        n = len(chunk)
        if n < size:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], size - n, axis=0)])
        out.append(_to_numpy(fn(chunk))[:n])
    return np.concatenate(out).astype(np.float64)


def _check_space(space):
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    return space


def check_sm_weights(w, what="sample_weight") -> float:
    """The net weight ``Σ w`` of SM events with signed weights ``w``, or a ValueError.

    Signed (NLO) SM weights are accepted; a set whose net weight is ``<= 0`` has no SM yield,
    so no density, quantile or loss of it means anything, and is refused by name.

    >>> check_sm_weights([1.0, -0.5, 1.0])
    1.5
    >>> check_sm_weights([1.0, -2.0], "x_sm weights")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x_sm weights: the net SM weight Σw = -1 is <= 0 (Σ|w| = 3, 1 of 2 weights ...
    """
    w = np.asarray(w, dtype=np.float64).reshape(-1)
    net = float(w.sum())
    if not net > 0:
        raise ValueError(f"{what}: the net SM weight Σw = {net:.6g} is <= 0 (Σ|w| = "
                         f"{float(np.abs(w).sum()):.6g}, {int((w < 0).sum())} of {len(w)} weights "
                         f"negative); a sample with no net SM yield cannot be trained on or "
                         f"define a quantile")
    return net


def _weights(w, n, what="sample_weight"):
    if w is None:
        return np.ones(n, dtype=np.float32)
    w = np.asarray(w, dtype=np.float32).reshape(-1)
    if len(w) != n:
        raise ValueError(f"{what}: {len(w)} weights for {n} events")
    if not np.isfinite(w).all():
        raise ValueError(f"{what}: {int((~np.isfinite(w)).sum())} non-finite weights")
    if not np.abs(w).sum() > 0:
        raise ValueError(f"{what}: every weight is zero")
    check_sm_weights(w, what)
    return w


def _to_numpy(tensor):
    if isinstance(tensor, keras.Variable):
        # On JAX, converting the Variable itself goes through numpy-2-deprecated __array__.
        tensor = tensor.value
    return np.asarray(keras.ops.convert_to_numpy(tensor))


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
    log_range = np.log(_to_numpy(scaling.data_range).astype(np.float64))
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
        t = _to_numpy(self.scaling(x))
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

    def log_density(self, x, space="scaled", batch_size=_CHUNK):
        """``log p`` of raw events ``x`` (n, d) as a numpy array, in ``space``."""
        _check_space(space)
        x = np.asarray(x, dtype=np.float32)
        out = -_in_chunks(self, x, batch_size)
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
    w = _weights(sample_weight, len(x))
    model.adapt(x)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    callbacks = [keras.callbacks.TerminateOnNaN()]
    val_batches = None
    if validation is not None:
        xv = np.asarray(validation[0], dtype=np.float32)
        val_batches = _Batches(xv, _weights(validation[1], len(xv), "w_val"), _SCORE_BATCH,
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

class AnomalyScore:
    """An SM-only score: ``fit`` on SM events, then ``score`` any events (higher = more
    anomalous). Calling the object is ``score``.

    Args:
        seed: seeds everything random in ``fit`` (initial weights, shuffling, sampling).
    """

    name = "anomaly score"
    #: The variables it reads and which of them get log10; set by ``fit`` (None before).
    features = log_features = None

    def __init__(self, seed=0):
        self.seed = int(seed)
        self.fitted = False

    def fit(self, x_sm, sample_weight=None, x_val=None, w_val=None, *, features=None,
            log_features=None):
        """Train on raw SM features ``x_sm``; returns ``self``.

        Args:
            x_sm: raw SM training features: a DataFrame (its columns are the variables) or
                an array (columns in ``features`` order).
            sample_weight: per-event weights, signed (see the module docstring); their net
                sum must be > 0.
            x_val, w_val: SM validation events and weights; the Keras scores stop early on
                their loss and keep the best epoch's weights. The scikit-learn scores, which
                do not iterate, do not use them.
            features, log_features: the variables, as for :func:`vaednn.models.build`
                (default: a DataFrame's columns; those of them in ``LOG_FEATURES`` get log10).
        """
        names, logs = feature_names(x_sm, features, log_features)
        x = features_array(x_sm, "x_sm", names, logs)
        w = _weights(sample_weight, len(x))
        if x_val is None and w_val is not None:
            raise ValueError("w_val given without x_val")
        val = None
        if x_val is not None:
            xv = features_array(x_val, "x_val", names, logs)
            val = (xv, _weights(w_val, len(xv), "w_val"))
        self.features, self.log_features = names, logs
        self._fit(x, w, val)
        self.fitted = True
        return self

    def score(self, x) -> np.ndarray:
        """One float64 per event of raw features ``x``, larger meaning more anomalous."""
        if not self.fitted:
            raise RuntimeError(f"{self.name}: call fit(x_sm) before score(x)")
        x = features_array(x, "x", self.features, self.log_features)
        values = np.asarray(self._score(x), dtype=np.float64).reshape(-1)
        if not np.isfinite(values).all():
            raise ValueError(f"{self.name}: {int((~np.isfinite(values)).sum())} non-finite scores")
        return values

    def __call__(self, features):
        return self.score(features)

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r} seed={self.seed} fitted={self.fitted}>"


class VAEScore(AnomalyScore):
    """A term of a :mod:`vaednn.models` VAE's loss, the original analysis' anomaly score.

    Args:
        term: ``"reco"`` (reconstruction MSE), ``"kl"`` or ``"sum"`` (the training loss
            ``reco_weight·reco + kl_weight·kl``).
        model: the :data:`vaednn.models.MODEL_NAMES` plain VAE to train (default the seed's).
        epochs: training epochs (early stopping on the validation loss if ``x_val`` given).
        patience: epochs without improvement before stopping.
        seed: seeds the model.
        **hyperparameters: overrides of ``vaednn.models.DEFAULTS[model]`` (e.g.
            ``latent_dim=8, kl_weight=0.1``).
    """

    #: The loss terms it can score; the first, the reconstruction MSE, is the default.
    TERMS = ("reco", "kl", "sum")

    def __init__(self, term=TERMS[0], model="vae", epochs=20, patience=5, seed=0,
                 **hyperparameters):
        super().__init__(seed)
        if term not in self.TERMS:
            raise ValueError(f"term must be one of {self.TERMS}, got {term!r}")
        if model not in models.MODEL_NAMES or model.startswith("vae_dnn"):
            raise ValueError(f"model must be a plain VAE of vaednn.models, got {model!r}")
        unknown = set(hyperparameters) - set(models.DEFAULTS[model])
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)} for {model!r}; valid: "
                             f"{sorted(models.DEFAULTS[model])}")
        self.term, self.model_name = term, model
        self.epochs, self.patience = int(epochs), int(patience)
        self.hyperparameters = hyperparameters
        self.name = f"vae_{term}"
        self.model = None

    def _fit(self, x, w, val):
        model = models.build(self.model_name, x, seed=self.seed, features=self.features,
                             log_features=self.log_features, **self.hyperparameters)
        model.fit(x, **self._fit_options(w, val))
        self.adopt(model, x)

    def _fit_options(self, w, val):
        return dict(sample_weight=w, epochs=self.epochs, verbose=0, validation_data=val,
                    early_stopping="val_loss" if val else None, patience=self.patience)

    def adopt(self, model, x_sm=None):
        """Take a trained VAE ``model`` as this score's; returns ``self``.

        Lets one VAE serve several scores (:func:`fit_seeds`) and lets
        :class:`vaednn.detector.Detector` score the VAE it trained (or loaded) through this
        registry. ``x_sm``: the raw SM training events, as a float32 array in the model's
        feature order; only a score with an SM reference (:class:`FeatureErrorScore`) reads
        them.
        """
        self.model = model
        self.features, self.log_features = tuple(model.features), tuple(model.log_features)
        self.fitted = True
        return self

    def _score(self, x):
        losses = models.event_losses(self.model, x)
        if self.term == "sum":
            return (self.model.reco_weight * losses["reco"].to_numpy()
                    + self.model.kl_weight * losses["kl"].to_numpy())
        return losses[self.term].to_numpy()


class FeatureErrorScore(VAEScore):
    """The VAE's per-feature squared errors, each divided by its SM reference, averaged.

    The reference of a feature is the median (``reference="median"``) or the squared
    interquartile range (``"scale"``) of its squared error on the SM training events, each
    event counted once: a feature the VAE reconstructs well then weighs as much as one it
    reconstructs badly, which the plain MSE does not do.
    """

    REFERENCES = ("median", "scale")

    def __init__(self, reference="median", **kwargs):
        super().__init__(term="reco", **kwargs)
        if reference not in self.REFERENCES:
            raise ValueError(f"reference must be one of {self.REFERENCES}, got {reference!r}")
        self.reference = reference
        self.name = "vae_feature_errors"

    def adopt(self, model, x_sm=None):
        """As :meth:`VAEScore.adopt`; ``x_sm`` is required: it sets the SM reference."""
        if x_sm is None:
            raise ValueError("vae_feature_errors: adopt needs the SM training events x_sm, "
                             "which set each feature's reference")
        super().adopt(model, x_sm)
        errors = models.feature_errors(self.model, x_sm).to_numpy(np.float64)
        if self.reference == "median":
            ref = np.median(errors, axis=0)
        else:
            q1, q3 = np.percentile(errors, [25, 75], axis=0)
            ref = (q3 - q1) ** 2
        zero = [f for f, r in zip(self.model.features, ref) if not r > 0]
        if zero:
            raise ValueError(f"vae_feature_errors: the SM reference ({self.reference}) of "
                             f"feature(s) {zero} is zero; they cannot be standardised")
        self.reference_values = ref
        return self

    def _score(self, x):
        errors = models.feature_errors(self.model, x).to_numpy(np.float64)
        return (errors / self.reference_values).mean(axis=1)


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
        return _in_chunks(fn, x)

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
        space: ``"raw"`` (default) or ``"scaled"``: where the density is evaluated (module
            docstring).
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
        space: ``"raw"`` (default) or ``"scaled"`` (module docstring).
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


def _scaled(scaling, x):
    return _in_chunks(scaling, x)


def _magnitudes(w):
    """The weights a scikit-learn model is fitted with (:data:`SKLEARN_WEIGHTS`)."""
    return np.abs(np.asarray(w, dtype=np.float64))


class IsolationForestScore(AnomalyScore):
    """scikit-learn's IsolationForest on the log10 + min-max scaled features.

    The package's one IsolationForest: ``make("isolation_forest")`` builds it and
    :class:`vaednn.baselines.IsolationForestScore` is this class. The score is
    ``-score_samples``: short isolation paths (easy to isolate) score high. Signed event
    weights enter as their magnitudes (:data:`SKLEARN_WEIGHTS`); without weights every
    event has weight 1, passed to scikit-learn as such (its forest differs from the one it
    grows with ``sample_weight=None``).

    Args:
        n_estimators, max_samples, max_features: as ``sklearn.ensemble.IsolationForest``.
        seed: its ``random_state``.
    """

    name = "isolation_forest"
    #: Its row name in comparison tables (:data:`LABELS`).
    label = "IsolationForest (unsupervised)"

    def __init__(self, n_estimators=200, max_samples="auto", max_features=1.0, seed=0):
        super().__init__(seed)
        self.parameters = dict(n_estimators=int(n_estimators), max_samples=max_samples,
                               max_features=max_features)

    def _fit(self, x, w, val):
        from sklearn.ensemble import IsolationForest

        self.scaling = LogMinMaxScaling(self.features, self.log_features, name="scaling")
        self.scaling.adapt(x)
        self.model = IsolationForest(random_state=self.seed, **self.parameters)
        self.model.fit(_scaled(self.scaling, x), sample_weight=_magnitudes(w))

    def _score(self, x):
        return -self.model.score_samples(_scaled(self.scaling, x))


class GaussianMixtureScore(AnomalyScore):
    """Negative log-likelihood of a scikit-learn Gaussian mixture on the scaled features.

    Event weights are honoured by fitting on a seeded resample (as many events, drawn with
    probabilities ∝ ``|w|``: signed weights enter as magnitudes, :data:`SKLEARN_WEIGHTS`);
    equal weights fit the events as they are.

    Args:
        n_components, covariance_type: as ``sklearn.mixture.GaussianMixture``.
        seed: its ``random_state`` and the resampling.
    """

    name = "gmm"

    def __init__(self, n_components=8, covariance_type="full", seed=0):
        super().__init__(seed)
        self.parameters = dict(n_components=int(n_components), covariance_type=covariance_type)

    def _fit(self, x, w, val):
        from sklearn.mixture import GaussianMixture

        self.scaling = LogMinMaxScaling(self.features, self.log_features, name="scaling")
        self.scaling.adapt(x)
        xs = _scaled(self.scaling, x)
        w = _magnitudes(w)
        if not np.allclose(w, w[0]):
            index = np.random.default_rng(self.seed).choice(len(xs), len(xs), p=w / w.sum())
            xs = xs[index]
        self.model = GaussianMixture(random_state=self.seed, **self.parameters).fit(xs)

    def _score(self, x):
        return -self.model.score_samples(_scaled(self.scaling, x))


#: The package's one score registry: name -> factory taking ``seed=`` and the score's
#: hyperparameters. :func:`make` builds from it, :class:`vaednn.detector.Detector` scores a
#: VAE with its ``vae_<term>`` entries (:attr:`VAEScore.TERMS`) and a density model with
#: the model's own entry, and :mod:`vaednn.baselines` re-exports its IsolationForest.
SCORES = {
    "vae_reco": functools.partial(VAEScore, term="reco"),
    "vae_kl": functools.partial(VAEScore, term="kl"),
    "vae_sum": functools.partial(VAEScore, term="sum"),
    "vae_feature_errors": FeatureErrorScore,
    "gaussian_vae": GaussianVAEScore,
    "flow": FlowScore,
    "isolation_forest": IsolationForestScore,
    "gmm": GaussianMixtureScore,
}


def make(name: str, seed: int = 0, **hyperparameters) -> AnomalyScore:
    """A new, untrained score ``name`` (one of :data:`SCORES`).

    >>> make("gmm", seed=1, n_components=4)
    <GaussianMixtureScore 'gmm' seed=1 fitted=False>
    """
    if name not in SCORES:
        raise ValueError(f"unknown anomaly score {name!r}; choose one of {sorted(SCORES)}")
    return SCORES[name](seed=seed, **hyperparameters)


# --------------------------------------------------------------------------- seed spreads

#: Score name -> its row name in the results table (``figures/results.csv``).
LABELS = {
    "vae_reco": "VAE reco loss (SM-only)",
    "vae_kl": "VAE KL term (SM-only)",
    "vae_sum": "VAE loss (SM-only)",
    "vae_feature_errors": "VAE feature errors (SM-only)",
    "gaussian_vae": "Gaussian VAE (SM-only)",
    "flow": "flow (SM-only)",
    "isolation_forest": IsolationForestScore.label,
    "gmm": "Gaussian mixture (SM-only)",
}


def fit_seeds(scores: Mapping[str, dict], x_sm, seeds, *, sample_weight=None, x_val=None,
              w_val=None, features=None, log_features=None) -> dict[str, list[AnomalyScore]]:
    """Train every score once per seed on the same SM events.

    The ``vae_*`` scores of one VAE configuration (the same ``model``, epochs and
    hyperparameters) share their VAEs: the seeds train together as one
    :func:`vaednn.models.ensemble` (vmapped on JAX), and reco, KL, sum and the feature
    errors are read off the same members.

    Args:
        scores: score name (:data:`SCORES`) -> its hyperparameters (as for :func:`make`).
        x_sm, sample_weight, x_val, w_val, features, log_features: as
            :meth:`AnomalyScore.fit`.
        seeds: distinct seeds; member ``i`` of every score has ``seeds[i]``.

    Returns:
        score name -> one fitted score per seed.
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    out = {name: [make(name, seed=s, **dict(hp)) for s in seeds] for name, hp in scores.items()}
    variables = dict(zip(("features", "log_features"),
                         feature_names(x_sm, features, log_features)))
    x = features_array(x_sm, "x_sm", *variables.values())
    w = _weights(sample_weight, len(x))
    val = None if x_val is None else (features_array(x_val, "x_val", *variables.values()),
                                      _weights(w_val, len(x_val), "w_val"))
    shared = {}
    for name, members in out.items():
        if isinstance(members[0], VAEScore):
            first = members[0]
            key = json.dumps([first.model_name, first.epochs, first.patience,
                              first.hyperparameters], sort_keys=True, default=str)
            shared.setdefault(key, []).append(name)
        else:
            for member in members:
                member.fit(x, w, *(val or (None, None)), **variables)
    for names in shared.values():
        first = out[names[0]][0]
        group = models.ensemble(first.model_name, x, seeds, **variables,
                                **first.hyperparameters)
        group.fit(x, **first._fit_options(w, val))
        for name in names:
            for member, model in zip(out[name], group.models):
                member.adopt(model, x)
    return out


def log_energy_sum(x, features=None, log_features=None) -> np.ndarray:
    """``Σ log x_f`` over the energy-like variables: the log features of the data.

    A fixed variable, trained on nothing: up to a constant it is minus the log-Jacobian of
    the log10 scaling (:func:`scaling_log_jacobian`), the term that turns a density of the
    scaled features into a density of the raw ones. A raw-space density score that does no
    better than this variable has learnt nothing beyond "energetic events are rare".

    Args:
        x: raw events, a DataFrame or an array (columns in ``features`` order).
        features: the variables of ``x``'s columns (default: a DataFrame's columns; an
            array of 14 columns is read as :data:`vaednn.data.FEATURES`).
        log_features: the energy-like variables summed (default: those of the variables in
            :data:`vaednn.data.LOG_FEATURES`, so momenta and masses); give them for an
            analysis whose variables have other names, e.g. with ``functools.partial``.

    >>> frame = pd.DataFrame({"ptl1": [10.0], "etal1": [0.5], "mjj": [100.0]})
    >>> bool(np.isclose(log_energy_sum(frame)[0], np.log(10.0 * 100.0)))  # ptl1 and mjj
    True
    """
    if log_features is None and features is None and isinstance(x, pd.DataFrame):
        # Any other column (an event weight, a run number) is not an input: only the
        # energy-like ones are read.
        log_features = tuple(str(c) for c in x.columns if c in LOG_FEATURES)
        names, variables = log_features, [str(c) for c in x.columns]
    else:
        names, log_features = feature_names(x, features, log_features)
        variables = list(names)
    if not log_features:
        raise ValueError(f"log_energy_sum: none of the variables {variables} is energy-like; "
                         f"pass log_features=[...] (the momenta and masses)")
    if isinstance(x, pd.DataFrame):
        missing = [f for f in log_features if f not in x.columns]
        if missing:
            raise ValueError(f"log_energy_sum: DataFrame lacks the column(s) {missing}")
        values = x.loc[:, list(log_features)].to_numpy(np.float64)
    else:
        values = np.asarray(x, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ValueError(f"log_energy_sum: expected (events, {len(names)}) features "
                             f"({', '.join(names)}), got shape {values.shape}")
        values = values[:, [names.index(f) for f in log_features]]
    if not (values > 0).all():
        bad = {f: int(c) for f, c in zip(log_features, (values <= 0).sum(axis=0)) if c}
        raise ValueError(f"log_energy_sum: momenta and masses must be > 0 (count <= 0 per "
                         f"variable: {bad})")
    return np.log(values).sum(axis=1)


def seed_study(scorers: Mapping, data, *, operators=None, c: float = 1.0) -> pd.DataFrame:
    """Figures of merit of every seed of every score, on held-out events.

    Args:
        scorers: row name -> a list of fitted scores (one per seed, from :func:`fit_seeds`)
            or one fixed scorer (a callable of the raw features, e.g. :func:`log_energy_sum`).
        data: :class:`vaednn.compare.EvaluationData`; choices on validation, numbers from
            test.
        operators: which operators (default all of ``data``).
        c: Wilson coefficient of the BSM mixture (AUC, cuts).

    Returns:
        A tidy frame: one row per model, seed (NaN for a fixed scorer) and operator, with
        the columns of :func:`vaednn.compare.metrics`.
    """
    from vaednn import compare

    rows = []
    for label, members in scorers.items():
        members = list(members) if isinstance(members, (list, tuple)) else [members]
        for member in members:
            tables = compare.compare({label: member}, data, c=c, operators=operators,
                                     references=False)
            for op, table in tables.items():
                rows.append({"operator": op, "model": label,
                             "seed": getattr(member, "seed", np.nan),
                             **table.loc[label].to_dict()})
    return pd.DataFrame(rows)


def seed_tables(study: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """:func:`seed_study` rows averaged over seeds, one :func:`vaednn.compare.compare`-like
    table per operator (index ``model``): the mean of every number, ``AUC_std``
    (:func:`vaednn.compare.seed_spread`: NaN for one seed) and ``n_seeds``; flags are true
    if any seed's is."""
    from vaednn import compare

    tables = {}
    for op, rows in study.groupby("operator", sort=False):
        out = {}
        for label, group in rows.groupby("model", sort=False):
            numbers = group.select_dtypes("number").drop(columns="seed")
            row = numbers.mean().to_dict()
            for flag in ("falls_back", "falls_back_syst"):
                if flag in group:
                    row[flag] = bool(group[flag].astype(bool).any())
            row.update(score=group["score"].iloc[0], binning="; ".join(
                sorted(set(group.get("binning", pd.Series([""])).astype(str)) - {""})),
                AUC_std=compare.seed_spread(group["AUC"]),
                n_seeds=len(group))
            out[label] = row
        tables[op] = pd.DataFrame.from_dict(out, orient="index").rename_axis("model")
    return tables


def width_ratios(study: pd.DataFrame, references: Mapping[str, pd.DataFrame],
                 baseline: str = "counting") -> pd.DataFrame:
    """95 % interval widths relative to ``baseline``, mean and spread over seeds.

    Args:
        study: from :func:`seed_study`.
        references: operator -> :func:`vaednn.compare.compare` table holding ``baseline``
            and any reference rows (mjj fit, supervised models); they enter with one seed.
        baseline: the row every width is divided by.

    Returns:
        One row per operator and model: ``ratio`` and ``ratio_syst`` (without and with the
        background uncertainty, seed means), ``ratio_std`` and ``ratio_syst_std`` (seed
        spreads, :func:`vaednn.compare.seed_spread`: NaN for one seed), ``AUC``,
        ``AUC_std``, ``n_seeds``.
    """
    from vaednn import compare

    rows = []
    for op, table in references.items():
        if baseline not in table.index:
            raise ValueError(f"references[{op!r}] has no {baseline!r} row")
        base = table.loc[baseline]
        width = {"": base["c_hi_95"] - base["c_lo_95"],
                 "_syst": base["c_hi_95_syst"] - base["c_lo_95_syst"]}
        per_seed = [study[study["operator"] == op]]
        per_seed.append(table.reset_index().assign(operator=op, seed=np.nan))
        for label, group in pd.concat(per_seed, ignore_index=True).groupby("model", sort=False):
            row = {"operator": op, "model": label, "n_seeds": len(group),
                   "AUC": group["AUC"].mean(),
                   "AUC_std": compare.seed_spread(group["AUC"])}
            for suffix, w in width.items():
                ratio = (group[f"c_hi_95{suffix}"] - group[f"c_lo_95{suffix}"]) / w
                row[f"ratio{suffix}"] = ratio.mean()
                row[f"ratio{suffix}_std"] = compare.seed_spread(ratio)
            rows.append(row)
    return pd.DataFrame(rows)


@plotting.plot_helper
def plot_width_ratios(ratios: pd.DataFrame, column: str = "ratio", ax=None):
    """Interval width relative to counting per model and operator, with seed error bars.

    One marker per model, the operators side by side on the x axis; returns the axes.
    """
    fig, ax = plotting.new_axes(ax, figsize=(11, 4.8))
    operators = list(dict.fromkeys(ratios["operator"]))
    labels = list(dict.fromkeys(ratios["model"]))
    step = 0.8 / max(len(labels), 1)
    for index, label in enumerate(labels):
        rows = ratios[ratios["model"] == label].set_index("operator").reindex(operators)
        x = np.arange(len(operators)) - 0.4 + step * (index + 0.5)
        # Colours repeat after a while; the marker tells those models apart.
        marker = "osD^vPX"[index // len(plotting.MODEL_COLORS) % 7]
        ax.errorbar(x, rows[column], yerr=rows[f"{column}_std"], fmt=marker, capsize=2,
                    color=plotting.model_color(index), label=label)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(operators)), operators)
    ax.set_ylabel("95% CL interval width / counting")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    plotting.experiment_label(ax)
    return ax
