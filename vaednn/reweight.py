"""Reweighted generator samples; the code lives in :mod:`vaednn.data.reweight` (reading) and
:mod:`vaednn.data.reweighted` (the sample and its EFT decomposition)."""

from vaednn.data.reweight import (
    JET_IDS, LEPTON_IDS, NEUTRINO_IDS, PHOTON_IDS, VARIABLES, FinalState, parse_param_card,
    points_from_header, read_lhe, read_map, read_root)
from vaednn.data.reweighted import Decomposition, LHEError, ReweightedSample, design_matrix

__all__ = ["Decomposition", "FinalState", "LHEError", "ReweightedSample", "VARIABLES",
           "design_matrix", "parse_param_card", "points_from_header", "read_lhe",
           "read_map", "read_root"]
