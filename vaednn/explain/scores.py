"""The scores to explain: one number per event from the raw variables, as a :class:`Score`
(a callable, a Keras model, a vaednn model's loss terms or classifier output), and the
checks of the events and models every explainer shares."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from vaednn import models
from vaednn.data import FEATURES
from vaednn.data.samples import feature_matrix

__all__ = [
    "Score",
    "as_score",
    "reco_loss_score",
    "kl_score",
    "classifier_score",
    "names_of",
    "feature_array",
    "check_model",
]


def names_of(X, features=None) -> tuple:
    """The variables of events ``X``: ``features`` (a score's own), else the 14
    ``FEATURES`` when ``X`` has them (a DataFrame, any column order, or an array of 14
    columns), else a DataFrame's columns in their order."""
    if features is not None:
        return tuple(features)
    if isinstance(X, pd.DataFrame):
        if set(FEATURES) <= set(X.columns):
            return FEATURES
        return tuple(str(c) for c in X.columns)
    if np.ndim(X) == 2 and np.shape(X)[1] == len(FEATURES):
        return FEATURES
    raise ValueError(f"events of shape {np.shape(X)} have no variable names: pass a DataFrame "
                     "or a score of a vaednn model (which knows its variables)")


class Score:
    """A per-event scalar score of raw features: NumPy in, NumPy out.

    Wraps a Keras model or any Python callable. :attr:`keras_model` is a functional Keras
    model computing the same score differentiably, which the ``"gradient"`` method needs;
    it is None for plain callables.

    Args:
        function: a Keras model mapping raw features ``(n, d)`` to ``(n,)`` or ``(n, 1)``,
            or a callable doing the same on NumPy arrays.
        name: what the score is, used as an axis label.
        keras_model: a differentiable Keras twin of a callable ``function`` (built from
            ``function`` itself when that is a Keras model).
        batch_size: rows per call of a Keras model.
        features: the variables the score reads, in column order (default: a Keras
            model's ``features`` attribute, else taken from the events explained).

    Example:
        >>> import numpy as np
        >>> score = Score(lambda x: x.sum(axis=1), name="sum")
        >>> score(np.ones((3, 14)))
        array([14., 14., 14.])
    """

    def __init__(self, function, name: str = "score", keras_model=None, batch_size: int = 2**16,
                 features=None):
        if not callable(function):
            raise ValueError(f"a score must be callable, got {type(function).__name__}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.name = name
        self.batch_size = int(batch_size)
        if features is None:
            features = getattr(function, "features", None)
        self.features = None if features is None else tuple(features)
        if _is_keras(function):
            keras_model = _scalar_keras_model(function, name, self._width())
            function = self._predict
        elif keras_model is not None:
            keras_model = _scalar_keras_model(keras_model, name, self._width())
        self.keras_model = keras_model
        self._function = function

    def _width(self) -> int:
        return len(FEATURES) if self.features is None else len(self.features)

    def _predict(self, x: np.ndarray) -> np.ndarray:
        x = x.astype("float32", copy=False)
        parts = [
            _as_vector(self.keras_model.predict_on_batch([x[i : i + self.batch_size]]), 0, self.name)
            for i in range(0, len(x), self.batch_size)
        ]
        return np.concatenate(parts) if parts else np.empty(0)

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x)
        width = x.shape[1] if self.features is None and self.keras_model is None and x.ndim == 2 \
            else self._width()
        if x.ndim != 2 or x.shape[1] != width:
            raise ValueError(
                f"score {self.name!r} needs an array of shape (n, {width}), got {x.shape}"
            )
        out = _as_vector(self._function(x), len(x), self.name)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"score {self.name!r} returned non-finite values")
        return out

    def __repr__(self) -> str:
        kind = "keras" if self.keras_model is not None else "callable"
        return f"Score({self.name!r}, {kind})"


def _is_keras(function) -> bool:
    return isinstance(function, keras.layers.Layer)


def _scalar_keras_model(layer, name: str, width: int) -> keras.Model:
    """A functional model (raw features -> (n,)) that shap's GradientExplainer can use."""
    inputs = keras.Input((width,), name="features")
    out = layer(inputs)
    if isinstance(out, (list, tuple, dict)) or tuple(out.shape[1:]) not in ((), (1,)):
        shape = (
            [tuple(o.shape) for o in out] if isinstance(out, (list, tuple))
            else getattr(out, "shape", out)
        )
        raise ValueError(
            f"score {name!r}: the Keras model must return one value per event, got output {shape}; "
            "wrap a VAE with reco_loss_score(model), kl_score(model) or classifier_score(model)"
        )
    out = keras.layers.Reshape((), name="score")(out) if len(out.shape) == 2 else out
    # A list input makes shap's list-of-arrays calls match the model's input structure.
    return keras.Model([inputs], out, name=name.replace(" ", "_"))


def _as_vector(values, n: int, name: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1 or (n and len(values) != n):
        raise ValueError(
            f"score {name!r} must return one value per event (shape ({n or 'n'},)), "
            f"got shape {values.shape}"
        )
    return values


def as_score(f, name: str | None = None) -> Score:
    """Turn a score given as a :class:`Score`, a Keras model or a callable into a :class:`Score`."""
    if isinstance(f, Score):
        return f
    return Score(f, name=name or getattr(f, "name", None) or getattr(f, "__name__", "score"))


class _ModelTerm(keras.layers.Layer):
    """One per-event term of a vaednn model as a Keras layer, so its gradient is available."""

    def __init__(self, model, term: str, **kwargs):
        super().__init__(**kwargs)
        self.vaednn_model = model
        self.term = term

    def call(self, x):
        terms = self.vaednn_model.event_terms(x, training=False)
        return self.vaednn_model.classify(terms) if self.term == "classifier" else terms[self.term]

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)


def check_model(model, what: str) -> None:
    """A ValueError naming ``what`` unless ``model`` is a vaednn model."""
    if not isinstance(model, models.VAE):
        raise ValueError(
            f"{what} needs a vaednn model (from vaednn.models.build), got {type(model).__name__}"
        )


def _term_score(model, term: str, name: str, caller: str) -> Score:
    check_model(model, caller)
    return Score(
        lambda x: models.event_losses(model, x)[term].to_numpy(np.float64),
        name=name,
        keras_model=_ModelTerm(model, term, name=f"{term}_term"),
        features=model.features,
    )


def reco_loss_score(model) -> Score:
    """The per-event reconstruction loss (MSE in the scaled space, with ``z_mean``) as a score.

    Args:
        model: any vaednn model.

    Returns:
        A :class:`Score` backed by :func:`vaednn.models.event_losses`, with a differentiable
        twin for the ``"gradient"`` method.
    """
    return _term_score(model, "reco", "reconstruction loss", "reco_loss_score")


def kl_score(model) -> Score:
    """The per-event KL term (mean over latent dimensions) of any vaednn model as a score."""
    return _term_score(model, "kl", "KL divergence", "kl_score")


def classifier_score(model) -> Score:
    """The classifier output (BSM probability) of a VAE+DNN model as a score."""
    check_model(model, "classifier_score")
    if not models.is_classifier(model):
        raise ValueError(
            f"model {model.name!r} has no classifier head; use reco_loss_score or kl_score"
        )
    return Score(
        lambda x: np.asarray(models.classifier_output(model, x), dtype=np.float64),
        name="classifier output",
        keras_model=_ModelTerm(model, "classifier", name="classifier_term"),
        features=model.features,
    )


def feature_array(X, what: str, names=FEATURES) -> np.ndarray:
    """Raw features as a float64 (n, d) array in ``names`` order, or a ValueError."""
    X = feature_matrix(X, names, what)
    if len(X) == 0:
        raise ValueError(f"{what} holds no events")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{what} holds {bad.sum()} events with non-finite features "
            f"(first: row {np.argmax(bad)})"
        )
    return X
