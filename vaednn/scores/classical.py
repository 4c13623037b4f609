"""The scikit-learn scores: IsolationForest and a Gaussian mixture on the log10 + min-max
scaled features, fitted with the magnitudes of signed weights (:data:`SKLEARN_WEIGHTS`)."""

from __future__ import annotations

import numpy as np

from vaednn.models import LogMinMaxScaling
from vaednn.scores.base import AnomalyScore, in_chunks

__all__ = ["IsolationForestScore", "GaussianMixtureScore", "SKLEARN_WEIGHTS"]

#: What the scikit-learn scores (IsolationForest, Gaussian mixture) do with signed SM
#: weights: scikit-learn refuses negative ``sample_weight``, so they are fitted with the
#: magnitudes ``|w|`` (the density of ``|dσ|``, an approximation where negative weights are
#: rare); the Keras scores keep the signs (:mod:`vaednn.scores`).
SKLEARN_WEIGHTS = "magnitude"


def _scaled(scaling, x):
    return in_chunks(scaling, x)


def _magnitudes(w):
    """The weights a scikit-learn model is fitted with (:data:`SKLEARN_WEIGHTS`)."""
    return np.abs(np.asarray(w, dtype=np.float64))


class IsolationForestScore(AnomalyScore):
    """scikit-learn's IsolationForest on the log10 + min-max scaled features.

    The package's one IsolationForest: ``make("isolation_forest")`` builds it and
    :class:`vaednn.baselines.IsolationForestScore` is this class. The score is
    ``-score_samples``: short isolation paths (easy to isolate) score high. Signed event
    weights enter as their magnitudes (:data:`SKLEARN_WEIGHTS`); without weights every
    event has weight 1, passed to scikit-learn as such (its forest differs from the one it
    grows with ``sample_weight=None``).

    Args:
        n_estimators, max_samples, max_features: as ``sklearn.ensemble.IsolationForest``.
        seed: its ``random_state``.
    """

    name = "isolation_forest"
    #: Its row name in comparison tables (:data:`LABELS`).
    label = "IsolationForest (unsupervised)"

    def __init__(self, n_estimators=200, max_samples="auto", max_features=1.0, seed=0):
        super().__init__(seed)
        self.parameters = dict(n_estimators=int(n_estimators), max_samples=max_samples,
                               max_features=max_features)

    def _fit(self, x, w, val):
        from sklearn.ensemble import IsolationForest

        self.scaling = LogMinMaxScaling(self.features, self.log_features, name="scaling")
        self.scaling.adapt(x)
        self.model = IsolationForest(random_state=self.seed, **self.parameters)
        self.model.fit(_scaled(self.scaling, x), sample_weight=_magnitudes(w))

    def _score(self, x):
        return -self.model.score_samples(_scaled(self.scaling, x))


class GaussianMixtureScore(AnomalyScore):
    """Negative log-likelihood of a scikit-learn Gaussian mixture on the scaled features.

    Event weights are honoured by fitting on a seeded resample (as many events, drawn with
    probabilities ∝ ``|w|``: signed weights enter as magnitudes, :data:`SKLEARN_WEIGHTS`);
    equal weights fit the events as they are.

    Args:
        n_components, covariance_type: as ``sklearn.mixture.GaussianMixture``.
        seed: its ``random_state`` and the resampling.
    """

    name = "gmm"

    def __init__(self, n_components=8, covariance_type="full", seed=0):
        super().__init__(seed)
        self.parameters = dict(n_components=int(n_components), covariance_type=covariance_type)

    def _fit(self, x, w, val):
        from sklearn.mixture import GaussianMixture

        self.scaling = LogMinMaxScaling(self.features, self.log_features, name="scaling")
        self.scaling.adapt(x)
        xs = _scaled(self.scaling, x)
        w = _magnitudes(w)
        if not np.allclose(w, w[0]):
            index = np.random.default_rng(self.seed).choice(len(xs), len(xs), p=w / w.sum())
            xs = xs[index]
        self.model = GaussianMixture(random_state=self.seed, **self.parameters).fit(xs)

    def _score(self, x):
        return -self.model.score_samples(_scaled(self.scaling, x))

