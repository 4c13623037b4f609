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
