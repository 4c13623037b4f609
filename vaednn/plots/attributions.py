"""Figures of which variables drive a score, from the tables of :mod:`vaednn.explain`:
the SHAP values of one event under ablations, and the variables of badly reconstructed
events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaednn.data import FEATURES
from vaednn.plots.style import SAMPLE_COLORS, model_color, new_axes, plot_helper, variable_label

__all__ = ["plot_ablation", "plot_variables_high_loss", "tick_labels"]


def tick_labels(names, labels=None) -> list[str]:
    """Tick labels of variables, without units (:func:`~vaednn.plots.style.variable_label`)."""
    return [variable_label(name, labels, units=False) for name in names]


@plot_helper
def plot_ablation(table: pd.DataFrame, ax=None, labels=None):
    """Grouped bars of the event's SHAP values per variable, one colour per ablation.

    Args:
        table: the output of :func:`vaednn.explain.ablation`.
        ax: axis to draw into; a new figure when None.
        labels: variable -> tick label (see :func:`vaednn.plotting.variable_label`).

    Returns:
        The axis drawn into.
    """
    names = list(table.attrs.get("features", FEATURES))
    missing = [name for name in names if name not in table.columns]
    if missing:
        raise ValueError(f"table lacks the SHAP columns {missing}; pass the output of ablation()")
    fig, ax = new_axes(ax, figsize=(10.0, 4.5)) if ax is None else new_axes(ax)
    x = np.arange(len(names))
    width = 0.8 / len(table)
    for i, (name, values) in enumerate(table.loc[:, names].iterrows()):
        label = "no ablation" if name == "none" else f"{variable_label(name, labels, units=False)} ablated"
        offset = (i - (len(table) - 1) / 2) * width
        ax.bar(x + offset, values, width=width, color=model_color(i), label=label)
    ax.axhline(0.0, color="0.3", linewidth=0.8)
    ax.set_xticks(x, tick_labels(names, labels), rotation=60, ha="right")
    ax.set_ylabel("SHAP value of the reconstruction loss")
    ax.legend(fontsize=8, ncols=2)
    return ax


@plot_helper
def plot_variables_high_loss(table: pd.DataFrame, ax=None, labels=None):
    """Bar chart of :func:`vaednn.explain.variables_high_loss`: share of high-loss events per
    variable (``labels``: variable -> tick label, see :func:`vaednn.plotting.variable_label`).

    Returns:
        The axis drawn into.
    """
    if "fraction" not in table.columns:
        raise ValueError(
            "table lacks the 'fraction' column; pass the output of variables_high_loss()"
        )
    fig, ax = new_axes(ax)
    ax.bar(np.arange(len(table)), table["fraction"], color=SAMPLE_COLORS["BSM"])
    ax.set_xticks(np.arange(len(table)), tick_labels(table.index, labels), rotation=60, ha="right")
    k, n, threshold = (table.attrs.get(key) for key in ("k", "n_events", "threshold"))
    ax.set_ylabel(f"fraction with variable in top {k} errors" if k else "fraction of events")
    if n is not None:
        ax.set_title(f"{n} events with reconstruction loss > {threshold:.3g}", fontsize=11)
    return ax
