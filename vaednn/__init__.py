"""vaednn: Variational AutoEncoders and VAE+DNN classifiers for EFT searches in VBS.

Modules: :mod:`~vaednn.data` (ntuples to weighted samples), :mod:`~vaednn.simulate`
(stand-in SM and EFT samples), :mod:`~vaednn.plotting` (figure style).
"""

from vaednn import data, plotting

__version__ = "0.1.0"

__all__ = ["data", "plotting", "__version__"]
