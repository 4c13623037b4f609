"""Issue 20, part 4 and the NLO bullet of part 2: every SM-only score, the Detector, the
Σ log E reference, the IsolationForest baseline, the feature plots and SHAP take their
variables from the data (here a 9-variable frame that is not the SSWW set); signed SM
weights are accepted, the threshold is a signed-weight quantile, and a training set whose
net SM weight is <= 0 is refused by name."""

import functools
import math
import zipfile

import keras
import numpy as np
import pandas as pd
import pytest

import vaednn
from helpers import fast_scores
from vaednn import anomaly, baselines, explain, plotting
from vaednn import detector as vdetector
from vaednn.models.losses import weighted_mean
from vaednn.simulate import weighted_quantile

#: Nine parton-level variables of another process: ``phil1`` and ``etal2`` are not energy
#: like, ``ptz`` is not an SSWW variable at all (so not a default log feature).
VARIABLES = ("ptl1", "etal1", "phil1", "ptl2", "etal2", "mll", "ptj1", "ptz", "mjj")
#: Those of them in vaednn.data.LOG_FEATURES, in frame order.
LOGGED = ("ptl1", "ptl2", "mll", "ptj1", "mjj")

FAST = fast_scores(epochs=1, vae_epochs=1, units=8, latent_dim=2, n_estimators=20)
SMALL_DENSITY = {"gaussian_vae": {"encoder_units": [8], "decoder_units": [8], "latent_dim": 2},
                 "flow": {"coupling_layers": 2, "hidden_units": [8]}}
#: Every kind of Detector: the default (anomaly.DEFAULT), the other density models, the
#: plain VAE with each of its terms, and the other VAE variants with the default score.
DETECTORS = {"default": dict(hyperparameters=SMALL_DENSITY[anomaly.DEFAULT]),
             **{name: dict(name=name, hyperparameters=SMALL_DENSITY[name])
                for name in vdetector.DENSITY_NAMES if name != anomaly.DEFAULT},
             **{f"vae/{term}": dict(name="vae", term=term,
                                    hyperparameters={"kl_weight": 1e-4})
                for term in anomaly.VAEScore.TERMS},
             **{name: dict(name=name) for name in vdetector.VAE_NAMES if name != "vae"}}


def frame(n, seed):
    """Events of the 9 variables: momenta and masses log-normal, angles Gaussian/uniform."""
    rng = np.random.default_rng(seed)
    columns = {}
    for name in VARIABLES:
        if name.startswith("eta"):
            columns[name] = rng.normal(0.0, 1.5, n)
        elif name.startswith("phi"):
            columns[name] = rng.uniform(-np.pi, np.pi, n)
        else:
            columns[name] = rng.lognormal(4.0, 0.5, n)
    return pd.DataFrame(columns)


@pytest.mark.parametrize("name", sorted(anomaly.SCORES))
def test_every_anomaly_score_takes_the_variables_of_the_data(name):
    x, probe = frame(400, 0), frame(50, 1)
    score = anomaly.make(name, seed=1, **FAST[name]).fit(x, x_val=frame(100, 2))
    assert score.features == VARIABLES and score.log_features == LOGGED
    values = score(probe)
    assert values.shape == (50,) and np.isfinite(values).all()
    # Columns are matched by name: another order and an extra column give the same scores.
    shuffled = probe[list(reversed(VARIABLES))].assign(run=7.0)
    np.testing.assert_allclose(score(shuffled), values, rtol=1e-6)
    with pytest.raises(ValueError, match=r"lacks feature column\(s\) \['ptz'\]"):
        score(probe.drop(columns="ptz"))


@pytest.mark.parametrize("name", ["gaussian_vae", "isolation_forest"])
def test_explicit_features_name_an_arrays_columns(name):
    x = frame(300, 0)
    logs = ("ptl1", "ptz")
    score = anomaly.make(name, seed=1, **FAST[name]).fit(
        x.to_numpy(), features=VARIABLES, log_features=logs)
    assert score.features == VARIABLES and score.log_features == logs
    np.testing.assert_allclose(score(x), score(x.to_numpy()), rtol=1e-6)
    with pytest.raises(ValueError, match="has no column names: pass features="):
        anomaly.make(name, **FAST[name]).fit(x.to_numpy())


def test_fit_seeds_takes_the_variables_of_the_data():
    x = frame(300, 0)
    fitted = anomaly.fit_seeds({"vae_reco": FAST["vae_reco"], "gmm": FAST["gmm"]}, x, [1, 2])
    for members in fitted.values():
        assert [m.features for m in members] == [VARIABLES, VARIABLES]
        assert all(np.isfinite(m(x)).all() for m in members)


def test_a_keras_score_file_records_its_variables(tmp_path):
    x = frame(300, 0)
    score = anomaly.make("gaussian_vae", seed=1, **FAST["gaussian_vae"]).fit(x)
    path = tmp_path / "score.keras"
    score.model.save(path)
    loaded = anomaly.make("gaussian_vae").adopt(keras.models.load_model(path))
    assert loaded.features == VARIABLES and loaded.log_features == LOGGED
    np.testing.assert_allclose(loaded(x), score(x), rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(DETECTORS))
def test_the_detector_takes_any_variables_and_saves_them(kind, tmp_path):
    x = frame(400, 0)
    detector = vaednn.Detector(epochs=1, batch_size=128, seed=2, contamination=0.2,
                               **DETECTORS[kind]).fit(x)
    assert detector.features_ == VARIABLES and detector.log_features_ == LOGGED
    assert detector.threshold_ == pytest.approx(
        vdetector.signed_quantile(detector.decision_scores_, np.ones(len(x)), 0.8))
    assert detector.labels_.mean() == pytest.approx(0.2, abs=2 / len(x))
    path = detector.save(tmp_path / "detector.zip")
    with zipfile.ZipFile(path) as archive, archive.open("model.keras") as inner, \
            zipfile.ZipFile(inner) as model_file:
        config = model_file.read("config.json").decode()
    assert all(f'"{name}"' in config for name in VARIABLES)
    loaded = vaednn.Detector.load(path)
    assert loaded.features_ == VARIABLES and loaded.log_features_ == LOGGED
    assert loaded.threshold_ == detector.threshold_
    np.testing.assert_allclose(loaded.decision_function(x), detector.decision_function(x),
                               rtol=1e-6)
    np.testing.assert_array_equal(loaded.predict(x), detector.predict(x))
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['ptz'\]"):
        loaded.decision_function(x.drop(columns="ptz"))


def test_log_energy_sum_sums_the_log_features_of_the_data():
    x = frame(20, 3)
    expected = np.log(x[list(LOGGED)].to_numpy()).sum(axis=1)
    np.testing.assert_allclose(anomaly.log_energy_sum(x), expected, rtol=1e-6)
    np.testing.assert_allclose(anomaly.log_energy_sum(x.assign(w=-1.0)), expected, rtol=1e-6)
    custom = functools.partial(anomaly.log_energy_sum, features=VARIABLES, log_features=("ptz",))
    np.testing.assert_allclose(custom(x.to_numpy()), np.log(x["ptz"]), rtol=1e-6)
    with pytest.raises(ValueError, match=r"none of the variables \['etal1'\] is energy-like"):
        anomaly.log_energy_sum(x[["etal1"]])
    with pytest.raises(ValueError, match=r"log_features \['ptz'\] are not among the features"):
        anomaly.log_energy_sum(x.drop(columns="ptz"), log_features=("ptz",))


def test_the_isolation_forest_baseline_takes_any_variables():
    x = frame(400, 0)
    forest = baselines.IsolationForestScore(n_estimators=20, seed=1).fit(x)
    assert forest.features == VARIABLES and forest.log_features == LOGGED
    np.testing.assert_array_equal(forest(x[list(reversed(VARIABLES))]), forest(x))
    with pytest.raises(ValueError, match=r"x: DataFrame lacks feature column\(s\) \['ptz'\]"):
        forest(x.drop(columns="ptz"))


def test_plot_features_draws_the_variables_of_the_data_on_their_scales():
    x = frame(500, 0)
    weights = np.ones(len(x))
    fig, axes = plotting.plot_features({"SM": (x, weights)}, log_features=("ptz",))
    scales = {ax.get_xlabel(): ax.get_xscale() for ax in axes}
    assert set(scales) == {plotting.variable_label(n) for n in VARIABLES}
    assert [n for n in VARIABLES if scales[plotting.variable_label(n)] == "log"] == ["ptz"]
    fig, axes = plotting.plot_features({"SM": (x, weights)})
    assert sorted(n for n in VARIABLES
                  if dict((a.get_xlabel(), a.get_xscale()) for a in axes)[
                      plotting.variable_label(n)] == "log") == sorted(LOGGED)
    with pytest.raises(ValueError, match=r"lack the variable\(s\) \{'SM': \['ptz'\]\}"):
        plotting.plot_features({"SM": (x.drop(columns="ptz"), weights)}, features=VARIABLES)


def test_shap_attributes_an_anomaly_score_to_the_variables_of_the_data():
    x = frame(300, 0)
    score = anomaly.make("gmm", seed=1, n_components=2).fit(x)
    explanation = explain.shap_values(score, x.iloc[:4], x.iloc[:16])
    assert list(explanation.feature_names) == list(VARIABLES)
    np.testing.assert_allclose(explanation.values.sum(axis=1) + explanation.base_values,
                               score(x.iloc[:4]), rtol=1e-6, atol=1e-6)
    detector = vaednn.Detector(epochs=1, batch_size=128, **DETECTORS["default"]).fit(x)
    explanation = explain.shap_values(detector.decision_function, x.iloc[:4], x.iloc[:16])
    assert list(explanation.feature_names) == list(VARIABLES)
    np.testing.assert_allclose(explanation.values.sum(axis=1) + explanation.base_values,
                               detector.decision_function(x.iloc[:4]), rtol=1e-5, atol=1e-4)


# ------------------------------------------------------------------ signed SM weights

def test_signed_quantile_hand_case():
    # Sorted, event i sits at (C_i - w_i/2) / W, W = 3: 1/6, 1/2, 1/2, 1/2, 5/6.
    values, weights = [5.0, 1.0, 3.0, 2.0, 4.0], [1.0, 1.0, -1.0, 1.0, 1.0]
    assert vdetector.signed_quantile(values, weights, 0.75) == pytest.approx(4.75)
    assert vdetector.signed_quantile(values, weights, 0.25) == pytest.approx(1.25)
    assert vdetector.signed_quantile(values, weights, 0.5) == pytest.approx(2.0)
    # Without the negative event: 1/8, 3/8, 5/8, 7/8.
    assert vdetector.signed_quantile([1, 2, 4, 5], [1, 1, 1, 1], 0.75) == pytest.approx(4.5)
    # A negative event that makes the cumulative share step back: W = 2.5, positions
    # 0.4, 0.5, 0.4, 0.8; from above the running minimum is 0.4, 0.4, 0.4, 0.8.
    assert vdetector.signed_quantile([1, 2, 3, 4], [2, -1.5, 1, 1], 0.6) == pytest.approx(3.5)
    rng = np.random.default_rng(0)
    v, w = rng.normal(size=200), rng.uniform(0.0, 2.0, 200)
    for q in (0.0, 0.05, 0.5, 0.9, 1.0):
        assert vdetector.signed_quantile(v, w, q) == pytest.approx(weighted_quantile(v, w, q))
    with pytest.raises(ValueError, match="q must be in"):
        vdetector.signed_quantile(v, w, 1.5)


NET_NEGATIVE = np.r_[np.ones(100), np.full(100, -1.5)]


@pytest.mark.parametrize("fit", [
    pytest.param(lambda x, w: anomaly.make("gaussian_vae", **FAST["gaussian_vae"]).fit(
        x, sample_weight=w), id="gaussian_vae"),
    pytest.param(lambda x, w: anomaly.make("gmm").fit(x, sample_weight=w), id="gmm"),
    pytest.param(lambda x, w: anomaly.make("vae_reco", epochs=1).fit(x, sample_weight=w),
                 id="vae_reco"),
    pytest.param(lambda x, w: anomaly.make("gmm").fit(x, x_val=x, w_val=w), id="validation"),
    pytest.param(lambda x, w: vaednn.Detector(epochs=1).fit(x, sample_weight=w), id="Detector"),
    pytest.param(lambda x, w: baselines.IsolationForestScore().fit(x, w), id="baseline"),
    pytest.param(lambda x, w: vdetector.signed_quantile(x["mjj"], w, 0.9), id="quantile"),
])
def test_a_net_negative_sm_training_set_is_refused_by_name(fit):
    with pytest.raises(ValueError, match=r"net SM weight Σw = -50 is <= 0 \(Σ\|w\| = 250, "
                                         r"100 of 200 weights negative\)"):
        fit(frame(200, 0), NET_NEGATIVE)


def signed(n, seed):
    """NLO-like SM weights: 20 % of the events at -0.5, the rest at +1 (net > 0)."""
    rng = np.random.default_rng(seed)
    return np.where(rng.uniform(size=n) < 0.2, -0.5, 1.0)


def test_keras_scores_keep_the_signs_and_scikit_learn_scores_take_the_magnitudes():
    # A Keras score's loss is Σ w l / Σ |w| (tests/test_density.py trains on it): here
    # (2·1 - 1·3 + 1·5) / 4 = 1.
    loss = weighted_mean(keras.ops.convert_to_tensor([1.0, 3.0, 5.0]),
                         keras.ops.convert_to_tensor([2.0, -1.0, 1.0]))
    assert float(keras.ops.convert_to_numpy(loss)) == pytest.approx(1.0)
    assert anomaly.SKLEARN_WEIGHTS == "magnitude"
    x, w = frame(400, 0), signed(400, 1)
    for name in ("isolation_forest", "gmm"):
        with_signs = anomaly.make(name, seed=3, **FAST[name]).fit(x, sample_weight=w)
        magnitudes = anomaly.make(name, seed=3, **FAST[name]).fit(x, sample_weight=np.abs(w))
        np.testing.assert_array_equal(with_signs(x), magnitudes(x))
    forest = baselines.IsolationForestScore(n_estimators=20, seed=3)
    np.testing.assert_array_equal(forest.fit(x, w)(x), forest.fit(x, np.abs(w))(x))


@pytest.mark.parametrize("kind", ["default", "vae/reco"])
def test_the_detector_trains_on_signed_weights_and_thresholds_by_the_signed_quantile(kind):
    x, w = frame(400, 0), signed(400, 1)
    detector = vaednn.Detector(epochs=1, batch_size=128, seed=2, contamination=0.2,
                               **DETECTORS[kind]).fit(x, sample_weight=w)
    assert math.isfinite(detector.threshold_)
    assert detector.threshold_ == pytest.approx(
        vdetector.signed_quantile(detector.decision_scores_, w, 0.8))
    # The flagged events carry (about) the contamination's share of the net SM weight.
    flagged = detector.decision_scores_ > detector.threshold_
    assert w[flagged].sum() / w.sum() == pytest.approx(0.2, abs=2.0 / w.sum())


def test_signed_quantile_recovers_the_net_distribution():
    # NLO-like: the net density is a standard normal, but the sample holds an extra
    # N(2, 0.5²) component twice, once with +1 and once with -1 weights. The signed quantile
    # finds the normal's quantiles; the magnitudes' quantile does not.
    rng = np.random.default_rng(7)
    values = np.r_[rng.normal(0.0, 1.0, 100_000), rng.normal(2.0, 0.5, (2, 25_000)).ravel()]
    weights = np.r_[np.ones(125_000), -np.ones(25_000)]
    # Tolerances: about 3.5 times the spread over seeds (0.005, 0.006, 0.04).
    for q, exact, tolerance in ((0.5, 0.0, 0.02), (0.9, 1.2815516, 0.025), (0.99, 2.3263479, 0.15)):
        assert vdetector.signed_quantile(values, weights, q) == pytest.approx(exact, abs=tolerance)
    assert weighted_quantile(values, np.abs(weights), 0.9) > 2.0


def nlo_like(n, extra, seed):
    """Net density: ``a ~ N(0, 1)``, ``b ~ logN(1, 0.5²)``; the sample also holds ``extra``
    events of ``a ~ N(2, 0.5²)`` twice, once at weight +1 and once at -1 (they cancel)."""
    rng = np.random.default_rng(seed)
    a = np.r_[rng.normal(0.0, 1.0, n), rng.normal(2.0, 0.5, (2, extra)).ravel()]
    x = pd.DataFrame({"a": a, "b": rng.lognormal(1.0, 0.5, n + 2 * extra)})
    return x, np.r_[np.ones(n + extra), -np.ones(extra)]


def test_training_with_the_signed_weights_learns_the_net_density():
    # Why the Keras scores keep the signs: the mean -log p on events of the net density (a
    # cross-entropy, lower is closer) is 0.18 nats lower than after training on |w|
    # (0.179 to 0.185 over four seeds).
    x, w = nlo_like(20_000, 5_000, 0)
    net = nlo_like(20_000, 0, 2)[0]
    options = dict(seed=0, space="scaled", epochs=5, coupling_layers=2, hidden_units=(16,))
    signed = anomaly.make("flow", **options).fit(x, sample_weight=w, log_features=("b",))
    magnitude = anomaly.make("flow", **options).fit(x, sample_weight=np.abs(w),
                                                    log_features=("b",))
    assert signed.features == ("a", "b") and signed.log_features == ("b",)
    assert magnitude(net).mean() - signed(net).mean() > 0.1
