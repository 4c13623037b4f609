"""The seed analysis' own tools are kept: :func:`ablation` (zero one input variable's weights
in ``model.get_layer("encoder_l1")`` of the flat model and see how the attributions move)
and :func:`variables_high_loss` (which variables dominate the reconstruction error of
high-loss events).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaednn import models
from vaednn.explain.scores import check_model, feature_array, reco_loss_score
from vaednn.explain.shapley import shap_values

__all__ = [
    "ablation",
    "variables_high_loss",
]


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
    check_model(model, "ablation")
    names = tuple(model.features)
    X = feature_array(X_bsm, "X_bsm", names)
    background = feature_array(background, "background", names)
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
    check_model(model, "variables_high_loss")
    names = list(model.features)
    X = feature_array(X, "X", names)
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
