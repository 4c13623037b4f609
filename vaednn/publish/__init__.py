"""Publishing: pyhf workspaces and patchsets, HEPData records."""

from vaednn.publish.records import (
    RECORDS_FORMAT, ROC_POINTS, Curve, ScoreHistogram, ScoreRecord, load_records,
    records_from_json, records_to_json, save_records, score_record)
from vaednn.publish.workspaces import (
    COEFFICIENT_FACTORS, COPIED_MODIFIERS, EFT_SAMPLE, POI, c_grid, eft_sample, model_spec,
    patchset, reproduction_text, two_normfactor_workspace, workspace)
