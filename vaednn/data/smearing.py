"""Detector smearing for the smearing study: nominal resolutions and seeded smearing of
the features."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vaednn.data.samples import FEATURES, LOG_FEATURES

__all__ = ["DETECTOR_RESOLUTION", "jet_pt_resolution", "resolutions", "smear"]

#: Nominal detector resolutions for the smearing study (PHYSICS.md [E]). Jet pT:
#: σ/pT = a/√(pT/GeV) ⊕ c, i.e. 12.5% at 50 GeV falling to 5% at 500 GeV; lepton pT: 2%;
#: η and φ: absolute, jets 0.03, leptons 0.01; MET: 25 GeV, absolute.
DETECTOR_RESOLUTION = {"jet_pt_stochastic": 0.853, "jet_pt_constant": 0.032,
                       "lepton_pt": 0.02, "jet_angle": 0.03, "lepton_angle": 0.01,
                       "met_gev": 25.0}


def jet_pt_resolution(pt, resolution=DETECTOR_RESOLUTION):
    """Relative jet pT resolution σ/pT at ``pt`` (GeV).

    >>> [round(float(jet_pt_resolution(pt)), 3) for pt in (50.0, 500.0)]
    [0.125, 0.05]
    """
    return np.hypot(resolution["jet_pt_stochastic"] / np.sqrt(pt), resolution["jet_pt_constant"])


def resolutions(features: pd.DataFrame, resolution=DETECTOR_RESOLUTION) -> pd.DataFrame:
    """Absolute Gaussian resolution σ of every feature of every event.

    Absolute for η, φ and MET; relative for pT and masses. A difference of two angles
    gets √2 times one angle's resolution; a pair mass ``m² ∝ p1 p2`` gets half the
    quadrature sum of its two pT resolutions (the angles' share is neglected).

    Raises:
        ValueError: a column that is not one of :data:`FEATURES`, or a feature a
            resolution needs (``ptj1``, ``ptj2`` for ``mjj``) is missing.
    """
    unknown = [c for c in features.columns if c not in FEATURES]
    if unknown:
        raise ValueError(f"no detector resolution for column(s) {unknown}; known: {FEATURES}")
    r = resolution
    sigma = {}
    for name in features.columns:
        x = features[name].to_numpy(np.float64)
        if name in ("etaj1", "etaj2"):
            sigma[name] = np.full(len(x), r["jet_angle"])
        elif name in ("etal1", "etal2"):
            sigma[name] = np.full(len(x), r["lepton_angle"])
        elif name in ("deltaetajj", "deltaphijj"):
            sigma[name] = np.full(len(x), np.sqrt(2) * r["jet_angle"])
        elif name == "met":
            sigma[name] = np.full(len(x), r["met_gev"])
        elif name in ("ptj1", "ptj2"):
            sigma[name] = x * jet_pt_resolution(x, r)
        elif name in ("ptl1", "ptl2", "ptll"):
            sigma[name] = x * r["lepton_pt"]
        elif name == "mll":
            sigma[name] = x * r["lepton_pt"] / np.sqrt(2)
        else:  # mjj
            missing = [c for c in ("ptj1", "ptj2") if c not in features]
            if missing:
                raise ValueError(f"the mjj resolution needs the jet pT; missing {missing}")
            relative = np.hypot(jet_pt_resolution(features["ptj1"].to_numpy(np.float64), r),
                                jet_pt_resolution(features["ptj2"].to_numpy(np.float64), r))
            sigma[name] = x * relative / 2
    return pd.DataFrame(sigma, index=features.index)


def smear(features: pd.DataFrame, scale: float = 1.0, seed: int = 0,
          resolution=DETECTOR_RESOLUTION) -> pd.DataFrame:
    """Gaussian detector smearing with ``scale`` times the nominal resolutions.

    The resolutions are :func:`resolutions`: absolute in η, φ and MET, relative in pT and
    masses (PHYSICS.md). A measured quantity keeps its range: ``deltaetajj`` is the
    magnitude of the smeared difference, ``deltaphijj`` is folded back into [0, π], and a
    positive quantity (the :data:`LOG_FEATURES`) takes a Gaussian truncated at zero
    (draws that would make it non-positive are drawn again). Weights are not touched:
    pass the sample's weights along unchanged.

    Args:
        features: events, columns a subset of :data:`FEATURES`.
        scale: multiple of the nominal resolution (0: no smearing, 1: nominal, 2: twice).
        seed: seed of the noise.
        resolution: the resolution parameters (default :data:`DETECTOR_RESOLUTION`).

    Raises:
        ValueError: a negative ``scale`` or a column without a resolution.
    """
    if scale < 0:
        raise ValueError(f"smearing scale must be >= 0 (a multiple of the resolution), got {scale}")
    sigma = resolutions(features, resolution) * scale
    rng = np.random.default_rng(seed)
    out = features.copy()
    for name in features.columns:
        values = features[name].to_numpy(np.float64)
        width = sigma[name].to_numpy()
        smeared = values + width * rng.standard_normal(len(values))
        if name in LOG_FEATURES:
            bad = smeared <= 0
            while bad.any():
                smeared[bad] = values[bad] + width[bad] * rng.standard_normal(int(bad.sum()))
                bad = smeared <= 0
        elif name == "deltaetajj":
            smeared = np.abs(smeared)
        elif name == "deltaphijj":
            smeared = np.abs(np.angle(np.exp(1j * smeared)))
        out[name] = smeared
    return out

