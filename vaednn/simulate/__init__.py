"""Physics-motivated stand-ins for the SSWW SM, LIN and QUAD ntuples.

The MadGraph ntuples of the original analysis cannot be downloaded here, so this package
generates samples that behave like them and writes them in exactly their on-disk format
(see ``vaednn.data``): ``ntuple_SSWW_SM.root`` with TTree ``SSWW_SM``, and per operator
``ntuple_SSWW_<op>_LI.root`` / ``ntuple_SSWW_<op>_QU.root``, each with a ``<tree>_nums``
histogram (bin 1 = cross section in pb, bin 2 = sum of the generator weights ``w``), and a
string ``VERSION_KEY`` holding ``GENERATOR_VERSION`` (:func:`stale_files` finds data an older
generator wrote; ``python -m vaednn.simulate --check DIR`` asks it from a Makefile).

One concern per module, each importing only those above it in this list:

- :mod:`~vaednn.simulate.model`: the physics constants, the operators (:data:`OPERATORS`)
  and the events (:func:`generate`);
- :mod:`~vaednn.simulate.ntuples`: the ntuple writer (:func:`write_ntuples`) and its
  version stamp (:func:`stale_files`);
- :mod:`~vaednn.simulate.checks`: the comparison with PHYSICS.md (:func:`physics_summary`);
- :mod:`~vaednn.simulate.reweighted`: the reweighted LHE and ROOT stand-ins
  (:func:`write_reweighted`);
- ``__main__``: ``python -m vaednn.simulate --check DIR``.

This module only re-exports their public names.
"""

from vaednn.simulate.model import (
    BASKET_EVENTS, BRANCHES, DEFAULT_BSM_EVENTS, DEFAULT_EVENTS, DEFAULT_OPERATORS,
    EXTRA_BRANCHES, GENERATOR_CUTS, GENERATOR_VERSION, OPERATORS, SM_MEDIANS, SM_PARAMETERS,
    SM_XSEC_PB, SQRT_S_GEV, VERSION_KEY, W_MASS, W_WIDTH, Operator, generate)
from vaednn.simulate.ntuples import generator_version, stale_files, write_ntuples
from vaednn.simulate.checks import (
    DETA_STEP_RANGE, MJJ_SMOOTHNESS_MAX, SM_XSEC_AFTER_CUTS_FB, deta_step_across_cut,
    physics_summary, smoothness_chi2, weighted_quantile)
from vaednn.simulate.reweighted import (
    REWEIGHTED_STEM, WEIGHT_VECTOR, reweighted_paths, reweighting_factors, reweighting_points,
    write_reweighted)

__all__ = [
    "DEFAULT_OPERATORS", "GENERATOR_CUTS", "GENERATOR_VERSION", "OPERATORS", "Operator",
    "SM_MEDIANS", "SM_PARAMETERS", "SM_XSEC_PB", "SQRT_S_GEV", "VERSION_KEY", "generate",
    "deta_step_across_cut", "generator_version", "physics_summary", "smoothness_chi2",
    "stale_files", "weighted_quantile", "write_ntuples", "REWEIGHTED_STEM", "WEIGHT_VECTOR",
    "reweighted_paths", "reweighting_factors", "reweighting_points", "write_reweighted",
]
