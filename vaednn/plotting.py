"""One figure style for the whole analysis, and the helper that writes figures to disk.

Every plot helper in the package takes ``ax=None`` and returns what it drew, so a
notebook can compose panels; :func:`save_figure` writes the PDF for the paper and the PNG
for the README side by side, byte for byte the same on every run.

The style is applied inside a context (:func:`style`): calling a helper never changes
the user's global matplotlib settings. Helpers are marked with :func:`plot_helper`, which
applies the style and lists them in :data:`PLOT_HELPERS` (the layout test renders each).
Variable names become LaTeX labels with units through one mapping, :func:`variable_label`;
figures of events carry :func:`experiment_label` ("Simulation", luminosity, 13 TeV, and
that the samples are generated stand-ins).
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Mapping
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from vaednn import stats
from vaednn.data import LOG_FEATURES, feature_set

__all__ = [
    "FEATURE_LABELS", "FIGURES_DIR", "LOG_SCALE_FEATURES", "MODEL_COLORS", "PLOT_HELPERS",
    "SAMPLE_COLORS", "STYLE", "experiment_label", "model_color", "new_axes", "plot_correlations",
    "plot_features", "plot_helper", "plot_latent", "plot_latent_2d", "plot_reconstruction",
    "raw_name_labels", "save_figure", "style", "use_style", "variable_label",
    "weighted_histogram", "METRIC_LABELS", "plot_operator_matrix", "plot_roc",
    "plot_loss_distributions", "plot_significance", "plot_sigma_vs_c", "plot_component_rocs",
    "SPREADS",
    "plot_interval_comparison", "plot_profile",
]

FIGURES_DIR = Path(os.environ.get("VAEDNN_FIGURES", "figures"))

#: One colour per sample, used by every plot so SM is always the same blue.
SAMPLE_COLORS = {"SM": "#3f90da", "LIN": "#e76300", "QUAD": "#bd1f01", "BSM": "#a96b59"}

#: Colour cycle for models (Petroff's colour-blind-safe 10-colour sequence, as CMS uses).
MODEL_COLORS = (
    "#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
    "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd",
)

#: Axis labels with units for the 14 input variables: the one mapping every figure uses.
FEATURE_LABELS = {
    "deltaetajj": r"$\Delta\eta_{jj}$",
    "deltaphijj": r"$\Delta\phi_{jj}$",
    "etaj1": r"$\eta_{j1}$",
    "etaj2": r"$\eta_{j2}$",
    "etal1": r"$\eta_{\ell 1}$",
    "etal2": r"$\eta_{\ell 2}$",
    "met": r"$E_T^{miss}$ [GeV]",
    "mjj": r"$m_{jj}$ [GeV]",
    "mll": r"$m_{\ell\ell}$ [GeV]",
    "ptj1": r"$p_{T}^{j1}$ [GeV]",
    "ptj2": r"$p_{T}^{j2}$ [GeV]",
    "ptl1": r"$p_{T}^{\ell 1}$ [GeV]",
    "ptl2": r"$p_{T}^{\ell 2}$ [GeV]",
    "ptll": r"$p_{T}^{\ell\ell}$ [GeV]",
}



STYLE = {
    "figure.figsize": (6.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 12,
    "axes.labelsize": 13,
    "axes.titlesize": 13,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "axes.prop_cycle": mpl.cycler(color=MODEL_COLORS),
    "axes.grid": False,
}


#: Luminosity and centre-of-mass energy of the figures' experiment label (the seed's).
LUMINOSITY_FB = 350.0
COM_TEV = 13
#: Said on every figure of events: the samples are the package's generated stand-ins.
SAMPLES_NOTE = "generated stand-in samples"

#: Every plot helper of the package, by ``module.name`` (see :func:`plot_helper`).
PLOT_HELPERS: dict = {}


def style():
    """Context in which figures get the package's style; global rcParams are left alone.

    >>> before = mpl.rcParams["font.size"]
    >>> with style():
    ...     inside = mpl.rcParams["font.size"]
    >>> inside, mpl.rcParams["font.size"] == before
    (12.0, True)
    """
    return mpl.rc_context(STYLE)


def use_style() -> None:
    """Apply the package's style to matplotlib's global settings.

    For notebooks that lay out their own ``plt.subplots``; the helpers never call it.
    """
    mpl.rcParams.update(STYLE)


def plot_helper(func):
    """Mark ``func`` as a plot helper: run it inside :func:`style` and list it in
    :data:`PLOT_HELPERS`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with style():
            return func(*args, **kwargs)

    PLOT_HELPERS[f"{func.__module__}.{func.__name__}"] = wrapper
    return wrapper


def variable_label(name: str, labels: dict | None = None, units: bool = True) -> str:
    """The LaTeX label of a variable: from ``labels``, then :data:`FEATURE_LABELS`, else
    the name itself.

    >>> variable_label("mjj"), variable_label("mjj", units=False)
    ('$m_{jj}$ [GeV]', '$m_{jj}$')
    >>> variable_label("score", {"score": "VAE loss"}), variable_label("score")
    ('VAE loss', 'score')
    """
    text = str((labels or {}).get(name, FEATURE_LABELS.get(name, name)))
    return text if units else text.replace(" [GeV]", "")


def experiment_label(ax, right_ax=None, luminosity: float = LUMINOSITY_FB,
                     note: str = SAMPLES_NOTE):
    """"Simulation" and the note on ``ax``, "<L> fb⁻¹ (13 TeV)" on ``right_ax`` (default
    ``ax``), above the axes as CMS and ATLAS figures have them. Returns the texts."""
    import mplhep

    right_ax = ax if right_ax is None else right_ax
    left = mplhep.label.exp_text(exp="", text=f"Simulation, {note}", ax=ax, loc=0,
                                 fontsize=9)
    right = mplhep.label.exp_label(exp="", llabel="", lumi=f"{luminosity:g}", com=COM_TEV,
                                   data=True, ax=right_ax, loc=0, fontsize=9)
    return [t for t in (*left, *right) if t is not None and t.get_text()]


def weighted_histogram(values, weights, edges):
    """Sum of weights and sum of squared weights per bin (``hist``, Weight storage).

    Values outside ``edges`` are dropped (they fill the overflow bins, not returned).

    >>> sumw, sumw2 = weighted_histogram([0.5, 0.6, 1.5], [2.0, -1.0, 3.0], [0.0, 1.0, 2.0])
    >>> sumw.tolist(), sumw2.tolist()
    ([1.0, 3.0], [5.0, 9.0])
    """
    import hist

    histogram = hist.Hist(hist.axis.Variable(np.asarray(edges, float)),
                          storage=hist.storage.Weight())
    weights = np.ones(len(values)) if weights is None else np.asarray(weights, float)
    histogram.fill(np.asarray(values, float), weight=weights)
    return histogram.values(), histogram.variances()


#: Whole texts a figure must not show: the raw branch names (use :func:`variable_label`).
RAW_NAMES = frozenset(FEATURE_LABELS)


def raw_name_labels(fig) -> list[str]:
    """The visible texts of ``fig`` that are a raw branch name, e.g. ``"ptl1"``."""
    return sorted({t.get_text().strip() for t in fig.findobj(mpl.text.Text)
                   if t.get_visible() and t.get_text().strip() in RAW_NAMES})


def model_color(index: int) -> str:
    """Colour of the ``index``-th model in a comparison, stable across figures."""
    return MODEL_COLORS[index % len(MODEL_COLORS)]


def save_figure(fig, name: str, directory: str | os.PathLike | None = None) -> list[Path]:
    """Write ``fig`` as ``<directory>/<name>.pdf`` and ``.png`` and return both paths.

    ``directory`` defaults to ``$VAEDNN_FIGURES`` or ``figures/``. Neither file carries a
    date or software stamp, so the same figure gives the same bytes on every run.

    Raises:
        ValueError: ``name`` is not a bare file stem, or a text of the figure is a raw
            branch name (``deltaetajj``) rather than its label (:func:`variable_label`).
    """
    if not name or "/" in name or name.endswith((".pdf", ".png")):
        raise ValueError(f"figure name must be a bare file stem, got {name!r}")
    raw = raw_name_labels(fig)
    if raw:
        raise ValueError(f"figure {name!r} shows raw branch names {raw}; label them with "
                         "plotting.variable_label")
    out = Path(directory) if directory is not None else FIGURES_DIR
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.pdf", out / f"{name}.png"]
    with style():
        fig.savefig(paths[0], metadata={"CreationDate": None, "Producer": None})
        fig.savefig(paths[1], metadata={"Software": None})
    return paths


def new_axes(ax=None, **subplot_kw):
    """Return ``(fig, ax)``: the given axis and its figure, or a fresh styled pair."""
    if ax is not None:
        return ax.figure, ax
    with style():
        fig, ax = plt.subplots(**subplot_kw)
    return fig, ax


def _color(label: str, index: int) -> str:
    return SAMPLE_COLORS.get(label, model_color(index))


def _grid(n_panels: int, ncols: int, panel_size=(3.2, 2.6)):
    """A grid of panels; the unused ones are hidden and returned as the third item."""
    nrows = -(-n_panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes.flat[:n_panels], list(axes.flat[n_panels:])


def _grid_legend(fig, axes, spare):
    """One legend for all panels: in a spare panel, else below the grid."""
    handles, labels = axes[0].get_legend_handles_labels()
    if spare:
        holder = spare[-1]
        holder.set_visible(True)
        holder.axis("off")
        return holder.legend(handles, labels, loc="center", title=SAMPLES_NOTE,
                             title_fontsize=9)
    # room for the legend's title and one row of entries, about 0.6 inch
    fig.tight_layout(rect=(0, min(0.3, 0.6 / fig.get_figheight()), 1, 1))
    return fig.legend(handles, labels, loc="lower center", ncols=len(labels),
                      title=SAMPLES_NOTE, title_fontsize=9)


def _bins(name: str, arrays, bins: int, log_features=None):
    low = min(float(np.quantile(a, 0.001)) for a in arrays)
    high = max(float(np.quantile(a, 0.999)) for a in arrays)
    if name in (LOG_SCALE_FEATURES if log_features is None else log_features) and low > 0:
        return np.geomspace(low, high, bins + 1), "log"
    return np.linspace(low, high, bins + 1), "linear"


#: Features drawn on a log x axis by default: the energy-like ones, which the models see as
#: log10 (:data:`vaednn.data.LOG_FEATURES`).
LOG_SCALE_FEATURES = LOG_FEATURES


def _normalised(values, weights, edges, density: bool):
    """Bin contents and their Σw² errors, divided by Σ|w| and the bin width if ``density``."""
    sumw, sumw2 = weighted_histogram(values, weights, edges)
    error = np.sqrt(sumw2)
    if density:
        total = np.sum(np.abs(weights)) if weights is not None else len(values)
        scale = 1.0 / (total * np.diff(edges)) if total else 1.0 / np.diff(edges)
        sumw, error = sumw * scale, error * scale
    return sumw, error


def _draw_signed(ax, counts, error, edges, label, color):
    """Stairs with Σw² error bars; where counts are negative (LIN's destructive
    interference), their magnitude is drawn dashed, so a log axis shows both parts."""
    centres = 0.5 * (edges[1:] + edges[:-1])
    drawn = []
    negative = counts < 0
    for part, mask, line in ((label, ~negative, "-"), (f"{label} < 0 (magnitude)", negative, "--")):
        if not mask.any():
            continue
        values = np.where(mask, np.abs(counts), np.nan)
        drawn.append(ax.stairs(values, edges, label=part, color=color, linewidth=1.5,
                               linestyle=line))
        ax.errorbar(centres[mask], np.abs(counts[mask]), yerr=error[mask], fmt="none",
                    ecolor=color, elinewidth=0.8)
    return drawn


@plot_helper
def plot_features(samples, features=None, ncols: int = 4, bins: int = 40, density: bool = True,
                  log_y: bool = True, labels: dict | None = None, log_features=None,
                  note: str = SAMPLES_NOTE):
    """Weighted distributions of every input variable, one panel each, samples overlaid.

    Args:
        samples: label -> ``(features DataFrame, weights)``; labels ``SM``, ``LIN``, ``QUAD``
            get the package's sample colours. Negative weights (LIN) are kept: bins where
            the interference is destructive are drawn dashed, as their magnitude.
        features: the columns to draw (default: every column of the first sample).
        density: normalise each histogram by its sum of |weights|: unit area for a
            positive sample; a LIN sample, whose signed integral can be near zero, keeps
            the relative size of its positive and negative parts.
        log_y: a logarithmic y axis, which shows the tails where QUAD lives.
        labels: axis labels for variables :data:`FEATURE_LABELS` does not know.
        log_features: the variables drawn on a log x axis (the energy-like ones, which the
            models take log10 of; default: those of ``features`` in
            :data:`vaednn.data.LOG_FEATURES`, as :func:`vaednn.data.feature_set` chooses).
        note: what the samples are, after "Simulation," in the experiment label.

    Error bars are the MC statistical errors, √Σw² per bin. The figure carries the
    experiment label and one legend (in a spare panel when the grid has one).

    Returns:
        ``(fig, axes)``.
    """
    samples = dict(samples)
    first = next(iter(samples.values()))[0]
    features = list(features or first.columns)
    missing = {label: [n for n in features if n not in frame.columns]
               for label, (frame, _) in samples.items()}
    missing = {label: names for label, names in missing.items() if names}
    if missing:
        raise ValueError(f"plot_features: sample(s) lack the variable(s) {missing}")
    _, log_features = feature_set(features, log_features)
    fig, axes, spare = _grid(len(features), ncols)
    for ax, name in zip(axes, features):
        edges, scale = _bins(name, [f[name].to_numpy() for f, _ in samples.values()], bins,
                             log_features)
        for index, (label, (frame, weights)) in enumerate(samples.items()):
            counts, error = _normalised(frame[name].to_numpy(), weights, edges, density)
            _draw_signed(ax, counts, error, edges, label, _color(label, index))
        ax.set_xscale(scale)
        if scale == "log":
            ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        if log_y:
            ax.set_yscale("log")
        ax.set_xlabel(variable_label(name, labels))
    for ax in axes[::ncols]:
        ax.set_ylabel("normalised" if density else "events")
    fig.tight_layout()
    _grid_legend(fig, axes, spare)
    experiment_label(axes[0], axes[min(ncols, len(axes)) - 1], note=note)
    return fig, axes


@plot_helper
def plot_correlations(features, ax=None, log_features=LOG_SCALE_FEATURES):
    """Pearson correlations of the input variables (log10 of the energy-like ones), as the
    models see them; a seaborn heatmap. Returns the axis."""
    import seaborn as sns

    fig, ax = new_axes(ax, figsize=(8, 7))
    transformed = features.copy()
    for name in log_features:
        if name in transformed:
            transformed[name] = np.log10(transformed[name])
    matrix = transformed.corr()
    names = [variable_label(n, units=False) for n in matrix.columns]
    sns.heatmap(matrix, ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", annot=True, fmt=".1f",
                annot_kws={"fontsize": 7}, square=True,
                cbar_kws={"label": "correlation (SM; log10 of the energy-like variables)"},
                xticklabels=names, yticklabels=names)
    experiment_label(ax)
    return ax


@plot_helper
def plot_reconstruction(inputs, outputs, weights=None, feature_names=None, ncols: int = 4,
                        bins: int = 40, labels=None):
    """The seed's plotOUTVsIN: input and reconstructed distributions per variable.

    ``inputs`` and ``outputs`` are the scaled features the VAE sees and gives back (n, d);
    ``feature_names`` name their columns (e.g. ``model.features``), ``labels`` maps names
    to axis labels (:func:`variable_label`). Returns ``(fig, axes)``.
    """
    inputs, outputs = np.asarray(inputs), np.asarray(outputs)
    names = list(feature_names or range(inputs.shape[1]))
    fig, axes, spare = _grid(len(names), ncols)
    for i, (ax, name) in enumerate(zip(axes, names)):
        low = min(np.quantile(inputs[:, i], 0.001), np.quantile(outputs[:, i], 0.001))
        high = max(np.quantile(inputs[:, i], 0.999), np.quantile(outputs[:, i], 0.999))
        edges = np.linspace(low, high, bins + 1)
        for values, label, color, line in ((inputs[:, i], "input", MODEL_COLORS[0], "-"),
                                           (outputs[:, i], "reconstructed", MODEL_COLORS[2],
                                            "--")):
            counts, error = _normalised(values, weights, edges, density=True)
            ax.stairs(counts, edges, color=color, linewidth=1.5, linestyle=line, label=label)
        ax.set_xlabel(f"{variable_label(name, labels, units=False)} (scaled)")
    fig.tight_layout()
    _grid_legend(fig, axes, spare)
    return fig, axes


def _latent_values(latents):
    latents = dict(latents)
    k = next(iter(latents.values()))[0].shape[1]
    return latents, k


@plot_helper
def plot_latent(latents, ncols: int = 4, bins: int = 50):
    """Distributions of each latent mean, per sample: label -> ``(z (n, k), weights)``.

    Each histogram is normalised by its Σ|w| (as :func:`plot_features`), so a LIN sample
    whose signed area nearly cancels keeps the true size of its lobes. Returns
    ``(fig, axes)``.
    """
    latents, k = _latent_values(latents)
    fig, axes, spare = _grid(k, min(ncols, k))
    for i, ax in enumerate(axes):
        values = [z[:, i] for z, _ in latents.values()]
        edges = np.linspace(min(np.quantile(v, 0.001) for v in values),
                            max(np.quantile(v, 0.999) for v in values), bins + 1)
        for index, (label, (z, w)) in enumerate(latents.items()):
            counts, error = _normalised(z[:, i], w, edges, density=True)
            ax.stairs(counts, edges, label=label, color=_color(label, index), linewidth=1.5)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.set_xlabel(rf"$z_{{{i + 1}}}$ (mean)")
    axes[0].set_ylabel("normalised")
    fig.tight_layout()
    _grid_legend(fig, axes, spare)
    experiment_label(axes[0], axes[-1])
    return fig, axes


@plot_helper
def plot_latent_2d(latents, dims=(0, 1), ax=None, bins: int = 40,
                   levels=(0.393, 0.865), smoothing: float = 1.0):
    """Two latent means against each other, one contour set per class.

    Each class (label -> ``(z (n, k), weights)``) is drawn as the contours of its
    |w|-weighted 2-D density that enclose ``levels`` of it (by default the 1σ and 2σ
    regions of a 2-D Gaussian), so overlapping classes stay readable. The histogram is
    smoothed with a Gaussian of ``smoothing`` bins so that the contours follow the density,
    not its statistical fluctuations.

    Returns:
        The axis drawn into.
    """
    import scipy.ndimage

    latents, k = _latent_values(latents)
    if len(dims) != 2 or not all(0 <= d < k for d in dims) or dims[0] == dims[1]:
        raise ValueError(f"dims must be two different latent indices below {k}, got {dims}")
    fig, ax = new_axes(ax)
    stacked = np.concatenate([z[:, list(dims)] for z, _ in latents.values()])
    low, high = np.quantile(stacked, 0.002, axis=0), np.quantile(stacked, 0.998, axis=0)
    edges = [np.linspace(low[j], high[j], bins + 1) for j in range(2)]
    centres = [0.5 * (e[1:] + e[:-1]) for e in edges]
    handles = []
    for index, (label, (z, w)) in enumerate(latents.items()):
        weights = np.ones(len(z)) if w is None else np.abs(np.asarray(w, float))
        density, _, _ = np.histogram2d(z[:, dims[0]], z[:, dims[1]], bins=edges, weights=weights)
        density = scipy.ndimage.gaussian_filter(density, smoothing)
        ordered = np.sort(density.ravel())[::-1]
        enclosed = np.cumsum(ordered) / ordered.sum()
        thresholds = sorted({float(ordered[np.searchsorted(enclosed, q)]) for q in levels})
        color = _color(label, index)
        ax.contour(centres[0], centres[1], density.T, levels=thresholds, colors=[color],
                   linestyles=["--", "-"] if len(thresholds) > 1 else ["-"])
        handles.append(mpl.lines.Line2D([], [], color=color, label=label))
    ax.set_xlabel(rf"$z_{{{dims[0] + 1}}}$ (mean)")
    ax.set_ylabel(rf"$z_{{{dims[1] + 1}}}$ (mean)")
    ax.legend(handles=handles, title="solid: 39%, dashed: 86%", title_fontsize=8,
              loc="upper left", bbox_to_anchor=(1.02, 1.0))
    experiment_label(ax)
    return ax


# --------------------------------------------------------------------------- sensitivity plots

METRIC_LABELS = {
    "AUC": "AUC",
    "best_sigma": r"best $\sigma$",
    "min_abs_c": r"min $|c|$ for $\sigma \geq 3$",
    "c_hi_3sigma": r"min $c > 0$ for $\sigma \geq 3$",
    "c_lo_3sigma": r"max $c < 0$ for $\sigma \geq 3$",
}

#: How a spread over seeds is drawn: the full range, or the mean ± one standard deviation.
SPREADS = ("minmax", "std")


def _label_once(ax):
    """One experiment label per figure, over the top row of the panels helpers drew on.

    Several models on one axis share it, and panels side by side get "Simulation" over the
    leftmost and the luminosity over the rightmost, instead of two labels colliding in
    each narrow panel: every call moves the figure's label to span all panels drawn so far.
    """
    fig = ax.figure
    labelled = fig.__dict__.setdefault("_vaednn_labelled", [])
    if ax in labelled:
        return
    labelled.append(ax)
    for text in fig.__dict__.get("_vaednn_label_texts", []):
        text.remove()
    top = max(a.get_position().y1 for a in labelled)
    row = [a for a in labelled if np.isclose(a.get_position().y1, top)]
    left = min(row, key=lambda a: a.get_position().x0)
    right = max(row, key=lambda a: a.get_position().x1)
    fig._vaednn_label_texts = experiment_label(left, right)


def _cell_text(value: float, std: float | None) -> str:
    if not np.isfinite(value):
        return "never" if value == np.inf else ""
    text = f"{value:.3g}"
    return text if std is None or not np.isfinite(std) else f"{text}\n±{std:.2g}"


@plot_helper
def plot_operator_matrix(table, metric: str = "AUC", ax=None, *, log: bool | None = None):
    """Heatmap of :func:`vaednn.compare.operator_matrix`: rows the training operator,
    columns the tested one.

    Args:
        table: long table with ``trained``, ``evaluated`` and ``metric`` columns; a
            ``<metric>_std`` column (the spread over seeds) is written under each value.
        metric: the column to show.
        log: logarithmic colour scale (default: for every metric but ``AUC``), so one large
            coefficient (cHbox's) does not flatten the others into one colour.

    Cells that are infinite (a coefficient that never reaches 3 sigma) read "never" on a
    blank cell; NaN cells stay blank. Returns the axis.

    Raises:
        ValueError: ``metric`` is not a column.
    """
    import seaborn as sns

    if metric not in table:
        raise ValueError(f"metric {metric!r} is not a column of the table ({list(table.columns)})")
    matrix = table.pivot(index="trained", columns="evaluated", values=metric).astype(float)
    std_column = f"{metric}_std"
    spread = (table.pivot(index="trained", columns="evaluated", values=std_column)
              .reindex_like(matrix).astype(float) if std_column in table else None)
    annotations = np.array([[_cell_text(matrix.iat[i, j],
                                        None if spread is None else spread.iat[i, j])
                             for j in range(matrix.shape[1])] for i in range(matrix.shape[0])])
    shown = matrix.where(np.isfinite(matrix))
    log = metric != "AUC" if log is None else log
    norm = None
    if log:
        # cells <= 0 have no place on a log scale: blank, their value still written
        shown = shown.where(shown > 0)
        positive = shown.to_numpy()[np.isfinite(shown.to_numpy())]
        if positive.size:
            norm = mpl.colors.LogNorm(vmin=positive.min(), vmax=positive.max())
    fig, ax = new_axes(ax)
    label = METRIC_LABELS.get(metric, metric) + (" (mean ± std over seeds)" if spread is not None
                                                 else "")
    # nothing finite to colour: give seaborn the range it cannot take from the cells
    limits = {} if np.isfinite(shown.to_numpy()).any() else {"vmin": 0.0, "vmax": 1.0}
    sns.heatmap(shown, annot=annotations, fmt="", cmap="viridis", norm=norm, ax=ax,
                annot_kws={"fontsize": 8}, cbar_kws={"label": label}, **limits)
    for (i, j), text in np.ndenumerate(annotations):
        if text == "never":
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8, color="grey")
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("trained on")
    return ax


def _is_curve(value) -> bool:
    """One ``(score_sm, w_sm, score_bsm, w_bsm)`` tuple, not a list of them (seeds)."""
    return isinstance(value, tuple) and len(value) == 4 and np.ndim(value[0]) == 1


def _roc_xy(curve, rejection: bool):
    eff_sm, eff_bsm, _ = stats.roc(*curve)
    if not rejection:
        return eff_sm, eff_bsm
    # 1/eps_SM is infinite where no SM event passes: those cuts have no place on the axis.
    kept = eff_sm > 0
    return eff_bsm[kept], 1.0 / eff_sm[kept]


def _seed_band(curves, rejection: bool, spread: str, n_grid: int = 200):
    """Mean curve and band of several seeds' ROCs, on a common grid of the x efficiency."""
    grid = np.linspace(0.0, 1.0, n_grid)
    ys = []
    for curve in curves:
        eff_sm, eff_bsm, _ = stats.roc(*curve)
        x, y = (eff_bsm, eff_sm) if rejection else (eff_sm, eff_bsm)
        order = np.argsort(x, kind="stable")
        ys.append(np.interp(grid, x[order], y[order]))
    ys = np.array(ys)
    if rejection:
        with np.errstate(divide="ignore"):
            ys = 1.0 / ys
        # where a seed passes no SM event the rejection is infinite: no point there
        kept = np.isfinite(ys).all(axis=0) & (ys > 0).all(axis=0)
        grid, ys = grid[kept], ys[:, kept]
    mean = ys.mean(axis=0)
    if spread == "minmax":
        low, high = ys.min(axis=0), ys.max(axis=0)
    else:
        std = ys.std(axis=0, ddof=1)
        low, high = mean - std, mean + std
    return grid, mean, low, high


@plot_helper
def plot_roc(curves: Mapping, ax=None, max_points: int = 2000, *, rejection: bool = True,
             spread: str = "minmax"):
    """ROC curves of several models on one axis, each with its AUC in the legend.

    By default as HEP readers expect: background rejection 1/ε_SM on a log axis versus the
    signal efficiency ε_BSM (``rejection=False``: the linear ε_BSM versus ε_SM, with the
    diagonal of a random guess).

    Args:
        curves: label -> ``(score_sm, w_sm, score_bsm, w_bsm)``, or label -> a list of such
            tuples, one per seed: then the line is their mean (interpolated on a common grid),
            the band their spread, and the legend the mean AUC ± its standard deviation
            (ddof = 1) with the number of seeds.
        ax: axis to draw on (default a new figure).
        max_points: each single curve is drawn through at most this many of its points,
            evenly spaced along it (the legend's AUC is always computed from every event).
        rejection: background rejection versus signal efficiency (default) or linear ROC.
        spread: the band of several seeds: ``"minmax"`` (full range) or ``"std"`` (±1σ).

    Returns:
        The list of drawn curves (Line2D), then the curve of a random guess.

    Raises:
        ValueError: an unknown ``spread``, or a label with fewer than two seeds in a list.
    """
    if spread not in SPREADS:
        raise ValueError(f"spread must be one of {SPREADS}, got {spread!r}")
    _, ax = new_axes(ax)
    lines = []
    band_name = "min–max" if spread == "minmax" else r"$\pm 1\sigma$"
    for index, (label, value) in enumerate(curves.items()):
        color = model_color(index)
        if _is_curve(value):
            x, y = _roc_xy(value, rejection)
            keep = np.unique(np.linspace(0, len(x) - 1, min(max_points, len(x))).astype(int))
            area = stats.auc(*value)
            (line,) = ax.plot(x[keep], y[keep], color=color, label=f"{label} (AUC = {area:.3f})")
        else:
            seeds = list(value)
            if len(seeds) < 2:
                raise ValueError(f"{label!r}: a list of curves needs at least two seeds, got "
                                 f"{len(seeds)}")
            areas = np.array([stats.auc(*curve) for curve in seeds])
            grid, mean, low, high = _seed_band(seeds, rejection, spread)
            (line,) = ax.plot(grid, mean, color=color,
                              label=f"{label} (AUC = {areas.mean():.3f} ± {areas.std(ddof=1):.3f},"
                                    f" {len(seeds)} seeds, {band_name})")
            ax.fill_between(grid, low, high, color=color, alpha=0.25, lw=0)
        lines.append(line)
    if rejection:
        grid = np.linspace(0.01, 1.0, 100)
        (guess,) = ax.plot(grid, 1.0 / grid, ls=":", color="grey", label="random")
        ax.set_yscale("log")
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel(r"signal efficiency $\varepsilon_{\mathrm{BSM}}$")
        ax.set_ylabel(r"background rejection $1/\varepsilon_{\mathrm{SM}}$")
        ax.legend(loc="upper right")
    else:
        (guess,) = ax.plot([0, 1], [0, 1], ls=":", color="grey", label="random")
        ax.set_xlabel(r"SM efficiency $\varepsilon_{\mathrm{SM}}$")
        ax.set_ylabel(r"BSM efficiency $\varepsilon_{\mathrm{BSM}}$")
        ax.legend(loc="lower right")
    return [*lines, guess]


def _component_curve(scores: stats.ComponentScores, name: str):
    """SM versus one component; LIN with any negative weight enters as |w| (flagged)."""
    weights = getattr(scores, f"w_{name}")
    negative = bool((weights < 0).any())
    weights = np.abs(weights) if negative else weights
    return (scores.sm, scores.w_sm, getattr(scores, name), weights), negative


@plot_helper
def plot_component_rocs(curves: Mapping, axes=None, *, rejection: bool = True,
                        spread: str = "minmax"):
    """Per model, the ROC of SM against LIN and of SM against QUAD, side by side.

    :func:`vaednn.stats.roc` takes signed weights: a LIN sample whose weights nearly cancel
    (cW) has efficiencies far outside [0, 1]. Where LIN has negative weights its panel
    therefore uses |w| (the shape of the interference's magnitude), and says so in its title.

    Args:
        curves: label -> :class:`vaednn.stats.ComponentScores`, or label -> a list of them
            (one per seed; drawn as in :func:`plot_roc`).
        axes: two axes to draw on (default a new figure with two panels).
        rejection, spread: as in :func:`plot_roc`.

    Returns:
        The two axes (LIN, QUAD).
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11.0, 4.5))
    axes = list(axes)
    if len(axes) != 2:
        raise ValueError(f"plot_component_rocs draws two panels, got {len(axes)} axes")
    for ax, name in zip(axes, ("lin", "quad")):
        per_model, signed = {}, False
        for label, value in curves.items():
            runs = [value] if isinstance(value, stats.ComponentScores) else list(value)
            drawn = [_component_curve(run, name) for run in runs]
            signed |= any(negative for _, negative in drawn)
            per_model[label] = (drawn[0][0] if isinstance(value, stats.ComponentScores)
                                else [curve for curve, _ in drawn])
        plot_roc(per_model, ax=ax, rejection=rejection, spread=spread)
        component = name.upper()
        ax.set_title(f"SM vs |{component}| (weights taken as |w|)" if signed
                     else f"SM vs {component}", fontsize=11)
    axes[0].figure.tight_layout()
    return axes


@plot_helper
def plot_loss_distributions(scores, *, c: float = 1.0, bins=60, ax=None,
                            xlabel: str = "reconstruction loss", title: str | None = None):
    """Weighted loss distributions of SM, LIN (x c) and QUAD (x c^2), log y, with the MC
    statistical errors √Σw² per bin.

    A log axis cannot show negative yields, and LIN bins can be negative: those are drawn
    as their magnitude with a dashed line (labelled), never dropped.

    Args:
        scores: :class:`vaednn.stats.ComponentScores` (LIN and QUAD yields at c = 1).
        c: the Wilson coefficient the BSM samples are scaled to.
        bins: number of bins or bin edges (default: 60 over the range of all losses).
        ax: axis to draw on.
        xlabel: the score's name (through :func:`variable_label`).
        title: the legend's first line (e.g. the model): the space above the axes holds the
            experiment label, so an ``ax.set_title`` would collide with it.

    Returns:
        dict name -> the drawn StepPatch (``"SM"``, ``"LIN"``, ``"QUAD"`` and, if any
        LIN bin is negative, ``"LIN < 0"``).
    """
    samples = {"SM": (scores.sm, scores.w_sm), "LIN": (scores.lin, c * scores.w_lin),
               "QUAD": (scores.quad, c**2 * scores.w_quad)}
    edges = np.histogram_bin_edges(np.concatenate([s for s, _ in samples.values()]), bins=bins)
    # hist's last bin is open above, numpy's closed: keep the largest score in the last bin.
    edges[-1] = np.nextafter(edges[-1], np.inf)
    centres = 0.5 * (edges[1:] + edges[:-1])
    _, ax = new_axes(ax)
    drawn = {}
    for name, (values, weights) in samples.items():
        counts, sumw2 = weighted_histogram(values, weights, edges)
        error = np.sqrt(sumw2)
        color = SAMPLE_COLORS[name]
        label = name if name == "SM" else f"{name} (c = {c:g})"
        drawn[name] = ax.stairs(np.where(counts > 0, counts, 0.0), edges, color=color,
                                label=label, lw=1.5)
        if (counts < 0).any():
            drawn[f"{name} < 0"] = ax.stairs(np.where(counts < 0, -counts, 0.0), edges,
                                             color=color, ls="--", lw=1.5,
                                             label=f"|{label}|, negative bins")
        filled = counts != 0
        ax.errorbar(centres[filled], np.abs(counts[filled]), yerr=error[filled], fmt="none",
                    ecolor=color, elinewidth=0.8)
    ax.set_yscale("log")
    heights = np.abs(np.concatenate([patch.get_data().values for patch in drawn.values()]))
    heights = heights[heights > 0]
    if heights.size:
        # headroom above the data for the legend, which stays inside the axes so that
        # panels side by side (one per model) do not cover each other
        low, high = heights.min() / 2, heights.max()
        ax.set_ylim(low, high * (high / low) ** 0.7)
    ax.set_xlabel(variable_label(xlabel))
    ax.set_ylabel("events / bin")
    note = r"error bars: $\sqrt{\Sigma w^2}$"
    ax.legend(loc="upper right", title=note if title is None else f"{title}\n{note}",
              title_fontsize=9)
    _label_once(ax)
    return drawn


@plot_helper
def plot_significance(cuts, sigma, error=None, *, ax=None, label=None, color=None,
                      xlabel: str = "cut on the loss", title: str | None = None):
    """Significance versus cut, with its error as a band.

    Args:
        cuts, sigma: as from :func:`vaednn.stats.significance` (NaN sigma, e.g. cuts excluded by
            ``min_background``, leave a gap; the ``-inf`` "no cut" point has no place on
            the axis and is not drawn).
        error: the error of sigma (:func:`vaednn.stats.significance_error`), drawn as a band.
        ax, label, color: matplotlib options.
        xlabel: the score's name (through :func:`variable_label`).
        title: the legend's title (instead of ``ax.set_title``, whose place above the axes
            the experiment label takes).

    Returns:
        ``(line, band)``; ``band`` is None without ``error``.
    """
    cuts = np.asarray(cuts, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    shown = np.isfinite(cuts)
    _, ax = new_axes(ax)
    (line,) = ax.plot(cuts[shown], sigma[shown], label=label, color=color)
    band = None
    if error is not None:
        error = np.asarray(error, dtype=float)[shown]
        band = ax.fill_between(cuts[shown], sigma[shown] - error, sigma[shown] + error,
                               color=line.get_color(), alpha=0.3, lw=0)
    ax.set_xlabel(variable_label(xlabel))
    ax.set_ylabel(r"$S/\sqrt{B}$")
    if label is not None or title is not None:
        ax.legend(title=title, title_fontsize=9)
    _label_once(ax)
    return line, band


@plot_helper
def plot_sigma_vs_c(c_values, sigma_max, *, ax=None, label=None, color=None,
                    threshold: float = stats.THRESHOLD, operator: str = "c",
                    title: str | None = None):
    """Best-cut significance versus the Wilson coefficient, with the 3 sigma line.

    Args:
        c_values, sigma_max: as from :func:`vaednn.stats.max_significance`.
        threshold: the horizontal line (3 sigma in the seed).
        operator: the coefficient's name for the x label.
        title: the legend's title (instead of ``ax.set_title``, whose place above the axes
            the experiment label takes).

    Returns:
        ``(line, threshold_line)``; a second model drawn on the same axis reuses the
        threshold line (and the experiment label) of the first.
    """
    _, ax = new_axes(ax)
    (line,) = ax.plot(c_values, sigma_max, label=label, color=color)
    threshold_label = rf"{threshold:g}$\sigma$"
    # Several models share one axis: draw their common threshold line once.
    drawn = [existing for existing in ax.lines if existing.get_label() == threshold_label]
    hline = drawn[0] if drawn else ax.axhline(threshold, ls="--", color="grey",
                                                label=threshold_label)
    ax.set_xlabel(operator)
    ax.set_ylabel(r"max $S/\sqrt{B}$")
    ax.legend(title=title, title_fontsize=9)
    _label_once(ax)
    return line, hline


#: Columns of a results table (:func:`vaednn.compare.results_table`) read as an interval.
_RESULT_INTERVAL = {"c_lo_95": "lo", "c_hi_95": "hi", "c_lo_95_std": "lo_std",
                    "c_hi_95_std": "hi_std"}


def _interval_rows(table):
    """The table in :func:`vaednn.compare.interval_table`'s shape: a results table (with
    ``c_lo_95``/``c_hi_95`` and their ``_std``) becomes rows without systematic or
    published interval (those are at another luminosity and CL)."""
    if "lo" in table and "hi" in table:
        return table
    missing = [c for c in ("operator", "model", "c_lo_95", "c_hi_95") if c not in table]
    if missing:
        raise ValueError("the table has neither lo/hi (compare.interval_table) nor the "
                         f"results columns; missing {missing}")
    rows = table.rename(columns=_RESULT_INTERVAL)
    defaults = {"systematic": 0.0, "published_lo": np.nan, "published_hi": np.nan}
    return rows.assign(**{k: v for k, v in defaults.items() if k not in rows})


@plot_helper
def plot_interval_comparison(table, ax=None):
    """Intervals per operator and model, next to the published ones (black): one horizontal
    bar per row, dashed with the systematic.

    Args:
        table: from :func:`vaednn.compare.interval_table` (``lo``, ``hi``, ``systematic``,
            ``published_lo``, ``published_hi``), or a results table
            (:func:`vaednn.compare.results_table`: ``c_lo_95``, ``c_hi_95``). Optional
            spread over seeds: ``lo_std``/``hi_std`` (or ``c_lo_95_std``/``c_hi_95_std``)
            are drawn as error bars on the bounds, and ``n_seeds`` is named in the legend.
        ax: axis to draw on.

    Each bar is drawn on a symmetric-log x axis so that operators a hundred times apart share
    it; an infinite bound runs to the axis edge. Returns the axis.
    """
    table = _interval_rows(table)
    _, ax = new_axes(ax, figsize=(8, 0.35 * len(table) + 1.5))
    models = list(dict.fromkeys(table["model"]))
    operators = list(dict.fromkeys(table["operator"]))
    y, ticks, labels = 0.0, [], []
    finite = table[["lo", "hi", "published_lo", "published_hi"]].to_numpy(float)
    edge = 1.5 * np.nanmax(np.abs(finite[np.isfinite(finite)]))
    for op in operators:
        rows = table[table["operator"] == op]
        published = rows[["published_lo", "published_hi"]].iloc[0].to_numpy(float)
        if np.isfinite(published).all():
            ax.plot(published, [y, y], color="black", lw=3,
                    label="published (arXiv:2108.03199)" if not ticks else None)
        top = y
        for _, row in rows.iterrows():
            y -= 0.3
            index = models.index(row["model"])
            syst = row["systematic"] > 0
            seeds = int(row["n_seeds"]) if "n_seeds" in row and np.isfinite(row["n_seeds"]) else 1
            name = f"{row['model']}" + (f" ({seeds} seeds)" if seeds > 1 else "")
            lo, hi = np.clip([row["lo"], row["hi"]], -edge, edge)
            ax.plot([lo, hi], [y, y], color=model_color(index), lw=2, ls="--" if syst else "-",
                    label=(name + (" (10 % syst.)" if syst else "")) if op == operators[0]
                    else None)
            errors = [row.get("lo_std", np.nan), row.get("hi_std", np.nan)]
            for bound, err in zip((lo, hi), errors):
                if np.isfinite(err) and abs(bound) < edge:
                    ax.errorbar([bound], [y], xerr=[err], fmt="none", ecolor=model_color(index),
                                capsize=3, elinewidth=1)
        ticks.append((top + y) / 2)
        labels.append(op)
        y -= 0.6
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(-edge, edge)
    ax.axvline(0.0, color="grey", lw=0.5)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel(r"Wilson coefficient $c$ [TeV$^{-2}$]")
    has_spread = any(c in table for c in ("lo_std", "hi_std"))
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              title="error bars: std over seeds" if has_spread else None, title_fontsize=8)
    return ax


@plot_helper
def plot_profile(scans, ax=None, operator: str = "c"):
    """``q(c) = -2 ln lambda`` of :func:`vaednn.stats.profile_scan` results, with the
    threshold of the first; ``scans`` maps a label to a scan. Returns the drawn lines."""
    _, ax = new_axes(ax)
    lines = []
    for index, (label, scan) in enumerate(scans.items()):
        shown = np.isfinite(scan.q)
        (line,) = ax.plot(scan.c[shown], scan.q[shown], color=model_color(index), label=label)
        lines.append(line)
    threshold = next(iter(scans.values())).threshold
    ax.axhline(threshold, ls="--", color="grey", label=f"threshold {threshold:.2f}")
    ax.set_xlabel(operator)
    ax.set_ylabel(r"$-2\ln\lambda(c)$")
    ax.legend()
    return lines
