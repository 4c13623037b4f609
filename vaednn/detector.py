"""The scikit-learn / PyOD :class:`Detector` and :func:`signed_quantile`, where users found
them: re-exported from :mod:`vaednn.scores.detector`, which describes them."""

from vaednn.scores.detector import DENSITY_NAMES, VAE_NAMES, Detector, signed_quantile

__all__ = ["DENSITY_NAMES", "Detector", "VAE_NAMES", "signed_quantile"]
