"""Checks of ntuples against PHYSICS.md: SM medians, cross sections and ratios, and the
generator's fidelity (:func:`physics_summary`), with the weighted statistics they use."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaednn.data import LUMINOSITY, VBS_CUTS, lumi_weights, read_sample
from vaednn.simulate.model import DEFAULT_OPERATORS, OPERATORS, SM_MEDIANS, SQRT_S_GEV

__all__ = ["weighted_quantile", "SM_XSEC_AFTER_CUTS_FB", "deta_step_across_cut",
           "smoothness_chi2", "DETA_STEP_RANGE", "MJJ_SMOOTHNESS_MAX", "physics_summary"]

def weighted_quantile(values, weights, q):
    """Quantiles ``q`` of ``values`` with non-negative ``weights`` (midpoint rule).

    Each event's weight is centred on its value, so equal weights give ``np.median``:

    >>> float(weighted_quantile([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0], 0.5))
    2.5
    >>> round(float(weighted_quantile([1.0, 2.0, 3.0], [1.0, 1.0, 2.0], 0.5)), 4)  # 2 + 1/3
    2.3333
    """
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    if np.any(weights < 0):
        raise ValueError("weighted_quantile needs non-negative weights")
    order = np.argsort(values)
    values, weights = values[order], weights[order]
    cdf = (np.cumsum(weights) - weights / 2) / weights.sum()
    return np.interp(q, cdf, values)


#: After-cut SM cross section range, fb [E].
SM_XSEC_AFTER_CUTS_FB = (3.5, 4.0)


def deta_step_across_cut(deltaetajj, weights, cut: float = 2.0, width: float = 0.25) -> float:
    """Density of Δηjj just below ``cut`` over the density just above it (1: smooth).

    The two windows are ``[cut - width, cut)`` and ``[cut, cut + width)``, weighted.

    >>> deta_step_across_cut([1.8, 1.9, 2.1], [1.0, 1.0, 1.0])
    2.0
    """
    values, weights = np.asarray(deltaetajj, float), np.asarray(weights, float)
    below = weights[(values >= cut - width) & (values < cut)].sum()
    above = weights[(values >= cut) & (values < cut + width)].sum()
    if above <= 0:
        raise ValueError(f"no events with {cut} <= deltaetajj < {cut + width}")
    return float(below / above)


def smoothness_chi2(values, weights, low: float = 150.0, high: float = 600.0,
                    bins: int = 40, degree: int = 3) -> float:
    """χ²/ndf of a polynomial of ``degree`` in ln x fitted to the ln of a weighted histogram.

    A kink or a step inside ``[low, high]`` (log-spaced bins) leaves residuals a smooth
    polynomial cannot absorb: χ²/ndf well above 1. Errors are from Σw².
    """
    values, weights = np.asarray(values, float), np.asarray(weights, float)
    edges = np.geomspace(low, high, bins + 1)
    sumw, _ = np.histogram(values, edges, weights=weights)
    sumw2, _ = np.histogram(values, edges, weights=weights**2)
    if np.any(sumw <= 0):
        raise ValueError(f"empty bins between {low} and {high}: too few events for the check")
    x = np.log(np.sqrt(edges[1:] * edges[:-1]))
    y, sigma = np.log(sumw), np.sqrt(sumw2) / sumw
    residual = y - np.polyval(np.polyfit(x, y, degree, w=1 / sigma), x)
    return float(np.sum((residual / sigma) ** 2) / (bins - degree - 1))


#: Limits of the fidelity checks [E]: the Δηjj density may change by less than a third
#: across the cut, and a cubic in ln mjj must describe the uncut mjj density near the cuts.
DETA_STEP_RANGE = (2 / 3, 4 / 3)
MJJ_SMOOTHNESS_MAX = 2.0


def physics_summary(directory, operators=DEFAULT_OPERATORS, process: str = "SSWW",
                    tolerance: float = 0.15) -> dict[str, pd.DataFrame]:
    """Compare ntuples with PHYSICS.md: one row per check, with a pass column.

    Checks: each SM median after the VBS cuts within ``tolerance`` of ``SM_MEDIANS`` [C];
    the SM cross section after the cuts within 3.5–4 fb [E]; per operator, σ_LIN/σ_SM and
    σ_QUAD/σ_SM (from the ``_nums`` histograms, generator level) within
    ``Operator.lin_range`` / ``quad_range``. An operator missing from ``OPERATORS`` (real
    ntuples may hold others) gets its ratios with no reference and ``passed`` left empty.
    Generator fidelity, before the VBS cuts: mjj and mll of every sample below √s; the
    SM's Δηjj density across the cut at 2 (:func:`deta_step_across_cut`, within
    ``DETA_STEP_RANGE``); the SM's mjj density smooth through the cut at 200 GeV
    (:func:`smoothness_chi2` over 150–600 GeV, at most ``MJJ_SMOOTHNESS_MAX``).

    Args:
        directory: where ``write_ntuples`` wrote the files, real ntuples, or a sample map.
        operators: which operators to check.
        process: the process tag in file names.
        tolerance: relative tolerance of the SM medians.

    Returns:
        ``{"SM after the VBS cuts": frame, "cross-section ratios at c = 1": frame,
        "generator fidelity before the cuts": frame}``, each with columns ``check``, ``sample``, ``value``, ``low``, ``high``, ``target``,
        ``source``, ``passed``.
    """
    columns = ["check", "sample", "value", "low", "high", "target", "source"]
    sm = read_sample(directory, "SM", process=process, cuts=VBS_CUTS)
    weights = lumi_weights(sm)
    sm_rows = [("median " + var, "SM", float(weighted_quantile(sm.features[var], weights, 0.5)),
                target * (1 - tolerance), target * (1 + tolerance), target, "C")
               for var, target in SM_MEDIANS.items()]
    sm_rows.append(("sigma after VBS cuts (fb)", "SM", weights.sum() / LUMINOSITY,
                    *SM_XSEC_AFTER_CUTS_FB, float(np.mean(SM_XSEC_AFTER_CUTS_FB)), "E"))
    uncut = read_sample(directory, "SM", process=process, cuts=None)
    uncut_weights = lumi_weights(uncut)
    fidelity_rows = [
        ("density ratio deltaetajj [1.75, 2) / [2, 2.25)", "SM",
         deta_step_across_cut(uncut.features["deltaetajj"], uncut_weights),
         *DETA_STEP_RANGE, 1.0, "E"),
        ("chi2/ndf of a cubic in ln mjj, 150-600 GeV", "SM",
         smoothness_chi2(uncut.features["mjj"], uncut_weights), 0.0, MJJ_SMOOTHNESS_MAX, 1.0,
         "E")]

    def mass_rows(sample, label):
        return [(f"max {var} (GeV)", label, float(sample.features[var].max()), 0.0,
                 SQRT_S_GEV, np.nan, "E") for var in ("mjj", "mll")]

    fidelity_rows += mass_rows(uncut, "SM")
    ratio_rows = []
    for name in operators:
        op = OPERATORS.get(name)
        for component in ("LIN", "QUAD"):
            sample = read_sample(directory, component, name, process, cuts=None)
            fidelity_rows += mass_rows(sample, f"{name} {component}")
            xsec = sample.xsec
            if op is None:
                reference = (np.nan, np.nan, np.nan, "none")
            elif component == "LIN":
                reference = (*op.lin_range, op.lin_ratio, op.source[0])
            else:
                reference = (*op.quad_range, op.quad_ratio, op.source[1])
            ratio_rows.append((f"sigma_{component}/sigma_SM", name, xsec / sm.xsec, *reference))
    tables = {}
    for title, rows in (("SM after the VBS cuts", sm_rows),
                        ("cross-section ratios at c = 1", ratio_rows),
                        ("generator fidelity before the cuts", fidelity_rows)):
        frame = pd.DataFrame(rows, columns=columns)
        passed = (frame["value"] >= frame["low"]) & (frame["value"] <= frame["high"])
        frame["passed"] = passed.astype("boolean").mask(frame["low"].isna())
        tables[title] = frame
    return tables
