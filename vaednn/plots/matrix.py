"""The operator matrix: one metric of models trained on one operator and tested on another."""

from __future__ import annotations

import matplotlib as mpl
import numpy as np

from vaednn.plots.style import new_axes, plot_helper

__all__ = ["METRIC_LABELS", "plot_operator_matrix"]


METRIC_LABELS = {
    "AUC": "AUC",
    "best_sigma": r"best $\sigma$",
    "min_abs_c": r"min $|c|$ for $\sigma \geq 3$",
    "c_hi_3sigma": r"min $c > 0$ for $\sigma \geq 3$",
    "c_lo_3sigma": r"max $c < 0$ for $\sigma \geq 3$",
}


def _cell_text(value: float, std: float | None) -> str:
    if not np.isfinite(value):
        return "never" if value == np.inf else ""
    text = f"{value:.3g}"
    return text if std is None or not np.isfinite(std) else f"{text}\n±{std:.2g}"


@plot_helper
def plot_operator_matrix(table, metric: str = "AUC", ax=None, *, log: bool | None = None):
    """Heatmap of :func:`vaednn.compare.operator_matrix`: rows the training operator,
    columns the tested one.

    Args:
        table: long table with ``trained``, ``evaluated`` and ``metric`` columns; a
            ``<metric>_std`` column (the spread over seeds) is written under each value.
        metric: the column to show.
        log: logarithmic colour scale (default: for every metric but ``AUC``), so one large
            coefficient (cHbox's) does not flatten the others into one colour.

    Cells that are infinite (a coefficient that never reaches 3 sigma) read "never" on a
    blank cell; NaN cells stay blank. Returns the axis.

    Raises:
        ValueError: ``metric`` is not a column.
    """
    import seaborn as sns

    if metric not in table:
        raise ValueError(f"metric {metric!r} is not a column of the table ({list(table.columns)})")
    matrix = table.pivot(index="trained", columns="evaluated", values=metric).astype(float)
    std_column = f"{metric}_std"
    spread = (table.pivot(index="trained", columns="evaluated", values=std_column)
              .reindex_like(matrix).astype(float) if std_column in table else None)
    annotations = np.array([[_cell_text(matrix.iat[i, j],
                                        None if spread is None else spread.iat[i, j])
                             for j in range(matrix.shape[1])] for i in range(matrix.shape[0])])
    shown = matrix.where(np.isfinite(matrix))
    log = metric != "AUC" if log is None else log
    norm = None
    if log:
        # cells <= 0 have no place on a log scale: blank, their value still written
        shown = shown.where(shown > 0)
        positive = shown.to_numpy()[np.isfinite(shown.to_numpy())]
        if positive.size:
            norm = mpl.colors.LogNorm(vmin=positive.min(), vmax=positive.max())
    fig, ax = new_axes(ax)
    label = METRIC_LABELS.get(metric, metric) + (" (mean ± std over seeds)" if spread is not None
                                                 else "")
    # nothing finite to colour: give seaborn the range it cannot take from the cells
    limits = {} if np.isfinite(shown.to_numpy()).any() else {"vmin": 0.0, "vmax": 1.0}
    sns.heatmap(shown, annot=annotations, fmt="", cmap="viridis", norm=norm, ax=ax,
                annot_kws={"fontsize": 8}, cbar_kws={"label": label}, **limits)
    for (i, j), text in np.ndenumerate(annotations):
        if text == "never":
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8, color="grey")
    ax.set_xlabel("evaluated on")
    ax.set_ylabel("trained on")
    return ax
