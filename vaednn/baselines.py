"""Anomaly scores that are not VAEs, to measure the VAE against another unsupervised detector.

:class:`IsolationForestScore` is scikit-learn's IsolationForest fitted on SM training events,
on the inputs the models see: the log10 + min-max scaling of
:class:`vaednn.models.LogMinMaxScaling`, adapted on the same events. It is
:class:`vaednn.scores.classical.IsolationForestScore`, the registry's ``"isolation_forest"``
score, re-exported under the name ``docs/models.md`` uses (one class, one behaviour).
Fitted, it is a callable on raw features, as :func:`vaednn.compare.compare` takes scorers::

    forest = IsolationForestScore(seed=0).fit(train.sm.features, train.sm.weights)
    tables = compare.compare({"VAE": vae, IsolationForestScore.label: forest}, data)

Its variables are the data's, as for :func:`vaednn.models.build` (a DataFrame's columns, or
``features=``/``log_features=``). Signed SM weights enter as their magnitudes
(:data:`vaednn.anomaly.SKLEARN_WEIGHTS`): scikit-learn refuses negative ``sample_weight``.
"""

from __future__ import annotations

from vaednn.scores.classical import IsolationForestScore

__all__ = ["IsolationForestScore"]
