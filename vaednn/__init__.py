"""vaednn: Variational AutoEncoders and VAE+DNN classifiers for EFT searches in VBS.

Modules (each imported on first use, so ``import vaednn.data`` loads no deep-learning
backend):
    data: ntuples (real or generated) to weighted samples, splits, yields, sample maps.
    reweight: reweighted generator samples (LHE ``<rwgt>``, weight vector branches): one
        event set, a weight per parameter point, SM/LIN/QUAD by least squares (extra ``[lhe]``
        for LHE files).
    simulate: physics-motivated stand-ins for the SM and EFT (LIN, QUAD) ntuples.
    models: every VAE and VAE+DNN variant of the seed analysis, in Keras 3.
    detector: :class:`Detector`, a VAE with the scikit-learn / PyOD detector interface.
    scores: SM-only anomaly scores, their one registry, seed studies and the Detector
        (``anomaly``, ``detector`` and ``baselines`` re-export its names).
    anomaly: SM-only anomaly scores (VAE terms, flows, IsolationForest, GMM) and seed studies.
    baselines: anomaly scores that are not VAEs (IsolationForest).
    curves: training histories as tables, CSV files and loss-curve plots.
    stats: weighted ROC/AUC, significance, 3 sigma reach, pyhf likelihood intervals.
    training_sets: the classifier's SM-vs-BSM training set and its SM pairs.
    comparison: train/validation/test splits, scoring, models against references, results
        tables, one concern per module.
    compare: the names of ``comparison`` where users found them (re-exported).
    explain: SHAP attributions and the seed's get_layer ablation (extra ``[explain]``).
    plots: every figure: the style, ``save_figure`` and the plots, one concern per module.
    plotting: the figure style and ``save_figure`` (re-exported from ``plots``).
    workflow: the steps the notebooks share (cached training, results).
    scan: grids of models x hyperparameters x operators on Ray (extra ``[scan]``).
    publish: pyhf workspaces and patchsets, HEPData submissions, the export folder (extra
        ``[publish]`` for HEPData).
    extras: which extra installs an optional dependency.
    files: atomic file writes.
    expressions: the safe expression language of cuts and derived branches.
    reproduce: runs the numbered notebooks in order (behind ``make figures``).
    cli: the ``vaednn`` command.

Keras finds the model classes once ``vaednn.models`` is imported. ``import vaednn`` arranges
that: if Keras is already imported it imports ``vaednn.models`` at once, otherwise right
after Keras is first imported, so a saved ``.keras`` model loads with
``keras.models.load_model`` alone. Messages go to the logger ``vaednn`` (silent unless the
application configures logging; the ``vaednn`` command shows INFO).
"""

import importlib
import importlib.abc
import logging
import os
import sys

# TensorFlow's C++ start-up messages (oneDNN, CUDA probing) bury notebook output; a user who
# wants them sets TF_CPP_MIN_LOG_LEVEL before importing vaednn.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

logging.getLogger("vaednn").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = ["Detector", "anomaly", "baselines", "cli", "compare", "comparison", "curves", "data",
           "detector", "explain", "expressions", "extras", "files", "models", "plots", "plotting",
           "publish", "reproduce", "reweight", "scan", "scores", "simulate", "stats",
           "training_sets", "workflow", "__version__"]

_MODULES = {"anomaly", "baselines", "cli", "compare", "comparison", "curves", "data", "detector",
            "explain", "expressions", "extras", "files", "models", "plots", "plotting", "publish",
            "reproduce", "reweight", "scan", "scores", "simulate", "stats", "training_sets", "workflow"}
_ATTRIBUTES = {"Detector": "detector"}


def __getattr__(name):
    # Submodules load on first use: TensorFlow/JAX take seconds, shap and ray more.
    if name in _MODULES:
        return importlib.import_module(f"vaednn.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(f"vaednn.{_ATTRIBUTES[name]}"), name)
    raise AttributeError(f"module 'vaednn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))


class _Loader(importlib.abc.Loader):
    """Keras' own loader, then ``import vaednn.models`` (which registers the classes)."""

    def __init__(self, loader, finder):
        self._loader = loader
        self._finder = finder

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
        if "vaednn.models" not in sys.modules:
            importlib.import_module("vaednn.models")

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Finds ``keras`` with the other finders and wraps its loader in :class:`_Loader`.

    It stays in place until Keras is actually executed: a mere probe
    (``importlib.util.find_spec("keras")``, as TensorFlow makes) loads nothing.
    """

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader, self)
                return spec
        return None


if "keras" in sys.modules:
    importlib.import_module("vaednn.models")
elif not any(isinstance(finder, _RegisterAfterKeras) for finder in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())
