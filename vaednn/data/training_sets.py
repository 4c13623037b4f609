"""Training sets built from samples: the classifier's SM (0) vs BSM (1) set and the SM
events paired with it for the two-input model.

One place for what the comparison (:mod:`vaednn.compare`), the scan (:mod:`vaednn.scan`) and
the notebooks' steps (:mod:`vaednn.workflow`) all train on.
"""

from __future__ import annotations

import numpy as np

from vaednn.data.samples import LUMINOSITY, OperatorSamples, mixture

__all__ = ["WEIGHTINGS", "classifier_set", "paired_sm"]

#: The event weightings of :func:`classifier_set`.
WEIGHTINGS = ("balanced", "yields", "unit")


def classifier_set(samples: OperatorSamples, c: float = 1.0, seed: int = 0,
                   luminosity: float = LUMINOSITY, weighting: str = "balanced"):
    """A shuffled SM (0) vs BSM (1) training set: ``(x, y, w)``.

    ``weighting``:

    * ``"balanced"`` (default): the physical yields (LIN x c, QUAD x c^2, signs kept),
      rescaled per class so that both classes carry the same sum of |w|: the SM yield
      dwarfs a small BSM signal, and unbalanced classes would teach the classifier to call
      everything SM. Where destructive interference makes the net BSM yield negative
      (cHl3, cHbox at c = 1) the BSM class describes a deficit of events; the signs are
      kept, so the classifier learns that deficit rather than a made-up excess.
    * ``"yields"``: the physical yields as they are.
    * ``"unit"``: every event weighs 1.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    x, y, w = mixture(*samples, c=c, luminosity=luminosity)
    if weighting == "unit":
        w = np.ones_like(w)
    elif weighting == "balanced":
        for label in (0, 1):
            total = np.abs(w[y == label]).sum()
            if total == 0:
                name = "SM" if label == 0 else f"{samples.operator} at c={c:g}"
                raise ValueError(f"{name}: every event weight is zero; cannot balance the classes")
            w[y == label] *= len(y) / 2 / total
    order = np.random.default_rng(seed).permutation(len(y))
    return x[order], y[order], w[order]


def paired_sm(sm_features, n: int, seed: int = 0) -> np.ndarray:
    """SM events to pair with ``n`` mixture events for ``vae_dnn_separate``: the SM training
    sample shuffled and repeated to length ``n``, as the original author's script did."""
    sm = np.asarray(sm_features, dtype=np.float64)
    order = np.random.default_rng(seed).permutation(len(sm))
    return sm[np.resize(order, n)]
