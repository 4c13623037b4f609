"""Training histories as tables and loss curves: kept where users found them, in
:mod:`vaednn.plots.histories`."""

from vaednn.plots.histories import TERM_LABELS, history_frame, plot_loss_curves, save_history

__all__ = ["TERM_LABELS", "history_frame", "plot_loss_curves", "save_history"]
