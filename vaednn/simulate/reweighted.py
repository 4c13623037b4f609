"""Reweighted stand-ins: SM events with a weight per point of the EFT parameters, written as
Les Houches events, as a ROOT ntuple with a weight vector, and as its sample map."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import uproot

from vaednn.data import FEATURES
from vaednn.files import atomic_path, atomic_write_text
from vaednn.simulate.model import GENERATOR_VERSION, OPERATORS, SM_XSEC_PB, Operator, generate
from vaednn.simulate.ntuples import child_seed

__all__ = ["REWEIGHTED_STEM", "WEIGHT_VECTOR", "reweighting_factors", "reweighting_points",
           "reweighted_paths", "write_reweighted"]

#: File stem of :func:`write_reweighted`'s LHE file, ROOT ntuple and sample map.
REWEIGHTED_STEM = "reweighted_SSWW"
#: The weight vector branch of the reweighted ntuple (NanoAOD's name).
WEIGHT_VECTOR = "LHEReweightingWeight"


def reweighting_factors(events: pd.DataFrame, op: Operator) -> tuple[np.ndarray, np.ndarray]:
    """Per-event ``(a, b)`` of ``w(c) = w_SM [(1 + c a)**2 + c**2 b]`` for one operator.

    The amplitude ratio ``a`` grows as E²/Λ² (E = m_WW for operators whose LIN shifts m_WW
    more than the jets' pT, else the jets' scalar pT sum; E over its median) times the
    interference sign ``s0 + a cos 2Δφjj`` of the LIN samples, scaled so that
    ``σ_LIN/σ_SM = <2a>`` is ``op.lin_ratio``; rate-only operators have constant ``a``.
    ``b ≥ 0`` (the part of the squared term that does not interfere) grows as E⁴ and is
    scaled so that ``σ_QUAD/σ_SM = <a² + b>`` is ``op.quad_ratio``; where ``<a²>`` alone
    exceeds it, ``b`` is zero and the ratio is ``<a²>`` (logged). The squared form keeps
    every event's weight ≥ 0 at every ``c``: LIN² ≤ 4·SM·QUAD per event.
    """
    import logging

    if op.kind == "rate only":
        energy2 = np.ones(len(events))
    else:
        energy = (events["mww"] if op.growth_ww >= op.growth_jets
                  else events["ptj1"] + events["ptj2"]).to_numpy(np.float64)
        energy2 = (energy / np.median(energy)) ** 2
    s0, amplitude = op.lin_sign
    shape = energy2 * (s0 + amplitude * np.cos(2 * events["deltaphijj"].to_numpy(np.float64)))
    a = op.lin_ratio / 2 * shape / shape.mean()
    rest = op.quad_ratio - np.mean(a**2)
    if rest < 0:
        logging.getLogger("vaednn").info(
            "%s: <a^2> = %.3g exceeds quad_ratio %.3g; the reweighted stand-in's "
            "sigma_QUAD/sigma_SM is %.3g", op.name, np.mean(a**2), op.quad_ratio,
            np.mean(a**2))
    b = max(rest, 0.0) * energy2**2 / np.mean(energy2**2)
    return a, b


def reweighting_points(operators) -> dict[str, dict[str, float]]:
    """``{id: {operator: c}}``: the SM, c = ±1 per operator, and (1, 1) of the first two.

    >>> reweighting_points(["cW", "cHq3"])
    {'SM': {}, 'cW_p1': {'cW': 1.0}, 'cW_m1': {'cW': -1.0}, 'cHq3_p1': {'cHq3': 1.0}, \
'cHq3_m1': {'cHq3': -1.0}, 'cW_cHq3_p1': {'cW': 1.0, 'cHq3': 1.0}}
    """
    points = {"SM": {}}
    for op in operators:
        points[f"{op}_p1"], points[f"{op}_m1"] = {op: 1.0}, {op: -1.0}
    if len(operators) >= 2:
        points[f"{operators[0]}_{operators[1]}_p1"] = {operators[0]: 1.0, operators[1]: 1.0}
    return points


def _reweighted_weights(events, operators, points, w_sm) -> np.ndarray:
    """``(n_events, n_points)``: ``w_SM [(1 + Σ c_i a_i)² + Σ c_i² b_i]`` at each point."""
    factors = {op: reweighting_factors(events, OPERATORS[op]) for op in operators}
    columns = []
    for point in points.values():
        amplitude = 1 + sum(c * factors[op][0] for op, c in point.items())
        columns.append(w_sm * (amplitude**2 + sum(c**2 * factors[op][1]
                                                  for op, c in point.items())))
    return np.column_stack(columns)


def _lhe_text(events, weights, w_sm, operators, points, xsec) -> str:
    """The Les Houches text. Written here rather than with pylhe's writer, which prints
    ``<wgt>`` values with 5 significant digits (``{:11.4e}``): the LIN and QUAD parts are
    differences of nearly equal weights and need every digit (``repr`` round-trips)."""
    index = {op: k + 1 for k, op in enumerate(operators)}
    card = "\n".join(["BLOCK SMEFT # "] + [f"    {index[op]} 0.000000e+00 # {op}"
                                            for op in operators])
    declared = []
    for wid, point in points.items():
        body = "\n".join(f"set param_card smeft {index[op]} {c!r}" for op, c in point.items())
        declared.append(f"<weight id='{wid}'>{body}</weight>")
    head = ["<LesHouchesEvents version=\"3.0\">", "<header>",
            "<!-- vaednn.simulate.write_reweighted: SM stand-in events reweighted per event "
            f"(generator version {GENERATOR_VERSION}) -->",
            "<slha>", card, "</slha>", "<initrwgt>",
            "<weightgroup name='mg_reweighting' weight_name_strategy='includeIdInWeightName'>",
            *declared, "</weightgroup>", "</initrwgt>", "</header>", "<init>",
            "2212 2212 6.500000e+03 6.500000e+03 0 0 247000 247000 -4 1",
            f"{xsec!r} 0.0 {xsec!r} 1", "</init>"]
    vectors = {}
    for name in ("j1", "j2", "l1", "l2"):
        pt, eta, phi = (events[f"{q}{name}"].to_numpy(np.float64) for q in ("pt", "eta", "phi"))
        vectors[name] = np.column_stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta),
                                         pt * np.cosh(eta)])
    # The generator keeps only the neutrino pair's pT (met, metphi): each neutrino carries
    # half of it, with pz = 0, so MET (their summed pT) is the generator's.
    met, metphi = events["met"].to_numpy(np.float64), events["metphi"].to_numpy(np.float64)
    half = np.column_stack([met / 2 * np.cos(metphi), met / 2 * np.sin(metphi),
                            np.zeros(len(met)), met / 2])
    vectors["v1"] = vectors["v2"] = half
    pids = {"j1": 2, "j2": 1, "l1": -11, "l2": -13, "v1": 12, "v2": 14}
    total = sum(vectors.values())
    ids = list(points)
    lines = head
    for i in range(len(events)):
        plus, minus = (float(total[i, 3] + total[i, 2]) / 2, float(total[i, 3] - total[i, 2]) / 2)
        rows = [f" 8 1 {float(w_sm[i])!r} 91.188 0.0078 0.118",
                f" 2 -1 0 0 501 0 0.0 0.0 {plus!r} {plus!r} 0.0 0.0 9.0",
                f" 2 -1 0 0 502 0 0.0 0.0 {-minus!r} {minus!r} 0.0 0.0 9.0"]
        for name, pid in pids.items():
            px, py, pz, e = (repr(float(x)) for x in vectors[name][i])
            colour = {"j1": "501 0", "j2": "502 0"}.get(name, "0 0")
            rows.append(f" {pid} 1 1 2 {colour} {px} {py} {pz} {e} 0.0 0.0 9.0")
        rows.append("<rwgt>")
        rows += [f"<wgt id='{wid}'> {float(weights[i, k])!r} </wgt>" for k, wid in enumerate(ids)]
        lines += ["<event>", *rows, "</rwgt>", "</event>"]
    lines.append("</LesHouchesEvents>")
    return "\n".join(lines) + "\n"


def reweighted_paths(outdir) -> dict[str, Path]:
    """``{"lhe": path, "root": path, "map": path}``: where :func:`write_reweighted` writes the
    three forms of its sample in ``outdir``."""
    return {kind: Path(outdir) / f"{REWEIGHTED_STEM}.{suffix}"
            for kind, suffix in (("lhe", "lhe.gz"), ("root", "root"), ("map", "toml"))}


def write_reweighted(outdir, operators=("cW", "cqq3", "cHq3"), n_events: int = 20_000,
                     seed: int = 0, *, overwrite: bool = False) -> dict[str, Path]:
    """Write SM stand-in events with reweighting weights, as LHE and as a ROOT ntuple.

    The events are the SM generator's (:func:`generate`); each carries a weight per point
    of :func:`reweighting_points` (SM, c = ±1 per operator, and a mixed point of the first
    two), ``w(c) = w_SM [(1 + Σ c_i a_i)² + Σ c_i² b_i]`` (:func:`reweighting_factors`), so
    per event SM = w_SM, LIN_i = 2 a_i w_SM, QUAD_i = (a_i² + b_i) w_SM and
    MIX_ij = 2 a_i a_j w_SM. Three files, the same events and weights:

    - ``reweighted_SSWW.lhe.gz``: Les Houches, with ``<initrwgt>`` (``set param_card smeft
      k c``) and an SLHA ``BLOCK SMEFT`` naming each entry, so :func:`vaednn.reweight.read_lhe`
      maps ids to points from the header; ``<init>`` holds σ = ``SM_XSEC_PB``, nominal
      weights σ/N (MadGraph's average convention).
    - ``reweighted_SSWW.root``: tree ``Events`` with the 14 features (float64), the nominal
      weight ``w`` and the weight vector ``LHEReweightingWeight`` (absolute weights).
    - ``reweighted_SSWW.toml``: the sample map of the ntuple (ids, points, xsec), read by
      :func:`vaednn.reweight.read_map`.

    Returns:
        ``{"lhe": path, "root": path, "map": path}``.

    Raises:
        ValueError: an unknown operator or a non-positive ``n_events``.
        FileExistsError: a file exists and ``overwrite`` is not set (nothing is written).
    """
    import gzip

    operators = list(operators)
    unknown = [op for op in operators if op not in OPERATORS]
    if unknown or not operators:
        raise ValueError(f"unknown operator(s) {unknown or operators}; known: "
                         f"{sorted(OPERATORS)}")
    if int(n_events) != n_events or n_events < 1:
        raise ValueError(f"n_events must be a positive integer, got {n_events!r}")
    outdir = Path(outdir)
    paths = reweighted_paths(outdir)
    existing = [p.name for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{outdir}: {', '.join(existing)} already exist; pass "
                              "overwrite=True (vaednn simulate --lhe --force) to replace them")
    outdir.mkdir(parents=True, exist_ok=True)
    events = generate(int(n_events), child_seed(seed, REWEIGHTED_STEM))
    w_sm = np.full(len(events), SM_XSEC_PB / len(events))
    points = reweighting_points(operators)
    weights = _reweighted_weights(events, operators, points, w_sm)
    text = _lhe_text(events, weights, w_sm, operators, points, SM_XSEC_PB)
    with atomic_path(paths["lhe"]) as temporary, gzip.open(temporary, "wt") as stream:
        stream.write(text)
    branches = {f: events[f].to_numpy(np.float64) for f in FEATURES}
    branches["w"] = w_sm
    branches[WEIGHT_VECTOR] = weights
    with atomic_path(paths["root"]) as temporary, uproot.recreate(temporary) as file:
        tree = file.mktree("Events", {b: (np.dtype((np.float64, (weights.shape[1],)))
                                          if b == WEIGHT_VECTOR else a.dtype)
                                      for b, a in branches.items()})
        tree.extend(branches)
    point_lines = [f"{wid} = {{{', '.join(f'{op} = {c!r}' for op, c in point.items())}}}"
                   for wid, point in points.items()]
    map_text = "\n".join([
        "# Written by vaednn.simulate.write_reweighted: the events of "
        f"{paths['lhe'].name} as an ntuple.",
        "[sm]", f'file = "{paths["root"].name}"', 'tree = "Events"', 'weight = "w"',
        f"xsec = {SM_XSEC_PB!r}", f"features = {list(FEATURES)!r}".replace("'", '"'),
        f'weight_vector = "{WEIGHT_VECTOR}"',
        f"weight_ids = {list(points)!r}".replace("'", '"'), "", "[sm.points]",
        *point_lines]) + "\n"
    atomic_write_text(paths["map"], map_text)
    return paths
