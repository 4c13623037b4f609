import math

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import shap

from vaednn import explain, models, simulate
from vaednn.data import FEATURES
from vaednn.explain import ablations
from vaednn.plotting import save_figure, variable_label

N = len(FEATURES)

# Tolerances of the approximate methods. permutation and kernel are exact for an additive
# score (every marginal contribution of a linear f is w_i (x_i - b_i)), so the linear test
# holds them to the exact method's 1e-6. gradient samples (background event, path point)
# pairs: for a linear f its value is w_i (x_i - mean of the sampled b_i), a Monte-Carlo
# mean with standard error |w_i| std(b_i) / sqrt(nsamples); it must be within 5 of them.
EXACT_TOL = 1e-6
GRADIENT_SIGMAS = 5.0
# gradient's additivity on a trained VAE at nsamples=1000: the mean |sum - (f(x) - E f)|
# stays below 5 % of mean |f(x) - E f| (measured: 2 %), and its values correlate with the
# exact Shapley values at > 0.99 (measured: 0.999).
GRADIENT_ADDITIVITY = 0.05


@pytest.fixture(scope="module")
def events():
    sm = simulate.generate(2000, seed=11)[list(FEATURES)].to_numpy()
    bsm = simulate.generate(300, seed=12, shift_jets=0.5, shift_ww=0.5)[list(FEATURES)].to_numpy()
    return sm, bsm


@pytest.fixture(scope="module")
def flat(events):
    sm, _ = events
    model = models.build("vae_flat", sm, seed=0)
    model.fit(sm, epochs=2, verbose=0)
    return model


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(5)
    w, b = rng.normal(size=N), 0.7
    X = rng.normal(size=(4, N))
    background = rng.normal(1.0, 2.0, size=(20, N))
    return w, b, X, background, w * (X - background.mean(axis=0))


def linear_keras(w, b):
    inputs = keras.Input((N,))
    dense = keras.layers.Dense(1)
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([w[:, None].astype("float32"), np.array([b], dtype="float32")])
    return model


# ------------------------------------------------------------------- the linear-score test

@pytest.mark.parametrize("method", ["exact", "permutation", "kernel"])
def test_linear_score_matches_closed_form(linear, method):
    w, b, X, background, truth = linear
    explanation = explain.shap_values(lambda x: x @ w + b, X, background, method=method)
    np.testing.assert_allclose(explanation.values, truth, rtol=0, atol=EXACT_TOL)
    np.testing.assert_allclose(explanation.base_values, background.mean(axis=0) @ w + b, atol=1e-12)


def test_linear_keras_model_exact(linear):
    w, b, X, background, truth = linear
    explanation = explain.shap_values(linear_keras(w, b), X, background, method="exact")
    # A float32 model: 1e-5 relative to the largest attribution.
    atol = 1e-5 * np.abs(truth).max()
    np.testing.assert_allclose(explanation.values, truth, rtol=0, atol=atol)


def test_linear_score_gradient_within_sampling_error(linear):
    w, b, X, background, truth = linear
    nsamples = 2000
    explanation = explain.shap_values(
        linear_keras(w, b), X, background, method="gradient", nsamples=nsamples
    )
    sigma = np.abs(w) * background.std(axis=0) / math.sqrt(nsamples)
    assert np.all(np.abs(explanation.values - truth) <= GRADIENT_SIGMAS * sigma + 1e-5)
    # Not exact, or the test above would not be testing the tolerance.
    assert np.abs(explanation.values - truth).max() > 1e-5


def test_exact_interaction_hand_computed():
    # f = x0 * x1 with a zero background: each of the two shares the product equally.
    X = np.zeros((1, N))
    X[0, :2] = 3.0, 5.0
    values = explain.shap_values(lambda x: x[:, 0] * x[:, 1], X, np.zeros((1, N))).values[0]
    np.testing.assert_allclose(values[:2], [7.5, 7.5], atol=1e-12)
    np.testing.assert_allclose(values[2:], 0.0, atol=1e-12)


def test_exact_matches_shap_exact_explainer_on_nonlinear_score():
    rng = np.random.default_rng(2)
    w = rng.normal(size=N)

    def f(x):
        return np.tanh(x @ w) + x[:, 0] * x[:, 3] - np.abs(x[:, 5] - x[:, 7])

    X, background = rng.normal(size=(2, N)), rng.normal(size=(6, N))
    ours = explain.shap_values(f, X, background).values
    theirs = shap.ExactExplainer(f, shap.maskers.Independent(background, max_samples=6))(X).values
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


# ------------------------------------------------------------------ additivity on a VAE

@pytest.mark.parametrize("method", ["exact", "permutation", "kernel"])
def test_additivity_on_trained_vae(flat, events, method):
    sm, bsm = events
    score = explain.reco_loss_score(flat)
    X, background = bsm[:3], sm[-10:]
    nsamples = None if method == "exact" else 300
    explanation = explain.shap_values(score, X, background, method=method, nsamples=nsamples)
    total = explanation.values.sum(axis=1) + explanation.base_values
    np.testing.assert_allclose(total, score(X), rtol=1e-5, atol=1e-7)
    assert np.abs(explanation.values).max() > 1e-4


def test_approximations_agree_with_exact_on_vae(flat, events):
    sm, bsm = events
    score = explain.reco_loss_score(flat)
    X, background = np.concatenate([bsm[:4], sm[:2]]), sm[-10:]
    exact = explain.shap_values(score, X, background).values
    scale = np.abs(exact).max()
    for method in ("permutation", "kernel"):
        approx = explain.shap_values(score, X, background, method=method).values
        assert np.abs(approx - exact).max() < 0.05 * scale, method
    gradient = explain.shap_values(score, X, background, method="gradient", nsamples=1000)
    assert np.corrcoef(gradient.values.ravel(), exact.ravel())[0, 1] > 0.99
    gap = gradient.values.sum(axis=1) + gradient.base_values - score(X)
    deviation = score(X) - gradient.base_values
    assert np.abs(gap).mean() < GRADIENT_ADDITIVITY * np.abs(deviation).mean()


def test_sampling_methods_are_seeded_and_leave_numpy_state(flat, events):
    sm, bsm = events
    score = explain.reco_loss_score(flat)
    before = np.random.get_state()[1].copy()
    runs = {
        seed: [explain.shap_values(score, bsm[:2], sm[:5], method=m, seed=seed, nsamples=60).values
               for m in ("permutation", "gradient")]
        for seed in (0, 1)
    }
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    first = [explain.shap_values(score, bsm[:2], sm[:5], method=m, seed=0, nsamples=60).values
             for m in ("permutation", "gradient")]
    for a, b in zip(first, runs[0]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[1][1], runs[0][1])


# ------------------------------------------------------------------------------- scores

def test_scores_match_models_and_their_keras_twins(flat, events):
    sm, bsm = events
    X = np.concatenate([sm[:5], bsm[:5]])
    losses = models.event_losses(flat, X)
    for score, column in ((explain.reco_loss_score(flat), "reco"), (explain.kl_score(flat), "kl")):
        np.testing.assert_allclose(score(X), losses[column], rtol=1e-6)
        twin = np.asarray(score.keras_model.predict_on_batch([X.astype("float32")]))
        np.testing.assert_allclose(twin, losses[column], rtol=1e-4, atol=1e-7)


def test_classifier_score(events):
    sm, bsm = events
    model = models.build("vae_dnn_reco", sm[:500], seed=1)
    score = explain.classifier_score(model)
    np.testing.assert_allclose(score(bsm[:7]), models.classifier_output(model, bsm[:7]), rtol=1e-6)
    explanation = explain.shap_values(score, bsm[:2], sm[:5])
    total = explanation.values.sum(1) + explanation.base_values
    np.testing.assert_allclose(total, score(bsm[:2]), atol=1e-6)


def test_classifier_score_rejects_plain_vae(flat):
    with pytest.raises(ValueError, match="no classifier head"):
        explain.classifier_score(flat)


# --------------------------------------------------------------------------- bad input

def test_bad_input_is_named(linear, flat):
    w, b, X, background, _ = linear
    f = lambda x: x @ w  # noqa: E731
    with pytest.raises(ValueError, match="method must be one of"):
        explain.shap_values(f, X, background, method="deep")
    with pytest.raises(ValueError, match=r"events of shape \(\d+, 5\) have no variable names"):
        explain.shap_values(f, X[:, :5], background)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 14\)"):
        explain.shap_values(explain.Score(f, features=FEATURES), X[:, :5], background)
    bad = X.copy()
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match="X holds 1 events with non-finite features"):
        explain.shap_values(f, bad, background)
    with pytest.raises(ValueError, match=r"background lacks the column\(s\)"):
        explain.shap_values(f, X, pd.DataFrame(background[:, :13], columns=list(FEATURES[:13])))
    with pytest.raises(ValueError, match="nsamples"):
        explain.shap_values(f, X, background, nsamples=100)
    with pytest.raises(ValueError, match="plain callable"):
        explain.shap_values(f, X, background, method="gradient")
    with pytest.raises(ValueError, match="one value per event"):
        explain.shap_values(lambda x: x, X, background)
    with pytest.raises(ValueError, match="reco_loss_score"):
        explain.shap_values(flat, X, background)


def test_dataframe_columns_are_taken_by_name(linear):
    w, b, X, background, truth = linear
    shuffled = pd.DataFrame(X, columns=list(FEATURES))[list(reversed(FEATURES))]
    values = explain.shap_values(lambda x: x @ w + b, shuffled, background).values
    np.testing.assert_allclose(values, truth, atol=EXACT_TOL)


# ----------------------------------------------------------------------------- ablation

def weights_of(model):
    return [np.array(w, copy=True) for w in model.get_weights()]


def test_ablation_table_and_restored_model(flat, events):
    sm, bsm = events
    before = weights_of(flat)
    table = explain.ablation(flat, bsm[:100], sm[:10], k=3)
    for a, b in zip(before, weights_of(flat)):
        np.testing.assert_array_equal(a, b)

    reco = models.event_losses(flat, bsm[:100])["reco"].to_numpy()
    worst = int(np.argmax(reco))
    assert table.attrs["event"] == worst
    top = models.feature_errors(flat, bsm[worst : worst + 1]).iloc[0].nlargest(3).index
    assert list(table.index) == ["none", *top]
    np.testing.assert_allclose(table["reco_before"], reco[worst], rtol=1e-6)
    np.testing.assert_allclose(table.loc["none", "reco_after"], reco[worst], rtol=1e-6)
    assert (table["reco_after"].iloc[1:] != reco[worst]).all()
    # SHAP values of each (ablated) model add up to its loss for the event.
    shap_sum = table[list(FEATURES)].sum(axis=1) + table["base_value"]
    np.testing.assert_allclose(shap_sum, table["reco_after"], rtol=1e-5)


def test_ablation_restores_weights_on_error(flat, events, monkeypatch):
    sm, bsm = events
    before = weights_of(flat)
    calls = []
    original = explain.shap_values

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("interrupted")
        return original(*args, **kwargs)

    # ablation calls shap_values from the module that defines ablation.
    monkeypatch.setattr(ablations, "shap_values", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        explain.ablation(flat, bsm[:20], sm[:5], k=2)
    for a, b in zip(before, weights_of(flat)):
        np.testing.assert_array_equal(a, b)


def test_ablation_needs_flat_model(events):
    sm, bsm = events
    model = models.build("vae", sm[:500], seed=0)
    with pytest.raises(ValueError, match="vae_flat"):
        explain.ablation(model, bsm[:10], sm[:5])


# ---------------------------------------------------------------- high-loss variables

def test_variables_high_loss_counts(flat, events):
    _, bsm = events
    reco = models.event_losses(flat, bsm)["reco"].to_numpy()
    threshold = np.quantile(reco, 0.7)
    table = explain.variables_high_loss(flat, bsm, threshold, k=3)
    selected = reco > threshold
    errors = models.feature_errors(flat, bsm[selected])
    expected = pd.Series(0, index=list(FEATURES))
    for _, row in errors.iterrows():
        expected[row.nlargest(3).index] += 1
    pd.testing.assert_series_equal(
        table["count"].sort_index(), expected.sort_index(), check_names=False, check_dtype=False
    )
    assert table.attrs["n_events"] == selected.sum()
    assert table["fraction"].sum() == pytest.approx(3.0)
    assert table["count"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="no event has a reconstruction loss above"):
        explain.variables_high_loss(flat, bsm, reco.max() + 1.0)


# -------------------------------------------------------------------------------- plots

def test_plots(flat, events, tmp_path):
    sm, bsm = events
    score = explain.reco_loss_score(flat)
    values_sm = explain.shap_values(score, sm[:20], sm[-10:], method="gradient")
    values_bsm = explain.shap_values(score, bsm[:20], sm[-10:], method="gradient")

    fig, axes = plt.subplots(1, 2)
    ax = explain.plot_summary(values_bsm, ax=axes[0])
    assert ax is axes[0]
    names = {variable_label(f, units=False): f for f in FEATURES}
    assert {t.get_text() for t in ax.get_yticklabels()} == set(names)

    ax = explain.plot_mean_abs(values_sm, values_bsm, ax=axes[1])
    sm_bars, bsm_bars = ax.containers
    assert (sm_bars.get_label(), bsm_bars.get_label()) == ("SM", "BSM")
    order = [names[t.get_text()] for t in ax.get_yticklabels()]
    for bars, values in ((sm_bars, values_sm), (bsm_bars, values_bsm)):
        widths = [bar.get_width() for bar in bars]
        np.testing.assert_allclose(widths, explain.mean_abs(values)[order])
    assert order[-1] == explain.mean_abs(values_bsm).idxmax()
    paths = save_figure(fig, "shap_sm_bsm", tmp_path)
    assert all(path.stat().st_size > 1000 for path in paths)
    plt.close(fig)

    table = explain.ablation(flat, bsm[:50], sm[:5], k=2)
    ax = explain.plot_ablation(table)
    assert sum(len(c) for c in ax.containers) == 3 * N
    plt.close(ax.figure)

    high = explain.variables_high_loss(flat, bsm, np.median(score(bsm)))
    ax = explain.plot_variables_high_loss(high)
    np.testing.assert_allclose([b.get_height() for b in ax.containers[0]], high["fraction"])
    plt.close(ax.figure)


def test_mean_abs_hand_computed():
    values = np.zeros((2, N))
    values[:, 0] = [1.0, -3.0]
    importance = explain.mean_abs(values)
    assert importance[FEATURES[0]] == 2.0
    assert (importance.iloc[1:] == 0.0).all()
