"""Sensitivity figures: significance against the cut and against c, the expected 95% CL
intervals of a results table, and profile-likelihood scans."""

from __future__ import annotations

import numpy as np

from vaednn import stats
from vaednn.plots.style import (
    label_once, model_color, new_axes, plot_helper, variable_label)

__all__ = ["plot_interval_comparison", "plot_interval_bars", "plot_profile", "plot_sigma_vs_c",
           "plot_significance"]


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
        xlabel: the score's name (through :func:`~vaednn.plots.style.variable_label`).
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
    label_once(ax)
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
    label_once(ax)
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
def plot_interval_bars(intervals, ax=None, operator: str = "c"):
    """One interval per row, top to bottom in the order given: ``intervals`` maps a label
    (e.g. which uncertainties the fit holds) to ``(lo, hi)``. The first row's bounds are drawn
    as dotted lines through every row, so each row's widening is read against it. An infinite
    bound is drawn as an arrow at the axis edge. Returns the axis."""
    labels = list(intervals)
    bounds = np.array([[float(lo), float(hi)] for lo, hi in intervals.values()])
    if not len(labels):
        raise ValueError("plot_interval_bars: no intervals to draw")
    finite = bounds[np.isfinite(bounds)]
    edge = 1.3 * np.abs(finite).max() if finite.size else 1.0
    _, ax = new_axes(ax, figsize=(7, 0.45 * len(labels) + 1.5))
    rows = -np.arange(len(labels), dtype=float)
    for index, (row, (lo, hi)) in enumerate(zip(rows, bounds)):
        shown = np.clip([lo, hi], -edge, edge)
        ax.plot(shown, [row, row], color=model_color(index), lw=3, solid_capstyle="butt")
        for bound, drawn in zip((lo, hi), shown):
            ax.plot([drawn], [row], marker="|" if np.isfinite(bound) else
                    ("<" if bound < 0 else ">"), ms=12, color=model_color(index))
    for bound in bounds[0]:
        if np.isfinite(bound):
            ax.axvline(bound, color="grey", ls=":", lw=1)
    ax.axvline(0.0, color="grey", lw=0.5)
    ax.set_xlim(-edge, edge)
    ax.set_yticks(rows, labels)
    ax.set_xlabel(f"{operator} [TeV$^{{-2}}$]")
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
