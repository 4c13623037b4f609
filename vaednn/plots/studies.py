"""Figures of the notebooks' studies from their tables: the metrics against the detector
resolution, and training curves of several seeds."""

from __future__ import annotations

import pandas as pd

from vaednn.plots.style import experiment_label, model_color, plot_helper

__all__ = ["plot_seed_curves", "plot_smearing"]


@plot_helper
def plot_smearing(table: pd.DataFrame, axes=None):
    """AUC and min |c| versus the smearing scale, one line per model; returns the axes.

    Where the table has ``AUC_std`` or ``min_abs_c_std`` (a spread over seeds), it is drawn
    as error bars and the axis label says so.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    metrics = ("AUC", "min_abs_c")
    for index, (name, rows) in enumerate(table.groupby("model", sort=False)):
        for ax, metric in zip(axes, metrics):
            spread = rows[f"{metric}_std"].to_numpy(float) if f"{metric}_std" in rows else None
            ax.errorbar(rows["scale"].to_numpy(float), rows[metric].to_numpy(float), yerr=spread,
                        marker="o", capsize=3, color=model_color(index), label=name)
    for ax, metric, label in zip(axes, metrics, ("AUC", r"min $|c|$ for $3\sigma$")):
        seeded = f"{metric}_std" in table
        ax.set_ylabel(label + ("\n(mean ± std over seeds)" if seeded else ""))
    for ax in axes:
        ax.set_xlabel("detector resolution [× nominal]")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    experiment_label(axes[0], axes[-1])
    return axes


@plot_helper
def plot_seed_curves(curves: pd.DataFrame, ylabel: str, axes=None, log: bool = False,
                     titles: bool = True, xlabel: bool = True, legend: bool = True):
    """One panel per model of :func:`vaednn.workflow.seed_curves`, one line per seed; returns
    the axes.

    ``titles``, ``xlabel`` and ``legend`` switch off the model names, the epoch label and
    the legend, for a row of panels stacked under or over another one.
    """
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(curves["model"]))
    if axes is None:
        _, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.6), sharey=True,
                               squeeze=False)
        axes = axes[0]
    for ax, name in zip(axes, names):
        for seed, rows in curves[curves["model"] == name].groupby("seed"):
            ax.plot(rows["epoch"], rows["value"], color=model_color(seed),
                    label=f"seed {seed}")
        if titles:
            ax.set_title(name)
        if xlabel:
            ax.set_xlabel("epoch")
        if log:
            ax.set_yscale("log")
    axes[0].set_ylabel(ylabel)
    if legend:
        axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return axes
