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

import functools
import os
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from vaednn import stats

__all__ = [
    "FEATURE_LABELS", "FIGURES_DIR", "MODEL_COLORS", "PLOT_HELPERS", "SAMPLE_COLORS",
    "STYLE", "LUMINOSITY_FB", "COM_TEV", "SAMPLES_NOTE", "RAW_NAMES", "experiment_label",
    "label_once", "model_color", "new_axes", "plot_helper", "raw_name_labels",
    "save_figure", "style", "use_style", "variable_label", "weighted_histogram"]

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
    """Sum of weights and sum of squared weights per bin, in the package's one bin
    convention ``(low, high]`` (:func:`vaednn.stats.histogram`, which the fits use).

    Values outside ``edges`` are dropped (they fill the flow bins, not returned).

    >>> sumw, sumw2 = weighted_histogram([0.5, 0.6, 1.5], [2.0, -1.0, 3.0], [0.0, 1.0, 2.0])
    >>> sumw.tolist(), sumw2.tolist()
    ([1.0, 3.0], [5.0, 9.0])
    """
    histogram = stats.histogram(values, weights, edges)
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


def label_once(ax):
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
