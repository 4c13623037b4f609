"""Training histories: tidy frames, CSV files and loss-curve plots.

A history is what ``model.fit`` returns (a ``keras.callbacks.History``), its ``.history``
dict, or the wide table :func:`save_history` writes (read back with ``pandas.read_csv``).
Keys starting with ``val_`` are the validation twins of the training terms.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib as mpl
import numpy as np
import pandas as pd

from vaednn.files import atomic_path
from vaednn.plots.style import model_color, new_axes, plot_helper

__all__ = ["TERM_LABELS", "history_frame", "plot_loss_curves", "save_history"]

_TIDY = ["epoch", "term", "split", "value"]


def _as_dict(history):
    if isinstance(history, pd.DataFrame):
        if "epoch" not in history.columns:
            raise ValueError("a history table needs an 'epoch' column (as save_history writes)")
        return {k: history[k].to_list() for k in history.columns if k != "epoch"}, \
            history["epoch"].to_list()
    values = getattr(history, "history", history)
    if not isinstance(values, dict):
        raise TypeError(f"expected a keras History, a dict or a DataFrame, got "
                        f"{type(history).__name__}")
    lengths = {k: len(v) for k, v in values.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"history terms have different numbers of epochs: {lengths}")
    n = next(iter(lengths.values()), 0)
    epochs = [e + 1 for e in history.epoch] if hasattr(history, "epoch") else list(range(1, n + 1))
    return {k: list(v) for k, v in values.items()}, epochs


def history_frame(history) -> pd.DataFrame:
    """Tidy table of a training history: one row per (epoch, term, split).

    Args:
        history: a ``keras.callbacks.History``, its ``.history`` dict, or a wide table with
            an ``epoch`` column (as :func:`save_history` writes); a tidy frame is returned
            as a copy.

    Returns:
        DataFrame with columns ``epoch`` (counted from 1), ``term`` (e.g. ``kl_loss``),
        ``split`` (``"train"`` or ``"val"``) and ``value``.

    >>> history_frame({"loss": [0.5, 0.3], "val_loss": [0.6, 0.4]}).iloc[3].to_dict()
    {'epoch': 2, 'term': 'loss', 'split': 'val', 'value': 0.4}
    """
    if isinstance(history, pd.DataFrame) and set(_TIDY) <= set(history.columns):
        return history.loc[:, _TIDY].copy()
    values, epochs = _as_dict(history)
    rows = []
    for key, series in values.items():
        split, term = ("val", key[4:]) if key.startswith("val_") else ("train", key)
        rows += [(e, term, split, float(v)) for e, v in zip(epochs, series)]
    return pd.DataFrame(rows, columns=_TIDY)


def save_history(history, path: str | os.PathLike) -> Path:
    """Write a history as CSV: an ``epoch`` column, then one column per term and ``val_`` twin.

    This is the seed's ``np.savetxt`` of ``loss``, ``reconstruction_loss`` and ``kl_loss``
    in one file with a header; read it back with ``pandas.read_csv``.

    Returns:
        The path written.
    """
    tidy = history_frame(history)
    tidy = tidy.assign(column=np.where(tidy["split"] == "val", "val_" + tidy["term"], tidy["term"]))
    wide = tidy.pivot(index="epoch", columns="column", values="value")
    train = sorted(c for c in wide.columns if not c.startswith("val_"))
    val = sorted(c for c in wide.columns if c.startswith("val_"))
    path = Path(path)
    with atomic_path(path) as temporary:
        wide.loc[:, train + val].reset_index().to_csv(temporary, index=False)
    return path


#: Labels of the usual history terms; others are shown by their own name.
TERM_LABELS = {"loss": "total", "reconstruction_loss": "reconstruction", "kl_loss": "KL",
               "classification_loss": "classification", "auc": "AUC",
               "binary_accuracy": "accuracy"}


@plot_helper
def plot_loss_curves(history_or_frame, ax=None, terms=None, legend: bool = True):
    """Plot every term against epoch, its validation twin dashed in the same colour.

    The total ``loss`` is drawn black, thicker and on top, so it stays visible where one
    term dominates it and the curves coincide. The legend names each term once (colour)
    and the two splits once (line style).

    Args:
        history_or_frame: anything :func:`history_frame` accepts.
        ax: matplotlib axes to draw on (a new figure if None).
        terms: the terms to draw (default: every term whose name ends in ``loss``; pass
            e.g. ``["auc", "binary_accuracy"]`` for the classifier metrics).
        legend: draw the legend (turn off on all but one panel of a grid of histories).

    Returns:
        The list of ``Line2D`` drawn, training before validation for each term. The y axis
        is logarithmic when every drawn term is a loss and every value is positive, since
        the MSE, KL and total differ by orders of magnitude.
    """
    tidy = history_frame(history_or_frame)
    available = list(dict.fromkeys(tidy["term"]))
    if terms is None:
        terms = [t for t in available if t.endswith("loss")]
    missing = [t for t in terms if t not in available]
    if missing:
        raise ValueError(f"terms {missing} are not in the history; it has {available}")
    _, ax = new_axes(ax)
    lines, handles = [], []
    others = [t for t in terms if t != "loss"]
    for term in terms:
        total = term == "loss"
        color = "black" if total else model_color(others.index(term))
        width, order = (2.5, 3) if total else (1.5, 2)
        for split, style in (("train", "-"), ("val", "--")):
            part = tidy[(tidy["term"] == term) & (tidy["split"] == split)]
            if len(part):
                label = term if split == "train" else f"{term} (validation)"
                lines += ax.plot(part["epoch"], part["value"], style, color=color,
                                 label=label, linewidth=width, zorder=order)
        handles.append(mpl.lines.Line2D([], [], color=color, linewidth=width,
                                        label=TERM_LABELS.get(term, term)))
    if (tidy["split"] == "val").any():
        handles += [mpl.lines.Line2D([], [], color="grey", linestyle=style, label=split)
                    for style, split in (("-", "training"), ("--", "validation"))]
    drawn = tidy[tidy["term"].isin(terms)]["value"]
    if all(t.endswith("loss") for t in terms) and len(drawn) and (drawn > 0).all():
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" if all(t.endswith("loss") for t in terms) else "value")
    if legend:
        ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return lines
