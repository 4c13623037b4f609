"""vaednn: Variational AutoEncoders and VAE+DNN classifiers for EFT searches in VBS.

Modules:
    data: ntuples (real or generated) to weighted samples, splits, yields, sample maps.
    simulate: physics-motivated stand-ins for the SM and EFT (LIN, QUAD) ntuples.
    models: every VAE and VAE+DNN variant of the seed analysis, in Keras 3.
    curves: training histories as tables, CSV files and loss-curve plots.
    stats: weighted ROC/AUC, significance, 3 sigma reach, pyhf likelihood intervals.
    compare: train/validation/test splits, scoring, models against references, results table.
    explain: SHAP attributions and the seed's get_layer ablation (imported on first use).
    plotting: the figure style and ``save_figure``.
    workflow: the steps the notebooks share (cached training, results).
    scan: grids of models x hyperparameters x operators on Ray (imported on first use).

Importing ``vaednn`` registers the model classes with Keras, so a saved ``.keras`` model
loads with ``keras.models.load_model`` alone.
"""

import importlib
import os

# TensorFlow's C++ start-up messages (oneDNN, CUDA probing) bury notebook output; a user who
# wants them sets TF_CPP_MIN_LOG_LEVEL before importing vaednn.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from vaednn import compare, curves, data, models, plotting, simulate, stats, workflow

__version__ = "0.1.0"

__all__ = ["compare", "curves", "data", "explain", "models", "plotting", "scan", "simulate",
           "stats", "workflow", "__version__"]

_LAZY = ("explain", "scan")


def __getattr__(name):
    # shap and ray are slow to import and only some sessions need them.
    if name in _LAZY:
        return importlib.import_module(f"vaednn.{name}")
    raise AttributeError(f"module 'vaednn' has no attribute {name!r}")
