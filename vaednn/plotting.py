"""One figure style for the whole analysis, and the helper that writes figures to disk.

Every plot helper in the package takes ``ax=None`` and returns what it drew, so a
notebook can compose panels; :func:`save_figure` writes the PDF for the paper and the PNG
for the README side by side.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from vaednn import stats

FIGURES_DIR = Path(os.environ.get("VAEDNN_FIGURES", "figures"))

#: One colour per sample, used by every plot so SM is always the same blue.
SAMPLE_COLORS = {"SM": "#3f90da", "LIN": "#e76300", "QUAD": "#bd1f01", "BSM": "#a96b59"}

#: Colour cycle for models (Petroff's colour-blind-safe 10-colour sequence, as CMS uses).
MODEL_COLORS = (
    "#3f90da", "#ffa90e", "#bd1f01", "#94a4a2", "#832db6",
    "#a96b59", "#e76300", "#b9ac70", "#717581", "#92dadd",
)

#: Axis labels with units for the 14 input variables.
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



def feature_label(name, labels=None) -> str:
    """The axis label of a variable: from ``labels`` (a user's map), else
    :data:`FEATURE_LABELS`, else the variable's own name.

    >>> feature_label("mjj"), feature_label("nu_pt"), feature_label("nu_pt", {"nu_pt": "p_T(nu)"})
    ('$m_{jj}$ [GeV]', 'nu_pt', 'p_T(nu)')
    """
    return (labels or {}).get(name, FEATURE_LABELS.get(name, str(name)))


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


def use_style() -> None:
    """Apply the package's figure style to matplotlib's global settings."""
    mpl.rcParams.update(STYLE)


def model_color(index: int) -> str:
    """Colour of the ``index``-th model in a comparison, stable across figures."""
    return MODEL_COLORS[index % len(MODEL_COLORS)]


def save_figure(fig, name: str, directory: str | os.PathLike | None = None) -> list[Path]:
    """Write ``fig`` as ``<directory>/<name>.pdf`` and ``.png`` and return both paths.

    ``directory`` defaults to ``$VAEDNN_FIGURES`` or ``figures/``. PNGs are written
    without metadata timestamps so re-running the analysis does not churn git diffs
    needlessly.
    """
    if not name or "/" in name or name.endswith((".pdf", ".png")):
        raise ValueError(f"figure name must be a bare file stem, got {name!r}")
    out = Path(directory) if directory is not None else FIGURES_DIR
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.pdf", out / f"{name}.png"]
    fig.savefig(paths[0], metadata={"CreationDate": None})
    fig.savefig(paths[1], metadata={"Software": None})
    return paths


def new_axes(ax=None, **subplot_kw):
    """Return ``(fig, ax)``: the given axis and its figure, or a fresh styled pair."""
    if ax is not None:
        return ax.figure, ax
    use_style()
    fig, ax = plt.subplots(**subplot_kw)
    return fig, ax


def _color(label: str, index: int) -> str:
    return SAMPLE_COLORS.get(label, model_color(index))


def _grid(n_panels: int, ncols: int, panel_size=(3.2, 2.6)):
    use_style()
    nrows = -(-n_panels // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes.flat[:n_panels]


def _bins(name: str, arrays, bins: int):
    import numpy as np

    low = min(float(np.quantile(a, 0.001)) for a in arrays)
    high = max(float(np.quantile(a, 0.999)) for a in arrays)
    if name in LOG_SCALE_FEATURES and low > 0:
        return np.geomspace(low, high, bins + 1), "log"
    return np.linspace(low, high, bins + 1), "linear"


#: Features drawn on a log x axis (the energy-like ones, which the models see as log10).
LOG_SCALE_FEATURES = ("met", "mjj", "mll", "ptj1", "ptj2", "ptl1", "ptl2", "ptll")


def plot_features(samples, features=None, ncols: int = 4, bins: int = 40, density: bool = True,
                  labels=None):
    """Weighted distributions of every input variable, one panel each, samples overlaid.

    Args:
        samples: label -> ``(features DataFrame, weights)``; labels ``SM``, ``LIN``, ``QUAD``
            get the package's sample colours. Negative weights (LIN) are kept: a LIN
            histogram dips below zero where the interference is destructive.
        features: the columns to draw (default: every column of the first sample).
        density: normalise each histogram by its sum of |weights|: unit area for a
            positive sample; a LIN sample, whose signed integral can be near zero, keeps
            the relative size of its positive and negative parts.
        labels: variable -> axis label, for variables without a label in
            :data:`FEATURE_LABELS` (see :func:`feature_label`).

    Returns:
        ``(fig, axes)``.
    """
    import numpy as np

    samples = dict(samples)
    first = next(iter(samples.values()))[0]
    features = list(features or first.columns)
    fig, axes = _grid(len(features), ncols)
    for ax, name in zip(axes, features):
        edges, scale = _bins(name, [f[name].to_numpy() for f, _ in samples.values()], bins)
        for index, (label, (frame, weights)) in enumerate(samples.items()):
            counts, _ = np.histogram(frame[name], bins=edges, weights=weights)
            if density:
                counts = counts / (np.sum(np.abs(weights)) * np.diff(edges))
            ax.stairs(counts, edges, label=label, color=_color(label, index), linewidth=1.5)
        ax.set_xscale(scale)
        if scale == "log":
            ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
        ax.set_xlabel(feature_label(name, labels))
        ax.axhline(0, color="grey", linewidth=0.5)
    axes[0].set_ylabel("normalised" if density else "events")
    axes[0].legend()
    fig.tight_layout()
    return fig, axes


def plot_correlations(features, ax=None, log_features=LOG_SCALE_FEATURES):
    """Pearson correlations of the input variables (log10 of the energy-like ones), as the
    models see them; a seaborn heatmap. Returns the axis."""
    import numpy as np
    import seaborn as sns

    fig, ax = new_axes(ax, figsize=(8, 7))
    transformed = features.copy()
    for name in log_features:
        if name in transformed:
            transformed[name] = np.log10(transformed[name])
    matrix = transformed.corr()
    sns.heatmap(matrix, ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", annot=True, fmt=".1f",
                annot_kws={"fontsize": 7}, square=True, cbar_kws={"label": "correlation"})
    ax.set_title("SM, log10 of energy-like variables")
    return ax


def plot_reconstruction(inputs, outputs, weights=None, feature_names=None, ncols: int = 4,
                        bins: int = 40, labels=None):
    """The seed's plotOUTVsIN: input and reconstructed distributions per variable.

    ``inputs`` and ``outputs`` are the scaled features the VAE sees and gives back (n, d);
    ``feature_names`` name their columns (e.g. ``model.features``), ``labels`` maps names
    to axis labels (:func:`feature_label`). Returns ``(fig, axes)``.
    """
    import numpy as np

    inputs, outputs = np.asarray(inputs), np.asarray(outputs)
    names = list(feature_names or range(inputs.shape[1]))
    fig, axes = _grid(len(names), ncols)
    for i, (ax, name) in enumerate(zip(axes, names)):
        low = min(np.quantile(inputs[:, i], 0.001), np.quantile(outputs[:, i], 0.001))
        high = max(np.quantile(inputs[:, i], 0.999), np.quantile(outputs[:, i], 0.999))
        edges = np.linspace(low, high, bins + 1)
        ax.hist(inputs[:, i], bins=edges, weights=weights, histtype="step", density=True,
                color=MODEL_COLORS[0], linewidth=1.5, label="input")
        ax.hist(outputs[:, i], bins=edges, weights=weights, histtype="step", density=True,
                color=MODEL_COLORS[2], linewidth=1.5, linestyle="--", label="reconstructed")
        ax.set_xlabel(f"{feature_label(name, labels)} (scaled)".replace(" [GeV]", ""))
    axes[0].legend()
    fig.tight_layout()
    return fig, axes


def plot_latent(latents, ncols: int = 4, bins: int = 50):
    """Distributions of each latent mean, per sample: label -> ``(z (n, k), weights)``.

    Returns ``(fig, axes)``.
    """
    import numpy as np

    latents = dict(latents)
    k = next(iter(latents.values()))[0].shape[1]
    fig, axes = _grid(k, min(ncols, k))
    for i, ax in enumerate(axes):
        values = [z[:, i] for z, _ in latents.values()]
        edges = np.linspace(min(np.quantile(v, 0.001) for v in values),
                            max(np.quantile(v, 0.999) for v in values), bins + 1)
        for index, (label, (z, w)) in enumerate(latents.items()):
            counts, _ = np.histogram(z[:, i], bins=edges, weights=w)
            total = np.sum(counts * np.diff(edges))
            ax.stairs(counts / total if total else counts, edges, label=label,
                      color=_color(label, index), linewidth=1.5)
        ax.set_xlabel(rf"$z_{{{i + 1}}}$ (mean)")
    axes[0].set_ylabel("normalised")
    axes[0].legend()
    fig.tight_layout()
    return fig, axes


# --------------------------------------------------------------------------- sensitivity plots

METRIC_LABELS = {
    "AUC": "AUC",
    "best_sigma": r"best $\sigma$",
    "min_abs_c": r"min $|c|$ for $\sigma \geq 3$",
    "c_plus": r"min $c > 0$ for $\sigma \geq 3$",
    "c_minus": r"max $c < 0$ for $\sigma \geq 3$",
}


def plot_operator_matrix(table, metric: str = "AUC", ax=None):
    """Heatmap of :func:`vaednn.compare.operator_matrix`: rows the training operator,
    columns the tested one.

    Cells where the value is not finite (a coefficient that never reaches 3 sigma) are
    left blank. Returns the axis seaborn drew on.
    """
    import seaborn as sns

    if metric not in table:
        raise ValueError(f"metric {metric!r} is not a column of the table ({list(table.columns)})")
    matrix = table.pivot(index="trained", columns="evaluated", values=metric).astype(float)
    matrix = matrix.where(np.isfinite(matrix))
    _, ax = new_axes(ax)
    sns.heatmap(matrix, annot=True, fmt=".3g", cmap="viridis", ax=ax,
                cbar_kws={"label": METRIC_LABELS.get(metric, metric)})
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("trained on")
    return ax


def plot_roc(curves: Mapping, ax=None, max_points: int = 2000):
    """ROC curves of several models on one axis, each with its AUC in the legend.

    Args:
        curves: label -> ``(score_sm, w_sm, score_bsm, w_bsm)``.
        ax: axis to draw on (default a new figure).
        max_points: each curve is drawn through at most this many of its points, evenly
            spaced along it (the legend's AUC is always computed from every event).

    Returns:
        The list of drawn curves (Line2D), then the diagonal of a random guess.
    """
    _, ax = new_axes(ax)
    lines = []
    for index, (label, (score_sm, w_sm, score_bsm, w_bsm)) in enumerate(curves.items()):
        eff_sm, eff_bsm, _ = stats.roc(score_sm, w_sm, score_bsm, w_bsm)
        keep = np.unique(np.linspace(0, len(eff_sm) - 1, min(max_points, len(eff_sm))).astype(int))
        area = stats.auc(score_sm, w_sm, score_bsm, w_bsm)
        (line,) = ax.plot(eff_sm[keep], eff_bsm[keep], color=model_color(index),
                          label=f"{label} (AUC = {area:.3f})")
        lines.append(line)
    (diagonal,) = ax.plot([0, 1], [0, 1], ls=":", color="grey", label="random")
    ax.set_xlabel("SM efficiency")
    ax.set_ylabel("BSM efficiency")
    ax.legend(loc="lower right")
    return [*lines, diagonal]


def plot_loss_distributions(scores, *, c: float = 1.0, bins=60, ax=None,
                            xlabel: str = "reconstruction loss"):
    """Weighted loss distributions of SM, LIN (x c) and QUAD (x c^2), log y.

    A log axis cannot show negative yields, and LIN bins can be negative: those are drawn
    as their magnitude with a dashed line (labelled), never dropped.

    Args:
        scores: :class:`vaednn.stats.ComponentScores` (LIN and QUAD yields at c = 1).
        c: the Wilson coefficient the BSM samples are scaled to.
        bins: number of bins or bin edges (default: 60 over the range of all losses).
        ax: axis to draw on.

    Returns:
        dict name -> the drawn StepPatch (``"SM"``, ``"LIN"``, ``"QUAD"`` and, if any
        LIN bin is negative, ``"LIN < 0"``).
    """
    samples = {"SM": (scores.sm, scores.w_sm), "LIN": (scores.lin, c * scores.w_lin),
               "QUAD": (scores.quad, c**2 * scores.w_quad)}
    edges = np.histogram_bin_edges(np.concatenate([s for s, _ in samples.values()]), bins=bins)
    _, ax = new_axes(ax)
    drawn = {}
    for name, (values, weights) in samples.items():
        counts, _ = np.histogram(values, bins=edges, weights=weights)
        color = SAMPLE_COLORS[name]
        label = name if name == "SM" else f"{name} (c = {c:g})"
        drawn[name] = ax.stairs(np.where(counts > 0, counts, 0.0), edges, color=color,
                                label=label, lw=1.5)
        if (counts < 0).any():
            drawn[f"{name} < 0"] = ax.stairs(np.where(counts < 0, -counts, 0.0), edges,
                                             color=color, ls="--", lw=1.5,
                                             label=f"|{label}|, negative bins")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("events / bin")
    ax.legend()
    return drawn


def plot_significance(cuts, sigma, error=None, *, ax=None, label=None, color=None,
                      xlabel: str = "cut on the loss"):
    """Significance versus cut, with its error as a band.

    Args:
        cuts, sigma: as from :func:`vaednn.stats.significance` (NaN sigma, e.g. cuts excluded by
            ``min_background``, leave a gap; the ``-inf`` "no cut" point has no place on
            the axis and is not drawn).
        error: the error of sigma (:func:`vaednn.stats.significance_error`), drawn as a band.
        ax, label, color: matplotlib options.

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
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$S/\sqrt{B}$")
    if label is not None:
        ax.legend()
    return line, band


def plot_sigma_vs_c(c_values, sigma_max, *, ax=None, label=None, color=None,
                    threshold: float = stats.THRESHOLD, operator: str = "c"):
    """Best-cut significance versus the Wilson coefficient, with the 3 sigma line.

    Args:
        c_values, sigma_max: as from :func:`vaednn.stats.max_significance`.
        threshold: the horizontal line (3 sigma in the seed).
        operator: the coefficient's name for the x label.

    Returns:
        ``(line, threshold_line)``; a second model drawn on the same axis reuses the
        threshold line of the first.
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
    ax.legend()
    return line, hline


def plot_interval_comparison(table, ax=None):
    """Intervals per operator and model from :func:`vaednn.compare.interval_table`, next to
    the published ones (black): one horizontal bar per row, hatched with the systematic.

    Each bar is drawn on a symmetric-log x axis so that operators a hundred times apart share
    it; an infinite bound runs to the axis edge with an arrow. Returns the axis.
    """
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
            lo, hi = np.clip([row["lo"], row["hi"]], -edge, edge)
            ax.plot([lo, hi], [y, y], color=model_color(index), lw=2, ls="--" if syst else "-",
                    label=(f"{row['model']}" + (" (10 % syst.)" if syst else ""))
                    if op == operators[0] else None)
        ticks.append((top + y) / 2)
        labels.append(op)
        y -= 0.6
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlim(-edge, edge)
    ax.axvline(0.0, color="grey", lw=0.5)
    ax.set_yticks(ticks, labels)
    ax.set_xlabel(r"Wilson coefficient $c$ [TeV$^{-2}$]")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return ax


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
