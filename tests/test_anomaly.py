"""SM-only anomaly scores: every score ranks harder events higher; the flow and the Gaussian
VAE save, repeat, integrate to one and meet closed-form entropies, on the running backend.

Run this file once per backend: ``KERAS_BACKEND=tensorflow`` and ``KERAS_BACKEND=jax``.
"""

import math

import keras
import numpy as np
import pandas as pd
import pytest

from vaednn import anomaly
from vaednn.models.losses import weighted_mean
from vaednn.scores import base
from helpers import fast_scores, raw_events
from vaednn.data import LOG_FEATURES

N = 1000
FAST = fast_scores(epochs=3, vae_epochs=2, units=16, latent_dim=3, n_estimators=50)


def toy(n, seed):
    """2-D toy: ``a`` standard normal, ``b`` log-normal (ln b ~ N(1, 0.5²)), independent."""
    rng = np.random.default_rng(seed)
    return np.stack([rng.normal(0.0, 1.0, n), rng.lognormal(1.0, 0.5, n)], axis=1).astype(np.float32)


#: Differential entropy of ``toy`` in nats: ½ log(2πe) + (μ + ½ log(2πe σ²)) of the log-normal.
TOY_ENTROPY = 0.5 * math.log(2 * math.pi * math.e) + 1.0 + 0.5 * math.log(2 * math.pi * math.e * 0.25)

TOY_MODELS = {
    "flow": lambda seed: anomaly.RealNVP(coupling_layers=4, hidden_units=(16, 16), seed=seed,
                                         features=("a", "b"), log_features=("b",), name="flow"),
    "gaussian_vae": lambda seed: anomaly.GaussianVAE(
        encoder_units=(16,), decoder_units=(16,), latent_dim=2, seed=seed,
        features=("a", "b"), log_features=("b",), name="gaussian_vae"),
}


def neg_log_p(model, x):
    """``-log p`` in the scaled space, per event, as numpy."""
    return np.asarray(keras.ops.convert_to_numpy(model(x)), dtype=np.float64)


@pytest.fixture(scope="module")
def trained_toys():
    x = toy(4000, 0)
    trained = {}
    for name, factory in TOY_MODELS.items():
        model = factory(1)
        anomaly.train(model, x, validation=(toy(1000, 1), None), epochs=4, batch_size=256,
                      learning_rate=3e-3)
        trained[name] = model
    return trained


@pytest.fixture(scope="module", params=sorted(anomaly.SCORES))
def fitted(request):
    """``(name, score)``: each score trained with seed 7 on the same SM-like events."""
    name = request.param
    return name, anomaly.make(name, seed=7, **FAST[name]).fit(raw_events(N, 0),
                                                              x_val=raw_events(300, 1))


def test_every_score_ranks_harder_events_higher(fitted):
    _, score = fitted
    sm, hard = score.score(raw_events(500, 2)), score(raw_events(500, 3, hard=1.0))
    assert sm.shape == (500,) and sm.dtype == np.float64
    # Half the pairs would be ordered this way by chance; harder events are far outside SM.
    assert (hard[:, None] > sm[None, :]).mean() > 0.7


def test_seeded_scores_repeat_and_seeds_differ(fitted):
    name, score = fitted
    if name.startswith("vae_"):
        pytest.skip("vaednn.models' own tests cover the VAE's determinism")
    probe = raw_events(300, 5)
    again = anomaly.make(name, seed=7, **FAST[name]).fit(raw_events(N, 0), x_val=raw_events(300, 1))
    np.testing.assert_allclose(again.score(probe), score.score(probe), rtol=1e-5, atol=1e-5)
    if name != "gmm":  # EM from any seed converges to the same mixture on these events
        other = anomaly.make(name, seed=8, **FAST[name]).fit(raw_events(N, 0))
        assert not np.allclose(other.score(probe), score.score(probe), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("name", sorted(TOY_MODELS))
def test_keras_round_trip_keeps_scores(name, trained_toys, tmp_path):
    model = trained_toys[name]
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    x = toy(200, 9)
    np.testing.assert_allclose(neg_log_p(loaded, x), neg_log_p(model, x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(base.to_numpy(loaded.scaling.data_range),
                               base.to_numpy(model.scaling.data_range))


def test_flow_density_integrates_to_one(trained_toys):
    flow = trained_toys["flow"]
    a = np.linspace(-9.0, 9.0, 301)
    b = np.exp(np.linspace(1.0 - 9 * 0.5, 1.0 + 9 * 0.5, 301))
    grid = np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2)
    density = np.exp(flow.log_density(grid, space="raw")).reshape(len(a), len(b))
    total = np.trapezoid(np.trapezoid(density, b, axis=1), a)
    assert total == pytest.approx(1.0, abs=0.03)


def test_flow_nll_meets_the_toy_entropy(trained_toys):
    x = toy(20000, 11)
    nll = -trained_toys["flow"].log_density(x, space="raw").mean()
    # The standardised log-normal toy is a standard normal: the flow is exact from its first
    # epoch, so the mean NLL equals the entropy up to its sampling error (~0.01).
    assert nll == pytest.approx(TOY_ENTROPY, abs=0.05)


def test_scaled_and_raw_densities_differ_by_the_scaling_jacobian(trained_toys):
    flow, x = trained_toys["flow"], toy(50, 12)
    data_range = base.to_numpy(flow.scaling.data_range).astype(np.float64)
    expected = -np.log(data_range).sum() - np.log(x[:, 1] * np.log(10.0))
    np.testing.assert_allclose(flow.log_density(x, "raw") - flow.log_density(x, "scaled"),
                               expected, rtol=1e-5)


def test_gaussian_vae_bounds_the_toy_entropy_from_above(trained_toys):
    vae, x = trained_toys["gaussian_vae"], toy(5000, 13)
    jacobian = anomaly.scaling_log_jacobian(vae.scaling, x)
    elbo = (np.asarray(keras.ops.convert_to_numpy(vae.iwae(x, 1, seed=2))) - jacobian).mean()
    iwae = (np.asarray(keras.ops.convert_to_numpy(vae.iwae(x, 32, seed=2))) - jacobian).mean()
    # -ELBO >= -IWAE_32 >= -log p, whose mean is the entropy (sampling error ~0.02).
    assert iwae <= elbo + 1e-3
    assert iwae >= TOY_ENTROPY - 0.05
    np.testing.assert_allclose(keras.ops.convert_to_numpy(vae.iwae(x[:20], 4, seed=2)),
                               keras.ops.convert_to_numpy(vae.iwae(x[:20], 4, seed=2)))


def test_weights_are_normalised_by_their_absolute_sum():
    values = keras.ops.convert_to_tensor(np.array([1.0, 2.0, 4.0], np.float32))
    w = keras.ops.convert_to_tensor(np.array([1.0, -1.0, 2.0], np.float32))
    # (1 - 2 + 8) / (1 + 1 + 2)
    assert float(keras.ops.convert_to_numpy(weighted_mean(values, w))) == pytest.approx(1.75)


def test_vae_scores_share_the_models_event_losses():
    from vaednn import models

    x, probe = raw_events(N, 0), raw_events(200, 4)
    score = anomaly.make("vae_sum", seed=2, epochs=1, kl_weight=0.1).fit(x)
    losses = models.event_losses(score.model, probe)
    np.testing.assert_allclose(score(probe), losses["reco"] + 0.1 * losses["kl"], rtol=1e-6)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown anomaly score 'nope'"):
        anomaly.make("nope")
    with pytest.raises(ValueError, match="space must be one of"):
        anomaly.make("flow", space="physical")
    with pytest.raises(RuntimeError, match="call fit"):
        anomaly.make("gmm").score(raw_events(10, 0))
    with pytest.raises(ValueError, match=r"net SM weight Σw = -11 is <= 0"):
        anomaly.make("gmm").fit(raw_events(50, 0), sample_weight=np.r_[-60.0, np.ones(49)])
    with pytest.raises(ValueError, match=r"lacks feature column\(s\) \['mjj'\]"):
        anomaly.make("gmm", n_components=1).fit(raw_events(50, 0)).score(
            raw_events(5, 1).drop(columns="mjj"))
    with pytest.raises(ValueError, match=r"log10 is taken of these features but they have "
                                         r"values <= 0 \(count per feature\): \{'b': 1\}"):
        TOY_MODELS["flow"](0).adapt(np.array([[0.0, 1.0], [1.0, -2.0]]))
    with pytest.raises(ValueError, match="w_val given without x_val"):
        anomaly.make("gmm").fit(raw_events(50, 0), w_val=np.ones(5))


def test_log_energy_sum_is_minus_the_scaling_jacobian_up_to_a_constant():
    x = raw_events(200, 6)
    score = anomaly.make("gmm", n_components=1).fit(raw_events(500, 0))
    total = anomaly.log_energy_sum(x) + anomaly.scaling_log_jacobian(score.scaling, x.to_numpy())
    data_range = base.to_numpy(score.scaling.data_range).astype(np.float64)
    # Σ log x + (-Σ log range - Σ log(x ln 10)) = -Σ log range - n_log·log(ln 10)
    expected = -np.log(data_range).sum() - len(LOG_FEATURES) * math.log(math.log(10.0))
    np.testing.assert_allclose(total, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="must be > 0"):
        anomaly.log_energy_sum(x.assign(mjj=0.0))


def test_fit_seeds_shares_one_vae_ensemble_between_the_vae_scores():
    from vaednn import models

    x, probe = raw_events(N, 0), raw_events(100, 4)
    fitted = anomaly.fit_seeds({"vae_reco": dict(epochs=1), "vae_kl": dict(epochs=1),
                                "isolation_forest": dict(n_estimators=20)}, x, [4, 5])
    assert [s.seed for s in fitted["vae_kl"]] == [4, 5] == [s.seed for s in fitted["isolation_forest"]]
    for reco, kl in zip(fitted["vae_reco"], fitted["vae_kl"]):
        assert reco.model is kl.model and reco.fitted and kl.fitted
        np.testing.assert_allclose(kl(probe), models.event_losses(kl.model, probe)["kl"], rtol=1e-6)
    assert not np.allclose(fitted["vae_reco"][0](probe), fitted["vae_reco"][1](probe))
    with pytest.raises(ValueError, match="seeds must be distinct"):
        anomaly.fit_seeds({"gmm": {}}, x, [1, 1])


def _study_rows(operator, model, widths, aucs):
    return [{"operator": operator, "model": model, "seed": seed, "AUC": auc, "score": "callable",
             "c_lo_95": -w / 2, "c_hi_95": w / 2, "c_lo_95_syst": -w, "c_hi_95_syst": w,
             "falls_back": seed == 1, "binning": ""}
            for seed, (w, auc) in enumerate(zip(widths, aucs))]


def test_width_ratios_and_seed_tables_by_hand():
    study = pd.DataFrame(_study_rows("cW", "flow", [0.5, 0.7], [0.7, 0.8]))
    counting = pd.DataFrame({"AUC": [0.5], "c_lo_95": [-0.5], "c_hi_95": [0.5],
                             "c_lo_95_syst": [-2.0], "c_hi_95_syst": [2.0]},
                            index=pd.Index(["counting"], name="model"))
    ratios = anomaly.width_ratios(study, {"cW": counting}).set_index("model")
    assert ratios.loc["flow", "ratio"] == pytest.approx(0.6)
    assert ratios.loc["flow", "ratio_std"] == pytest.approx(math.sqrt(0.02))
    # with the systematic: widths 1.0 and 1.4 over 4.0
    assert ratios.loc["flow", "ratio_syst"] == pytest.approx(0.3)
    assert ratios.loc["counting", "ratio"] == 1.0
    assert math.isnan(ratios.loc["counting", "ratio_std"]), "one seed: no spread, not 0"
    assert ratios.loc["flow", "n_seeds"] == 2 and ratios.loc["flow", "AUC"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="no 'counting' row"):
        anomaly.width_ratios(study, {"cW": counting.rename(index={"counting": "x"})})
    table = anomaly.seed_tables(study)["cW"].loc["flow"]
    assert table["AUC"] == pytest.approx(0.75) and table["AUC_std"] == pytest.approx(math.sqrt(0.005))
    assert table["n_seeds"] == 2 and table["falls_back"] and table["c_hi_95"] == pytest.approx(0.3)
    single = anomaly.seed_tables(pd.DataFrame(_study_rows("cW", "fixed", [0.4], [0.6])))["cW"]
    assert single.loc["fixed", "n_seeds"] == 1 and math.isnan(single.loc["fixed", "AUC_std"])


def test_plot_width_ratios_draws_a_point_per_model_and_operator():
    import matplotlib.pyplot as plt

    ratios = pd.DataFrame({"operator": ["cW", "cW", "cqq1", "cqq1"], "model": ["a", "b", "a", "b"],
                           "ratio": [0.7, 0.9, 0.6, 0.8], "ratio_std": [0.01, 0.0, 0.02, 0.0]})
    ax = anomaly.plot_width_ratios(ratios)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cW", "cqq1"]
    points = sorted(y for bars in ax.containers for y in bars.lines[0].get_ydata())
    assert points == pytest.approx([0.6, 0.7, 0.8, 0.9])
    plt.close("all")
