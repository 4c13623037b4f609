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


def plot_features(samples, features=None, ncols: int = 4, bins: int = 40, density: bool = True):
    """Weighted distributions of every input variable, one panel each, samples overlaid.

    Args:
        samples: label -> ``(features DataFrame, weights)``; labels ``SM``, ``LIN``, ``QUAD``
            get the package's sample colours. Negative weights (LIN) are kept: a LIN
            histogram dips below zero where the interference is destructive.
        features: the columns to draw (default: every column of the first sample).
        density: normalise each histogram by its sum of |weights|: unit area for a
            positive sample; a LIN sample, whose signed integral can be near zero, keeps
            the relative size of its positive and negative parts.

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
        ax.set_xlabel(FEATURE_LABELS.get(name, name))
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
                        bins: int = 40):
    """The seed's plotOUTVsIN: input and reconstructed distributions per variable.

    ``inputs`` and ``outputs`` are the scaled features the VAE sees and gives back (n, d);
    returns ``(fig, axes)``.
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
        ax.set_xlabel(f"{FEATURE_LABELS.get(name, name)} (scaled)".replace(" [GeV]", ""))
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
