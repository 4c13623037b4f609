"""Training histories become tidy frames, CSV files and loss-curve plots."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from vaednn import curves

matplotlib.use("agg")

HISTORY = {
    "loss": [0.5, 0.3, 0.2],
    "reconstruction_loss": [0.4, 0.25, 0.15],
    "kl_loss": [3.0, 2.0, 1.5],
    "val_loss": [0.6, 0.4, 0.3],
    "val_reconstruction_loss": [0.5, 0.3, 0.2],
    "val_kl_loss": [3.5, 2.5, 2.0],
}


class FakeHistory:
    """What keras.callbacks.History exposes: .history and .epoch (from 0)."""

    def __init__(self, history, start=0):
        self.history = history
        self.epoch = list(range(start, start + len(next(iter(history.values())))))


def test_history_frame_is_tidy():
    tidy = curves.history_frame(HISTORY)
    assert list(tidy.columns) == ["epoch", "term", "split", "value"]
    assert len(tidy) == 18
    row = tidy[(tidy.term == "kl_loss") & (tidy.split == "val") & (tidy.epoch == 2)]
    assert row["value"].item() == 2.5
    assert set(tidy["split"]) == {"train", "val"}


def test_history_frame_uses_the_keras_epoch_numbers():
    tidy = curves.history_frame(FakeHistory({"loss": [1.0, 0.5]}, start=4))
    assert tidy["epoch"].to_list() == [5, 6]


def test_history_frame_rejects_terms_of_different_lengths():
    with pytest.raises(ValueError, match="different numbers of epochs"):
        curves.history_frame({"loss": [1.0, 0.5], "val_loss": [1.0]})


def test_save_history_round_trips_through_csv(tmp_path):
    path = curves.save_history(FakeHistory(HISTORY), tmp_path / "history.csv")
    table = pd.read_csv(path)
    assert list(table.columns) == ["epoch", "kl_loss", "loss", "reconstruction_loss",
                                   "val_kl_loss", "val_loss", "val_reconstruction_loss"]
    np.testing.assert_allclose(table["val_kl_loss"], HISTORY["val_kl_loss"])
    assert table["epoch"].to_list() == [1, 2, 3]
    again = curves.history_frame(table)
    pd.testing.assert_frame_equal(
        again.sort_values(["term", "split", "epoch"]).reset_index(drop=True),
        curves.history_frame(HISTORY).sort_values(["term", "split", "epoch"])
        .reset_index(drop=True))


def test_plot_draws_each_term_with_a_dashed_twin_on_log_axes():
    lines = curves.plot_loss_curves(HISTORY)
    assert len(lines) == 6
    by_label = {line.get_label(): line for line in lines}
    train, val = by_label["kl_loss"], by_label["kl_loss (validation)"]
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert train.get_color() == val.get_color()
    assert by_label["loss"].get_color() != train.get_color()
    np.testing.assert_allclose(val.get_ydata(), HISTORY["val_kl_loss"])
    assert lines[0].axes.get_yscale() == "log"


def test_plot_metrics_on_linear_axes_on_a_given_axis():
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    history = {"loss": [0.5, 0.4], "auc": [0.6, 0.7], "val_auc": [0.55, 0.65]}
    lines = curves.plot_loss_curves(history, ax=ax, terms=["auc"])
    assert len(lines) == 2 and all(line.axes is ax for line in lines)
    assert ax.get_yscale() == "linear"
    with pytest.raises(ValueError, match="not in the history"):
        curves.plot_loss_curves(history, terms=["binary_accuracy"])
