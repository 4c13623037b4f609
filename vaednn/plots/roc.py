"""ROC curves, with their spread over seeds, per EFT component, and the weighted score
distributions they are made of."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from vaednn import stats
from vaednn.plots.style import (
    SAMPLE_COLORS, label_once, model_color, new_axes, plot_helper, variable_label)

__all__ = ["SPREADS", "plot_component_rocs", "plot_loss_distributions", "plot_roc"]


#: How a spread over seeds is drawn: the full range, or the mean ± one standard deviation.
SPREADS = ("minmax", "std")


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


def _stairs(values, edges, ax, **style):
    """One histogram line drawn by ``mplhep.histplot``: its StepPatch."""
    import mplhep

    (artists,) = mplhep.histplot(values, edges, ax=ax, histtype="step", yerr=False,
                                 flow="none", lw=1.5, **style)
    return artists.stairs


@plot_helper
def plot_loss_distributions(scores, *, c: float = 1.0, bins=60, ax=None,
                            xlabel: str = "reconstruction loss", title: str | None = None):
    """Weighted loss distributions of SM, LIN (x c) and QUAD (x c^2), log y, with the MC
    statistical errors √Σw² per bin.

    A log axis cannot show negative yields, and LIN bins can be negative: those are drawn
    as their magnitude with a dashed line (labelled), never dropped. Bins are ``(low,
    high]`` as in the fit (:func:`vaednn.stats.histogram`), drawn with ``mplhep.histplot``.

    Args:
        scores: :class:`vaednn.stats.ComponentScores` (LIN and QUAD yields at c = 1).
        c: the Wilson coefficient the BSM samples are scaled to.
        bins: number of bins or bin edges (default: 60 over the range of all losses).
        ax: axis to draw on.
        xlabel: the score's name (through :func:`~vaednn.plots.style.variable_label`).
        title: the legend's first line (e.g. the model): the space above the axes holds the
            experiment label, so an ``ax.set_title`` would collide with it.

    Returns:
        dict name -> the drawn StepPatch (``"SM"``, ``"LIN"``, ``"QUAD"`` and, if any
        LIN bin is negative, ``"LIN < 0"``).
    """
    samples = {"SM": (scores.sm, scores.w_sm), "LIN": (scores.lin, c * scores.w_lin),
               "QUAD": (scores.quad, c**2 * scores.w_quad)}
    edges = np.histogram_bin_edges(np.concatenate([s for s, _ in samples.values()]), bins=bins)
    # Bins are (low, high] (stats.histogram, the fit's convention): the smallest score lies
    # on the first edge, so that edge moves one ulp down to keep it in the first bin.
    edges[0] = np.nextafter(edges[0], -np.inf)
    centres = 0.5 * (edges[1:] + edges[:-1])
    _, ax = new_axes(ax)
    drawn = {}
    for name, (values, weights) in samples.items():
        histogram = stats.histogram(values, weights, edges)
        counts, error = histogram.values(), np.sqrt(histogram.variances())
        color = SAMPLE_COLORS[name]
        label = name if name == "SM" else f"{name} (c = {c:g})"
        drawn[name] = _stairs(np.where(counts > 0, counts, 0.0), edges, ax, color=color,
                              label=label)
        if (counts < 0).any():
            drawn[f"{name} < 0"] = _stairs(np.where(counts < 0, -counts, 0.0), edges, ax,
                                           color=color, ls="--",
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
    label_once(ax)
    return drawn
