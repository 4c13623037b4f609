"""The per-event loss terms and their weighted mini-batch means, in ``keras.ops``.

See :mod:`vaednn.models` for the formulas and why a term is normalised by ``Σ|w|``.
"""

from __future__ import annotations

from keras import ops

__all__ = ["EPS", "weighted_mean", "kl_per_event", "bce_per_event"]

EPS = 1e-7


def weighted_mean(values, w):
    """Σ w·l / Σ|w|; an all-zero-weight mini-batch contributes 0, not NaN."""
    return ops.sum(w * values) / ops.maximum(ops.sum(ops.abs(w)), EPS)


def kl_per_event(z_mean, z_log_var):
    """The seed's KL divergence to a unit Gaussian, averaged over latent dimensions."""
    return ops.mean(-0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=-1)


def bce_per_event(y, p):
    """Binary cross-entropy of probabilities ``p`` for labels ``y``, clipped away from 0 and 1."""
    p = ops.clip(p, EPS, 1.0 - EPS)
    return -(y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p))
