"""A record's likelihood as pyhf JSON: a background-only workspace plus a patchset over c,
and the two-normfactor workspace.

pyhf cannot write ``c LIN + c^2 QUAD`` in one workspace: it has no parameter formulas, and
a normfactor repeated on a sample is applied once. So, as ATLAS publishes ``BkgOnly.json``
with a signal patchset, :func:`workspace` gives the background-only workspace and
:func:`patchset` one patch per coefficient ``c`` of :func:`c_grid`, each adding the sample
``eft`` with yields ``c LIN + c^2 QUAD`` and the normfactor ``mu_eft``, the measurement's
POI (``mu_eft = 1`` is the model at ``c``). The grid is fine enough that pyhf alone
reproduces the package's interval to 1e-3 by interpolating ``sqrt(q)`` between patches
(:func:`reproduction_text`). :func:`two_normfactor_workspace` is
:func:`vaednn.stats.model_spec` as it is, for tools that can fix ``c_lin = c`` and
``c_quad = c^2`` together.

The workspaces are the model of the package's intervals, :func:`vaednn.stats.model_spec`
of the record's yields: whatever modifiers it holds on the background are copied as they
are, those of ``lin`` and ``quad`` translated by :func:`eft_sample`. The package's intervals
have no MC-statistics term, so neither do these workspaces (the record keeps the
background's MC errors, and its histogram every component's).

The models use the package's interpolation codes (:data:`vaednn.stats.MODIFIER_SETTINGS`:
the log-normal ``normsys`` code1): pass them as ``modifier_settings`` when building a
model, since a workspace file does not carry them.
"""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy import stats as scipy_stats

from vaednn import stats
from vaednn.publish.records import ScoreRecord

__all__ = ["NO_INSPIRE_ID", "POI", "EFT_SAMPLE", "COEFFICIENT_FACTORS", "COPIED_MODIFIERS",
           "c_grid", "model_spec", "eft_sample", "workspace", "patchset", "two_normfactor_workspace",
           "reproduction_text", "run_reproduction"]

#: The INSPIRE id of a patchset's ``references`` before the paper has one: pyhf's schema
#: requires a reference ``ins`` + 7 digits, and INSPIRE numbers records from 1.
NO_INSPIRE_ID = "ins0000000"
#: The POI of every published workspace: the normfactor of the patched-in ``eft`` sample.
POI = "mu_eft"
#: The sample each patch adds.
EFT_SAMPLE = "eft"
#: The normfactors of ``lin`` and ``quad`` that carry the coefficient (``c`` and ``c^2``).
COEFFICIENT_FACTORS = {"lin": "c_lin", "quad": "c_quad"}
#: Modifiers that scale a sample by a factor (no per-sample data beyond it): on the ``eft``
#: sample they are copied when ``lin`` and ``quad`` carry the same one, since a common
#: factor of ``c LIN`` and ``c^2 QUAD`` is that factor of their sum.
COPIED_MODIFIERS = ("normsys", "lumi", "normfactor", "shapefactor")
#: Points of the coarse grid on a side with a finite bound, out to 1.5 times the bound.
_COARSE = 30
#: Half-width of the fine cluster around each finite bound (relative) and its points.
_FINE_WIDTH, _FINE = 0.04, 21
#: Points on a side without a bound, geometric from 1e-3 to ``C_RANGE``.
_OPEN = 40


def c_grid(interval) -> np.ndarray:
    """The coefficients of a patchset for the interval ``(lo, hi)``: 0, a coarse grid out to
    1.5 times each finite bound, a fine cluster (+-4 %, 21 points) around it, and a
    geometric grid out to :data:`vaednn.stats.C_RANGE` on a side without a bound.

    >>> grid = c_grid((-1.0, np.inf))
    >>> float(grid[0]), bool(np.isin([-1.5, -1.0, 0.0], grid).all()), float(grid[-1])
    (-1.5, True, 10000.0)
    """
    points = [np.zeros(1)]
    for bound in interval:
        if math.isfinite(bound):
            if bound == 0:
                raise ValueError("an interval bound at c = 0 leaves no grid to patch")
            points.append(bound * np.linspace(0, 1.5, _COARSE + 1)[1:])
            points.append(bound * (1 + np.linspace(-_FINE_WIDTH, _FINE_WIDTH, _FINE)))
        else:
            points.append(math.copysign(1.0, bound) * np.geomspace(1e-3, stats.C_RANGE, _OPEN))
    return np.unique(np.concatenate(points))


def model_spec(record: ScoreRecord, systematic: bool) -> dict:
    """The package's model of ``record`` (:func:`vaednn.stats.model_spec`), with or without
    its background normalisation systematic."""
    return stats.model_spec(record.background, record.lin, record.quad,
                            background_uncertainty=record.systematic if systematic else 0.0)


def _by_key(sample: dict) -> dict:
    return {(m["name"], m["type"]): m for m in sample["modifiers"]
            if not (m["type"] == "normfactor" and m["name"] == COEFFICIENT_FACTORS.get(
                sample["name"]))}


def eft_sample(lin: dict, quad: dict, c: float) -> dict:
    """The pyhf sample ``c LIN + c^2 QUAD`` with the normfactor :data:`POI` from the
    ``lin`` and ``quad`` samples of a spec, their modifiers translated.

    Translation (each exact for every c): a modifier of :data:`COPIED_MODIFIERS` carried by
    both with the same data is copied; a ``histosys`` (additive) gets ``c dLIN + c^2 dQUAD``
    of its up and down templates (a sample without it adds its nominal); a ``staterror``
    (one name on both, or on one) gets ``sqrt(c^2 s_LIN^2 + c^4 s_QUAD^2)`` per bin. The
    coefficient normfactors (:data:`COEFFICIENT_FACTORS`) become the patch's ``c``.

    Raises:
        ValueError: a modifier without an exact translation (a factor on one sample only or
            with different data, ``shapesys``, a second ``staterror`` name, an unknown
            type); the message names them.

    >>> lin = {"name": "lin", "data": [2.0], "modifiers": [
    ...     {"name": "c_lin", "type": "normfactor", "data": None}]}
    >>> quad = {"name": "quad", "data": [1.0], "modifiers": [
    ...     {"name": "c_quad", "type": "normfactor", "data": None}]}
    >>> eft_sample(lin, quad, -3.0)["data"]  # -3 * 2 + 9 * 1
    [3.0]
    """
    c = float(c)
    nominal = {name: np.asarray(s["data"], dtype=np.float64) for name, s in
               (("lin", lin), ("quad", quad))}
    weight = {"lin": c, "quad": c * c}
    mods = {"lin": _by_key(lin), "quad": _by_key(quad)}
    out, refused = [{"name": POI, "type": "normfactor", "data": None}], []
    staterrors = {name for (name, kind) in {*mods["lin"], *mods["quad"]} if kind == "staterror"}
    if len(staterrors) > 1:
        refused.append(f"staterror {sorted(staterrors)} (several names: the product of their "
                       "gammas is not a per-sample gamma)")
    for key in dict.fromkeys([*mods["lin"], *mods["quad"]]):
        name, kind = key
        here = {sample: mods[sample].get(key) for sample in ("lin", "quad")}
        if kind in COPIED_MODIFIERS:
            if here["lin"] is None or here["quad"] is None or here["lin"] != here["quad"]:
                refused.append(f"{kind} {name!r} (not the same on lin and quad)")
            else:
                out.append(copy.deepcopy(here["lin"]))
        elif kind == "histosys":
            data = {}
            for side in ("hi_data", "lo_data"):
                data[side] = sum(weight[s] * (nominal[s] if here[s] is None else
                                              np.asarray(here[s]["data"][side], dtype=np.float64))
                                 for s in ("lin", "quad")).tolist()
            out.append({"name": name, "type": kind, "data": data})
        elif kind == "staterror" and len(staterrors) == 1:
            variance = sum(weight[s] ** 2 * np.asarray(here[s]["data"], dtype=np.float64) ** 2
                           for s in ("lin", "quad") if here[s] is not None)
            out.append({"name": name, "type": kind, "data": np.sqrt(variance).tolist()})
        elif kind != "staterror":
            refused.append(f"{kind} {name!r} (no exact translation to c LIN + c^2 QUAD)")
    if refused:
        raise ValueError("the eft sample of the patchset cannot carry the modifiers "
                         + "; ".join(refused))
    data = (weight["lin"] * nominal["lin"] + weight["quad"] * nominal["quad"]).tolist()
    return {"name": EFT_SAMPLE, "data": data, "modifiers": out}


def _observations(spec: dict) -> list[dict]:
    # The SM-only Asimov data: each channel's nominal background-only yields.
    out = []
    for channel in spec["channels"]:
        total = sum(np.asarray(s["data"], dtype=np.float64) for s in channel["samples"]
                    if s["name"] not in COEFFICIENT_FACTORS)
        out.append({"name": channel["name"], "data": np.asarray(total).tolist()})
    return out


def _measurement(record: ScoreRecord, poi: str, parameters: list[dict], systematic: bool,
                 what: str) -> dict:
    # A workspace has no metadata field: its measurement's name says what the data are.
    return {"name": f"{record.operator} {record.model} {what}"
                    + (f" (background +-{record.systematic:g})" if systematic else "")
                    + ", expected: observations are the SM-only Asimov data",
            "config": {"poi": poi, "parameters": parameters}}


def workspace(record: ScoreRecord, *, systematic: bool = False) -> dict:
    """The background-only workspace of ``record``: the model without ``lin`` and ``quad``,
    the SM-only Asimov observations, and the measurement's POI :data:`POI` (which only the
    patches add: build its model with ``poi_name=None``, as ATLAS' ``BkgOnly.json``).

    Without the systematic the background has no parameter, and pyhf builds no model of it
    alone (``InvalidModel: No parameters``); every patched workspace builds.
    """
    spec = model_spec(record, systematic)
    channels = [{"name": ch["name"],
                 "samples": [s for s in ch["samples"] if s["name"] not in COEFFICIENT_FACTORS]}
                for ch in spec["channels"]]
    return {"channels": channels, "observations": _observations(spec),
            "measurements": [_measurement(record, POI, [], systematic, "background only")],
            "version": "1.0.0"}


def patchset(record: ScoreRecord, *, systematic: bool = False,
             inspire_id: str = NO_INSPIRE_ID) -> dict:
    """The patchset over :func:`c_grid` of the record's interval: patch ``i`` adds to each
    channel the sample :func:`eft_sample` at ``values[0] = c``. Its digest is the
    ``pyhf.utils.digest`` of :func:`workspace` (same ``systematic``); its reference the
    paper's INSPIRE id (``ins`` + 7 digits; :data:`NO_INSPIRE_ID` until it has one)."""
    import pyhf

    if not re.fullmatch(r"ins[0-9]{7}", inspire_id):
        raise ValueError(f"inspire_id must be 'ins' and 7 digits (pyhf's schema), got "
                         f"{inspire_id!r}")

    spec = model_spec(record, systematic)
    interval = record.interval_syst if systematic else record.interval
    grid = c_grid(interval)
    background = pyhf.Workspace(workspace(record, systematic=systematic), validate=False)
    patches = []
    for i, c in enumerate(grid):
        ops = []
        for index, channel in enumerate(spec["channels"]):
            samples = {s["name"]: s for s in channel["samples"]}
            if not set(COEFFICIENT_FACTORS) <= set(samples):
                continue
            ops.append({"op": "add", "path": f"/channels/{index}/samples/-",
                        "value": eft_sample(samples["lin"], samples["quad"], c)})
        patches.append({"metadata": {"name": f"c_{i:03d}", "values": [float(c)]},
                        "patch": ops})
    description = (f"{record.operator}, score {record.model}: one patch per Wilson coefficient "
                   f"c adding the sample {EFT_SAMPLE!r} = c LIN + c^2 QUAD (normfactor {POI} "
                   f"= 1 at c); expected {record.cl:g} CL interval [{interval.lo:.6g}, "
                   f"{interval.hi:.6g}] at {record.luminosity:g} fb^-1; build models with "
                   f"modifier_settings={stats.MODIFIER_SETTINGS}")
    return {"metadata": {"description": description,
                         "digests": {"sha256": pyhf.utils.digest(background)},
                         "labels": ["c"], "references": {"hepdata": inspire_id}},
            "patches": patches, "version": "1.0.0"}


def two_normfactor_workspace(record: ScoreRecord, *, systematic: bool = False) -> dict:
    """The workspace of :func:`vaednn.stats.model_spec` as it is: ``lin`` and ``quad`` scaled
    by the normfactors ``c_lin`` (the POI) and ``c_quad``; the model at ``c`` fixes
    ``c_lin = c`` and ``c_quad = c^2`` (both bounded to ``|c| <=``
    :data:`vaednn.stats.C_RANGE`)."""
    spec = model_spec(record, systematic)
    limit = stats.C_RANGE
    parameters = [{"name": "c_lin", "bounds": [[-limit, limit]], "inits": [0.0]},
                  {"name": "c_quad", "bounds": [[0.0, limit**2]], "inits": [0.0]}]
    return {"channels": spec["channels"], "observations": _observations(spec),
            "measurements": [_measurement(record, "c_lin", parameters, systematic,
                                          "c_lin = c, c_quad = c^2")],
            "version": "1.0.0"}


def reproduction_text(record: ScoreRecord, files: dict[str, str]) -> str:
    """A README (markdown) saying how pyhf alone reproduces the record's intervals from the
    exported files (``files``: ``{"bkgonly", "patchset", "bkgonly_syst", "patchset_syst",
    "two_normfactor", "two_normfactor_syst"}`` -> file name)."""
    rows = "\n".join(
        f"| {label} | `{files['bkgonly' + suffix]}` + `{files['patchset' + suffix]}` | "
        f"{interval.lo:.10g} | {interval.hi:.10g} |"
        for label, suffix, interval in (("none", "", record.interval),
                                        (f"background normalisation +-{record.systematic:g}",
                                         "_syst", record.interval_syst)))
    threshold = float(scipy_stats.chi2.ppf(record.cl, 1))
    settings = stats.MODIFIER_SETTINGS
    return f"""# {record.operator}: score {record.model}

Expected {record.cl:g} CL intervals on the Wilson coefficient of {record.operator}
(SM-only Asimov data, {record.luminosity:g} fb^-1, sqrt(s) = 13 TeV; seeds
{list(record.seeds)}), from a binned profile likelihood of the score in
{len(record.background)} bins:

| systematics | files | lo | hi |
|---|---|---|---|
{rows}

pyhf cannot write c LIN + c^2 QUAD in one workspace: each patch of the patchset adds the
sample `{EFT_SAMPLE}` = c LIN + c^2 QUAD at one c (`metadata.values`), scaled by the POI
`{POI}` (= 1 at that c). To reproduce an interval with pyhf alone:

```python
import json, pathlib, numpy as np, pyhf
ws = pyhf.Workspace(json.loads(pathlib.Path("{files['bkgonly']}").read_text()))
patchset = pyhf.PatchSet(json.loads(pathlib.Path("{files['patchset']}").read_text()))
settings = {settings!r}
c, twice_nll = [], []
for patch in patchset.patches:
    model = patchset.apply(ws, patch.name).model(modifier_settings=settings)
    data = ws.data(model)
    c.append(patch.values[0])
    twice_nll.append(float(pyhf.infer.mle.fixed_poi_fit(1.0, data, model,
                                                           return_fitted_val=True)[1]))
c, q = np.array(c), np.array(twice_nll) - twice_nll[c.index(0.0)]  # q = 2 Delta NLL
root = {threshold ** 0.5!r}  # sqrt of the chi2 (1 dof) quantile at CL {record.cl:g}
for side in (1, -1):  # first crossing from c = 0, linear in sqrt(q)
    order = np.argsort(side * c)
    cs, rs = c[order][side * c[order] >= 0], np.sqrt(q[order][side * c[order] >= 0])
    i = np.flatnonzero(rs >= root)
    window = slice(i[0] - 1, i[0] + 1)
    bound = np.interp(root, rs[window], cs[window]) if len(i) else side * np.inf
    print(side, bound)
```

(`_syst` files: the same with the background normalisation systematic.)
`{files['two_normfactor']}` (and `_syst`) is the same model with `lin` and `quad` scaled by
the normfactors `c_lin` and `c_quad`, for tools that can fix `c_lin = c` and
`c_quad = c^2` together.
"""


def run_reproduction(folder, *, systematic: bool = False) -> tuple[float, float]:
    """The interval a reader of an exported record finds: the recipe of the folder's
    ``README.md`` (:func:`reproduction_text`), run as it stands by a fresh Python in
    ``folder``, which imports pyhf and numpy but not vaednn. ``systematic``: on the
    ``_syst`` files, as the README says.

    Returns ``(lo, hi)`` as the recipe printed them.
    """
    folder = Path(folder)
    readme = folder / "README.md"
    if not readme.is_file():
        raise FileNotFoundError(f"{readme}: no README of an exported record")
    blocks = readme.read_text().split("```python\n")
    if len(blocks) != 2:
        raise ValueError(f"{readme}: expected one python block, found {len(blocks) - 1}")
    code = blocks[1].split("```")[0]
    if systematic:
        code = re.sub(r'_(bkgonly|patchset)\.json"', r'_\1_syst.json"', code)
    run = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                         text=True, check=False)
    if run.returncode:
        raise RuntimeError(f"{readme}: the recipe failed: {run.stderr.strip()[-2000:]}")
    bounds = dict(line.split() for line in run.stdout.splitlines())
    return float(bounds["-1"]), float(bounds["1"])
