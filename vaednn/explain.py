"""Which kinematic variables make an event look anomalous: SHAP attributions and ablations.

Everything here explains a *score*: one number per event computed from the raw variables
of the analysis (physical units; the 14 ``FEATURES`` unless it chose others), such as a
VAE's per-event reconstruction loss, its KL term, or the classifier output of a VAE+DNN
model. The variables come from the score or the data: a model's own ``features``, else
``FEATURES`` when the events have them, else the columns of a DataFrame ``X`` (give a
plain callable its variables with ``Score(f, features=[...])``). :func:`shap_values`
attributes ``score(x) - E[score(background)]`` to the variables, so an attribution
reads directly as "this variable raised the anomaly score by that much compared with a
typical SM event".

Four methods, one contract (rows of the returned values add up to
``score(x) - mean(score(background))``):

- ``"exact"``: the interventional Shapley values against the background, computed from all
  2^d coalitions (d variables) in large vectorised calls of the score. Ground truth; additivity holds to
  floating-point precision.
- ``"permutation"``: shap's ``PermutationExplainer`` (antithetic permutations); additivity
  exact, values approximate.
- ``"kernel"``: shap's ``KernelExplainer`` (weighted linear regression on sampled
  coalitions, efficiency enforced); additivity exact, values approximate.
- ``"gradient"``: shap's ``GradientExplainer`` (expected gradients; on the JAX backend,
  which shap does not handle, the same estimator computed here with ``jax.grad``) — the fast path, for
  scores that are differentiable Keras functions of the raw features (every score built by
  this module is). Values *and* their sum carry Monte-Carlo noise that falls as
  ``1/sqrt(nsamples)``: on a VAE's reconstruction loss the gap between the sum and
  ``score(x) - E[score]`` averages about 4 % of ``|score(x) - E[score]|`` at the default
  ``nsamples=200`` and 2 % at 1000 (the tests require < 5 % at 1000).

shap's ``DeepExplainer`` is deliberately not offered: in Keras 3 it fails on LeakyReLU and
leaves TensorFlow in a state that breaks later training in the same process.

The seed analysis' own tools are kept: :func:`ablation` (zero one input variable's weights
in ``model.get_layer("encoder_l1")`` of the flat model and see how the attributions move)
and :func:`variables_high_loss` (which variables dominate the reconstruction error of
high-loss events).
"""

from __future__ import annotations

import contextlib
import math
import warnings

import keras
import numpy as np
import pandas as pd

from vaednn import models
from vaednn.extras import require
from vaednn.data import FEATURES
from vaednn.plots import (
    SAMPLE_COLORS, new_axes, plot_ablation, plot_helper, plot_variables_high_loss, tick_labels)

shap = require("shap", "vaednn.explain")

__all__ = [
    "METHODS",
    "Score",
    "as_score",
    "shap_values",
    "reco_loss_score",
    "kl_score",
    "classifier_score",
    "mean_abs",
    "plot_summary",
    "plot_mean_abs",
    "ablation",
    "plot_ablation",
    "variables_high_loss",
    "plot_variables_high_loss",
]

METHODS = ("exact", "permutation", "gradient", "kernel")

#: Rows per call of a score in the exact method: large enough to amortise the per-call
#: overhead of a Keras model, small enough to keep a 128-unit layer's activations in memory.
EXACT_BATCH_ROWS = 2**18



def _names_of(X, features=None) -> tuple:
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


def _check_model(model, what: str) -> None:
    if not isinstance(model, models.VAE):
        raise ValueError(
            f"{what} needs a vaednn model (from vaednn.models.build), got {type(model).__name__}"
        )


def _term_score(model, term: str, name: str, caller: str) -> Score:
    _check_model(model, caller)
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
    _check_model(model, "classifier_score")
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


def _features(X, what: str, names=FEATURES) -> np.ndarray:
    """Raw features as a float64 (n, d) array in ``names`` order, or a ValueError."""
    names = list(names)
    if isinstance(X, pd.DataFrame):
        missing = [name for name in names if name not in X.columns]
        if missing:
            raise ValueError(f"{what} lacks the feature columns {missing}")
        X = X.loc[:, names].to_numpy()
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"{what} must have shape (n, {len(names)}) in the order {names}, "
                         f"got {X.shape}")
    if len(X) == 0:
        raise ValueError(f"{what} holds no events")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{what} holds {bad.sum()} events with non-finite features "
            f"(first: row {np.argmax(bad)})"
        )
    return X


@contextlib.contextmanager
def _global_numpy_seed(seed: int):
    """shap's samplers and its beeswarm's jitter draw from NumPy's global generator: seed
    it, then put it back."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def shap_values(
    f, X, background, method: str = "exact", seed: int = 0, *, nsamples: int | None = None
) -> shap.Explanation:
    """SHAP values of a per-event score for the events ``X`` against ``background`` events.

    Args:
        f: the score — a :class:`Score` (e.g. from :func:`reco_loss_score`), a Keras model
            with one output per event, or any callable mapping ``(n, d)`` raw features to
            ``(n,)``.
        X: events to explain, ``(n, d)`` raw features: a DataFrame (columns matched by
            name to the score's variables, or its columns are the variables), or an array
            in the score's variable order.
        background: reference events (typically 20–100 SM events); a variable "switched
            off" takes its values from these.
        method: ``"exact"``, ``"permutation"``, ``"kernel"`` or ``"gradient"`` (see the
            module docstring).
        seed: seed of the sampling methods (the exact method does not sample).
        nsamples: ``"permutation"``: evaluations of the score per event (shap's
            ``max_evals``, default 500); ``"kernel"``: sampled coalitions per event
            (default 2·d + 2048); ``"gradient"``: sampled (background, path point) pairs
            per event (default 200). Not accepted for ``"exact"``.

    Returns:
        ``shap.Explanation`` with ``values`` ``(n, d)``, ``base_values`` ``(n,)`` equal to
        ``mean(f(background))``, ``data`` the raw features and ``feature_names`` the
        variables. For every method but ``"gradient"``, ``values.sum(1) + base_values``
        equals ``f(X)`` to floating-point precision; for ``"gradient"`` the sum is a
        Monte-Carlo estimate whose error shrinks as ``1/sqrt(nsamples)``.

    Example:
        >>> import numpy as np
        >>> w = np.arange(14.0)
        >>> X, background = np.ones((1, 14)), np.zeros((5, 14))
        >>> explanation = shap_values(lambda x: x @ w, X, background)
        >>> np.allclose(explanation.values, w)
        True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if nsamples is not None and (method == "exact" or nsamples < 1):
        raise ValueError(f"nsamples={nsamples!r} is not valid for method {method!r}")
    score = as_score(f)
    names = _names_of(X, score.features)
    X = _features(X, "X", names)
    background = _features(background, "background", names)
    base = float(score(background).mean())

    if method == "exact":
        values = _exact(score, X, background)
    elif method == "permutation":
        values = _permutation(score, X, background, seed, nsamples or 500)
    elif method == "kernel":
        values = _kernel(score, X, background, seed, nsamples or 2 * len(names) + 2048)
    else:
        values = _gradient(score, X, background, seed, nsamples or 200)
    return shap.Explanation(
        values=values,
        base_values=np.full(len(X), base),
        data=X,
        feature_names=list(names),
    )


def _shapley_coefficients(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Coalition masks (2^m, m) and the matrix C with phi = v @ C, v the coalition values.

    phi_i = sum_{S not containing i} |S|!(m-|S|-1)!/m! [v(S + i) - v(S)], so v(S) enters
    phi_i with weight w(|S|-1) when i is in S and -w(|S|) when it is not.
    """
    masks = ((np.arange(2**m)[:, None] >> np.arange(m)) & 1).astype(bool)
    size = masks.sum(axis=1)
    weight = np.array(
        [math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)]
    )
    in_weight = weight[np.maximum(size - 1, 0)][:, None]
    out_weight = weight[np.minimum(size, m - 1)][:, None]
    return masks, np.where(masks, in_weight, -out_weight)


def _exact(score: Score, X: np.ndarray, background: np.ndarray) -> np.ndarray:
    width = X.shape[1]
    masks, coefficients = _shapley_coefficients(width)
    n_coalitions, n_background = len(masks), len(background)
    # One row per (event, coalition, background event); blocks of whole (event, coalition)
    # pairs, so each block's score values average back over the background directly.
    pairs_per_block = max(1, EXACT_BATCH_ROWS // n_background)
    values = np.empty(len(X) * n_coalitions)
    for start in range(0, len(values), pairs_per_block):
        pair = np.arange(start, min(start + pairs_per_block, len(values)))
        event, coalition = np.divmod(pair, n_coalitions)
        rows = np.where(masks[coalition][:, None, :], X[event][:, None, :], background[None, :, :])
        values[pair] = score(rows.reshape(-1, width)).reshape(len(pair), n_background).mean(axis=1)
    return values.reshape(len(X), n_coalitions) @ coefficients


def _permutation(score: Score, X, background, seed: int, max_evals: int) -> np.ndarray:
    width = X.shape[1]
    if max_evals < 2 * width + 1:
        raise ValueError(
            f"permutation needs nsamples >= {2 * width + 1} (one permutation), got {max_evals}"
        )
    masker = shap.maskers.Independent(background, max_samples=len(background))
    with _global_numpy_seed(seed):
        explainer = shap.PermutationExplainer(score, masker, seed=seed)
        explanation = explainer(X, max_evals=max_evals, silent=True)
    return np.asarray(explanation.values, dtype=np.float64).reshape(X.shape)


def _kernel(score: Score, X, background, seed: int, nsamples: int) -> np.ndarray:
    with _global_numpy_seed(seed), warnings.catch_warnings():
        # The warning suggests shap.kmeans summaries; the background size is the caller's choice.
        warnings.filterwarnings("ignore", message="Using .* background data samples")
        explainer = shap.KernelExplainer(score, background)
        # l1_reg=False: shap's default keeps only 10 of the 14 variables.
        values = explainer.shap_values(X, nsamples=nsamples, l1_reg=False, silent=True)
    return np.asarray(values, dtype=np.float64).reshape(X.shape)


def _gradient(score: Score, X, background, seed: int, nsamples: int) -> np.ndarray:
    if score.keras_model is None:
        raise ValueError(
            f"method 'gradient' needs a differentiable Keras score; {score!r} is a plain callable "
            "(use reco_loss_score / kl_score / classifier_score, a Keras model, or another method)"
        )
    if keras.backend.backend() == "jax":
        return _expected_gradients_jax(score.keras_model, X, background, seed, nsamples)
    with _global_numpy_seed(seed):
        explainer = shap.GradientExplainer(
            score.keras_model, background.astype("float32"), batch_size=1024
        )
        values = explainer.shap_values(X.astype("float32"), nsamples=nsamples, rseed=seed)
    return np.asarray(values, dtype=np.float64).reshape(X.shape)


def _expected_gradients_jax(keras_model, X, background, seed: int, nsamples: int) -> np.ndarray:
    """shap's GradientExplainer estimator (expected gradients) for a Keras model on JAX.

    shap's explainer handles TensorFlow and PyTorch models only. For each event ``x`` it
    averages ``(x - x') · ∇f(x' + t (x - x'))`` over ``nsamples`` draws of a background
    event ``x'`` and ``t ~ U(0, 1)``; this is the same estimator, with the gradient from
    ``jax.grad`` of the model's ``stateless_call``.
    """
    import jax

    trainable = [v.value for v in keras_model.trainable_variables]
    non_trainable = [v.value for v in keras_model.non_trainable_variables]

    def total(points):
        out, _ = keras_model.stateless_call(trainable, non_trainable, [points])
        return out.sum()

    gradient = jax.jit(jax.grad(total))
    rng = np.random.default_rng(seed)
    X = X.astype(np.float32)
    values = np.empty(X.shape)
    for i, x in enumerate(X):
        reference = background[rng.integers(len(background), size=nsamples)].astype(np.float32)
        t = rng.uniform(size=(nsamples, 1)).astype(np.float32)
        points = reference + t * (x - reference)
        values[i] = np.mean((x - reference) * np.asarray(gradient(points)), axis=0)
    return values


def _values(values, what: str = "values") -> tuple[np.ndarray, tuple]:
    """SHAP values as an (n, d) array and the variables' names, from an Explanation, a
    DataFrame (columns: variables) or an array of 14 columns (``FEATURES``)."""
    names = None
    if isinstance(values, shap.Explanation):
        names = values.feature_names
        values = values.values
    elif isinstance(values, pd.DataFrame):
        names = list(values.columns)
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{what} must be SHAP values of shape (n, variables), got {array.shape}")
    if names is None and array.shape[1] != len(FEATURES):
        raise ValueError(f"{what}: an array of shape {array.shape} has no variable names; pass "
                         "the Explanation from shap_values (or a DataFrame)")
    names = tuple(FEATURES if names is None else names)
    if len(names) != array.shape[1]:
        raise ValueError(f"{what}: {len(names)} names for {array.shape[1]} columns")
    return array, names


def mean_abs(values) -> pd.Series:
    """Mean |SHAP| per variable (the global importance), indexed by the variables.

    Example:
        >>> import numpy as np
        >>> mean_abs(np.full((2, 14), -0.5))["mjj"]
        np.float64(0.5)
    """
    array, names = _values(values)
    return pd.Series(np.abs(array).mean(axis=0), index=list(names), name="mean_abs_shap")


@plot_helper
def plot_summary(values, X=None, ax=None, max_display: int | None = None,
                 title: str | None = None, seed: int = 0, labels=None):
    """Beeswarm of the SHAP values, one row per variable, coloured by the variable's value.

    Args:
        values: a ``shap.Explanation`` from :func:`shap_values`, or an (n, d) array.
        X: raw features of the same events for the colours (taken from the Explanation
            when omitted).
        ax: axis to draw into; a new figure when None.
        max_display: number of variables shown (the rest are summed into one row);
            default all.
        title: axis title.
        seed: seed of the beeswarm's jitter, so the same values give the same figure.
        labels: variable -> label, for variables :data:`vaednn.plotting.FEATURE_LABELS`
            lacks (see :func:`vaednn.plotting.variable_label`).

    Returns:
        The axis drawn into.
    """
    data = values.data if isinstance(values, shap.Explanation) and X is None else X
    array, names = _values(values)
    if data is not None:
        data = _features(data, "X", names)
        if data.shape != array.shape:
            raise ValueError(
                f"X has shape {data.shape} but the SHAP values have shape {array.shape}"
            )
    fig, ax = new_axes(ax)
    explanation = shap.Explanation(values=array, data=data,
                                   feature_names=tick_labels(names, labels))
    # shap.plots.beeswarm jitters its dots with np.random and takes no generator.
    with _global_numpy_seed(seed):
        shap.plots.beeswarm(explanation, max_display=max_display or len(names), ax=ax,
                            show=False, plot_size=None)
    ax.set_xlabel("SHAP value (impact on score)")
    if title:
        ax.set_title(title)
    return ax


@plot_helper
def plot_mean_abs(values_sm, values_bsm, ax=None, labels: tuple[str, str] = ("SM", "BSM"),
                  feature_labels=None):
    """Horizontal bars of mean |SHAP| per variable, SM and BSM side by side.

    Variables are ordered by their BSM importance, the most important on top;
    ``feature_labels`` maps variables to tick labels (:func:`vaednn.plotting.variable_label`).

    Returns:
        The axis drawn into.
    """
    table = pd.DataFrame({labels[0]: mean_abs(values_sm), labels[1]: mean_abs(values_bsm)})
    table = table.sort_values(labels[1])
    fig, ax = new_axes(ax)
    y = np.arange(len(table))
    height = 0.4
    for offset, label, key in ((-height / 2, labels[0], "SM"), (height / 2, labels[1], "BSM")):
        ax.barh(y + offset, table[label], height=height, color=SAMPLE_COLORS[key], label=label)
    ax.set_yticks(y, tick_labels(table.index, feature_labels))
    ax.set_xlabel("mean |SHAP value|")
    ax.legend(loc="lower right")
    return ax


def ablation(
    model,
    X_bsm,
    background,
    k: int = 5,
    method: str = "exact",
    seed: int = 0,
    *,
    nsamples: int | None = None,
    layer: str = "encoder_l1",
) -> pd.DataFrame:
    """The seed's ``get_layer`` ablation of the worst-reconstructed BSM event.

    Finds the event of ``X_bsm`` with the largest reconstruction loss and its ``k``
    variables with the largest squared reconstruction error. For each of them in turn, the
    variable's row of the first encoder layer's kernel is set to zero (the encoder no
    longer sees it), and the event's reconstruction loss and its SHAP values are recomputed
    with the ablated model. The weights are restored afterwards, also on error.

    Args:
        model: the flat VAE (``build("vae_flat", ...)``) or any model with a Dense ``layer``
            whose kernel rows are the model's scaled features.
        X_bsm: raw BSM features (n, d): a DataFrame, or an array in ``model.features`` order.
        background: raw SM reference events for the SHAP values.
        k: number of variables ablated, one at a time (the seed: 5).
        method, seed, nsamples: as in :func:`shap_values`.
        layer: name of the ablated layer.

    Returns:
        One row per ablation, indexed by the ablated variable (first row ``"none"``: the
        intact model), with columns ``feature_error`` (the variable's squared error in the
        event before ablation; NaN for ``"none"``), ``reco_before``, ``reco_after``,
        ``base_value`` (mean loss of the background under the same model), ``top_feature``
        (largest |SHAP|) and one column of SHAP values per variable, which add up to
        ``reco_after - base_value``. ``attrs`` holds ``event`` (the event's position in
        ``X_bsm``), ``method`` and ``features`` (the variables, in order).
    """
    _check_model(model, "ablation")
    names = tuple(model.features)
    X = _features(X_bsm, "X_bsm", names)
    background = _features(background, "background", names)
    if not 1 <= k <= len(names):
        raise ValueError(f"k must be between 1 and {len(names)}, got {k}")
    try:
        dense = model.get_layer(layer)
    except ValueError:
        raise ValueError(
            f"model {model.name!r} has no layer {layer!r}; the ablation needs the flat model, "
            "build('vae_flat', ...)"
        ) from None
    kernel = getattr(dense, "kernel", None)
    if kernel is None or tuple(kernel.shape)[0] != len(names):
        raise ValueError(f"layer {layer!r} must be a Dense layer on the {len(names)} scaled "
                         "features")

    score = reco_loss_score(model)
    worst = int(np.argmax(score(X)))
    event = X[worst : worst + 1]
    errors = models.feature_errors(model, event).iloc[0]
    ablated = errors.sort_values(ascending=False, kind="stable").index[:k]
    reco_before = float(score(event)[0])

    def row(name, feature_error):
        explanation = shap_values(score, event, background, method, seed, nsamples=nsamples)
        values = explanation.values[0]
        return {
            "ablated": name,
            "feature_error": feature_error,
            "reco_before": reco_before,
            "reco_after": float(score(event)[0]),
            "base_value": float(explanation.base_values[0]),
            "top_feature": names[int(np.argmax(np.abs(values)))],
            **dict(zip(names, values)),
        }

    rows = [row("none", np.nan)]
    original = np.array(kernel.numpy(), copy=True)
    try:
        for name in ablated:
            weights = original.copy()
            weights[list(model.features).index(name)] = 0.0
            kernel.assign(weights)
            rows.append(row(name, float(errors[name])))
    finally:
        kernel.assign(original)
    table = pd.DataFrame(rows).set_index("ablated")
    table.attrs.update(event=worst, method=method, features=names)
    return table


def variables_high_loss(model, X, threshold: float, k: int = 3) -> pd.DataFrame:
    """The seed's ``variablesHighLoss``: which variables dominate badly reconstructed events.

    Among the events whose reconstruction loss exceeds ``threshold``, counts how often each
    variable is among the ``k`` largest per-feature squared errors.

    Args:
        model: any vaednn model.
        X: raw features (n, d): a DataFrame, or an array in ``model.features`` order.
        threshold: reconstruction-loss cut.
        k: how many of the largest per-feature errors count per event.

    Returns:
        DataFrame indexed by variable (most frequent first) with ``count`` and ``fraction``
        (count / selected events; the fractions sum to ``k``); ``attrs`` holds
        ``n_events``, ``threshold`` and ``k``.

    Raises:
        ValueError: if no event passes the threshold.
    """
    _check_model(model, "variables_high_loss")
    names = list(model.features)
    X = _features(X, "X", names)
    if not 1 <= k <= len(names):
        raise ValueError(f"k must be between 1 and {len(names)}, got {k}")
    reco = models.event_losses(model, X)["reco"].to_numpy()
    selected = reco > threshold
    if not selected.any():
        raise ValueError(
            f"no event has a reconstruction loss above threshold={threshold} "
            f"(largest: {reco.max():.4g})"
        )
    errors = models.feature_errors(model, X[selected]).loc[:, names].to_numpy()
    top = np.argsort(-errors, axis=1, kind="stable")[:, :k]
    counts = np.bincount(top.ravel(), minlength=len(names))
    table = pd.DataFrame(
        {"count": counts, "fraction": counts / selected.sum()},
        index=pd.Index(names, name="feature"),
    ).sort_values("count", ascending=False, kind="stable")
    table.attrs.update(n_events=int(selected.sum()), threshold=float(threshold), k=k)
    return table
