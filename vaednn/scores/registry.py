"""The package's one score registry (:data:`SCORES`, name -> factory), its one default
(:data:`DEFAULT`), :func:`make` and the scores' row names (:data:`LABELS`)."""

from __future__ import annotations

import functools

from vaednn.scores.base import AnomalyScore
from vaednn.scores.classical import GaussianMixtureScore, IsolationForestScore
from vaednn.scores.density import FlowScore, GaussianVAEScore
from vaednn.scores.vae import FeatureErrorScore, VAEScore

__all__ = ["SCORES", "DEFAULT", "make", "LABELS"]

#: The package's default anomaly score (see :mod:`vaednn.scores`).
DEFAULT = "gaussian_vae"


#: The package's one score registry: name -> factory taking ``seed=`` and the score's
#: hyperparameters. :func:`make` builds from it, :class:`vaednn.detector.Detector` scores a
#: VAE with its ``vae_<term>`` entries (:attr:`VAEScore.TERMS`) and a density model with
#: the model's own entry, and :mod:`vaednn.baselines` re-exports its IsolationForest.
SCORES = {
    "vae_reco": functools.partial(VAEScore, term="reco"),
    "vae_kl": functools.partial(VAEScore, term="kl"),
    "vae_sum": functools.partial(VAEScore, term="sum"),
    "vae_feature_errors": FeatureErrorScore,
    "gaussian_vae": GaussianVAEScore,
    "flow": FlowScore,
    "isolation_forest": IsolationForestScore,
    "gmm": GaussianMixtureScore,
}


def make(name: str, seed: int = 0, **hyperparameters) -> AnomalyScore:
    """A new, untrained score ``name`` (one of :data:`SCORES`).

    >>> make("gmm", seed=1, n_components=4)
    <GaussianMixtureScore 'gmm' seed=1 fitted=False>
    """
    if name not in SCORES:
        raise ValueError(f"unknown anomaly score {name!r}; choose one of {sorted(SCORES)}")
    return SCORES[name](seed=seed, **hyperparameters)

#: Score name -> its row name in the results table (``figures/results.csv``).
LABELS = {
    "vae_reco": "VAE reco loss (SM-only)",
    "vae_kl": "VAE KL term (SM-only)",
    "vae_sum": "VAE loss (SM-only)",
    "vae_feature_errors": "VAE feature errors (SM-only)",
    "gaussian_vae": "Gaussian VAE (SM-only)",
    "flow": "flow (SM-only)",
    "isolation_forest": IsolationForestScore.label,
    "gmm": "Gaussian mixture (SM-only)",
}

