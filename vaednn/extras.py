"""Optional dependencies: which extra installs a module, and a clear error when it is missing.

The core install (``pip install vaednn``) reads ntuples, trains and scores the models and
computes the statistics. The scan, the SHAP explanations, the notebook runner, parquet
input, Les Houches (LHE) input and the HEPData submission each need an extra:

>>> EXTRAS["ray"], EXTRAS["shap"], EXTRAS["nbclient"], EXTRAS["pyarrow"], EXTRAS["pylhe"]
('scan', 'explain', 'notebooks', 'parquet', 'lhe')
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["EXTRAS", "MissingExtraError", "require"]

#: Importable module -> the extra of ``pyproject.toml`` that installs it. Every module of
#: an extra is listed; tests/test_packaging.py checks this against pyproject.toml.
EXTRAS = {
    "ray": "scan",
    "tqdm": "scan",
    "shap": "explain",
    "jupyterlab": "notebooks",
    "ipykernel": "notebooks",
    "nbclient": "notebooks",
    "nbformat": "notebooks",
    "tabulate": "notebooks",
    "pyarrow": "parquet",
    "pylhe": "lhe",
    "vector": "lhe",
    "hepdata_lib": "publish",
    "hepdata_validator": "publish",
    "cabinetry": "publish",
    "iminuit": "publish",
}


class MissingExtraError(ModuleNotFoundError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` (one of :data:`EXTRAS`), or fail with the pip command that installs it.

    Args:
        module: the module's import name, e.g. ``"ray"``.
        purpose: what needs it, for the message, e.g. ``"vaednn scan"``.

    Returns:
        The imported module.

    Raises:
        MissingExtraError: the module (or a module it imports) is not installed.
    """
    if module not in EXTRAS:
        raise ValueError(f"{module!r} is not an optional dependency of vaednn; "
                         f"known: {sorted(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        extra = EXTRAS[module]
        raise MissingExtraError(
            f"{purpose} needs {module}, which is not installed (missing module "
            f"{error.name!r}): pip install 'vaednn[{extra}]'", name=error.name) from error
