"""Anomaly scores that are not VAEs, to measure the VAE against another unsupervised detector.

:class:`IsolationForestScore` is scikit-learn's IsolationForest fitted on SM training events,
on the inputs the models see: the log10 + min-max scaling of
:class:`vaednn.models.LogMinMaxScaling`, adapted on the same events. Fitted, it is a callable
on raw features, as :func:`vaednn.compare.compare` takes scorers::

    forest = IsolationForestScore(seed=0).fit(train.sm.features, train.sm.weights)
    tables = compare.compare({"VAE": vae, IsolationForestScore.label: forest}, data)

Its variables are the data's, as for :func:`vaednn.models.build` (a DataFrame's columns, or
``features=``/``log_features=``). Signed SM weights enter as their magnitudes
(:data:`vaednn.anomaly.SKLEARN_WEIGHTS`): scikit-learn refuses negative ``sample_weight``.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest

__all__ = ["IsolationForestScore"]


class IsolationForestScore:
    """IsolationForest (scikit-learn) on the models' scaled inputs; higher score = more anomalous.

    Args:
        n_estimators: trees in the forest.
        max_samples: events drawn to grow each tree (``"auto"``: min(256, events)).
        seed: seeds the forest (``random_state``).
    """

    #: The row name in comparison tables.
    label = "IsolationForest (unsupervised)"

    def __init__(self, n_estimators: int = 200, max_samples="auto", seed: int = 0):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.seed = seed
        self.scaling_ = None
        self.forest_ = None
        self.features_ = self.log_features_ = None

    def _raw(self, x, what: str) -> np.ndarray:
        """Raw ``x`` as float32 (events, features), columns by name for a DataFrame."""
        features = list(self.features_)
        if hasattr(x, "columns"):
            missing = [f for f in features if f not in x.columns]
            if missing:
                raise ValueError(f"IsolationForestScore.{what}: x lacks the column(s) {missing}")
            x = x.loc[:, features]
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(features):
            raise ValueError(f"IsolationForestScore.{what}: expected (events, {len(features)}) "
                             f"features, got shape {x.shape}")
        return x

    def _scaled(self, x, what: str) -> np.ndarray:
        """The scaled features of raw ``x``, columns by name for a DataFrame."""
        import keras

        features = list(self.features_)
        scaled = keras.ops.convert_to_numpy(self.scaling_(self._raw(x, what)))
        bad = ~np.isfinite(scaled)
        if bad.any():
            counts = {f: int(n) for f, n in zip(features, bad.sum(axis=0)) if n}
            raise ValueError(f"IsolationForestScore.{what}: non-finite scaled values (NaN, inf, "
                             f"or log10 of values <= 0) per feature: {counts}")
        return scaled

    def fit(self, x_sm, sample_weight=None, features=None,
            log_features=None) -> IsolationForestScore:
        """Fit the scaling and the forest on raw SM training features.

        Args:
            x_sm: raw SM features (events, features), DataFrame or array, as for
                ``models.build``.
            sample_weight: per-event weights, signed allowed (net sum > 0); their
                magnitudes go to scikit-learn's ``IsolationForest.fit``
                (:data:`vaednn.anomaly.SKLEARN_WEIGHTS`). None: equal weights.
            features, log_features: the variables, as for ``models.build`` (default: a
                DataFrame's columns; those in ``LOG_FEATURES`` get log10).

        Returns:
            The fitted score.
        """
        from vaednn import models
        from vaednn.anomaly import check_sm_weights
        from vaednn.models.inputs import feature_names

        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (len(x_sm),):
                raise ValueError(f"IsolationForestScore.fit: sample_weight must have shape "
                                 f"({len(x_sm)},), got {sample_weight.shape}")
            check_sm_weights(sample_weight, "IsolationForestScore.fit: sample_weight")
            sample_weight = np.abs(sample_weight)
        self.features_, self.log_features_ = feature_names(x_sm, features, log_features)
        scaling = models.LogMinMaxScaling(self.features_, self.log_features_)
        self.scaling_ = scaling
        scaling.adapt(self._raw(x_sm, "fit"))
        forest = IsolationForest(n_estimators=self.n_estimators, max_samples=self.max_samples,
                                 random_state=self.seed)
        self.forest_ = forest.fit(self._scaled(x_sm, "fit"), sample_weight=sample_weight)
        return self

    def score(self, x) -> np.ndarray:
        """Anomaly scores (events,) of raw features ``x``: minus sklearn's ``score_samples``."""
        if self.forest_ is None:
            raise RuntimeError("IsolationForestScore.score: not fitted yet; call fit first")
        return -self.forest_.score_samples(self._scaled(x, "score")).astype(np.float64)

    __call__ = score
