"""The original analysis' VAE as an SM-only score: a term of its loss (:class:`VAEScore`) or
its per-feature errors against an SM reference (:class:`FeatureErrorScore`)."""

from __future__ import annotations

import numpy as np

from vaednn import models
from vaednn.scores.base import AnomalyScore

__all__ = ["VAEScore", "FeatureErrorScore"]


class VAEScore(AnomalyScore):
    """A term of a :mod:`vaednn.models` VAE's loss, the original analysis' anomaly score.

    Args:
        term: ``"reco"`` (reconstruction MSE), ``"kl"`` or ``"sum"`` (the training loss
            ``reco_weight·reco + kl_weight·kl``).
        model: the :data:`vaednn.models.MODEL_NAMES` plain VAE to train (default the seed's).
        epochs: training epochs (early stopping on the validation loss if ``x_val`` given).
        patience: epochs without improvement before stopping.
        seed: seeds the model.
        **hyperparameters: overrides of ``vaednn.models.DEFAULTS[model]`` (e.g.
            ``latent_dim=8, kl_weight=0.1``).
    """

    #: The loss terms it can score; the first, the reconstruction MSE, is the default.
    TERMS = ("reco", "kl", "sum")

    def __init__(self, term=TERMS[0], model="vae", epochs=20, patience=5, seed=0,
                 **hyperparameters):
        super().__init__(seed)
        if term not in self.TERMS:
            raise ValueError(f"term must be one of {self.TERMS}, got {term!r}")
        if model not in models.MODEL_NAMES or model.startswith("vae_dnn"):
            raise ValueError(f"model must be a plain VAE of vaednn.models, got {model!r}")
        unknown = set(hyperparameters) - set(models.DEFAULTS[model])
        if unknown:
            raise ValueError(f"unknown hyperparameter(s) {sorted(unknown)} for {model!r}; valid: "
                             f"{sorted(models.DEFAULTS[model])}")
        self.term, self.model_name = term, model
        self.epochs, self.patience = int(epochs), int(patience)
        self.hyperparameters = hyperparameters
        self.name = f"vae_{term}"
        self.model = None

    def _fit(self, x, w, val):
        model = models.build(self.model_name, x, seed=self.seed, features=self.features,
                             log_features=self.log_features, **self.hyperparameters)
        model.fit(x, **self.fit_options(w, val))
        self.adopt(model, x)

    def fit_options(self, w, val):
        """The keyword arguments of the VAE's ``fit`` for weights ``w`` and validation
        ``val``; :func:`vaednn.scores.studies.fit_seeds` trains an ensemble with them."""
        return dict(sample_weight=w, epochs=self.epochs, verbose=0, validation_data=val,
                    early_stopping="val_loss" if val else None, patience=self.patience)

    def adopt(self, model, x_sm=None):
        """Take a trained VAE ``model`` as this score's; returns ``self``.

        Lets one VAE serve several scores (:func:`fit_seeds`) and lets
        :class:`vaednn.detector.Detector` score the VAE it trained (or loaded) through this
        registry. ``x_sm``: the raw SM training events, as a float32 array in the model's
        feature order; only a score with an SM reference (:class:`FeatureErrorScore`) reads
        them.
        """
        self.model = model
        self.features, self.log_features = tuple(model.features), tuple(model.log_features)
        self.fitted = True
        return self

    def _score(self, x):
        losses = models.event_losses(self.model, x)
        if self.term == "sum":
            return (self.model.reco_weight * losses["reco"].to_numpy()
                    + self.model.kl_weight * losses["kl"].to_numpy())
        return losses[self.term].to_numpy()


class FeatureErrorScore(VAEScore):
    """The VAE's per-feature squared errors, each divided by its SM reference, averaged.

    The reference of a feature is the median (``reference="median"``) or the squared
    interquartile range (``"scale"``) of its squared error on the SM training events, each
    event counted once: a feature the VAE reconstructs well then weighs as much as one it
    reconstructs badly, which the plain MSE does not do.
    """

    REFERENCES = ("median", "scale")

    def __init__(self, reference="median", **kwargs):
        super().__init__(term="reco", **kwargs)
        if reference not in self.REFERENCES:
            raise ValueError(f"reference must be one of {self.REFERENCES}, got {reference!r}")
        self.reference = reference
        self.name = "vae_feature_errors"

    def adopt(self, model, x_sm=None):
        """As :meth:`VAEScore.adopt`; ``x_sm`` is required: it sets the SM reference."""
        if x_sm is None:
            raise ValueError("vae_feature_errors: adopt needs the SM training events x_sm, "
                             "which set each feature's reference")
        super().adopt(model, x_sm)
        errors = models.feature_errors(self.model, x_sm).to_numpy(np.float64)
        if self.reference == "median":
            ref = np.median(errors, axis=0)
        else:
            q1, q3 = np.percentile(errors, [25, 75], axis=0)
            ref = (q3 - q1) ** 2
        zero = [f for f, r in zip(self.model.features, ref) if not r > 0]
        if zero:
            raise ValueError(f"vae_feature_errors: the SM reference ({self.reference}) of "
                             f"feature(s) {zero} is zero; they cannot be standardised")
        self.reference_values = ref
        return self

    def _score(self, x):
        errors = models.feature_errors(self.model, x).to_numpy(np.float64)
        return (errors / self.reference_values).mean(axis=1)

