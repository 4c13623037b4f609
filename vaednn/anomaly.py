"""SM-only anomaly scores and seed studies, where users found them: every name of
:mod:`vaednn.scores` that this module held (scores, the registry :data:`SCORES` with its
default :data:`DEFAULT` and :func:`make`, the density models, the seed studies),
re-exported. The scores, the weights they take and the spaces of the densities are
described in :mod:`vaednn.scores`.

>>> make("gmm", seed=1, n_components=4)
<GaussianMixtureScore 'gmm' seed=1 fitted=False>
"""

from vaednn.scores.base import AnomalyScore, check_sm_weights
from vaednn.scores.vae import FeatureErrorScore, VAEScore
from vaednn.scores.density import (
    SPACES, AffineCoupling, FlowScore, GaussianVAE, GaussianVAEScore, RealNVP,
    scaling_log_jacobian, train)
from vaednn.scores.classical import SKLEARN_WEIGHTS, GaussianMixtureScore, IsolationForestScore
from vaednn.scores.fixed import log_energy_sum
from vaednn.scores.registry import DEFAULT, LABELS, SCORES, make
from vaednn.scores.studies import (
    fit_seeds, plot_width_ratios, seed_study, seed_tables, width_ratios)

__all__ = [
    "SCORES",
    "DEFAULT",
    "make",
    "AnomalyScore",
    "VAEScore",
    "FeatureErrorScore",
    "GaussianVAEScore",
    "FlowScore",
    "IsolationForestScore",
    "GaussianMixtureScore",
    "GaussianVAE",
    "RealNVP",
    "AffineCoupling",
    "SKLEARN_WEIGHTS",
    "check_sm_weights",
    "scaling_log_jacobian",
    "train",
    "LABELS",
    "fit_seeds",
    "log_energy_sum",
    "seed_study",
    "seed_tables",
    "width_ratios",
    "plot_width_ratios",
]
