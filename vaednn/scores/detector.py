"""An SM-only anomaly detector with the scikit-learn / PyOD interface.

:class:`Detector` wraps the package's default anomaly score (:data:`vaednn.anomaly.DEFAULT`,
the Gaussian VAE, the best SM-only score of notebook 07), the RealNVP flow and
the plain VAE variants of :mod:`vaednn.models` for users who expect
``fit`` / ``decision_function`` / ``predict``::

    detector = vaednn.Detector(epochs=20, contamination=0.05).fit(x_sm, sample_weight=w)
    original = vaednn.Detector("vae", term="reco")  # the original analysis' VAE
    scores = detector.decision_function(x)   # higher = more anomalous
    flags = detector.predict(x)              # 1 above detector.threshold_, else 0

As in PyOD, fitting sets ``decision_scores_`` (the training events' scores), ``threshold_``
(the weighted ``1 - contamination`` quantile of those scores, :func:`signed_quantile`, so
signed NLO SM weights are accepted) and ``labels_`` (0/1 of the training events). The
variables are the data's (a DataFrame's columns, or ``features=``), as for
:func:`vaednn.models.build`; ``features_`` and ``log_features_`` record them, the saved
model's config holds them, and scoring a frame that lacks one is an error naming it.
Parameters are explicit and only stored by ``__init__``, so ``sklearn.base.clone``,
``get_params``/``set_params`` and a ``Pipeline`` work; they are checked when ``fit`` runs.
As scikit-learn's unsupervised estimators do, ``fit`` ignores ``y``, and arrays pass
through ``sklearn.utils.validation.check_array``; an unnamed array of other than the 14
columns of :data:`vaednn.data.FEATURES` gets the names ``x0``, ``x1``, ... only when
``log_features`` says which of its columns take log10 (else ``features=`` is asked for).

Every score comes from the one registry, :data:`vaednn.anomaly.SCORES`. A density model
(:data:`DENSITY_NAMES`) is its own entry, scored by ``-log p``. A VAE is scored by a term of
its loss, ``term`` in :attr:`vaednn.anomaly.VAEScore.TERMS` (None: the first, ``"reco"``,
the original analysis' score): the entry ``vae_<term>``, built with
:func:`vaednn.anomaly.make` and handed the VAE the detector trained
(:meth:`vaednn.anomaly.VAEScore.adopt`), so ``Detector("vae", term="kl")`` scores exactly as
``make("vae_kl")`` does. ``vae_feature_errors`` is not offered: its SM reference is fitted
state that a saved detector does not hold.

``term`` was called ``score`` in 0.1.0, a name that shadows scikit-learn's ``score``
method: ``Detector(score=...)`` still works for this release, as scikit-learn deprecates a
parameter (kept in the signature, a ``DeprecationWarning`` from ``fit``), and a file saved
with the old name loads with it as ``term``.
"""

from __future__ import annotations

import io
import json
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted

from vaednn.data.samples import FEATURES, frame_columns, row_weights
from vaednn.files import atomic_path, check_writable, load_model

__all__ = ["DENSITY_NAMES", "Detector", "VAE_NAMES", "signed_quantile"]

#: The plain (unsupervised) VAE variants of :data:`vaednn.models.MODEL_NAMES`.
VAE_NAMES = ("vae", "vae_model2", "vae_model3", "vae_flat")
#: The Keras density scores of :data:`vaednn.anomaly.SCORES` a detector can wrap.
DENSITY_NAMES = ("flow", "gaussian_vae")


def signed_quantile(values, weights, q) -> float:
    """The ``q`` quantile of ``values`` whose ``weights`` may be negative (NLO SM samples).

    The midpoint rule of :func:`vaednn.simulate.weighted_quantile` with signed weights: after
    sorting, event ``i`` sits at ``c_i = (C_i - w_i / 2) / W``, with ``C_i`` the cumulative
    signed weight and ``W = Σ w > 0`` the net weight. A negative weight makes ``c`` step
    back, so ``c`` is replaced by its running minimum from above, ``m_i = min_{j >= i} c_j``:
    the quantile is the smallest value past which the net share of weight below never falls
    under ``q`` again, interpolated linearly between neighbours. For non-negative weights
    ``m = c`` and the result equals :func:`~vaednn.simulate.weighted_quantile`. Written here
    because numpy's and scikit-learn's weighted quantiles refuse negative weights.

    Raises:
        ValueError: ``q`` outside [0, 1], mismatched or non-finite inputs, or a net weight
            ``<= 0`` (see :func:`vaednn.anomaly.check_sm_weights`).

    >>> signed_quantile([1, 2, 3, 4, 5], [1, 1, -1, 1, 1], 0.75)  # c = 1/6, 1/2, 1/2, 1/2, 5/6
    4.75
    >>> signed_quantile([1, 2, 4, 5], [1, 1, 1, 1], 0.75)  # without the negative event
    4.5
    """
    from vaednn.scores.base import check_sm_weights

    values = np.asarray(values, dtype=np.float64).reshape(-1)
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"signed_quantile: q must be in [0, 1], got {q!r}")
    if values.shape != weights.shape or len(values) == 0:
        raise ValueError(f"signed_quantile: {len(values)} values and {len(weights)} weights; "
                         f"give one weight per value, at least one")
    if not (np.isfinite(values).all() and np.isfinite(weights).all()):
        raise ValueError("signed_quantile: values and weights must be finite")
    total = check_sm_weights(weights, "signed_quantile weights")
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    position = (np.cumsum(weights) - weights / 2) / total
    floor = np.minimum.accumulate(position[::-1])[::-1]
    k = int(np.searchsorted(floor, q, side="left"))
    if k == 0:
        return float(values[0])
    if k == len(values):
        return float(values[-1])
    lo, hi = floor[k - 1], floor[k]
    return float(values[k - 1] + (q - lo) / (hi - lo) * (values[k] - values[k - 1]))


_ARCHIVE_MODEL = "model.keras"
_ARCHIVE_STATE = "detector.json"
_ARCHIVE_SCORES = "decision_scores.npy"


class Detector(BaseEstimator):
    """A model trained on SM events whose anomaly score flags events unlike them.

    Args:
        name: the model: one of :data:`DENSITY_NAMES` (scored by ``-log p`` in raw space,
            see :mod:`vaednn.anomaly`) or a VAE of :data:`VAE_NAMES` (scored by ``term``).
            None: the package's default, :data:`vaednn.anomaly.DEFAULT`.
        epochs: training epochs.
        batch_size: mini-batch size (default: the model's).
        seed: seeds the initial weights, the sampling noise and the shuffling.
        contamination: expected share of anomalies among the training events, in (0, 0.5];
            sets ``threshold_``.
        hyperparameters: overrides of the model's defaults: ``models.DEFAULTS[name]`` for a
            VAE (e.g. ``{"latent_dim": 4}``), the score's arguments for a density model
            (e.g. ``{"coupling_layers": 4}``, see :func:`vaednn.anomaly.make`).
        term: the term of a VAE's loss that is its anomaly score, one of
            :attr:`vaednn.anomaly.VAEScore.TERMS` (None: the first, ``"reco"``), scored by
            the registry entry ``vae_<term>``; must be None for a density model, which has
            its own.
        verbose: Keras' ``fit`` verbosity (VAEs; the density models train silently).
        features: the variables, as for :func:`vaednn.models.build`: None takes a
            DataFrame's columns (an array of 14 columns is read as
            :data:`vaednn.data.FEATURES`); a list names an array's columns or picks a
            DataFrame's.
        log_features: the variables that get log10 (None: those of the features in
            :data:`vaednn.data.LOG_FEATURES`).
        score: deprecated: the old name of ``term``, used in its place for this release
            with a ``DeprecationWarning`` from ``fit``; give one of them, not both.

    Attributes:
        model_: the trained Keras model.
        score_: the fitted :class:`vaednn.anomaly.AnomalyScore` from
            :data:`vaednn.anomaly.SCORES` that gives ``decision_function``.
        decision_scores_: scores of the training events (float64).
        threshold_: the weighted ``1 - contamination`` quantile of ``decision_scores_``.
        labels_: ``decision_scores_ > threshold_`` as 0/1.
        n_features_in_: number of input columns.
        feature_names_in_: column names, when fitted on a DataFrame.
        features_, log_features_: the variables the model reads and those it takes log10 of.
    """

    def __init__(self, name=None, epochs=10, batch_size=None, seed=0, contamination=0.1,
                 hyperparameters=None, term=None, verbose=0, features=None, log_features=None,
                 score=None):
        self.name = name
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.contamination = contamination
        self.hyperparameters = hyperparameters
        self.term = term
        self.verbose = verbose
        self.features = features
        self.log_features = log_features
        self.score = score

    def _model_name(self) -> str:
        if self.name is not None:
            return self.name
        from vaednn.scores import registry

        return registry.DEFAULT

    def _is_vae(self) -> bool:
        return self._model_name() in VAE_NAMES

    def _check_parameters(self) -> None:
        if self._model_name() not in VAE_NAMES + DENSITY_NAMES:
            raise ValueError(f"Detector: unknown or non-VAE model name {self._model_name()!r}; "
                             f"choose one of {DENSITY_NAMES + VAE_NAMES}")
        from vaednn.scores.vae import VAEScore

        if self.score is not None:
            if self.term is not None:
                raise ValueError("Detector: give term= only; score= is its deprecated old name")
            warnings.warn("Detector(score=...) is deprecated and will be removed in a later "
                          "release; use term=... (the VAE loss term the detector thresholds)",
                          DeprecationWarning, stacklevel=3)
        term = self._term()
        if self._is_vae() and term is not None and term not in VAEScore.TERMS:
            raise ValueError(f"Detector: unknown term {term!r} for the VAE "
                             f"{self._model_name()!r}; choose one of {list(VAEScore.TERMS)}")
        if not self._is_vae() and term is not None:
            raise ValueError(f"Detector: the density model {self._model_name()!r} is scored by its "
                             f"-log p; term must be None, got {term!r}")
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

    def _term(self):
        """The VAE loss term in use: ``term``, or the deprecated ``score`` given in its place."""
        return self.term if self.score is None else self.score

    def _checked_X(self, X, what: str, min_samples: int = 1):
        """``X`` as the model reads it: a DataFrame whose column names are all strings as it
        is (its columns are matched by name); anything else through scikit-learn's
        ``check_array``, as a dense, finite, 2-D float64 array (an error says what is not)."""
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            return X
        return check_array(X, dtype=np.float64, ensure_min_samples=min_samples,
                           input_name=f"Detector.{what}: X")

    def _feature_names(self, X):
        """``features``; for an unnamed array that no default names (not the 14 columns of
        :data:`vaednn.data.FEATURES`) and whose log10 variables ``log_features`` are given,
        the generic names ``x0``, ``x1``, ... that scikit-learn gives such columns: the names
        then decide nothing, as no variable is guessed from its position."""
        if self.features is not None or isinstance(X, pd.DataFrame) \
                or self.log_features is None or X.shape[1] == len(FEATURES):
            return self.features
        return [f"x{i}" for i in range(X.shape[1])]

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
        check_is_fitted(self, "model_", msg=f"Detector.{what}: this detector is not fitted "
                                            "yet; call fit first")

    def _columns(self, X, what: str):
        """X with the fitted columns, in the fitted order, or an error naming the mismatch."""
        self._check_fitted(what)
        X = self._checked_X(X, what)
        names = getattr(self, "feature_names_in_", None)
        if isinstance(X, pd.DataFrame) and names is not None:
            return frame_columns(X, names, f"Detector.{what}: X", " it was fitted on")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"Detector.{what}: X has {X.shape[1]} features, but Detector is "
                             f"expecting {self.n_features_in_} features as input, as in fit")
        if names is not None:
            return pd.DataFrame(np.asarray(X), columns=list(names))
        return X

    def fit(self, X, y=None, sample_weight=None) -> Detector:
        """Train the VAE on SM events ``X`` and set the threshold.

        Args:
            X: raw SM features (events, features), DataFrame or array.
            y: ignored: the detector learns from SM events alone (scikit-learn's convention
                for unsupervised estimators, so that a ``Pipeline`` or a search fitted with
                labels can end in a detector).
            sample_weight: per-event weights (default 1), signed as an NLO sample's may be,
                for the training loss (signs kept, see :mod:`vaednn.anomaly`) and the
                threshold (:func:`signed_quantile`); their net sum must be > 0.

        Returns:
            The fitted detector.
        """
        from vaednn import models
        from vaednn.scores.base import check_sm_weights

        self._check_parameters()
        X = self._checked_X(X, "fit", min_samples=2)
        self._remember_columns(X)
        if sample_weight is not None:
            sample_weight = row_weights(sample_weight, len(X), "Detector.fit: sample_weight")
            if not np.abs(sample_weight).sum() > 0:
                raise ValueError("Detector.fit: sample_weight: every weight is zero")
            check_sm_weights(sample_weight, "Detector.fit: sample_weight")
        names = dict(features=self._feature_names(X), log_features=self.log_features)
        if self._is_vae():
            model = models.build(self._model_name(), X, seed=self.seed, **names,
                                 **(self.hyperparameters or {}))
            model.fit(X, sample_weight=sample_weight, epochs=int(self.epochs),
                      batch_size=self.batch_size, verbose=self.verbose)
            self.model_ = model
            self.score_ = self._vae_score().adopt(model)
        else:
            self.score_ = self._density().fit(X, sample_weight, **names)
            self.model_ = self.score_.model
        self._remember_features()
        self.decision_scores_ = self.score_.score(X)
        weights = np.ones(len(self.decision_scores_)) if sample_weight is None else sample_weight
        self.threshold_ = signed_quantile(self.decision_scores_, weights, 1.0 - self.contamination)
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def _remember_features(self) -> None:
        self.features_ = tuple(self.model_.features)
        self.log_features_ = tuple(self.model_.log_features)

    def _vae_score(self):
        """The registry's ``vae_<term>`` score for this detector's VAE, to be handed the VAE.

        It only reads a trained VAE (:meth:`vaednn.anomaly.VAEScore.adopt`), so it takes no
        training options: the detector trains the VAE itself, with ``batch_size`` and the
        optimiser options of :func:`vaednn.models.build`, which the score does not have.
        """
        from vaednn.scores import registry, vae

        term = self._term() or vae.VAEScore.TERMS[0]
        return registry.make(f"vae_{term}", seed=self.seed, model=self._model_name())

    def _density(self):
        from vaednn.scores import registry

        options = dict(self.hyperparameters or {}, epochs=int(self.epochs))
        if self.batch_size is not None:
            options["batch_size"] = int(self.batch_size)
        return registry.make(self._model_name(), seed=self.seed, **options)

    def decision_function(self, X) -> np.ndarray:
        """Anomaly scores of raw events ``X``, float64 (events,); higher = more anomalous."""
        X = self._columns(X, "decision_function")
        return self.score_.score(X)

    def predict(self, X) -> np.ndarray:
        """1 for events scoring above ``threshold_``, else 0 (int, (events,))."""
        return (self.decision_function(X) > self.threshold_).astype(int)

    def save(self, path, overwrite: bool = False) -> Path:
        """Write the fitted detector to one file (a zip archive), atomically.

        Args:
            path: the file to write.
            overwrite: replace an existing ``path``; otherwise it is refused, as every
                writer of the package does (:func:`vaednn.files.check_writable`).

        Returns:
            The path written.

        Raises:
            FileExistsError: ``path`` exists and ``overwrite`` is False.
        """
        check_writable(path, overwrite)
        self._check_fitted("save")
        state = {
            "params": self.get_params(),
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
        """A detector written by :meth:`save`.

        Raises:
            FileNotFoundError: no such file.
            ValueError: not a detector file, a truncated or corrupt one, or one whose
                threshold is not a finite number; the message names the file.
        """
        from vaednn import models  # noqa: F401  (registers the model classes with Keras)
        from vaednn.scores import density  # noqa: F401  (and the density models)

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
            try:
                state = json.loads(archive.read(_ARCHIVE_STATE))
                scores = np.load(io.BytesIO(archive.read(_ARCHIVE_SCORES)))
                extracted = archive.extract(_ARCHIVE_MODEL, scratch)
            except (zipfile.BadZipFile, EOFError, ValueError, OSError) as error:
                raise ValueError(f"{path}: the detector file is truncated or corrupt "
                                 f"({type(error).__name__}: {error})") from None
            threshold = state.get("threshold")
            if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
                    or not np.isfinite(threshold):
                raise ValueError(f"{path}: threshold = {threshold!r} in {_ARCHIVE_STATE}; it "
                                 "must be a finite number (NaN would flag nothing)")
            try:
                model = load_model(extracted)
            except ValueError as error:
                raise ValueError(f"{path}: its model {_ARCHIVE_MODEL} cannot be loaded: "
                                 f"{error}") from None
        params = dict(state["params"])
        renamed = params.pop("score", None)  # the old name of term, in files of 0.1.0
        if renamed is not None:
            params["term"] = renamed
        detector = cls(**params)
        detector._check_parameters()
        detector.model_ = model
        detector._remember_features()
        if detector._is_vae():
            detector.score_ = detector._vae_score().adopt(model)
        else:
            detector.score_ = detector._density().adopt(model)
        detector.decision_scores_ = scores
        detector.threshold_ = float(threshold)
        detector.labels_ = (scores > detector.threshold_).astype(int)
        detector.n_features_in_ = int(state["n_features_in"])
        if state["feature_names_in"] is not None:
            detector.feature_names_in_ = np.asarray(state["feature_names_in"], dtype=object)
        return detector
