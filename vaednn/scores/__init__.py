"""The scores layer: SM-only anomaly scores, their one registry, seed studies and the
scikit-learn :class:`Detector`.

One concern per module, each importing only those above it in this list:

- :mod:`~vaednn.scores.base`: :class:`AnomalyScore`, the checks of SM weights, chunked
  evaluation;
- :mod:`~vaednn.scores.vae`: the VAE-term scores (:class:`VAEScore`,
  :class:`FeatureErrorScore`);
- :mod:`~vaednn.scores.density`: the scores of :class:`GaussianVAE` and the
  :class:`RealNVP` flow (the models and :func:`train` re-exported from
  :mod:`vaednn.models.density`);
- :mod:`~vaednn.scores.classical`: IsolationForest and the Gaussian mixture (scikit-learn);
- :mod:`~vaednn.scores.fixed`: :func:`log_energy_sum`, trained on nothing;
- :mod:`~vaednn.scores.registry`: :data:`SCORES`, :data:`DEFAULT`, :func:`make`,
  :data:`LABELS`;
- :mod:`~vaednn.scores.studies`: seed studies (:func:`fit_seeds`, :func:`seed_study`,
  :func:`seed_tables`, :func:`width_ratios`, :func:`plot_width_ratios`);
- :mod:`~vaednn.scores.detector`: :class:`Detector`, :func:`signed_quantile`.

This module only re-exports their public names; :mod:`vaednn.anomaly`,
:mod:`vaednn.detector` and :mod:`vaednn.baselines` re-export them where users found them.

SM-only anomaly scores: trained on SM events alone, they map events to one number.

Every score has the same interface: build it by name with :func:`make`, train it with
``fit(x_sm, sample_weight=None, x_val=None, w_val=None, features=None, log_features=None)``
on raw SM features, then ``score(x)`` gives one float per event, larger meaning more
anomalous. The variables are the data's, as for :func:`vaednn.models.build`: a DataFrame's
columns (or the ``features`` among them), an array's ``features`` (an array of 14 columns
without names is read as :data:`vaednn.data.FEATURES`); ``log_features`` default to those of
them in :data:`vaednn.data.LOG_FEATURES`. A fitted score records them (``score.features``,
``score.log_features``; a Keras score's ``.keras`` file holds them in its config) and scores
a DataFrame by column name; one lacking a recorded variable is an error naming it. A score
object is also a callable of the raw features, so it plugs into :func:`vaednn.compare.score`
and ``compare`` as is.

=========================  ==================================================================
name (:data:`SCORES`)      score
=========================  ==================================================================
``vae_reco``               the original analysis' VAE (``models.build("vae")``), its
                           per-event reconstruction MSE
``vae_kl``                 the same VAE, its per-event KL term
``vae_sum``                the same VAE, its training loss ``reco_weight·reco + kl_weight·kl``
``vae_feature_errors``     the same VAE, each feature's squared error divided by its SM
                           median (or interquartile scale), averaged over features
``gaussian_vae``           :class:`GaussianVAE`: the decoder predicts a mean and a log-variance
                           per feature; the negative ELBO (or an importance-weighted bound)
``flow``                   :class:`RealNVP`: affine coupling layers; the negative
                           log-density
``isolation_forest``       scikit-learn's IsolationForest on the scaled inputs
``gmm``                    a scikit-learn Gaussian mixture's negative log-likelihood on the
                           scaled inputs
=========================  ==================================================================

Every model sees the inputs through :class:`vaednn.models.LogMinMaxScaling` (log10 of the
momenta and masses, min-max on the SM training events), and the Keras models carry that
layer, so a ``.keras`` file holds its preprocessing. :class:`GaussianVAE` and
:class:`RealNVP` use ``keras.ops`` and ``keras.random`` only and train through
:func:`vaednn.models.fitting.fit`, the loop of every model of the package, so they train on
every Keras backend (TensorFlow, JAX), as the ``vae_*`` scores' models do.

Densities live in a space: ``"scaled"`` (the log10 + min-max features the model sees) or
``"raw"`` (the ntuple's features, GeV and radians). They differ by the log-Jacobian of the
scaling, ``-Σ_f log range_f - Σ_{f log} log(x_f ln 10)``, which makes high-momentum events
less dense in raw space: the two spaces rank events differently.

:data:`SCORES` is the package's one registry of scores and :data:`DEFAULT` its one default:
:class:`vaednn.Detector` trains ``DEFAULT`` when given no model, scores a density model
with the model's own entry and a plain VAE with the entry ``vae_<term>`` of the term it is
asked for (``Detector("vae", term="kl")`` is ``make("vae_kl")`` on the VAE it trained).

The default score (:data:`DEFAULT`) is the Gaussian VAE's negative ELBO in raw space: in
the study of notebook 07 (binned fits of cW, cqq1, cqq3, cHq3 on the default generated
samples, the score chosen on the validation split) it gave the narrowest intervals of the
SM-only scores, the flow's raw-space density a close second. Most of the edge of these two
over the scaled-space densities is the Jacobian term above, a sum of log momenta and masses:
read them as "SM density of the events as measured", which is sparse where the energy is
high.

Event weights (``sample_weight``, signed as an NLO SM sample's are): the Keras scores (and
the ``vae_*`` scores, through :mod:`vaednn.models`) minimise ``Σ w_i l_i / Σ |w_i|`` per
mini-batch, signs kept. Why signed and not ``|w|``: the signed sum estimates the SM
expectation of the loss, ``∫ p_SM(x) l(x) dx``, without bias (the negative events cancel
the phase space the positive ones over-count), while ``|w|`` would fit the density of
``|dσ|``, another distribution (on a toy whose sample holds a component twice, at +1 and
-1, a flow trained on the signed weights is 0.18 nats closer to the net density than one
trained on ``|w|``; ``tests/test_any_features.py``). A negative weight therefore pulls that
event's density down
(its loss up); with a net-positive sample the expected loss is bounded below, but a very
flexible model can overfit single negative events: watch the validation loss. The
normalisation ``Σ |w|`` only sets the scale of the loss. A training (or validation) set
whose net SM weight ``Σ w`` is ``<= 0`` has no SM density to learn, and is refused with an
error naming it (:func:`check_sm_weights`). The scikit-learn scores cannot take negative
weights: they use the magnitudes (:data:`SKLEARN_WEIGHTS`); IsolationForest gets ``|w|`` as
``sample_weight``, and the Gaussian mixture, which has no ``sample_weight``, is fitted on a
seeded resample with probabilities ∝ ``|w|``. The generated SM samples have equal weights.

>>> sorted(SCORES)[:3]
['flow', 'gaussian_vae', 'gmm']
"""

from vaednn.scores.base import AnomalyScore, check_sm_weights
from vaednn.scores.vae import FeatureErrorScore, VAEScore
from vaednn.scores.density import (
    AffineCoupling, FlowScore, GaussianVAE, GaussianVAEScore, RealNVP, scaling_log_jacobian,
    train)
from vaednn.scores.classical import SKLEARN_WEIGHTS, GaussianMixtureScore, IsolationForestScore
from vaednn.scores.fixed import log_energy_sum
from vaednn.scores.registry import DEFAULT, LABELS, SCORES, make
from vaednn.scores.studies import (
    fit_seeds, plot_width_ratios, seed_study, seed_tables, width_ratios)
from vaednn.scores.detector import DENSITY_NAMES, VAE_NAMES, Detector, signed_quantile

__all__ = [
    "SCORES", "DEFAULT", "make", "AnomalyScore", "VAEScore", "FeatureErrorScore",
    "GaussianVAEScore", "FlowScore", "IsolationForestScore", "GaussianMixtureScore",
    "GaussianVAE", "RealNVP", "AffineCoupling", "SKLEARN_WEIGHTS", "check_sm_weights",
    "scaling_log_jacobian", "train", "LABELS", "fit_seeds", "log_energy_sum", "seed_study",
    "seed_tables", "width_ratios", "plot_width_ratios", "DENSITY_NAMES", "Detector",
    "VAE_NAMES", "signed_quantile"]
