"""The data layer: SSWW samples read from ROOT, parquet or sample maps, and what is built
from them.

One concern per module, each importing only those above it in this list:

- :mod:`~vaednn.data.samples`: :class:`Sample`, :class:`OperatorSamples`, feature sets,
  cuts, the checks every reader shares, luminosity and Wilson-coefficient weights, splits;
- :mod:`~vaednn.data.ntuples`: reading ROOT ntuples, whole (:func:`read_ntuple`) or in chunks;
- :mod:`~vaednn.data.maps`: sample maps and the readers that take a map or a folder
  (:func:`read_sample`, :func:`stream`, :func:`load_operator`);
- :mod:`~vaednn.data.frames`: parquet files of events (:func:`read_parquet`);
- :mod:`~vaednn.data.smearing`: detector smearing (:func:`smear`);
- :mod:`~vaednn.data.scores_out`: per-event scores written back (:func:`write_scores`);
- :mod:`~vaednn.data.reweighted` and :mod:`~vaednn.data.reweight`: reweighted generator
  samples and their readers (:func:`read_lhe`);
- :mod:`~vaednn.data.training_sets`: the classifier's training sets.

This module only re-exports their public names.
"""

from vaednn.data.samples import (
    COMPONENTS, FEATURES, LOG_FEATURES, LUMINOSITY, PB_TO_FB, VBS_CUTS, WEIGHT, NtupleError,
    OperatorSamples, Sample, check_log_features, check_max_events, concatenate,
    cut_expression, cut_mask, feature_set, fingerprint, lumi_weights, mixture, sample_table,
    split, wilson_weights)
from vaednn.data.ntuples import (
    default_data_dir, iterate_ntuple, ntuple_path, open_tree, read_ntuple)
from vaednn.data.maps import (
    SampleMap, SampleSpec, derived, is_sample_map, load_operator, operators_in, read_sample,
    stream)
from vaednn.data.frames import read_parquet
from vaednn.data.smearing import DETECTOR_RESOLUTION, jet_pt_resolution, resolutions, smear
from vaednn.data.scores_out import ENTRY, write_scores
from vaednn.data.reweight import read_lhe

__all__ = [
    "FEATURES", "LOG_FEATURES", "VBS_CUTS", "LUMINOSITY", "WEIGHT", "COMPONENTS", "PB_TO_FB",
    "NtupleError", "Sample", "OperatorSamples", "feature_set", "ntuple_path", "cut_expression",
    "check_log_features", "open_tree", "check_max_events", "iterate_ntuple", "cut_mask",
    "concatenate", "read_ntuple", "derived", "SampleSpec", "SampleMap", "is_sample_map",
    "read_sample", "stream", "load_operator", "operators_in", "split", "lumi_weights",
    "wilson_weights", "mixture", "fingerprint", "DETECTOR_RESOLUTION", "jet_pt_resolution",
    "resolutions", "smear", "default_data_dir", "sample_table", "read_parquet", "ENTRY",
    "write_scores", "read_lhe"]
