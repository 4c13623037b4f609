"""Plots of a scan's results table (:func:`vaednn.scan.load_results`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaednn import plotting

__all__ = ["plot_min_coefficient", "plot_auc_vs_latent"]

def _ok(results: pd.DataFrame) -> pd.DataFrame:
    ok = results[results["status"] == "ok"]
    if ok.empty:
        raise ValueError("no successful trial in the results to plot")
    return ok


def _trained_label(model, train_operator) -> str:
    return f"{model} (trained on {train_operator})"


def _configurations(ok: pd.DataFrame) -> pd.Series:
    """A key per hyperparameter configuration: trials that differ only in their seed share it."""
    hp = sorted(c for c in ok.columns if c.startswith("hp_"))
    if not hp:
        return pd.Series("", index=ok.index)
    return ok[hp].apply(lambda row: repr(tuple(row)), axis=1)


@plotting.plot_helper
def plot_min_coefficient(results: pd.DataFrame, ax=None, *, log: bool = True):
    """The smallest |c| reaching 3 sigma, per evaluated operator (groups) and per model and
    training operator (bars): trials trained on different operators are never pooled.

    For each model and training operator, the hyperparameter configuration with the smallest
    ``min_abs_c`` averaged over its seeds is shown: the bar is that mean, the error bar the
    standard deviation over the seeds (ddof = 1; none for a single seed). A configuration
    that never reaches 3 sigma on an operator with some seed (|c| infinite) gets no bar but
    a ``x`` marker at the foot of the axis, labelled in the legend.

    Returns:
        dict ``(model, train_operator)`` -> the BarContainer drawn (and ``"never 3 sigma"``
        -> the markers, if any).
    """
    ok = _ok(results).assign(_config=lambda t: _configurations(t))
    keys = ["model", "train_operator", "_config", "operator"]
    # Sorted: lookups by a partial key on an unsorted MultiIndex are slow, and pandas warns.
    per_config = ok.groupby(keys)["min_abs_c"].agg(["mean", "std", "count"])
    operators = list(dict.fromkeys(ok["operator"]))
    lines = list(dict.fromkeys(zip(ok["model"], ok["train_operator"])))
    _, ax = plotting.new_axes(ax)
    width = 0.8 / len(lines)
    x = np.arange(len(operators))
    drawn, never, seeded = {}, [], False
    for index, (model, trained) in enumerate(lines):
        here = per_config.loc[(model, trained)]
        # the configuration with the best mean over operators, infinite means ranking last
        ranking = here["mean"].replace(np.inf, np.nan).groupby(level="_config").mean()
        best = here.loc[ranking.fillna(np.inf).idxmin()].reindex(operators)
        values = best["mean"].to_numpy(float)
        errors = best["std"].to_numpy(float)
        seeded |= bool((best["count"] > 1).any())
        position = x - 0.4 + width * (index + 0.5)
        finite = np.isfinite(values)
        drawn[(model, trained)] = ax.bar(
            position[finite], values[finite], width, color=plotting.model_color(index),
            yerr=np.where(np.isfinite(errors), errors, 0.0)[finite], capsize=2,
            label=_trained_label(model, trained))
        never += list(position[~finite])
    if log:
        ax.set_yscale("log")
    if never:
        drawn["never 3 sigma"] = ax.plot(never, np.full(len(never), ax.get_ylim()[0]), "x",
                                         color="black", clip_on=False, ls="none",
                                         label=r"never reaches 3$\sigma$")[0]
    ax.set_xticks(x, operators)
    ax.set_xlabel("evaluated operator")
    spread = "\n(best configuration; mean ± std over seeds)" if seeded else " (best trial)"
    ax.set_ylabel(r"min $|c|$ for $\sigma \geq 3$" + spread)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return drawn


@plotting.plot_helper
def plot_auc_vs_latent(results: pd.DataFrame, ax=None, *, operator: str | None = None):
    """AUC versus latent dimension, one line per model and training operator: trials trained
    on different operators are never averaged together.

    A trial's AUC is its mean over the evaluated operators (or that on ``operator`` alone).
    Each point is the mean over the trials with that latent dimension (the seeds, and any
    other hyperparameter that varies), the error bar their standard deviation (ddof = 1;
    none for a single trial), as the axis label says.

    Returns:
        dict ``(model, train_operator)`` -> the ErrorbarContainer drawn.
    """
    ok = _ok(results)
    if "hp_latent_dim" not in ok:
        raise ValueError("results have no hp_latent_dim column")
    if operator is not None:
        if operator not in set(ok["operator"]):
            raise ValueError(f"operator {operator!r} is not in the results "
                             f"({sorted(set(ok['operator']))})")
        ok = ok[ok["operator"] == operator]
    keys = ["model", "train_operator", "trial_id", "hp_latent_dim"]
    per_trial = ok.groupby(keys, as_index=False, sort=False)["AUC"].mean()
    _, ax = plotting.new_axes(ax)
    drawn = {}
    groups = per_trial.groupby(["model", "train_operator"], sort=False)
    for index, ((model, trained), group) in enumerate(groups):
        spread = group.groupby("hp_latent_dim")["AUC"].agg(["mean", "std"])
        drawn[(model, trained)] = ax.errorbar(
            spread.index.to_numpy(float), spread["mean"].to_numpy(float),
            yerr=spread["std"].to_numpy(float), marker="o",
            capsize=3, color=plotting.model_color(index), label=_trained_label(model, trained))
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("AUC" + (f" on {operator}" if operator else ", mean over operators")
                  + "\n(mean ± std over seeds)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return drawn
