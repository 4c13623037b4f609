"""A VAE anomaly detector with the scikit-learn / PyOD interface.

:class:`Detector` wraps the plain VAE variants of :mod:`vaednn.models` for users who expect
``fit`` / ``decision_function`` / ``predict``::

    detector = vaednn.Detector("vae", epochs=20, contamination=0.05).fit(x_sm, sample_weight=w)
    scores = detector.decision_function(x)   # higher = more anomalous
    flags = detector.predict(x)              # 1 above detector.threshold_, else 0

As in PyOD, fitting sets ``decision_scores_`` (the training events' scores), ``threshold_``
(the weighted ``1 - contamination`` quantile of those scores) and ``labels_`` (0/1 of the
training events). Parameters are explicit and only stored by ``__init__``, so
``sklearn.base.clone``, ``get_params``/``set_params`` and a ``Pipeline`` work; they are
checked when ``fit`` runs.

The anomaly score is chosen by name from :data:`SCORES` (default :data:`DEFAULT_SCORE`); a new
score is a class with ``fit(model, x, sample_weight)``, ``score(model, x)`` and
``get_config()`` registered there, and a detector saves and loads it by its config.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from vaednn.files import atomic_path
from vaednn.simulate import weighted_quantile

__all__ = ["DEFAULT_SCORE", "Detector", "ReconstructionScore", "SCORES", "VAE_NAMES"]

#: The plain (unsupervised) VAE variants of :data:`vaednn.models.MODEL_NAMES`.
VAE_NAMES = ("vae", "vae_model2", "vae_model3", "vae_flat")


class ReconstructionScore:
    """The per-event reconstruction MSE (``models.event_losses(...)["reco"]``), the seed's score.

    It has nothing to fit; a score that does (e.g. a density in the latent space) keeps its
    fitted state in ``get_config()``, which must be JSON.
    """

    name = "reco"

    def fit(self, model, x, sample_weight=None) -> ReconstructionScore:
        return self

    def score(self, model, x) -> np.ndarray:
        from vaednn import models

        return models.event_losses(model, x)["reco"].to_numpy(np.float64)

    def get_config(self) -> dict:
        return {}


#: Score name -> class; ``Detector(score=name)`` picks one.
SCORES = {ReconstructionScore.name: ReconstructionScore}
DEFAULT_SCORE = "reco"

_ARCHIVE_MODEL = "model.keras"
_ARCHIVE_STATE = "detector.json"
_ARCHIVE_SCORES = "decision_scores.npy"


class Detector(BaseEstimator):
    """A VAE trained on SM events whose anomaly score flags events unlike them.

    Args:
        name: the variant, one of :data:`VAE_NAMES`.
        epochs: training epochs.
        batch_size: mini-batch size (default: the variant's, see ``models.DEFAULTS``).
        seed: seeds the initial weights, the sampling noise and the shuffling.
        contamination: expected share of anomalies among the training events, in (0, 0.5];
            sets ``threshold_``.
        hyperparameters: overrides of ``models.DEFAULTS[name]`` (e.g. ``{"latent_dim": 4}``).
        score: the anomaly score's name in :data:`SCORES`.
        verbose: Keras' ``fit`` verbosity.

    Attributes:
        model_: the trained Keras model.
        score_: the fitted score object.
        decision_scores_: scores of the training events (float64).
        threshold_: the weighted ``1 - contamination`` quantile of ``decision_scores_``.
        labels_: ``decision_scores_ > threshold_`` as 0/1.
        n_features_in_: number of input columns.
        feature_names_in_: column names, when fitted on a DataFrame.
    """

    def __init__(self, name="vae", epochs=10, batch_size=None, seed=0, contamination=0.1,
                 hyperparameters=None, score=DEFAULT_SCORE, verbose=0):
        self.name = name
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.contamination = contamination
        self.hyperparameters = hyperparameters
        self.score = score
        self.verbose = verbose

    def _check_parameters(self) -> None:
        if self.name not in VAE_NAMES:
            raise ValueError(f"Detector: unknown or non-VAE model name {self.name!r}; "
                             f"choose one of {VAE_NAMES}")
        if self.score not in SCORES:
            raise ValueError(f"Detector: unknown score {self.score!r}; choose one of "
                             f"{sorted(SCORES)}")
        if not 0 < self.contamination <= 0.5:
            raise ValueError(f"Detector: contamination must be in (0, 0.5], "
                             f"got {self.contamination!r}")
        if int(self.epochs) < 1:
            raise ValueError(f"Detector: epochs must be >= 1, got {self.epochs!r}")
        if self.hyperparameters is not None and not isinstance(self.hyperparameters, dict):
            raise TypeError(f"Detector: hyperparameters must be a dict or None, "
                            f"got {type(self.hyperparameters).__name__}")
        if self.hyperparameters and "batch_size" in self.hyperparameters:
            raise ValueError("Detector: give batch_size as the batch_size parameter, "
                             "not in hyperparameters")

    def _remember_columns(self, X) -> None:
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            self.n_features_in_ = X.shape[1]
        else:
            shape = np.shape(X)
            if len(shape) != 2:
                raise ValueError(f"Detector.fit: X must be 2-D (events, features), "
                                 f"got shape {shape}")
            self.n_features_in_ = shape[1]
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_

    def _check_fitted(self, what: str) -> None:
        if not hasattr(self, "model_"):
            raise RuntimeError(f"Detector.{what}: this detector is not fitted yet; call fit first")

    def _columns(self, X, what: str):
        """X with the fitted columns, in the fitted order, or an error naming the mismatch."""
        self._check_fitted(what)
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and names is not None:
            missing = [name for name in names if name not in X.columns]
            if missing:
                raise ValueError(f"Detector.{what}: X lacks the column(s) {missing} it was "
                                 f"fitted on")
            return X.loc[:, list(names)]
        shape = np.shape(X)
        if len(shape) != 2 or shape[1] != self.n_features_in_:
            raise ValueError(f"Detector.{what}: expected (events, {self.n_features_in_}) "
                             f"features as in fit, got shape {shape}")
        if names is not None:
            return pd.DataFrame(np.asarray(X), columns=list(names))
        return X

    def fit(self, X, y=None, sample_weight=None) -> Detector:
        """Train the VAE on SM events ``X`` and set the threshold.

        Args:
            X: raw SM features (events, features), DataFrame or array.
            y: must be None (unsupervised; accepted for scikit-learn pipelines).
            sample_weight: non-negative per-event weights (default 1), for the training loss
                and the threshold quantile.

        Returns:
            The fitted detector.
        """
        from vaednn import models

        if y is not None:
            raise TypeError("Detector.fit: y must be None (the detector learns from SM events "
                            "alone); pass weights as sample_weight=")
        self._check_parameters()
        self._remember_columns(X)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (len(X),):
                raise ValueError(f"Detector.fit: sample_weight must have shape ({len(X)},), "
                                 f"got {sample_weight.shape}")
            negative = int((sample_weight < 0).sum())
            if negative:
                raise ValueError(f"Detector.fit: sample_weight has {negative} negative "
                                 f"entries; the threshold quantile needs non-negative SM weights")
        model = models.build(self.name, X, seed=self.seed, **(self.hyperparameters or {}))
        model.fit(X, sample_weight=sample_weight, epochs=int(self.epochs),
                  batch_size=self.batch_size, verbose=self.verbose)
        self.model_ = model
        self.score_ = SCORES[self.score]().fit(model, X, sample_weight)
        self.decision_scores_ = self.score_.score(model, X)
        weights = np.ones(len(self.decision_scores_)) if sample_weight is None else sample_weight
        self.threshold_ = float(weighted_quantile(self.decision_scores_, weights,
                                                  1.0 - self.contamination))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Anomaly scores of raw events ``X``, float64 (events,); higher = more anomalous."""
        X = self._columns(X, "decision_function")
        return self.score_.score(self.model_, X)

    def predict(self, X) -> np.ndarray:
        """1 for events scoring above ``threshold_``, else 0 (int, (events,))."""
        return (self.decision_function(X) > self.threshold_).astype(int)

    def save(self, path) -> Path:
        """Write the fitted detector to one file (a zip archive), atomically.

        Returns:
            The path written.
        """
        self._check_fitted("save")
        state = {
            "params": self.get_params(),
            "score_config": self.score_.get_config(),
            "threshold": self.threshold_,
            "n_features_in": self.n_features_in_,
            "feature_names_in": (None if not hasattr(self, "feature_names_in_")
                                 else [str(n) for n in self.feature_names_in_]),
        }
        scores = io.BytesIO()
        np.save(scores, self.decision_scores_)
        with tempfile.TemporaryDirectory() as scratch, atomic_path(path) as temporary:
            model_path = Path(scratch) / _ARCHIVE_MODEL
            self.model_.save(model_path)
            with zipfile.ZipFile(temporary, "w") as archive:
                archive.write(model_path, _ARCHIVE_MODEL)
                archive.writestr(_ARCHIVE_STATE, json.dumps(state, indent=1))
                archive.writestr(_ARCHIVE_SCORES, scores.getvalue())
        return Path(path)

    @classmethod
    def load(cls, path) -> Detector:
        """A detector written by :meth:`save`."""
        import keras

        from vaednn import models  # noqa: F401  (registers the model classes with Keras)

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no saved detector there")
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path}: not a detector file written by Detector.save")
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as scratch:
            names = set(archive.namelist())
            missing = {_ARCHIVE_MODEL, _ARCHIVE_STATE, _ARCHIVE_SCORES} - names
            if missing:
                raise ValueError(f"{path}: not a detector file (lacks {sorted(missing)})")
            state = json.loads(archive.read(_ARCHIVE_STATE))
            scores = np.load(io.BytesIO(archive.read(_ARCHIVE_SCORES)))
            model = keras.models.load_model(archive.extract(_ARCHIVE_MODEL, scratch))
        detector = cls(**state["params"])
        detector._check_parameters()
        detector.model_ = model
        detector.score_ = SCORES[detector.score](**state["score_config"])
        detector.decision_scores_ = scores
        detector.threshold_ = float(state["threshold"])
        detector.labels_ = (scores > detector.threshold_).astype(int)
        detector.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            detector.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        return detector
