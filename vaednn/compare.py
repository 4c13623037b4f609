"""Models against references on held-out events: the names of :mod:`vaednn.comparison`
where users found them (``vaednn.compare.compare``, ``vaednn.compare.prepare``, ...).

Every choice (the cut, the fit binning, the best single variable) is made on the
**validation** split and every reported number comes from the **test** split
(``choose_on="validation"``, the default); see :mod:`vaednn.comparison.splits`.

This module only re-exports; the code lives in :mod:`vaednn.comparison`.
"""

# Every name of the package, listed once (in the package): the two cannot drift apart.
from vaednn.comparison import *  # noqa: F403
from vaednn.comparison import __all__ as _package_names

__all__ = list(_package_names)
