import matplotlib
import numpy as np
import pandas as pd
import pytest

from vaednn import plotting
from vaednn.data import FEATURES

matplotlib.use("agg")


def frame(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({name: rng.lognormal(3.0, 0.5, n) for name in FEATURES})


def test_save_figure_writes_pdf_and_png(tmp_path):
    fig, ax = plotting.new_axes()
    ax.plot([0, 1], [0, 1])
    paths = plotting.save_figure(fig, "line", tmp_path)
    assert [p.name for p in paths] == ["line.pdf", "line.png"]
    assert all(p.stat().st_size > 1000 for p in paths)
    assert paths[1].read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", ["", "a/b", "fig.png"])
def test_save_figure_rejects_paths_as_names(tmp_path, name):
    fig, _ = plotting.new_axes()
    with pytest.raises(ValueError, match="bare file stem"):
        plotting.save_figure(fig, name, tmp_path)


def test_plot_features_keeps_negative_weights_and_normalises():
    sm = frame()
    weights = np.where(np.arange(len(sm)) % 3 == 0, -1.0, 1.0)
    fig, axes = plotting.plot_features({"SM": (sm, np.ones(len(sm))), "LIN": (frame(seed=1), weights)})
    assert len(axes) == 14
    sm_stairs, lin_stairs, lin_negative = axes[7].patches[:3]
    assert sm_stairs.get_edgecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb(plotting.SAMPLE_COLORS["SM"]))
    values, edges = sm_stairs.get_data().values, sm_stairs.get_data().edges
    inside = np.mean((sm["mjj"] >= edges[0]) & (sm["mjj"] <= edges[-1]))
    assert np.sum(values * np.diff(edges)) == pytest.approx(inside)  # unit area but the tails
    lin, negative = lin_stairs.get_data(), lin_negative.get_data()
    assert lin_stairs.get_label() == "LIN" and lin_negative.get_label() == "LIN < 0 (magnitude)"
    assert lin_negative.get_linestyle() == "--"
    assert (negative.values > 0).any(), "negative LIN bins are drawn, as their magnitude"
    # each bin is in exactly one of the two parts
    assert not (np.isfinite(lin.values) & np.isfinite(negative.values)).any()
    total = np.nansum(lin.values * np.diff(lin.edges)) + np.nansum(negative.values * np.diff(lin.edges))
    assert total <= 1.0  # normalised by sum |w|
    assert axes[7].get_yscale() == "log"
    assert axes[7].get_xscale() == "log" and axes[6].get_xscale() == "log"  # mjj, met
    assert axes[0].get_xscale() == axes[1].get_xscale() == "linear"  # deltaetajj, deltaphijj


def test_plot_correlations_shows_the_log_correlation():
    features = frame()
    features["mjj"] = features["ptj1"] ** 2  # log-correlation exactly 1
    ax = plotting.plot_correlations(features)
    matrix = ax.collections[0].get_array().reshape(14, 14)
    i, j = FEATURES.index("mjj"), FEATURES.index("ptj1")
    assert matrix[i, j] == pytest.approx(1.0)
    np.testing.assert_allclose(np.diag(matrix), 1.0)


def test_plot_latent_and_reconstruction_panels():
    rng = np.random.default_rng(0)
    fig, axes = plotting.plot_latent({"SM": (rng.normal(size=(500, 3)), None),
                                      "BSM": (rng.normal(1, 1, size=(500, 3)), np.ones(500))})
    assert len(axes) == 3 and len(axes[0].patches) == 2
    x = rng.uniform(size=(500, 14))
    fig, axes = plotting.plot_reconstruction(x, x + 0.01, feature_names=FEATURES)
    assert len(axes) == 14 and "scaled" in axes[0].get_xlabel()


def test_feature_error_bars_are_the_root_of_the_summed_squared_weights():
    rng = np.random.default_rng(3)
    sm = frame()
    weights = rng.uniform(0.5, 2.0, len(sm))
    fig, axes = plotting.plot_features({"SM": (sm, weights)}, features=["deltaetajj"], ncols=1)
    edges = axes[0].patches[0].get_data().edges
    sumw2, _ = np.histogram(sm["deltaetajj"], edges, weights=weights**2)
    expected = np.sqrt(sumw2) / (weights.sum() * np.diff(edges))
    segments = axes[0].collections[0].get_segments()
    lengths = np.array([abs(s[1][1] - s[0][1]) for s in segments])
    np.testing.assert_allclose(lengths, 2 * expected[sumw2 > 0])


def test_plot_latent_normalises_a_cancelling_lin_by_its_absolute_weights():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4000, 2))
    weights = np.where(z[:, 0] > 0, 1.0, -1.0)  # net area near zero
    fig, axes = plotting.plot_latent({"LIN": (z, weights)})
    stairs = axes[0].patches[0].get_data()
    area = np.sum(np.abs(stairs.values) * np.diff(stairs.edges))
    assert 0.95 < area <= 1.0  # sum |w|, not the net signed area, which would inflate it


def test_plot_latent_2d_draws_one_contour_set_per_class_and_checks_dims():
    rng = np.random.default_rng(0)
    latents = {"SM": (rng.normal(size=(2000, 3)), None), "QUAD": (rng.normal(2, 1, (2000, 3)), None)}
    ax = plotting.plot_latent_2d(latents, dims=(0, 2))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SM", "QUAD"]
    assert ax.get_ylabel() == "$z_{3}$ (mean)"
    with pytest.raises(ValueError, match="dims"):
        plotting.plot_latent_2d(latents, dims=(0, 3))
