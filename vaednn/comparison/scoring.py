"""Per-event scores of samples, with their yields: models, raw variables, counting."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np
import pandas as pd

from vaednn import data as vdata
from vaednn import stats
from vaednn.data.samples import checked_scores, normalisation

__all__ = [
    "normalisation",
    "score",
    "component_scores",
    "score_components",
    "score_samples",
    "feature_scorer",
    "counting_scorer",
    "is_keras_model",
]


def is_keras_model(scorer) -> bool:
    """Whether ``scorer`` is a Keras model (scored by batches, not as a callable)."""
    # An object can only be a Keras model if keras has been imported; checking
    # sys.modules keeps `compare` with plain callables free of the TensorFlow import.
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(scorer, keras.Model)


def score(scorer, sample: vdata.Sample) -> np.ndarray:
    """Per-event scores of ``sample``, larger meaning more BSM-like.

    Args:
        scorer: a Keras model from :mod:`vaednn.models` (a VAE+DNN gives its classifier
            output, a VAE its reconstruction loss; its variables are taken from the
            features by name), or a callable taking the raw features DataFrame (the
            sample's variables as columns) and returning one score per event.
        sample: the events.

    Raises:
        ValueError: the callable returned the wrong number of scores or NaN.
    """
    if is_keras_model(scorer):
        from vaednn import models

        x = sample.features
        if models.is_classifier(scorer):
            values = models.classifier_output(scorer, x)
        else:
            values = models.event_losses(scorer, x)["reco"].to_numpy()
    elif callable(scorer):
        values = scorer(sample.features)
    else:
        raise ValueError("a scorer must be a Keras model or a callable, got "
                         f"{type(scorer).__name__}")
    return checked_scores(values, sample, "the scorer's output")


def component_scores(values, samples, luminosity: float) -> stats.ComponentScores:
    """Scores ``[SM, LIN, QUAD]`` of ``samples`` with their yields at ``luminosity``."""
    weights = [vdata.lumi_weights(s, luminosity) for s in samples]
    norms = tuple(normalisation(s, luminosity) for s in samples)
    return stats.ComponentScores(values[0], weights[0], values[1], weights[1], values[2],
                                 weights[2], norms, same_events=samples.same_events)


def score_components(scorer, samples: vdata.OperatorSamples, sm=None) -> list[np.ndarray]:
    """Scores of SM, LIN and QUAD; the events of ``same_events`` samples are scored once."""
    sm = score(scorer, samples.sm) if sm is None else sm
    if samples.same_events:
        return [sm, sm, sm]
    return [sm, score(scorer, samples.lin), score(scorer, samples.quad)]


def score_samples(scorer, samples: vdata.OperatorSamples,
                  luminosity: float = vdata.LUMINOSITY) -> stats.ComponentScores:
    """Score an operator's SM, LIN and QUAD samples (see :func:`score`), with their yields."""
    return component_scores(score_components(scorer, samples), samples, luminosity)


def feature_scorer(feature: str, direction: int = 1) -> Callable[[pd.DataFrame], np.ndarray]:
    """A scorer cutting on one raw variable: ``direction * features[feature]``.

    >>> feature_scorer("mjj")(pd.DataFrame({"mjj": [500.0, 900.0]}))
    array([500., 900.])
    """
    if not isinstance(feature, str):
        raise ValueError(f"feature must be a variable name, got {feature!r}")
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")

    def scorer(features: pd.DataFrame) -> np.ndarray:
        if feature not in features.columns:
            raise ValueError(f"unknown feature {feature!r}; the events have "
                             f"{list(features.columns)}")
        return direction * features[feature].to_numpy(np.float64)

    return scorer


def counting_scorer(features: pd.DataFrame) -> np.ndarray:
    """The same score for every event: no selection, a one-bin fit (counting)."""
    return np.zeros(len(features))
