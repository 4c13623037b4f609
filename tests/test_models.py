"""Every model variant builds, trains, scores, saves and refuses bad input."""

import keras
import numpy as np
import pandas as pd
import pytest

from vaednn import models
from helpers import raw_events
from vaednn.data import FEATURES

N = 1200


def mixture(n, seed):
    """SM (label 0) and harder BSM (label 1) events, shuffled, with signed weights."""
    x = pd.concat([raw_events(n // 2, seed), raw_events(n - n // 2, seed + 1, hard=0.7)])
    y = np.r_[np.zeros(n // 2), np.ones(n - n // 2)]
    w = np.random.default_rng(seed).uniform(-0.2, 1.0, n)
    order = np.random.default_rng(seed + 2).permutation(n)
    return x.iloc[order].reset_index(drop=True), y[order], w[order]


def fit_args(name, seed):
    """``(x, y, sample_weight)`` as ``fit`` of model ``name`` takes them."""
    if name.startswith("vae_dnn"):
        x, y, w = mixture(N, seed)
        if name == "vae_dnn_separate":
            x = (raw_events(N, seed + 5), x)
        return x, y, w
    return raw_events(N, seed), None, None


@pytest.fixture(scope="module")
def sm_train():
    return raw_events(N, 0)


@pytest.fixture(scope="module", params=models.MODEL_NAMES)
def trained(request, sm_train):
    name = request.param
    model = models.build(name, sm_train, seed=1)
    x, y, w = fit_args(name, 10)
    xv, yv, wv = fit_args(name, 20)
    validation = (xv, yv, wv) if y is not None else xv
    history = model.fit(x, y, sample_weight=w, epochs=2, verbose=0, validation_data=validation)
    mix = x[1] if name == "vae_dnn_separate" else x
    return name, model, history, mix


def test_history_has_every_term_and_its_validation_twin(trained):
    name, _, history, _ = trained
    terms = {"loss", "reconstruction_loss", "kl_loss"}
    if name.startswith("vae_dnn"):
        terms |= {"classifier_loss", "binary_accuracy", "auc"}
    assert set(history.history) == terms | {f"val_{t}" for t in terms}
    for key, values in history.history.items():
        assert len(values) == 2 and np.isfinite(values).all(), key


def test_total_loss_is_the_weighted_sum_of_the_terms(trained):
    name, model, history, _ = trained
    h = {k: np.array(v) for k, v in history.history.items()}
    expected = model.reco_weight * h["val_reconstruction_loss"] + model.kl_weight * h["val_kl_loss"]
    if name.startswith("vae_dnn"):
        expected += model.classifier_weight * h["val_classifier_loss"]
    np.testing.assert_allclose(h["val_loss"], expected, rtol=1e-5)


def test_event_losses_are_per_event_deterministic_and_consistent(trained):
    _, model, _, x = trained
    losses = models.event_losses(model, x)
    assert list(losses.columns) == ["reco", "kl"] and len(losses) == len(x)
    assert (losses["kl"] >= 0).all() and (losses["reco"] > 0).all()
    pd.testing.assert_frame_equal(losses, models.event_losses(model, x, batch_size=97),
                                  check_exact=False, rtol=1e-5)
    errors = models.feature_errors(model, x)
    assert list(errors.columns) == list(FEATURES)
    np.testing.assert_allclose(errors.mean(axis=1), losses["reco"], rtol=1e-5)


def test_kl_and_reco_match_a_hand_computation(trained):
    _, model, _, x = trained
    terms = model.event_terms(x.to_numpy(np.float32)[:50])
    mu = keras.ops.convert_to_numpy(terms["z_mean"])
    log_var = keras.ops.convert_to_numpy(terms["z_log_var"])
    kl = np.mean(-0.5 * (1 + log_var - mu**2 - np.exp(log_var)), axis=1)
    losses = models.event_losses(model, x.iloc[:50])
    np.testing.assert_allclose(losses["kl"], kl, rtol=1e-4, atol=1e-7)
    reco = np.mean((keras.ops.convert_to_numpy(terms["reconstructed"]) - models.scale(model, x.iloc[:50])) ** 2, axis=1)
    np.testing.assert_allclose(losses["reco"], reco, rtol=1e-4)
    np.testing.assert_allclose(models.encode(model, x.iloc[:50]), mu, rtol=1e-4, atol=1e-6)


def test_keras_round_trip_gives_identical_scores(trained, tmp_path):
    name, model, _, x = trained
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model) and loaded.hyperparameters == model.hyperparameters
    pd.testing.assert_frame_equal(models.event_losses(loaded, x), models.event_losses(model, x))
    if models.is_classifier(model):
        np.testing.assert_array_equal(models.classifier_output(loaded, x),
                                      models.classifier_output(model, x))


def test_classifier_output_only_for_vae_dnn(trained):
    name, model, _, x = trained
    if not name.startswith("vae_dnn"):
        assert not models.is_classifier(model)
        with pytest.raises(TypeError, match="plain VAE"):
            models.classifier_output(model, x)
        return
    p = models.classifier_output(model, x)
    assert p.shape == (len(x),) and ((p >= 0) & (p <= 1)).all()


@pytest.mark.parametrize("name", models.MODEL_NAMES)
def test_wrong_feature_count_is_rejected_everywhere(name, sm_train):
    with pytest.raises(ValueError, match=r"shape \(1200, 13\) has no column names.*features="):
        models.build(name, sm_train.to_numpy()[:, :13])
    model = models.build(name, sm_train)
    narrow = sm_train.to_numpy()[:, :13]
    with pytest.raises(ValueError, match="expected 14 features.*got 13"):
        models.event_losses(model, narrow)
    x, y, _ = fit_args(name, 3)
    bad = (x[0], narrow) if name == "vae_dnn_separate" else narrow
    with pytest.raises(ValueError, match="expected 14 features.*got 13"):
        model.fit(bad, y, epochs=1, verbose=0)


def test_nan_and_non_positive_log_features_are_named(sm_train):
    model = models.build("vae", sm_train)
    x = sm_train.copy()
    x.loc[[3, 7], "mjj"] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*'mjj': 2"):
        models.event_losses(model, x)
    with pytest.raises(ValueError, match=r"non-finite.*'mjj': 2"):
        model.fit(x, epochs=1, verbose=0)
    x = sm_train.copy()
    x.loc[5, "ptl2"] = 0.0
    with pytest.raises(ValueError, match=r"<= 0.*'ptl2': 1"):
        models.build("vae", x)
    with pytest.raises(ValueError, match="lacks feature column"):
        models.encode(model, sm_train.drop(columns="met"))


def test_scaling_is_log10_then_min_max_on_sm_train(sm_train):
    model = models.build("vae", sm_train)
    scaled = models.scale(model, sm_train)
    np.testing.assert_allclose(scaled.min(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(scaled.max(axis=0), 1.0, atol=1e-6)
    mjj = np.log10(sm_train["mjj"].to_numpy())
    expected = (mjj - mjj.min()) / (mjj.max() - mjj.min())
    np.testing.assert_allclose(scaled[:, FEATURES.index("mjj")], expected, atol=1e-5)
    eta = sm_train["etaj1"].to_numpy()
    expected = (eta - eta.min()) / (eta.max() - eta.min())
    np.testing.assert_allclose(scaled[:, FEATURES.index("etaj1")], expected, atol=1e-5)


def test_flat_model_exposes_the_first_dense_layer(sm_train):
    model = models.build("vae_flat", sm_train)
    first = model.get_layer("encoder_l1")
    assert isinstance(first, keras.layers.Dense)
    assert first.kernel.shape == (len(FEATURES), models.DEFAULTS["vae_flat"]["encoder_units"][0])
    for name in ("encoder_l5", "dense_mean", "dense_log_var", "decoder_l1", "decoder_output"):
        assert isinstance(model.get_layer(name), keras.layers.Dense)
    before = models.event_losses(model, sm_train)
    kernel, bias = first.get_weights()
    kernel[FEATURES.index("mjj")] = 0.0
    first.set_weights([kernel, bias])
    assert not np.allclose(models.event_losses(model, sm_train), before)


def evaluate(model, x, y, w):
    return model.evaluate(x, y, sample_weight=w, batch_size=len(y), verbose=0, return_dict=True)


def test_sample_weights_enter_every_term_normalised_by_sum_of_abs(sm_train):
    model = models.build("vae_dnn_reco", sm_train)
    x, y, w = mixture(400, 4)
    base = evaluate(model, x, y, w)
    doubled = evaluate(model, x, y, 2 * w)
    for term in ("loss", "reconstruction_loss", "kl_loss", "classifier_loss"):
        assert doubled[term] == pytest.approx(base[term], rel=1e-5)
    losses = models.event_losses(model, x)
    assert base["reconstruction_loss"] == pytest.approx(
        np.sum(w * losses["reco"]) / np.sum(np.abs(w)), rel=1e-4)
    sm_only = evaluate(model, x, y, np.where(y == 0, w, 0.0))
    assert sm_only["classifier_loss"] != pytest.approx(base["classifier_loss"], rel=1e-3)
    p = np.clip(models.classifier_output(model, x[y == 0]), 1e-7, 1 - 1e-7)
    w0 = w[y == 0]
    assert sm_only["classifier_loss"] == pytest.approx(
        np.sum(w0 * -np.log(1 - p)) / np.sum(np.abs(w0)), rel=1e-4)


def test_same_seed_same_weights_other_seed_other_weights(sm_train):
    def trained_weights(seed):
        model = models.build("vae", sm_train, seed=seed)
        model.fit(sm_train, epochs=1, verbose=0)
        return [v.numpy() for v in model.trainable_weights]

    first, again, other = trained_weights(3), trained_weights(3), trained_weights(4)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not all(np.allclose(a, b) for a, b in zip(first, other))


TENSORFLOW = keras.backend.backend() == "tensorflow"
tensorflow_only = pytest.mark.skipif(not TENSORFLOW, reason="a TensorFlow-backend path")


def test_fused_adam_matches_keras_adam(sm_train):
    fused = models.build("vae", sm_train, seed=2)
    reference = models.build("vae", sm_train, seed=2)
    # A clipnorm no gradient reaches routes the reference through optimizer.apply.
    reference.compile(optimizer=keras.optimizers.Adam(5e-4, clipnorm=1e9), jit_compile=False)
    for model in (fused, reference):
        model.fit(sm_train, epochs=1, verbose=0)
    for a, b in zip(fused.trainable_weights, reference.trainable_weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-3, atol=1e-6)
    assert int(fused.optimizer.iterations) == int(reference.optimizer.iterations) == N // 32 + 1


def test_nan_loss_stops_training_with_a_message(sm_train):
    model = models.build("vae", sm_train, learning_rate=1e12)
    with pytest.warns(RuntimeWarning, match="is not finite"):
        history = model.fit(sm_train, epochs=5, verbose=0, chunk_steps=4)
    assert len(history.history["loss"]) < 5


def test_early_stopping_and_checkpoint_are_one_argument_away(sm_train, tmp_path):
    model = models.build("vae", sm_train)
    path = tmp_path / "best.keras"
    history = model.fit(sm_train, epochs=3, verbose=0, validation_split=0.25,
                        early_stopping="val_loss", patience=1, checkpoint=path)
    best = keras.models.load_model(path)
    assert isinstance(best, models.VAE)
    assert len(history.history["val_loss"]) <= 3


def test_fit_checks_targets(sm_train):
    vae = models.build("vae", sm_train)
    with pytest.raises(ValueError, match="trains on x alone"):
        vae.fit(sm_train, np.zeros(N), epochs=1, verbose=0)
    dnn = models.build("vae_dnn_latent", sm_train)
    with pytest.raises(ValueError, match="needs labels"):
        dnn.fit(sm_train, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="0 \\(SM\\) or 1 \\(BSM\\)"):
        dnn.fit(sm_train, np.full(N, 2.0), epochs=1, verbose=0)


def test_build_rejects_unknown_names_and_hyperparameters(sm_train):
    with pytest.raises(ValueError, match="unknown model"):
        models.build("vae_model9", sm_train)
    with pytest.raises(ValueError, match="unknown hyperparameter.*'latent_dims'"):
        models.build("vae", sm_train, latent_dims=3)
    assert models.build("vae", sm_train, latent_dim=5).hyperparameters["latent_dim"] == 5


def test_build_clips_gradients_when_asked(sm_train):
    assert models.build("vae", sm_train).optimizer.clipnorm is None
    assert models.build("vae_dnn_latent", sm_train, clipnorm=0.5).optimizer.clipnorm == 0.5
    with pytest.raises(ValueError, match="clipnorm must be None or a finite number > 0"):
        models.build("vae", sm_train, clipnorm=0.0)


@tensorflow_only
@pytest.mark.parametrize("kind", ["one_device", "mirrored"])
def test_build_under_a_distribution_strategy_trains_like_one_device(kind):
    # Multi-GPU training uses the same code path; on CPU a one-replica strategy checks it.
    import tensorflow as tf

    make_strategy = {"one_device": lambda: tf.distribute.OneDeviceStrategy("/cpu:0"),
                     "mirrored": lambda: tf.distribute.MirroredStrategy(["/cpu:0"])}[kind]
    x = np.random.default_rng(0).lognormal(4.0, 0.5, size=(2000, 14))
    strategy = make_strategy()
    distributed = models.build("vae", x, seed=0, strategy=strategy)
    assert distributed.distribute_strategy is strategy
    plain = models.build("vae", x, seed=0)
    loss_distributed = distributed.fit(x, epochs=2, verbose=0, shuffle=False).history["loss"]
    loss_plain = plain.fit(x, epochs=2, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(loss_distributed, loss_plain, rtol=0.05)
    assert loss_distributed[1] < loss_distributed[0]


def test_a_model_reads_its_variables_by_name_from_any_feature_set(tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"mjj": rng.lognormal(6.0, 0.5, 600), "etaj1": rng.normal(0, 2, 600),
                          "nu_pt": rng.lognormal(3.0, 0.5, 600)})
    model = models.build("vae", frame, kl_weight=1e-4)
    assert model.features == ("mjj", "etaj1", "nu_pt") and model.log_features == ("mjj",)
    model.fit(frame, epochs=1, batch_size=100, verbose=0)
    losses = models.event_losses(model, frame)
    shuffled = frame[["nu_pt", "mjj", "etaj1"]].assign(other=1.0)
    np.testing.assert_allclose(models.event_losses(model, shuffled), losses, rtol=1e-6)
    with pytest.raises(ValueError, match=r"lacks feature column\(s\) \['nu_pt'\]"):
        models.event_losses(model, frame[["mjj", "etaj1"]])
    # The scaling is min-max of log10(mjj) and of the raw other columns.
    scaled = models.scale(model, frame)
    expected = np.log10(frame["mjj"])
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(scaled[:, 0], expected, atol=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.features == model.features and loaded.log_features == ("mjj",)
    np.testing.assert_allclose(models.event_losses(loaded, shuffled), losses, rtol=1e-6)
    array = models.build("vae", frame.to_numpy(), features=["a", "b", "c"], log_features=["a"])
    assert array.features == ("a", "b", "c") and array.log_features == ("a",)
    with pytest.raises(ValueError, match=r"log_features \['x'\] are not among"):
        models.build("vae", frame, log_features=["x"])
