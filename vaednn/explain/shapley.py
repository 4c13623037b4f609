"""SHAP values of a score and their summaries.

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
"""

from __future__ import annotations

import contextlib
import math
import warnings

import keras
import numpy as np
import pandas as pd

from vaednn.data import FEATURES
from vaednn.explain.scores import Score, as_score, feature_array, names_of
from vaednn.extras import require
from vaednn.plots import SAMPLE_COLORS, new_axes, plot_helper, tick_labels

shap = require("shap", "vaednn.explain")

__all__ = [
    "METHODS",
    "EXACT_BATCH_ROWS",
    "shap_values",
    "mean_abs",
    "plot_summary",
    "plot_mean_abs",
]


METHODS = ("exact", "permutation", "gradient", "kernel")

#: Rows per call of a score in the exact method: large enough to amortise the per-call
#: overhead of a Keras model, small enough to keep a 128-unit layer's activations in memory.
EXACT_BATCH_ROWS = 2**18


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
    names = names_of(X, score.features)
    X = feature_array(X, "X", names)
    background = feature_array(background, "background", names)
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
        data = feature_array(data, "X", names)
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
