"""Training on either backend: refused inputs, atomic checkpoints, exact resumption, ensembles."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from vaednn import models
from vaednn.models import fitting

BACKEND = keras.backend.backend()
N = 600


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).lognormal(4.0, 0.5, size=(N, 14)).astype(np.float32)


def weights(model):
    return [np.array(v) for v in model.get_weights()]


def test_all_zero_sample_weight_is_refused(x):
    model = models.build("vae", x)
    with pytest.raises(ValueError, match="sample_weight: every weight is zero"):
        model.fit(x, sample_weight=np.zeros(N), epochs=1, verbose=0)
    dnn = models.build("vae_dnn_reco", x)
    y = np.r_[np.zeros(N // 2), np.ones(N - N // 2)]
    with pytest.raises(ValueError, match="every weight is zero"):
        dnn.fit(x, y, sample_weight=np.zeros(N), epochs=1, verbose=0)


@pytest.mark.parametrize("rate", [0.0, -1e-3, float("nan")])
def test_learning_rate_must_be_positive(x, rate):
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        models.build("vae", x, learning_rate=rate)


def test_empty_arrays_are_named(x):
    with pytest.raises(ValueError, match="sm_train: no events"):
        models.build("vae", np.empty((0, 14)))
    model = models.build("vae", x)
    with pytest.raises(ValueError, match="fit x: no events"):
        model.fit(np.empty((0, 14)), epochs=1, verbose=0)


def test_an_interrupted_checkpoint_save_keeps_the_previous_best(x, tmp_path, monkeypatch):
    path = tmp_path / "best.keras"
    model = models.build("vae", x, seed=1)
    model.fit(x, epochs=1, verbose=0, checkpoint=path)
    before = models.event_losses(keras.models.load_model(path), x)

    def broken_save(self, filepath, *args, **kwargs):
        with open(filepath, "wb") as handle:
            handle.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt("interrupted while saving")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, epochs=1, verbose=0, checkpoint=path)
    monkeypatch.undo()
    np.testing.assert_array_equal(models.event_losses(keras.models.load_model(path), x), before)
    assert [p.name for p in tmp_path.iterdir()] == ["best.keras"]


def test_model_save_is_atomic(x, tmp_path, monkeypatch):
    path = tmp_path / "model.keras"
    model = models.build("vae", x)
    model.save(path)
    original = path.read_bytes()
    monkeypatch.setattr("keras.src.saving.saving_lib.save_model",
                        lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == original


def test_training_resumed_from_a_saved_model_is_bit_identical(x, tmp_path):
    straight = models.build("vae", x, seed=3)
    straight.fit(x, epochs=2, verbose=0)
    first = models.build("vae", x, seed=3)
    first.fit(x, epochs=1, verbose=0)
    first.save(tmp_path / "epoch1.keras")
    resumed = keras.models.load_model(tmp_path / "epoch1.keras")
    resumed.fit(x, epochs=1, verbose=0)
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_array_equal(a, b)


def test_history_keys_and_nan_stop_do_not_depend_on_chunking(x):
    histories = []
    for steps in (3, 256):
        model = models.build("vae", x, seed=4)
        histories.append(model.fit(x, epochs=2, verbose=0, validation_split=0.25,
                                   chunk_steps=steps).history)
    assert histories[0].keys() == histories[1].keys()
    for key in histories[0]:
        np.testing.assert_allclose(histories[0][key], histories[1][key], rtol=1e-4)


def test_is_classifier_answers_for_names_and_models(x):
    assert [models.is_classifier(n) for n in models.MODEL_NAMES] == [
        n.startswith("vae_dnn") for n in models.MODEL_NAMES]
    assert models.is_classifier(models.build("vae_dnn_latent", x))
    with pytest.raises(ValueError, match="unknown model"):
        models.is_classifier("vae_model9")


def test_train_builds_fits_and_saves(x, tmp_path):
    model, history = models.train("vae", x, x, seed=5, epochs=1, latent_dim=2, verbose=0,
                                  save_to=tmp_path / "m.keras")
    assert model.hyperparameters["latent_dim"] == 2 and len(history.history["loss"]) == 1
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(models.event_losses(loaded, x), models.event_losses(model, x))


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the TensorFlow fused Adam")
def test_without_adams_private_fields_the_public_update_gives_the_same_training(x, monkeypatch):
    from vaednn.models import fit_tensorflow

    fused = models.build("vae", x, seed=2)
    fused.fit(x, epochs=1, verbose=0)
    monkeypatch.setattr(fit_tensorflow, "ADAM_FIELDS", ("_renamed_in_a_later_keras",) * 4)
    public = models.build("vae", x, seed=2)
    assert fit_tensorflow.adam_slots(public.optimizer) is None
    public.fit(x, epochs=1, verbose=0)
    for a, b in zip(weights(fused), weights(public)):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


@pytest.mark.skipif(BACKEND == "tensorflow", reason="tf.distribute works on TensorFlow")
def test_a_tf_distribute_strategy_is_refused_off_tensorflow(x):
    with pytest.raises(ValueError, match="keras.distribution"):
        models.build("vae", x, strategy=object())


def test_a_model_saved_on_one_backend_scores_the_same_on_the_other(x, tmp_path):
    other = "tensorflow" if BACKEND == "jax" else "jax"
    model = models.build("vae_dnn_reco_kl", x, seed=6)
    y = np.r_[np.zeros(N // 2), np.ones(N - N // 2)]
    model.fit(x, y, epochs=1, verbose=0)
    path, data = tmp_path / "m.keras", tmp_path / "x.npy"
    model.save(path)
    np.save(data, x)
    script = textwrap.dedent(f"""
        import keras, numpy as np
        from vaednn import models
        model = keras.models.load_model({str(path)!r})
        x = np.load({str(data)!r})
        losses = models.event_losses(model, x)
        np.save({str(tmp_path / 'out.npy')!r}, np.c_[losses.to_numpy(),
                models.classifier_output(model, x)])
        print(keras.backend.backend())
    """)
    env = {**os.environ, "KERAS_BACKEND": other}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith(other)
    mine = np.c_[models.event_losses(model, x).to_numpy(), models.classifier_output(model, x)]
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), mine, rtol=1e-4, atol=1e-7)


# ------------------------------------------------------------------------------- ensembles

def test_ensemble_members_start_as_built_and_train_as_alone(x):
    seeds = [11, 12, 13]
    group = models.ensemble("vae", x, seeds)
    for seed, member in zip(seeds, group.models):
        np.testing.assert_array_equal(np.concatenate([w.ravel() for w in weights(member)]),
                                      np.concatenate([w.ravel() for w in weights(
                                          models.build("vae", x, seed=seed))]))
    histories = group.fit(x, epochs=1, verbose=0, validation_split=0.2)
    assert len(histories) == 3
    for seed, member, history in zip(seeds, group.models, histories):
        alone = models.build("vae", x, seed=seed)
        reference = alone.fit(x, epochs=1, verbose=0, validation_split=0.2).history
        assert history.history.keys() == reference.keys()
        np.testing.assert_allclose(models.event_losses(member, x),
                                   models.event_losses(alone, x), rtol=1e-3, atol=1e-7)


def test_ensemble_stops_and_checkpoints_per_member(x, tmp_path):
    group = models.ensemble("vae_dnn_latent", x, [1, 2], learning_rate=1e-3)
    y = np.r_[np.zeros(N // 2), np.ones(N - N // 2)]
    order = np.random.default_rng(0).permutation(N)
    histories = group.fit(x[order], y[order], epochs=4, verbose=0, validation_split=0.3,
                          early_stopping="val_auc", patience=1,
                          checkpoint=tmp_path / "m{seed}.keras")
    for seed, member, history in zip((1, 2), group.models, histories):
        saved = keras.models.load_model(tmp_path / f"m{seed}.keras")
        assert saved.seed == seed
        assert 1 <= len(history.history["val_auc"]) <= 4
    with pytest.raises(ValueError, match="'\\{seed\\}'"):
        group.fit(x, y, epochs=1, verbose=0, checkpoint=tmp_path / "same.keras")
    with pytest.raises(ValueError, match="seeds must be distinct"):
        models.ensemble("vae", x, [1, 1])


def test_fitting_pads_with_zero_weight_copies():
    arrays = (np.arange(6.0).reshape(3, 2), np.array([0.0, 1.0, 1.0]), np.array([2.0, 3.0, 4.0]))
    x, y, w = fitting.pad(arrays, 5)
    np.testing.assert_array_equal(x[3:], arrays[0][:2])
    np.testing.assert_array_equal(w, [2.0, 3.0, 4.0, 0.0, 0.0])
