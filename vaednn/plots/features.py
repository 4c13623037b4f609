"""Figures of events and of latent spaces: feature distributions, correlations, the
reconstruction of each feature, and the latent coordinates."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from vaednn.data import LOG_FEATURES, feature_set
from vaednn.plots.style import (
    MODEL_COLORS, SAMPLE_COLORS, SAMPLES_NOTE, experiment_label, model_color, new_axes,
    plot_helper, variable_label, weighted_histogram)

__all__ = [
    "LOG_SCALE_FEATURES", "plot_correlations", "plot_features", "plot_latent", "plot_latent_2d",
    "plot_reconstruction"]


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
        labels: axis labels for variables :data:`~vaednn.plots.style.FEATURE_LABELS` does not know.
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
    to axis labels (:func:`~vaednn.plots.style.variable_label`). Returns ``(fig, axes)``.
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
