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


# ------------------------------------------------------------------ sensitivity plots

def component_scores(seed=0, n=600, lin_sign=-1.0):
    from vaednn import stats
    rng = np.random.default_rng(seed)
    lin_w = np.where(np.arange(n) % 3 == 0, lin_sign * 0.01, 0.02)
    return stats.ComponentScores(rng.exponential(1.0, n), np.full(n, 0.1),
                                 rng.exponential(1.5, n), lin_w, rng.exponential(2.5, n),
                                 np.full(n, 0.03))


def test_operator_matrix_log_colours_and_cells_that_never_reach():
    operators = ("cW", "cHbox")
    values = {("cW", "cW"): 0.2, ("cHbox", "cHbox"): 5.1, ("cW", "cHbox"): np.inf,
              ("cHbox", "cW"): 0.9}
    table = pd.DataFrame([{"trained": t, "evaluated": e, "min_abs_c": values[(t, e)],
                           "min_abs_c_std": 0.05} for t in operators for e in operators])
    ax = plotting.plot_operator_matrix(table, "min_abs_c")
    mesh = ax.collections[0]
    assert isinstance(mesh.norm, matplotlib.colors.LogNorm)
    assert (mesh.norm.vmin, mesh.norm.vmax) == (0.2, 5.1)  # 5.1 is the top, not beyond it
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["0.2\n±0.05", "5.1\n±0.05", "0.9\n±0.05", "never"])
    # AUC keeps a linear scale unless asked
    auc = table.assign(AUC=[0.6, 0.7, 0.8, 0.9])
    assert plotting.plot_operator_matrix(auc, "AUC").collections[0].norm.__class__ is \
        matplotlib.colors.Normalize
    # an operator set where nothing reaches 3 sigma (quick runs): every cell says so
    never = plotting.plot_operator_matrix(table.assign(min_abs_c=np.inf), "min_abs_c")
    assert [t.get_text() for t in never.texts] == ["never"] * 4
    matplotlib.pyplot.close("all")


def test_plot_roc_band_over_seeds_is_the_spread_of_the_curves():
    from vaednn import stats
    seeds = [component_scores(s).sm_vs_bsm() for s in range(5)]
    lines = plotting.plot_roc({"VAE": seeds}, spread="std")
    areas = np.array([stats.auc(*curve) for curve in seeds])
    assert lines[0].get_label() == (f"VAE (AUC = {areas.mean():.3f} ± {areas.std(ddof=1):.3f}, "
                                    r"5 seeds, $\pm 1\sigma$)")
    x, mean = lines[0].get_data()
    per_seed = []
    for curve in seeds:  # each seed's 1/eps_SM at the drawn signal efficiencies
        eff_sm, eff_bsm, _ = stats.roc(*curve)
        order = np.argsort(eff_bsm, kind="stable")
        per_seed.append(1 / np.interp(x, eff_bsm[order], eff_sm[order]))
    per_seed = np.array(per_seed)
    np.testing.assert_allclose(mean, per_seed.mean(axis=0))
    spread = per_seed.std(axis=0, ddof=1)
    band = lines[0].axes.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx((mean - spread).min())
    assert band.max() == pytest.approx((mean + spread).max())
    with pytest.raises(ValueError, match="spread must be one of"):
        plotting.plot_roc({"VAE": seeds}, spread="iqr")
    with pytest.raises(ValueError, match="at least two seeds"):
        plotting.plot_roc({"VAE": seeds[:1]})
    matplotlib.pyplot.close("all")


def test_component_rocs_use_the_magnitude_of_negative_lin_weights():
    from vaednn import stats
    scores = component_scores()
    lin_ax, quad_ax = plotting.plot_component_rocs({"VAE": scores})
    assert "|LIN|" in lin_ax.get_title() and "|w|" in lin_ax.get_title()
    assert quad_ax.get_title() == "SM vs QUAD"
    expected = stats.auc(scores.sm, scores.w_sm, scores.lin, np.abs(scores.w_lin))
    assert lin_ax.get_legend().get_texts()[0].get_text() == f"VAE (AUC = {expected:.3f})"
    positive = plotting.plot_component_rocs({"VAE": component_scores(lin_sign=1.0)})
    assert positive[0].get_title() == "SM vs LIN"
    matplotlib.pyplot.close("all")


def test_loss_distribution_error_bars_are_the_root_of_the_summed_squared_weights():
    scores = component_scores()
    drawn = plotting.plot_loss_distributions(scores, c=2.0, bins=6)
    edges = drawn["QUAD"].get_data().edges
    sumw2, _ = np.histogram(scores.quad, edges, weights=(4.0 * scores.w_quad) ** 2)
    bars = [c for c in drawn["QUAD"].axes.collections
            if matplotlib.colors.to_hex(c.get_color()[0]) == plotting.SAMPLE_COLORS["QUAD"]]
    lengths = np.array([abs(s[1][1] - s[0][1]) for s in bars[0].get_segments()])
    np.testing.assert_allclose(lengths, 2 * np.sqrt(sumw2[sumw2 > 0]))
    assert any("(13 TeV)" in t.get_text() for t in drawn["SM"].axes.texts)
    matplotlib.pyplot.close("all")


def test_several_models_on_one_sigma_axis_share_one_experiment_label():
    c = np.linspace(-1, 1, 5)
    line, _ = plotting.plot_sigma_vs_c(c, c**2, label="a")
    plotting.plot_sigma_vs_c(c, 2 * c**2, label="b", ax=line.axes)
    assert sum("(13 TeV)" in t.get_text() for t in line.axes.texts) == 1
    matplotlib.pyplot.close("all")


def test_interval_comparison_reads_a_results_table_with_seed_spreads():
    table = pd.DataFrame([
        {"operator": "cW", "model": "VAE", "n_seeds": 5, "AUC": 0.7, "AUC_std": 0.01,
         "c_lo_95": -0.3, "c_hi_95": 0.25, "c_lo_95_std": 0.02, "c_hi_95_std": 0.04},
        {"operator": "cW", "model": "counting", "n_seeds": 1, "AUC": 0.5, "AUC_std": np.nan,
         "c_lo_95": -0.5, "c_hi_95": 0.5}])
    ax = plotting.plot_interval_comparison(table)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["VAE (5 seeds)", "counting"]
    widths = sorted(abs(s[1][0] - s[0][0]) for c in ax.collections for s in c.get_segments()
                    if len(s) == 2 and s[0][1] == s[1][1])
    np.testing.assert_allclose(widths, [0.04, 0.08])  # +-std at each bound
    with pytest.raises(ValueError, match="missing"):
        plotting.plot_interval_comparison(table.drop(columns="c_hi_95"))
    matplotlib.pyplot.close("all")


def test_smearing_plot_draws_the_seed_spread_when_the_table_has_it():
    from vaednn import workflow
    table = pd.DataFrame({"model": "VAE", "scale": [0.0, 1.0], "AUC": [0.7, 0.65],
                          "AUC_std": [0.01, 0.03], "min_abs_c": [0.3, 0.4]})
    auc_ax, c_ax = workflow.plot_smearing(table)
    segments = auc_ax.containers[0].lines[2][0].get_segments()
    np.testing.assert_allclose([s[1][1] - s[0][1] for s in segments], [0.02, 0.06])
    assert "std over seeds" in auc_ax.get_ylabel() and "std" not in c_ax.get_ylabel()
    assert c_ax.containers[0].lines[2] == ()  # no spread given: no error bars
    matplotlib.pyplot.close("all")


def test_panels_side_by_side_share_one_experiment_label_spanning_them():
    c = np.linspace(-1, 1, 5)
    fig, (left, right) = matplotlib.pyplot.subplots(1, 2, figsize=(7, 3))
    for ax in (left, right):
        plotting.plot_sigma_vs_c(c, c**2, ax=ax, label="a")
    assert not any(t.get_text() for t in left.texts if "13 TeV" in t.get_text())
    assert [t.get_text() for t in left.texts if "Simulation" in t.get_text()]
    assert sum("(13 TeV)" in t.get_text() for t in right.texts) == 1
    assert not any("Simulation" in t.get_text() for t in right.texts)
    matplotlib.pyplot.close("all")


def test_interval_bars_draw_each_interval_on_its_row_and_an_open_bound_at_the_edge():
    from vaednn import plots

    ax = plots.plot_interval_bars({"stat": (-0.5, 0.4), "all": (-1.0, np.inf)})
    bars = [line for line in ax.lines if line.get_linewidth() == 3]
    assert [tuple(b.get_ydata()) for b in bars] == [(0.0, 0.0), (-1.0, -1.0)]
    assert tuple(bars[0].get_xdata()) == (-0.5, 0.4)
    assert tuple(bars[1].get_xdata()) == (-1.0, 1.3)  # 1.3 x the largest finite bound
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stat", "all"]
    with pytest.raises(ValueError, match="no intervals"):
        plots.plot_interval_bars({})
