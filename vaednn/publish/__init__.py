"""Publishing a result: pyhf workspaces and patchsets, a HEPData submission, one folder.

One concern per module, each importing only those above it in this list:

- :mod:`~vaednn.publish.records`: :class:`ScoreRecord`, everything published about one
  score on one operator (:func:`score_record`), and ``records.json``
  (:func:`save_records`, :func:`load_records`);
- :mod:`~vaednn.publish.workspaces`: the background-only :func:`workspace`, the
  :func:`patchset` over c (one patch per :func:`c_grid` point adding ``c LIN + c^2 QUAD``
  scaled by the POI ``mu_eft``), the :func:`two_normfactor_workspace`, the README
  text :func:`reproduction_text` and :func:`run_reproduction`, which runs its recipe;
- :mod:`~vaednn.publish.diagnostics`: fit diagnostics with cabinetry (extra ``[publish]``)
  of the model at one coefficient: :func:`diagnostic_workspace`, :func:`diagnose` (pulls,
  impact ranking, pre- and post-fit predictions) and their plots;
- :mod:`~vaednn.publish.hepdata`: the HEPData :func:`submission` (hepdata_lib, extra
  ``[publish]``), :func:`write_submission`, :func:`validation_errors` (hepdata-validator);
- :mod:`~vaednn.publish.export`: :func:`export`, the folder with all of it (the command
  ``vaednn export``);
- :mod:`~vaednn.publish.provenance`: the side file ``results.provenance.json`` of the
  results table (:func:`update_provenance`, :func:`read_provenance`) and the data
  fingerprint :func:`data_digest`.

Usage, with ``choose`` and ``report`` the validation and test
:class:`~vaednn.stats.ComponentScores` of a score (as :func:`vaednn.compare.metrics` takes
them) and ``results`` the results table (``figures/results.csv``)::

    from vaednn import publish

    records = [publish.score_record(choose, report, operator="cW", model="VAE+DNN",
                                    luminosity=350.0, seeds=(0, 1, 2, 3, 4))]
    publish.save_records(records, "figures/records.json")
    publish.export(records, "figures/results.csv", "figures/publication")

or, from the files, ``vaednn export --records figures/records.json --results
figures/results.csv --out figures/publication``.

A short check of the pieces:

>>> import numpy as np
>>> from vaednn import stats
>>> scores = stats.ComponentScores(np.linspace(0, 1, 400), np.full(400, 0.5),
...                                np.linspace(0, 1, 400), np.full(400, 0.01),
...                                np.linspace(0, 1, 400), np.full(400, 0.002),
...                                same_events=True)
>>> record = score_record(scores, scores, operator="cW", model="VAE", luminosity=350.0,
...                       seeds=(0,))
>>> [s["name"] for s in workspace(record)["channels"][0]["samples"]]
['background']
>>> patches = patchset(record)["patches"]
>>> patches[0]["patch"][0]["value"]["name"], len(patches) > 50
('eft', True)
"""

from vaednn.publish.records import (
    RECORDS_FORMAT, ROC_POINTS, Curve, ScoreHistogram, ScoreRecord, load_records,
    records_from_json, records_to_json, save_records, score_record)
from vaednn.publish.workspaces import (
    COEFFICIENT_FACTORS, COPIED_MODIFIERS, EFT_SAMPLE, NO_INSPIRE_ID, POI, c_grid, eft_sample,
    model_spec, patchset, reproduction_text, run_reproduction, two_normfactor_workspace, workspace)
from vaednn.publish.diagnostics import (
    POI_BOUNDS, FitDiagnostics, diagnose, diagnostic_workspace, plot_prefit_postfit, plot_pulls,
    plot_ranking)
from vaednn.publish.hepdata import (
    DIGITS, ONE_BIN, SQRT_S, submission, validation_errors, write_submission)
from vaednn.publish.export import LIKELIHOOD_FILES, MANIFEST, SUBMISSION, export, record_name
from vaednn.publish.provenance import (
    PROVENANCE_FORMAT, data_digest, provenance_path, read_provenance, update_provenance)

__all__ = [
    "RECORDS_FORMAT", "ROC_POINTS", "Curve", "ScoreHistogram", "ScoreRecord", "score_record",
    "records_to_json", "records_from_json", "save_records", "load_records",
    "NO_INSPIRE_ID", "POI", "EFT_SAMPLE", "COEFFICIENT_FACTORS", "COPIED_MODIFIERS", "c_grid",
    "model_spec", "eft_sample", "workspace", "patchset", "two_normfactor_workspace",
    "reproduction_text", "run_reproduction",
    "POI_BOUNDS", "diagnostic_workspace", "FitDiagnostics", "diagnose", "plot_pulls",
    "plot_ranking", "plot_prefit_postfit",
    "SQRT_S", "DIGITS", "ONE_BIN", "submission", "write_submission", "validation_errors",
    "MANIFEST", "SUBMISSION", "LIKELIHOOD_FILES", "record_name", "export",
    "PROVENANCE_FORMAT", "provenance_path", "data_digest", "read_provenance", "update_provenance",
]
