"""The density models' scores: :class:`GaussianVAEScore` and :class:`FlowScore`, evaluated
in the ``"scaled"`` or the ``"raw"`` space (:func:`scaling_log_jacobian` turns one into the
other). The models, :class:`GaussianVAE` and the :class:`RealNVP` flow, and their training
:func:`train` live in :mod:`vaednn.models.density` (they train through the loop of every
model of the package) and are re-exported here.
"""

from __future__ import annotations

import copy
import functools

from vaednn.models.density import (
    SPACES,
    AffineCoupling,
    GaussianVAE,
    RealNVP,
    check_space,
    scaling_log_jacobian,
)
from vaednn.models.density import train_density as train
from vaednn.scores.base import AnomalyScore, in_chunks

__all__ = ["GaussianVAE", "RealNVP", "AffineCoupling", "train", "GaussianVAEScore",
           "FlowScore", "scaling_log_jacobian", "SPACES"]


# -------------------------------------------------------------------------- the scores

class _KerasScore(AnomalyScore):
    """Shared training of the backend-agnostic Keras scores (Adam, early stopping)."""

    def __init__(self, epochs, batch_size, learning_rate, patience, space, seed, hyperparameters):
        super().__init__(seed)
        self.epochs, self.batch_size = int(epochs), int(batch_size)
        self.learning_rate, self.patience = float(learning_rate), int(patience)
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
        self.space = check_space(space)
        self.hyperparameters = hyperparameters
        self.model = None
        self.history = None

    def _fit(self, x, w, val):
        self.model = self._new_model()
        self.history = train(self.model, x, w, val, epochs=self.epochs,
                             batch_size=self.batch_size, learning_rate=self.learning_rate,
                             patience=self.patience)

    def _batched(self, fn, x):
        return in_chunks(fn, x)

    def adopt(self, model):
        """Take a trained (e.g. loaded) ``model`` of this score's kind; returns ``self``."""
        if not isinstance(model, (RealNVP, GaussianVAE)) or model.name != self.name:
            raise ValueError(f"{self.name}: cannot adopt a {type(model).__name__} named "
                             f"{model.name!r}")
        self.model, self.fitted = model, True
        self.features, self.log_features = model.features, model.log_features
        return self

    def in_space(self, space):
        """The same trained model, its density evaluated in ``space`` (no retraining)."""
        other = copy.copy(self)
        other.space = check_space(space)
        return other

    def _in_space(self, neg_log_p, x):
        if self.space == "raw":
            return neg_log_p - scaling_log_jacobian(self.model.scaling, x)
        return neg_log_p


class FlowScore(_KerasScore):
    """``-log p`` of a :class:`RealNVP` flow trained on the SM events.

    Args:
        coupling_layers, hidden_units, bound: the flow (see :class:`RealNVP`).
        epochs, batch_size, learning_rate, patience: Adam training, early stopping on the
            validation loss.
        space: ``"raw"`` (default) or ``"scaled"``: where the density is evaluated
            (:mod:`vaednn.scores`).
        seed: seeds initial weights and shuffling.
    """

    name = "flow"

    def __init__(self, coupling_layers=6, hidden_units=(64, 64), bound=3.0, epochs=15,
                 batch_size=1024, learning_rate=2e-3, patience=3, space="raw", seed=0):
        super().__init__(epochs, batch_size, learning_rate, patience, space, seed,
                         dict(coupling_layers=coupling_layers, hidden_units=hidden_units,
                              bound=bound))

    def _new_model(self):
        return RealNVP(seed=self.seed, name="flow", features=self.features,
                       log_features=self.log_features, **self.hyperparameters)

    def _score(self, x):
        return self._in_space(self._batched(self.model, x), x)


class GaussianVAEScore(_KerasScore):
    """The negative ELBO (or IWAE bound) of a :class:`GaussianVAE` trained on SM events.

    Args:
        encoder_units, latent_dim, decoder_units, kl_weight, min_log_var: the model (see
            :class:`GaussianVAE`).
        iwae_samples: 0 scores with the ELBO at ``z = μ_z`` (deterministic, one pass);
            ``K ≥ 1`` with the ``K``-sample importance-weighted bound, seeded.
        epochs, batch_size, learning_rate, patience: Adam training, early stopping on the
            validation loss.
        space: ``"raw"`` (default) or ``"scaled"`` (:mod:`vaednn.scores`).
        seed: seeds initial weights, sampling and shuffling.
    """

    name = "gaussian_vae"

    def __init__(self, encoder_units=(64, 32), latent_dim=8, decoder_units=(32, 64),
                 kl_weight=1.0, min_log_var=-9.0, iwae_samples=0, epochs=30, batch_size=256,
                 learning_rate=1e-3, patience=3, space="raw", seed=0):
        super().__init__(epochs, batch_size, learning_rate, patience, space, seed,
                         dict(encoder_units=encoder_units, latent_dim=latent_dim,
                              decoder_units=decoder_units, kl_weight=kl_weight,
                              min_log_var=min_log_var))
        if int(iwae_samples) < 0:
            raise ValueError(f"iwae_samples must be >= 0, got {iwae_samples}")
        self.iwae_samples = int(iwae_samples)

    def _new_model(self):
        return GaussianVAE(seed=self.seed, name="gaussian_vae", features=self.features,
                           log_features=self.log_features, **self.hyperparameters)

    def _score(self, x):
        if self.iwae_samples:
            fn = functools.partial(self.model.iwae, samples=self.iwae_samples, seed=self.seed)
        else:
            def fn(batch):
                terms = self.model.event_terms(batch)
                return terms["nll"] + terms["kl"]
        return self._in_space(self._batched(fn, x), x)

