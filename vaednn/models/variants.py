"""The model variants (VAE, flat VAE, VAE+DNN, separate VAE+DNN) and their seed
hyperparameters (:data:`DEFAULTS`); :mod:`vaednn.models.building` builds them by name.

See :mod:`vaednn.models` for the table of variants and the loss terms.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import ops

from vaednn.data import FEATURES, LOG_FEATURES
from vaednn.files import atomic_path
from vaednn.models import fitting
from vaednn.models.inputs import labels_array, weights_array
from vaednn.models.layers import (
    Classifier,
    Decoder,
    Encoder,
    LogMinMaxScaling,
    Sampling,
    activation_layer,
    build_stack,
    initializer,
)
from vaednn.models.loop import update_trackers
from vaednn.models.losses import bce_per_event, kl_per_event, weighted_mean

__all__ = ["MODEL_NAMES", "DEFAULTS", "OPTIMIZER_OPTIONS", "VAE", "FlatVAE", "VAEDNN",
           "SeparateVAEDNN"]

MODEL_NAMES = (
    "vae", "vae_model2", "vae_model3", "vae_flat",
    "vae_dnn_latent", "vae_dnn_reco", "vae_dnn_reco_kl", "vae_dnn_separate",
)

#: Seed values of every hyperparameter, per model name (see :func:`~vaednn.models.build` for their meaning).
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

#: Options of the Adam optimizer that :func:`vaednn.models.build` takes next to the
#: hyperparameters.
OPTIMIZER_OPTIONS = ("clipnorm",)

_CLASSIFIER_INPUTS = ("latent", "reco", "reco_kl")

@keras.saving.register_keras_serializable(package="vaednn")
class VAE(fitting.LoopTrained, keras.Model):
    """Variational autoencoder with encoder and decoder as separate layers.

    Use :func:`~vaednn.models.build` rather than the constructor: it adapts the scaling and compiles.
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
        learning_rate: Adam learning rate set by :func:`~vaednn.models.build` (seed: 5e-4).
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
        return {**super().get_config(), **hp, "seed": self.seed}

    def loss_trackers(self):
        """The mean trackers of the loss terms, in ``batch_terms``' order.

        Part of the protocol the fused trainers (:mod:`vaednn.models.fit_jax`,
        :mod:`vaednn.models.fit_tensorflow`) read: each tracker's ``name`` is a key of the
        ``stats`` that :meth:`batch_terms` returns.
        """
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
        squared = ops.square(reconstructed - xs)
        return dict(xs=xs, z_mean=z_mean, z_log_var=z_log_var, z=z, reconstructed=reconstructed,
                    squared=squared, reco=ops.mean(squared, axis=-1),
                    kl=kl_per_event(z_mean, z_log_var))

    def call(self, x, training=False):
        return self.event_terms(x, training=training)["reconstructed"]

    # -- losses and steps
    def batch_terms(self, x, y, w, training):
        """The loss of a mini-batch and what the metrics need, in ``keras.ops``.

        Args:
            x, y, w: the mini-batch's raw features, labels (zeros for a plain VAE) and
                event weights; padding events have weight 0 and change nothing.
            training: sample ``z`` (training) or use ``z_mean``.

        Returns:
            ``(loss, stats, p)``: the total loss; ``{tracker name: (value, weight)}``, the
            batch's contribution to each tracked mean; the classifier probabilities (None
            for a plain VAE).
        """
        t = self.event_terms(x, training=training)
        reco, kl = weighted_mean(t["reco"], w), weighted_mean(t["kl"], w)
        norm = ops.sum(ops.abs(w))
        loss = self.reco_weight * reco + self.kl_weight * kl
        return loss, {"loss": (loss, norm), "reconstruction_loss": (reco, norm),
                      "kl_loss": (kl, norm)}, None

    def classified_weights(self, w):
        """The event weights of the classifier metrics (AUC, accuracy)."""
        return w

    def _split_data(self, data):
        x, y, w = keras.utils.unpack_x_y_sample_weight(data)
        n = ops.shape(keras.tree.flatten(x)[0])[0]
        y = ops.zeros((n,)) if y is None else ops.reshape(ops.cast(y, "float32"), (-1,))
        w = ops.ones((n,)) if w is None else ops.cast(w, "float32")
        return x, y, w

    def update_metrics(self, stats, y=None, p=None, w=None):
        """Add a chunk's ``{tracker name: (sum of value·weight, sum of weights)}`` sums."""
        update_trackers(self.loss_trackers(), stats)

    def _results(self):
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        # Only under a tf.distribute strategy (see fitting.fit): the optimizer update
        # synchronises the replicas, one mini-batch per step as Keras does it.
        import tensorflow as tf

        x, y, w = self._split_data(data)
        weights = self.trainable_weights
        with tf.GradientTape() as tape:
            loss, stats, p = self.batch_terms(x, y, w, training=True)
        self.optimizer.apply(tape.gradient(loss, weights), weights)
        self._update_tensor_metrics(stats, y, p, w)
        return self._results()

    def test_step(self, data):
        x, y, w = self._split_data(data)
        _, stats, p = self.batch_terms(x, y, w, training=False)
        self._update_tensor_metrics(stats, y, p, w)
        return self._results()

    def _update_tensor_metrics(self, stats, y, p, w):
        for tracker in self.loss_trackers():
            value, norm = stats[tracker.name]
            tracker.update_state(value, sample_weight=norm)
        if p is not None:
            self.accuracy_metric.update_state(y, p, sample_weight=self.classified_weights(w))
            self.auc_metric.update_state(y, p, sample_weight=self.classified_weights(w))

    def save(self, filepath, *args, **kwargs):
        """``keras.Model.save``, atomically: an interrupted save leaves the old file intact."""
        filepath = Path(filepath)
        if filepath.suffix != ".keras":
            return super().save(filepath, *args, **kwargs)
        with atomic_path(filepath) as temporary:
            super().save(temporary, *args, **kwargs)
        return None


@keras.saving.register_keras_serializable(package="vaednn")
class FlatVAE(VAE):
    """The seed's ``VAE_new_model``: every layer a named attribute of the model.

    ``model.get_layer("encoder_l1")`` is the first Dense layer (its kernel rows are the 14
    scaled features), as the seed's SHAP ablation needs. Layers: ``encoder_l1`` …
    ``encoder_lN``, ``dense_mean``, ``dense_log_var``, ``decoder_l1`` … ``decoder_lM``,
    ``decoder_output``. Hyperparameters as :class:`VAE` (defaults: the seed's model2 sizes).
    """

    def _dense_stack(self, side, units, init, seed_offset):
        """The attributes ``<side>_l<i>`` (Dense) and ``<side>_leakyrelu_<i>``, i from 1, each
        Dense seeded with ``init(seed_offset + i)``; returns the indices."""
        for i, u in enumerate(units, start=1):
            setattr(self, f"{side}_l{i}", keras.layers.Dense(
                u, kernel_initializer=init(seed_offset + i), name=f"{side}_l{i}"))
            setattr(self, f"{side}_leakyrelu_{i}", keras.layers.LeakyReLU(
                name=f"{side}_leakyrelu_{i}"))
        return list(range(1, len(units) + 1))

    def _make_layers(self):
        hp = self.hyperparameters
        init = lambda i: initializer(hp["kernel_initializer"], self.seed, i)  # noqa: E731
        self.encoder_names = self._dense_stack("encoder", hp["encoder_units"], init, 0)
        self.dense_mean = keras.layers.Dense(hp["latent_dim"], kernel_initializer=init(50),
                                             name="dense_mean")
        self.dense_log_var = keras.layers.Dense(hp["latent_dim"], kernel_initializer=init(51),
                                                name="dense_log_var")
        self.decoder_names = self._dense_stack("decoder", hp["decoder_units"], init, 100)
        self.decoder_output = keras.layers.Dense(len(self.features), kernel_initializer=init(150),
                                                 name="decoder_output")
        self.decoder_activation = activation_layer(hp["output_activation"],
                                                    "decoder_output_activation")

    def _build_vae(self, input_shape):
        encoder = [getattr(self, f"encoder_l{i}") for i in self.encoder_names]
        shape = build_stack(encoder, input_shape)
        self.dense_mean.build(shape)
        self.dense_log_var.build(shape)
        decoder = [getattr(self, f"decoder_l{i}") for i in self.decoder_names]
        self.decoder_output.build(build_stack(
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
        return self.loss_trackers() + [self.accuracy_metric, self.auc_metric]

    def loss_trackers(self):
        return super().loss_trackers() + [self.classifier_tracker]

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
            features = ops.stack([terms["reco"], terms["kl"]], axis=1)
        return self.classifier(features)[:, 0]

    def call(self, x, training=False):
        return self.classify(self.event_terms(x, training=training))[:, None]

    def batch_terms(self, x, y, w, training):
        t = self.event_terms(x, training=training)
        p = self.classify(t)
        reco, kl = weighted_mean(t["reco"], w), weighted_mean(t["kl"], w)
        bce = weighted_mean(bce_per_event(y, p), w)
        norm = ops.sum(ops.abs(w))
        loss = self.reco_weight * reco + self.kl_weight * kl + self.classifier_weight * bce
        return loss, {"loss": (loss, norm), "reconstruction_loss": (reco, norm),
                      "kl_loss": (kl, norm), "classifier_loss": (bce, norm)}, p

    def update_metrics(self, stats, y=None, p=None, w=None):
        super().update_metrics(stats)
        # Signed weights: accuracy and AUC are then fractions of the weighted yield, as the
        # physics ROC in vaednn.stats. Per-batch sums may be ~0; the epoch sums are not.
        w = self.classified_weights(w)
        fitting.update_state(self.accuracy_metric, y, p, w)
        fitting.update_state(self.auc_metric, y, p, w)

    def validation_arrays(self, validation_data):
        if not (isinstance(validation_data, tuple | list) and len(validation_data) in (2, 3)):
            raise ValueError("validation_data must be (x, y) or (x, y, sample_weight)")
        return self.checked_arrays(*validation_data, *(None,) * (3 - len(validation_data)),
                                   "validation_data")

    def checked_arrays(self, x, y, sample_weight, what):
        if y is None:
            raise ValueError(f"a VAE+DNN model needs labels: call fit(x, y) with y = 0 (SM) / 1 "
                             f"(BSM) ({what})")
        x = self._features(x, f"{what} x")
        return x, labels_array(y, len(x), f"{what} y"), weights_array(sample_weight, len(x))


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
        n = ops.shape(x[1])[0]
        y = ops.reshape(ops.cast(y, "float32"), (-1,))
        if w is None:
            w = ops.ones((n, 2))
        else:
            w = ops.cast(w, "float32")
            if len(w.shape) == 1:
                w = ops.stack([ops.ones_like(w), w], axis=1)
        return x, y, w

    def classified_weights(self, w):
        return w[:, 1]

    def batch_terms(self, x, y, w, training):
        x_sm, x_mix = x
        w_sm, w_mix = w[:, 0], w[:, 1]
        sm = self.event_terms(x_sm, training=training)
        p = self.classify(self.event_terms(x_mix, training=training))
        reco, kl = weighted_mean(sm["reco"], w_sm), weighted_mean(sm["kl"], w_sm)
        bce = weighted_mean(bce_per_event(y, p), w_mix)
        loss = self.reco_weight * reco + self.kl_weight * kl + self.classifier_weight * bce
        norm_sm, norm_mix = ops.sum(ops.abs(w_sm)), ops.sum(ops.abs(w_mix))
        # The total counts pairs; padding pairs (both weights zero) do not count.
        pairs = ops.sum(ops.cast(ops.any(ops.not_equal(w, 0.0), axis=1), "float32"))
        return loss, {"loss": (loss, pairs), "reconstruction_loss": (reco, norm_sm),
                      "kl_loss": (kl, norm_sm), "classifier_loss": (bce, norm_mix)}, p

    def checked_arrays(self, x, y, sample_weight, what):
        if not (isinstance(x, tuple | list) and len(x) == 2):
            raise ValueError(f"{what}: vae_dnn_separate takes x = (x_sm, x_mix)")
        if y is None:
            raise ValueError(f"{what}: vae_dnn_separate needs labels y of the mixture events")
        x_sm, x_mix = self._features(x[0], f"{what} x_sm"), self._features(x[1], f"{what} x_mix")
        if len(x_sm) != len(x_mix):
            raise ValueError(f"{what}: x_sm has {len(x_sm)} events and x_mix {len(x_mix)}; rows "
                             f"are (SM, mixture) pairs, repeat the SM sample to match")
        n = len(x_mix)
        return (x_sm, x_mix), labels_array(y, n, f"{what} y"), weights_array(sample_weight, n, 2)
