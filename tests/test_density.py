"""The density models (:mod:`vaednn.models.density`) train through the package's one loop,
:func:`vaednn.models.fitting.fit`: the same numbers as calling the loop directly, callbacks
passed through, seeded repeatability, the signed-weight loss and the NaN error.

Run this file once per backend: ``KERAS_BACKEND=tensorflow`` and ``KERAS_BACKEND=jax``.
"""

import keras
import numpy as np
import pytest

from vaednn import anomaly, models
from vaednn.models import density, fitting

TRAINING = dict(epochs=3, batch_size=128, learning_rate=3e-3, patience=2)


def toy(n, seed):
    """2-D toy: ``a`` standard normal, ``b`` log-normal."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.normal(0.0, 1.0, n), rng.lognormal(1.0, 0.5, n)],
                    axis=1).astype(np.float32)


def signed_weights(n, seed):
    """Weights of both signs, net positive, as an NLO sample's."""
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.2, -0.5, 1.0).astype(np.float32) * rng.uniform(0.5, 2.0, n)


FACTORIES = {
    "flow": lambda seed: models.RealNVP(coupling_layers=2, hidden_units=(8,), seed=seed,
                                        features=("a", "b"), log_features=("b",), name="flow"),
    "gaussian_vae": lambda seed: models.GaussianVAE(
        encoder_units=(8,), decoder_units=(8,), latent_dim=2, seed=seed, features=("a", "b"),
        log_features=("b",), name="gaussian_vae"),
}


def weights_of(model):
    return [np.asarray(keras.ops.convert_to_numpy(v.value)) for v in model.weights]


def assert_same(a, b):
    for x, y in zip(weights_of(a), weights_of(b), strict=True):
        np.testing.assert_array_equal(x, y)


class EpochLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append(dict(logs))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_train_density_is_the_one_loop_with_callbacks_passed_through(name):
    x, w, val = toy(1000, 0), signed_weights(1000, 1), (toy(300, 2), signed_weights(300, 3))
    seen = EpochLogs()
    model = FACTORIES[name](4)
    history = models.train_density(model, x, w, val, callbacks=[seen], **TRAINING)
    direct = FACTORIES[name](4)
    direct.adapt(x)
    direct.compile(optimizer=keras.optimizers.Adam(TRAINING["learning_rate"]))
    expected = fitting.fit(direct, x, sample_weight=w, validation_data=val,
                           batch_size=TRAINING["batch_size"], epochs=TRAINING["epochs"],
                           verbose=0, early_stopping="val_loss", patience=TRAINING["patience"])
    assert history.history == expected.history
    assert_same(model, direct)
    assert seen.logs == [{k: v[i] for k, v in history.history.items()}
                         for i in range(len(seen.logs))]
    assert len(seen.logs) == len(history.history["loss"]) > 0
    assert set(history.history) == {"loss", "val_loss"}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_a_seeded_density_fit_repeats_and_seeds_differ(name):
    x, w = toy(1000, 0), signed_weights(1000, 1)
    runs = []
    for seed in (5, 5, 6):
        model = FACTORIES[name](seed)
        runs.append((model, models.train_density(model, x, w, **TRAINING).history))
    assert runs[0][1] == runs[1][1]
    assert_same(runs[0][0], runs[1][0])
    assert runs[0][1]["loss"] != runs[2][1]["loss"]


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_the_loss_is_the_signed_weighted_mean(name):
    x, w = toy(700, 7), signed_weights(700, 8)
    model = FACTORIES[name](1)
    models.train_density(model, x, w, epochs=1, batch_size=128)
    per_event = np.asarray(keras.ops.convert_to_numpy(model(x)), np.float64)
    expected = (w * per_event).sum() / np.abs(w).sum()
    for scale in (1.0, 3.0):
        loss = model.evaluate(x, sample_weight=scale * w, return_dict=True)["loss"]
        assert loss == pytest.approx(expected, rel=1e-5)


class PoisonAtEpoch(keras.callbacks.Callback):
    """Turns the last (output) bias NaN when epoch ``epoch`` (0-based) begins: no ReLU
    follows it, which maps NaN to 0 on TensorFlow's CPU kernels."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            variable = self.model.trainable_variables[-1]
            variable.assign(np.full(variable.shape, np.nan, np.float32))


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_a_nan_loss_is_an_error_naming_the_model_and_the_epoch(name):
    with pytest.raises(RuntimeError, match=fr"^{name}: training stopped at epoch 2, chunk 1: "
                                           r"loss is not finite"):
        models.train_density(FACTORIES[name](0), toy(500, 0), callbacks=[PoisonAtEpoch(1)],
                             **TRAINING)


def test_a_density_model_refuses_a_target_by_name():
    model = FACTORIES["flow"](0)
    model.adapt(toy(100, 0))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    with pytest.raises(ValueError, match="flow has no target"):
        model.fit(toy(100, 0), np.ones(100), epochs=1)


def test_the_old_homes_hold_the_same_objects():
    assert anomaly.GaussianVAE is density.GaussianVAE and anomaly.RealNVP is density.RealNVP
    assert anomaly.train is models.train_density
    assert anomaly.scaling_log_jacobian is models.scaling_log_jacobian
