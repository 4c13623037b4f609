"""Every plot helper renders a figure a journal would print.

Each helper in ``plotting.PLOT_HELPERS`` is rendered with small inputs and checked with
matplotlib's own bounding boxes: no two texts overlap (tick labels aside; a text may not
sit on another panel's tick labels either), no legend covers a text, no raw branch name is
shown, figures of events carry the experiment label, and the global rcParams are the same
after the call. A helper added to the registry without an example here fails the
completeness test, so new helpers are rendered too.
"""

import copy

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from vaednn import anomaly, curves, explain, plotting, scan, workflow  # noqa: F401 (fill the registry)
from vaednn.data import FEATURES

mpl.use("agg")


def _frame(seed, n=1000):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({name: rng.lognormal(3.0, 0.5, n) for name in FEATURES})
    for name in ("etaj1", "etaj2", "etal1", "etal2"):
        frame[name] = rng.normal(0, 1.5, n)
    return frame


def _samples():
    n = 1000
    lin_w = np.where(np.arange(n) % 3 == 0, -1.0, 1.0)
    return {"SM": (_frame(0), np.ones(n)), "LIN": (_frame(1), lin_w),
            "QUAD": (_frame(2), np.full(n, 0.5))}


def _latents(k=3):
    rng = np.random.default_rng(0)
    return {"SM": (rng.normal(size=(2000, k)), np.ones(2000)),
            "LIN": (rng.normal(0.5, 1, (2000, k)), np.where(np.arange(2000) % 3, 1.0, -1.0)),
            "QUAD": (rng.normal(1.5, 1, (2000, k)), np.ones(2000))}


def _shap_values(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(100, len(FEATURES))) * np.linspace(0.1, 2, len(FEATURES))


def _scan_results():
    """Trials of a VAE (trained on SM) and a VAE+DNN trained on two operators, three seeds."""
    rows = []
    trials = [(m, t, k, seed) for m, t in (("VAE", "SM"), ("VAE+DNN", "cW"), ("VAE+DNN", "cqq3"))
              for k in (2, 4, 8) for seed in range(3)]
    for trial, (model, trained, latent, seed) in enumerate(trials):
        for operator in ("cW", "cqq3"):
            rows.append({"status": "ok", "model": model, "train_operator": trained, "seed": seed,
                         "operator": operator, "trial_id": trial, "hp_latent_dim": latent,
                         "AUC": 0.6 + 0.02 * latent + 0.01 * seed,
                         "min_abs_c": 0.1 * (latent + 1) * (1 + len(trained) % 3)
                         + 0.01 * seed})
    return pd.DataFrame(rows)


def _component_scores(seed=0, n=800):
    from vaednn import stats
    rng = np.random.default_rng(seed)
    lin_w = np.where(np.arange(n) % 3 == 0, -0.01, 0.02)
    return stats.ComponentScores(rng.exponential(1.0, n), np.full(n, 0.1),
                                 rng.exponential(1.5, n), lin_w,
                                 rng.exponential(2.5, n), np.full(n, 0.03))


def _operator_matrix(metric="min_abs_c"):
    operators = ("cW", "cHbox", "cqq3")
    values = {("cW", "cW"): 0.2, ("cHbox", "cHbox"): 5.1, ("cqq3", "cqq3"): 0.05,
              ("cW", "cHbox"): np.inf}
    return pd.DataFrame([{"trained": t, "evaluated": e, metric: values.get((t, e), 0.5),
                          f"{metric}_std": 0.01} for t in operators for e in operators])


def _results_table():
    """compare.results_table rows with the seed spread of the notebooks' ensembles."""
    return pd.DataFrame([{"operator": op, "model": model, "AUC": 0.7, "AUC_std": 0.01,
                          "n_seeds": seeds, "c_lo_95": -0.3 * scale, "c_hi_95": 0.25 * scale,
                          "c_lo_95_std": 0.02 * scale, "c_hi_95_std": 0.03 * scale}
                         for op, scale in (("cW", 1.0), ("cHbox", 20.0))
                         for model, seeds in (("VAE", 5), ("VAE+DNN", 5), ("counting", 1))])


def _interval_table():
    rows = []
    for op, published in (("cW", (-0.2, 0.2)), ("cqq1", (np.nan, np.nan))):
        for model, width in (("counting", 1.0), ("VAE+DNN", 0.5)):
            for syst in (0.0, 0.1):
                rows.append({"operator": op, "model": model, "systematic": syst,
                             "lo": -width * (1 + syst), "hi": width * (1 + 2 * syst),
                             "falls_back": False, "published_lo": published[0],
                             "published_hi": published[1]})
    return pd.DataFrame(rows)


def _profiles():
    from vaednn import stats
    b, lin, quad = np.array([100.0, 20.0]), np.array([5.0, 3.0]), np.array([2.0, 4.0])
    return {"no syst": stats.profile_scan(b, lin, quad),
            "10 % syst": stats.profile_scan(b, lin, quad, background_uncertainty=0.1)}


def _significance():
    from vaednn import stats
    scores = _component_scores()
    cuts = stats.all_cuts(scores.sm, scores.lin, scores.quad)
    sigma, error = stats.significance_error(cuts, 1.0, scores)
    return (cuts, sigma, error), {"label": "VAE", "xlabel": "reconstruction loss"}


def _sigma_vs_c():
    from vaednn import stats
    c_values = np.linspace(-2, 2, 21)
    return (c_values, stats.max_significance(c_values, _component_scores())), {
        "label": "VAE", "operator": "cW", "title": "cW, test events"}


def _ablation_table():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(3, len(FEATURES))), columns=list(FEATURES),
                         index=pd.Index(["none", "ptl1", "mll"], name="ablated"))
    return table


def _high_loss_table():
    table = pd.DataFrame({"count": np.arange(len(FEATURES))[::-1],
                          "fraction": np.linspace(0.5, 0.01, len(FEATURES))},
                         index=pd.Index(list(FEATURES), name="feature"))
    table.attrs.update(k=3, n_events=120, threshold=0.25)
    return table


def _history():
    epochs = np.arange(1, 21)
    return {"loss": 10 / epochs + 1.0, "reconstruction_loss": 10 / epochs + 0.9,
            "kl_loss": 0.1 + 0.0 * epochs, "val_loss": 11 / epochs + 1.0,
            "val_reconstruction_loss": 11 / epochs + 0.9, "val_kl_loss": 0.12 + 0.0 * epochs}


def _smearing_table():
    return pd.DataFrame([{"model": m, "scale": s, "AUC": 0.8 - 0.05 * s - 0.1 * i,
                          "min_abs_c": 0.2 + 0.05 * s + 0.1 * i}
                         for i, m in enumerate(("VAE", "VAE+DNN", "BDT (supervised)"))
                         for s in (0.0, 0.5, 1.0, 2.0)])


def _width_ratios():
    return pd.DataFrame([{"operator": op, "model": m, "ratio": 0.7 + 0.05 * i + 0.02 * j,
                          "ratio_std": 0.01 * (i + 1)}
                         for i, m in enumerate(("flow", "IsolationForest (unsupervised)", "VAE"))
                         for j, op in enumerate(("cW", "cqq1", "cqq3", "cHq3"))])


def _seed_curves():
    return pd.DataFrame([{"model": m, "seed": s, "epoch": e, "value": 0.8 - 0.1 * s / (e + 1)}
                         for m in ("vae_dnn_latent", "vae_dnn_reco") for s in range(3)
                         for e in range(1, 11)])


#: helper -> (arguments, whether it is a figure of events: needs the experiment label)
EXAMPLES = {
    "vaednn.scores.studies.plot_width_ratios": (lambda: ((_width_ratios(),), {}), True),
    "vaednn.plots.studies.plot_seed_curves": (
        lambda: ((_seed_curves(), "validation AUC"), {}), False),
    "vaednn.plots.features.plot_features": (lambda: ((_samples(),), {}), True),
    "vaednn.plots.features.plot_correlations": (lambda: ((_frame(0),), {}), True),
    # four panels in four columns: no spare panel, so the legend goes below the grid
    "vaednn.plots.features.plot_reconstruction": (
        lambda: ((np.random.default_rng(0).uniform(size=(500, 4)),
                  np.random.default_rng(1).uniform(size=(500, 4))),
                 {"feature_names": FEATURES[:4]}), False),
    "vaednn.plots.features.plot_latent": (lambda: ((_latents(),), {}), True),
    "vaednn.plots.features.plot_latent_2d": (lambda: ((_latents(),), {}), True),
    "vaednn.plots.histories.plot_loss_curves": (lambda: ((_history(),), {}), False),
    "vaednn.explain.shapley.plot_summary":
        (lambda: ((_shap_values(),), {"X": _frame(0)[:100]}), False),
    "vaednn.explain.shapley.plot_mean_abs":
        (lambda: ((_shap_values(0), _shap_values(1)), {}), False),
    "vaednn.plots.attributions.plot_ablation": (lambda: ((_ablation_table(),), {}), False),
    "vaednn.plots.attributions.plot_variables_high_loss": (
        lambda: ((_high_loss_table(),), {}), False),
    "vaednn.scan.plots.plot_min_coefficient": (lambda: ((_scan_results(),), {}), False),
    "vaednn.scan.plots.plot_auc_vs_latent": (lambda: ((_scan_results(),), {}), False),
    "vaednn.plots.studies.plot_smearing": (lambda: ((_smearing_table(),), {}), True),
    "vaednn.plots.matrix.plot_operator_matrix": (
        lambda: ((_operator_matrix(), "min_abs_c"), {}), False),
    "vaednn.plots.roc.plot_roc": (
        lambda: (({"VAE": _component_scores(0).sm_vs_bsm(),
                   "VAE+DNN": [_component_scores(s).sm_vs_bsm() for s in range(1, 6)]},),
                 {}), False),
    "vaednn.plots.roc.plot_component_rocs": (
        lambda: (({"VAE": _component_scores(0),
                   "VAE+DNN": [_component_scores(s) for s in range(1, 6)]},), {}), False),
    "vaednn.plots.roc.plot_loss_distributions": (
        lambda: ((_component_scores(),), {"c": 0.5, "title": "VAE+DNN (cW)"}), True),
    "vaednn.plots.significance.plot_significance": (_significance, True),
    "vaednn.plots.significance.plot_sigma_vs_c": (_sigma_vs_c, True),
    "vaednn.plots.significance.plot_interval_comparison": (
        lambda: ((_interval_table(),), {}), False),
    "vaednn.plots.significance.plot_interval_bars": (
        lambda: (({"statistics only": (-0.4, 0.5), "+ luminosity": (-0.45, 0.55),
                   "all uncertainties": (-0.9, np.inf)},), {"operator": "cW"}), False),
    "vaednn.plots.significance.plot_profile": (lambda: ((_profiles(),), {"operator": "cW"}), False),
}


def _figure(result):
    """The figure of whatever a helper returned (an axis, axes, a (fig, axes) pair, ...)."""
    stack = [result]
    while stack:
        item = stack.pop()
        if isinstance(item, mpl.figure.Figure):
            return item
        if isinstance(item, mpl.artist.Artist) and item.figure is not None:
            return item.figure
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, np.ndarray)):
            stack.extend(item)
        elif hasattr(item, "get_children"):
            stack.extend(item.get_children())
    raise AssertionError(f"no figure in {type(result).__name__}")


def _tick_labels(ax):
    labels = []
    for axis in (ax.xaxis, ax.yaxis):
        labels += list(axis.get_ticklabels(which="both")) + [axis.get_offset_text()]
    return labels


def _shown(text):
    return (text.get_visible() and text.get_text().strip() != ""
            and (text.axes is None or text.axes.get_visible()))


def _overlap(a, b, tolerance=1.0):
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width > tolerance and height > tolerance


def overlaps(fig) -> list[str]:
    """Pairs of texts, or a legend and a text, whose window extents overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ticks = {id(t): ax for ax in fig.axes for t in _tick_labels(ax)}
    legends = [leg for leg in fig.findobj(mpl.legend.Legend) if leg.get_visible()]
    in_legend = {id(t) for leg in legends for t in leg.findobj(mpl.text.Text)}
    texts = [t for t in fig.findobj(mpl.text.Text)
             if _shown(t) and id(t) not in ticks and id(t) not in in_legend]
    tick_texts = [t for t in fig.findobj(mpl.text.Text) if id(t) in ticks and _shown(t)]
    boxes = {id(t): t.get_window_extent(renderer) for t in texts + tick_texts}
    found = []
    for i, a in enumerate(texts):
        for b in texts[i + 1:]:
            if _overlap(boxes[id(a)], boxes[id(b)]):
                found.append(f"text {a.get_text()!r} overlaps text {b.get_text()!r}")
        for b in tick_texts:
            if ticks[id(b)] is not a.axes and a.axes is not None and _overlap(
                    boxes[id(a)], boxes[id(b)]):
                found.append(f"text {a.get_text()!r} overlaps a tick label {b.get_text()!r} "
                             "of another panel")
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for t in texts + tick_texts:
            if _overlap(box, boxes[id(t)]):
                found.append(f"a legend overlaps text {t.get_text()!r}")
    return found


def test_every_registered_helper_has_an_example():
    assert set(plotting.PLOT_HELPERS) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_helper_draws_a_clean_figure_and_leaves_rcparams_alone(name):
    build, of_events = EXAMPLES[name]
    args, kwargs = build()
    before = copy.deepcopy(dict(mpl.rcParams))
    fig = _figure(plotting.PLOT_HELPERS[name](*args, **kwargs))
    after = dict(mpl.rcParams)
    assert {k for k in after if after[k] != before[k]} == set(), "rcParams changed"
    assert overlaps(fig) == []
    assert plotting.raw_name_labels(fig) == []
    texts = [t.get_text() for t in fig.findobj(mpl.text.Text) if _shown(t)]
    if of_events:
        assert any("(13 TeV)" in t for t in texts), texts
        assert any("Simulation" in t and plotting.SAMPLES_NOTE in t for t in texts)
    plt.close(fig)


def test_the_overlap_check_sees_overlapping_texts_and_legends():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.text(0.5, 0.5, "first words")
    ax.text(0.5, 0.5, "second words")
    assert len(overlaps(fig)) == 1
    ax.legend(loc="center")
    assert any("legend" in found for found in overlaps(fig))
    plt.close(fig)


def test_save_figure_refuses_raw_branch_names(tmp_path):
    fig, ax = plt.subplots()
    ax.set_xlabel("deltaetajj")
    with pytest.raises(ValueError, match="raw branch names.*deltaetajj"):
        plotting.save_figure(fig, "raw", tmp_path)
    ax.set_xlabel(plotting.variable_label("deltaetajj"))
    plotting.save_figure(fig, "labelled", tmp_path)
    plt.close(fig)


def test_saving_a_figure_twice_gives_the_same_bytes(tmp_path):
    fig, ax = plotting.new_axes()
    ax.plot([1, 2, 3], [3, 1, 2], label="SM")
    ax.set_xlabel(plotting.variable_label("mjj"))
    ax.legend()
    plotting.experiment_label(ax)
    first = plotting.save_figure(fig, "twice", tmp_path / "a")
    second = plotting.save_figure(fig, "twice", tmp_path / "b")
    for a, b in zip(first, second):
        assert a.read_bytes() == b.read_bytes(), a.name
    plt.close(fig)


def test_the_shap_beeswarm_is_the_same_for_the_same_seed(tmp_path):
    def draw(seed, folder):
        ax = explain.plot_summary(_shap_values(), X=_frame(0)[:100], seed=seed)
        paths = plotting.save_figure(ax.figure, "beeswarm", tmp_path / folder)
        plt.close(ax.figure)
        return [p.read_bytes() for p in paths]

    state = np.random.get_state()
    first = draw(0, "a")
    np.random.seed(123)  # the global state must not matter
    assert draw(0, "b") == first
    assert draw(1, "c") != first
    np.random.set_state(state)
