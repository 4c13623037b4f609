"""K seeds of one model trained together: ``jax.vmap`` on JAX, one after another elsewhere.

A seed spread (every AUC and interval from several trainings) costs K trainings. On JAX
the K models' mini-batch steps run as one vmapped, jitted ``lax.scan``, which fills the
hardware better than K small models one at a time (``benchmarks/bench_fit.py``).
"""

from __future__ import annotations

import keras

from vaednn.models.building import build

__all__ = ["ensemble", "Ensemble"]


def ensemble(name, sm_train, seeds, **hyperparameters):
    """K models of one shape, member i exactly as ``build(name, sm_train, seed=seeds[i])``.

    Args:
        name: one of :data:`vaednn.models.MODEL_NAMES`.
        sm_train: raw SM training features the input scaling is fitted on.
        seeds: one seed per member (distinct).
        **hyperparameters: as :func:`vaednn.models.build`.

    Returns:
        An :class:`Ensemble`.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds: give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds}")
    return Ensemble([build(name, sm_train, seed=s, **hyperparameters) for s in seeds])


class Ensemble:
    """K models of one shape trained together; :attr:`models` are ordinary Keras models."""

    def __init__(self, members):
        self.models = list(members)

    @property
    def seeds(self):
        """The members' seeds."""
        return [m.seed for m in self.models]

    def fit(self, x=None, y=None, *, checkpoint=None, **options):
        """Train every member on the same events, each with its own shuffling and sampling.

        Args:
            x, y: as :meth:`vaednn.models.VAE.fit`.
            checkpoint: a ``.keras`` path containing ``{seed}``, filled in per member.
            **options: the other arguments of :meth:`vaednn.models.VAE.fit`; early stopping
                and checkpoints act per member.

        Returns:
            One ``keras.callbacks.History`` per member.
        """
        if checkpoint is not None and len(self.models) > 1 and "{seed}" not in str(checkpoint):
            raise ValueError(f"checkpoint {checkpoint!r}: put '{{seed}}' in the path so the "
                             f"{len(self.models)} members do not overwrite each other")
        paths = [None if checkpoint is None else str(checkpoint).format(seed=m.seed)
                 for m in self.models]
        if keras.backend.backend() != "jax" or hasattr(x, "as_numpy_iterator"):
            return [m.fit(x, y, checkpoint=p, **options) for m, p in zip(self.models, paths)]
        from vaednn.models import fit_jax

        return fit_jax.fit_ensemble(self.models, x, y, paths, **options)
