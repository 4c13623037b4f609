"""Physics-motivated stand-ins for the SSWW SM, LIN and QUAD ntuples.

The MadGraph ntuples of the original analysis cannot be downloaded here, so this module
generates samples that behave like them and writes them in exactly their on-disk format
(see ``vaednn.data``): ``ntuple_SSWW_SM.root`` with TTree ``SSWW_SM``, and per operator
``ntuple_SSWW_<op>_LI.root`` / ``ntuple_SSWW_<op>_QU.root``, each with a ``<tree>_nums``
histogram (bin 1 = cross section in pb, bin 2 = sum of the generator weights ``w``), and a
string ``VERSION_KEY`` holding ``GENERATOR_VERSION`` (:func:`stale_files` finds data an older
generator wrote; ``python -m vaednn.simulate --check DIR`` asks it from a Makefile).

How an event is built
    Every event is a set of massless four-vectors: two tag jets, two same-sign leptons and
    two neutrinos, with the total transverse momentum exactly zero (leading order).

    1. Jets: ``log pT`` of the two jets is a correlated bivariate normal; the larger is
       ``ptj1``. Their pseudorapidities sit at ``centre ± Δη/2`` (``Δη`` normal, ``centre``
       normal around 0), so they are forward-backward with a large gap; which of the two is
       forward is a coin flip. ``φ_j1`` is uniform, and the azimuthal opening
       ``Δφ`` follows ``1 - κ cos Δφ`` (back-to-back favoured).
    2. The W pair recoils against the jets: ``pT(WW) = -(pT(j1) + pT(j2))``. Its mass is
       ``m_W1 + m_W2 + X`` with ``X`` lognormal, correlated with the jets' ``log pT``;
       its rapidity is near the jets' centre; the W masses are Breit-Wigner.
    3. WW -> W W is a two-body decay in the WW rest frame, isotropic for the SM (an EFT
       sample may favour central W's, ``ww_central``); W -> l ν has a small helicity-like
       asymmetry about the W's flight direction (``lep_backward``). Both are boosted to
       the lab.
    4. Every branch is derived from these four-vectors: ``mjj``, ``mll`` and ``ptll`` from
       the sums, ``deltaphijj`` folded into [0, π], ``met = |pT(ν1 + ν2)|`` (which equals
       ``|pT(j1 + j2 + l1 + l2)|``). Leading/subleading ordering is by pT.
    5. A share ``central_frac`` of events stands for the non-VBS topologies (jets close in
       η, Δηjj a half-normal of width ``central_deta_sigma``): generated, written, and
       mostly removed by the VBS cuts. The half-normal keeps the Δηjj and mjj densities
       smooth through the cut values; the cuts select, they do not shape the generator.
    6. Parton luminosities vanish as the final state's mass √ŝ (``mhat``: jets, leptons
       and neutrinos) approaches √s = 13 TeV: an event is kept with probability
       ``(1 - ŝ/s)^lumi_power`` [E], so no event is heavier than √s and mjj above
       ~7 TeV is very rare.
    7. Events outside the generator-level acceptance ``GENERATOR_CUTS`` are regenerated.

Numbers and their sources (tags as in PHYSICS.md: [P] Bellan et al., arXiv:2108.03199,
[G] its MadGraph/SMEFTsim set-up, [C] a public CMS W±W±jj ntuple after the VBS cuts,
[S] sourced, [D] derived, [E] estimate, [F] fitted here to [C]):

- ``SM_XSEC_PB = 0.0055``: SM e±μ± generator-level cross section, 5.5 fb [S].
- ``GENERATOR_CUTS``: ptj > 20 GeV, |ηj| < 5, mjj > 100 GeV, ptl > 10 GeV, |ηl| < 2.5,
  the usual MadGraph VBS run-card values [E]. Their VBS-cut efficiency comes out
  ≈ 0.69, i.e. 3.8 fb after the cuts, inside the 3.5–4 fb of PHYSICS.md [E].
- ``SM_PARAMETERS``: the shape parameters of steps 1–6, fitted [F] (Nelder-Mead on the
  log-quantile residuals, then touched up by hand) to the SM p10–p90 quantiles, the log
  correlations, median |η_j1|, |η_l1| and opposite-hemisphere share of PHYSICS.md [C], and
  ``central_frac`` to the VBS-cut efficiency; ``deta_mu``, ``ptj1_mu`` were raised by hand
  when the √ŝ fall-off (step 6) was added (generator version 2). With 200k SM events the
  SM medians after the cuts land within 9% of PHYSICS.md (ptl1 +8%, mll −8% the furthest);
  lognormal tails fall faster than the x^-3 power laws of [C] beyond p90.
  ``physics_summary`` prints the comparison.
- ``OPERATORS``: σ_LIN/σ_SM and σ_QUAD/σ_SM at c = 1, Λ = 1 TeV, a value inside each
  PHYSICS.md range (its tag is in ``Operator.source``), the 1σ intervals [P], the classes.
- Energy growth [E]: LIN ∝ E²/Λ², QUAD ∝ E⁴/Λ⁴. Following PHYSICS.md's sampling advice,
  LIN and QUAD are sampled from *tilted* densities, not by reweighting the sparse SM tail:
  multiplying a lognormal (μ, σ) by Xⁿ moves μ to μ + nσ². Each operator has a log-median
  shift for LIN (``Operator.growth_ww`` of the m_WW excess over 2 m_W, ``growth_jets`` of
  the jets' pT); QUAD gets twice the shift (E⁴ = (E²)²). The values are chosen [F] so that,
  after the VBS cuts and weighting LIN by ``|w|``, the medians of the energy variables sit
  where PHYSICS.md puts them (QUAD ~2–3× the SM's, LIN ~1.5–2×):

  - cW (E = m_WW; transverse W's): a large m_WW shift, central W's in the WW frame
    (``ww_central = 1``) and leptons slightly forward along their W (``lep_backward < 0``),
    so the leptons take the energy: QUAD/SM medians ≈ 2.8 (mll), 2.7 (ptl1), 2.0 (ptll),
    2.4 (m_WW); LIN ≈ 1.7, 1.7, 1.4, 1.45. The recoiling jets harden too (QUAD ≈ 1.7×),
    since a heavier WW pair needs harder emissions. m_WW grows less than mll because of its
    fixed 2 m_W part; ptll least, because the two leptons' pT partly cancel.
  - Four-quark (cqq3, cqq31, cqq1, cqq11; E = the quark pair's energy): the jets' pT,
    with slightly more central jets: QUAD ≈ 2.7 (ptj1, ptj2), 2.4 (mjj); LIN ≈ 1.6, 1.5.
  - cHq3 ("medium"): the jets' pT, at the low end: QUAD ≈ 2.0, LIN ≈ 1.4 (ptj1, ptj2, mjj).
  - Weak and invisible operators (cHq1, cHW, cHWB, cHbox, cHDD): small shifts, medians
    within a few percent of the SM's.
- Interference signs [D/E]: a LIN sample is drawn from |dσ_LIN| and each event carries the
  sign of the interference, ``g(Δφjj) = s0 + a cos 2Δφjj`` (``Operator.lin_dphi`` = a), so
  cW's LIN integrates to ≈ 0 but modulates Δφjj.
- Rate-only operators (cHl3, cll1): LIN and QUAD are the SM generator itself with another
  seed; only the weights (and so the rate) differ [D].

Weights and cross sections
    ``n_events`` / ``n_bsm`` count the events *written*, all of which pass the generator
    cuts; the VBS cuts are left to the reader. Weights are in pb per event, like MadGraph's
    LHE weights: SM and QUAD events all carry ``+xsec / N``; LIN events carry
    ``±|w|`` with one magnitude, the sign of the interference. The ``_nums`` cross section is
    the *signed* σ_LIN, and the weights are scaled so that their sum equals it, so
    ``sum(w * xsec / sumw)`` is σ (signed) for every sample and ``xsec / sumw`` is 1.
"""

from __future__ import annotations

import contextlib
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import uproot

from vaednn.data import FEATURES, LUMINOSITY, VBS_CUTS, lumi_weights, ntuple_path, read_sample
from vaednn.files import atomic_path, atomic_write_text, check_folder

__all__ = [
    "DEFAULT_OPERATORS", "GENERATOR_CUTS", "GENERATOR_VERSION", "OPERATORS", "Operator",
    "SM_MEDIANS", "SM_PARAMETERS", "SM_XSEC_PB", "SQRT_S_GEV", "VERSION_KEY", "generate",
    "deta_step_across_cut", "generator_version", "physics_summary", "smoothness_chi2",
    "stale_files", "weighted_quantile", "write_ntuples", "REWEIGHTED_STEM", "WEIGHT_VECTOR",
    "reweighted_paths", "reweighting_factors", "reweighting_points", "write_reweighted",
]

SM_XSEC_PB = 0.0055
#: Bumped whenever the generated events change; stamped into every file (``VERSION_KEY``)
#: so that data written by an older generator is recognised as stale.
GENERATOR_VERSION = 2
VERSION_KEY = "vaednn_generator_version"
#: The LHC's centre-of-mass energy: no final state is heavier.
SQRT_S_GEV = 13_000.0
W_MASS, W_WIDTH = 80.379, 2.085

GENERATOR_CUTS = {"ptj_min": 20.0, "etaj_max": 5.0, "mjj_min": 100.0,
                  "ptl_min": 10.0, "etal_max": 2.5}

#: SM medians after the VBS cuts [C] (PHYSICS.md), GeV except Δηjj.
SM_MEDIANS = {"mjj": 1060.0, "deltaetajj": 4.2, "ptj1": 165.0, "ptj2": 85.0, "ptl1": 80.0,
              "ptl2": 36.0, "mll": 111.0, "met": 78.0, "ptll": 79.0}

#: Shape parameters of the SM generator, fitted [F] to PHYSICS.md's [C] quantiles.
SM_PARAMETERS = {
    "ptj1_mu": 4.990,  # mean of log pT (GeV) of the harder-drawn jet (before ordering)
    "ptj1_sigma": 0.596,  # its spread
    "ptj2_mu": 4.551,  # the same for the other jet
    "ptj2_sigma": 0.567,
    "ptj_rho": 0.359,  # correlation of the two jets' log pT
    "deta_mu": 4.300,  # mean of Δηjj
    "deta_sigma": 1.431,  # spread of Δηjj
    "centre_sigma": 0.742,  # spread of the jets' mean η
    "dphi_kappa": 0.900,  # back-to-back preference of Δφjj
    "mww_mu": 4.607,  # mean of log(m_WW - m_W1 - m_W2) (GeV)
    "mww_sigma": 0.858,  # its spread
    "mww_rho": 0.311,  # correlation of the excess with the jets' log pT
    "yww_sigma": 0.614,  # spread of the WW rapidity around the jets' centre
    "central_frac": 0.260,  # share of non-VBS topologies, jets close in η (mostly fail the cuts)
    "central_deta_sigma": 1.0,  # their Δηjj: half-normal of this width, smooth through Δηjj = 2
    "lumi_power": 3.0,  # parton-luminosity fall-off (1 - ŝ/s)^b of the final state's mass
    "lep_backward": 0.050,  # signed transverse share of W -> l ν (> 0: leptons backwards)
    "ww_central": 0.0,  # W polar angle in the WW frame ∝ 1 - c cos²θ* (SM: isotropic)
}

#: ``mhat`` is √ŝ, the mass of the whole final state (two jets, two leptons, two neutrinos).
EXTRA_BRANCHES = ("phij1", "phij2", "phil1", "phil2", "metphi", "mww", "mhat")
BRANCHES = tuple(FEATURES) + EXTRA_BRANCHES
#: The default data set: SM events, and events per LIN and per QUAD sample. Sized so that
#: ``make figures`` (every model, 5 seeds) runs in under 12 minutes on 2 CPU cores.
DEFAULT_EVENTS = 100_000
DEFAULT_BSM_EVENTS = 50_000
#: Events per basket of every written branch (about 400 kB of float32).
BASKET_EVENTS = 100_000


@dataclass(frozen=True)
class Operator:
    """One dimension-6 operator: its rates at c = 1, Λ = 1 TeV, and how it shapes events.

    Attributes:
        name: SMEFTsim name, e.g. ``"cW"``.
        kind: PHYSICS.md's class ("easy", "medium", "rate only", "weak", "invisible").
        lin_ratio: σ_LIN/σ_SM at generator level (signed).
        quad_ratio: σ_QUAD/σ_SM at generator level.
        lin_range: the PHYSICS.md range ``lin_ratio`` must lie in.
        quad_range: the PHYSICS.md range ``quad_ratio`` must lie in.
        source: tags of the two ratios, LIN then QUAD.
        interval: expected 1σ interval on c, LIN+QUAD, 100 fb⁻¹ [P].
        growth_ww: LIN log-median shift of m_WW (QUAD: twice).
        growth_jets: LIN log-median shift of the jets' pT (QUAD: twice).
        deta_shift: LIN shift of the mean Δηjj (QUAD: twice); negative = more central jets.
        lin_dphi: amplitude ``a`` of the interference sign ``s0 + a cos 2Δφjj``.
        lin_offset: ``|s0|``; small against ``a`` when LIN integrates to almost nothing.
        lep_backward: W polarisation of the LIN and QUAD samples, as
            ``SM_PARAMETERS["lep_backward"]`` (``None``: the SM's).
        ww_central: ``c`` of the W polar angle ``1 - c cos²θ*`` in the WW rest frame of the
            LIN and QUAD samples (0: isotropic, as the SM).
    """

    name: str
    kind: str
    lin_ratio: float
    quad_ratio: float
    lin_range: tuple[float, float]
    quad_range: tuple[float, float]
    source: tuple[str, str]
    interval: tuple[float, float]
    growth_ww: float = 0.0
    growth_jets: float = 0.0
    deta_shift: float = 0.0
    lin_dphi: float = 0.0
    lin_offset: float = 1.0
    lep_backward: float | None = None
    ww_central: float = 0.0

    @property
    def decay_parameters(self) -> dict[str, float]:
        """The ``SM_PARAMETERS`` entries this operator's LIN and QUAD samples override."""
        out = {"ww_central": self.ww_central}
        if self.lep_backward is not None:
            out["lep_backward"] = self.lep_backward
        return out

    @property
    def lin_sign(self) -> tuple[float, float]:
        """``(s0, a)`` of the interference sign ``s0 + a cos 2Δφjj``; s0 has σ_LIN's sign."""
        return float(np.sign(self.lin_ratio)) * self.lin_offset, self.lin_dphi


def _op(name, kind, lin, quad, lin_range, quad_range, source, interval, **shape):
    return name, Operator(name, kind, lin, quad, lin_range, quad_range, source, interval, **shape)


#: Every operator of PHYSICS.md. Ratios: a value inside the stated range; point values
#: ("≈ x", [S], [D]) get a ±20% range.
OPERATORS: dict[str, Operator] = dict([
    _op("cqq3", "easy", -1.0, 25.0, (-1.2, -0.8), (15.0, 45.0), ("D", "E"),
        (-0.039, 0.044), growth_ww=0.25, growth_jets=0.5, deta_shift=-0.15),
    _op("cqq31", "easy", -0.9, 18.0, (-1.08, -0.72), (10.0, 30.0), ("D", "E"),
        (-0.044, 0.061), growth_ww=0.2, growth_jets=0.5, deta_shift=-0.15, lin_dphi=0.5),
    _op("cqq11", "easy", -0.27, 1.0, (-0.324, -0.216), (0.5, 2.0), ("D", "E"),
        (-0.146, 0.276), growth_ww=0.15, growth_jets=0.5, deta_shift=-0.15, lin_dphi=0.5),
    _op("cqq1", "easy", -0.24, 1.0, (-0.288, -0.192), (0.5, 2.0), ("D", "E"),
        (-0.151, 0.267), growth_ww=0.15, growth_jets=0.5, deta_shift=-0.15),
    _op("cHl3", "rate only", -0.485, 0.06, (-0.582, -0.388), (0.048, 0.072), ("D", "D"),
        (-0.153, 0.151)),
    _op("cll1", "rate only", 0.36, 0.033, (0.288, 0.432), (0.0264, 0.0396), ("D", "D"),
        (-0.201, 0.204)),
    _op("cW", "easy", 0.031, 0.77, (0.0248, 0.0372), (0.616, 0.924), ("S", "S"),
        (-0.202, 0.202), growth_ww=0.76, growth_jets=0.28, lin_dphi=1.0, lin_offset=0.1,
        lep_backward=-0.15, ww_central=1.0),
    _op("cHq3", "medium", 0.3, 0.05, (0.25, 0.35), (0.04, 0.06), ("D/E", "D"),
        (-0.218, 0.206), growth_ww=0.1, growth_jets=0.36, lin_dphi=1.3),
    _op("cHq1", "weak", 0.007, 0.03, (0.0056, 0.0084), (0.02, 0.05), ("E", "E"),
        (-1.28, 1.18), growth_ww=0.05, growth_jets=0.15, lin_dphi=0.3),
    _op("cHW", "weak", 0.02, 0.02, (0.016, 0.024), (0.016, 0.024), ("E", "E"),
        (-2.07, 1.76), growth_ww=0.15, lin_dphi=0.5),
    _op("cHWB", "invisible", -0.013, 0.002, (-0.0156, -0.0104), (0.0016, 0.0024), ("E", "E"),
        (-5.26, 6.60), growth_ww=0.05, growth_jets=0.05),
    _op("cHbox", "invisible", -0.006, 0.002, (-0.0072, -0.0048), (0.0016, 0.0024), ("E", "E"),
        (-5.41, 6.64), growth_ww=0.05),
    _op("cHDD", "invisible", -0.013, 0.001, (-0.0156, -0.0104), (0.0008, 0.0012), ("E", "E"),
        (-5.42, 9.08), growth_ww=0.05),
])

#: Six operators spanning PHYSICS.md's classes: easy bosonic (cW), four-quark (cqq3, cqq1),
#: medium (cHq3), rate only (cHl3), invisible (cHbox).
DEFAULT_OPERATORS = ("cW", "cqq3", "cqq1", "cHq3", "cHl3", "cHbox")


# --------------------------------------------------------------------------- kinematics
def _boost(daughter: np.ndarray, parent: np.ndarray, parent_mass: np.ndarray) -> np.ndarray:
    """Boost four-vectors (E, px, py, pz) from the parent's rest frame to the lab."""
    e_star, p_star = daughter[:, 0], daughter[:, 1:]
    p_parent = parent[:, 1:]
    e_lab = (parent[:, 0] * e_star + np.einsum("ij,ij->i", p_parent, p_star)) / parent_mass
    scale = (e_lab + e_star) / (parent[:, 0] + parent_mass)
    return np.column_stack([e_lab, p_star + p_parent * scale[:, None]])


def _two_body(rng, parent, m_parent, m1, m2, central=0.0):
    """Decay of ``parent`` into masses m1, m2; returns both lab four-vectors.

    The polar angle θ* of the first daughter about the z axis, in the parent's rest frame,
    follows ``1 - central cos²θ*``: isotropic for 0, central (high-pT daughters) for 1.
    """
    n = len(m_parent)
    p = np.sqrt(np.maximum((m_parent**2 - (m1 + m2) ** 2) * (m_parent**2 - (m1 - m2) ** 2), 0)
                ) / (2 * m_parent)
    if central:
        grid = np.linspace(-1, 1, 1025)
        cos_t = _inverse_cdf(rng, n, grid, 1 - central * grid**2)
    else:
        cos_t = rng.uniform(-1, 1, n)
    sin_t = np.sqrt(1 - cos_t**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    direction = np.column_stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t])
    d1 = np.column_stack([np.sqrt(p**2 + m1**2), p[:, None] * direction])
    d2 = np.column_stack([np.sqrt(p**2 + m2**2), -p[:, None] * direction])
    return _boost(d1, parent, m_parent), _boost(d2, parent, m_parent)


def _lepton_decay(rng, w, m_w, backward):
    """W -> l ν in the W rest frame, the lepton's polar angle measured from the W's flight.

    ``cos θ*`` follows ``|b| (3/8)(1 - sign(b) cos θ*)² + (1 - |b|) / 2`` with
    ``b = backward``: a transverse share ``|b|`` sends the lepton backwards (b > 0: softer
    leptons, harder met) or forwards (b < 0), as W helicities -1 and +1 do.
    """
    n = len(m_w)
    grid = np.linspace(-1, 1, 1025)
    density = abs(backward) * 0.375 * (1 - np.sign(backward) * grid) ** 2 + (1 - abs(backward)) / 2
    cos_t = _inverse_cdf(rng, n, grid, density)
    sin_t = np.sqrt(1 - cos_t**2)
    phi = rng.uniform(-np.pi, np.pi, n)
    axis = w[:, 1:] / np.linalg.norm(w[:, 1:], axis=1, keepdims=True)
    # any unit vector perpendicular to the axis; the azimuth around it is uniform anyway
    helper = np.where(np.abs(axis[:, 2:3]) < 0.9, [[0.0, 0.0, 1.0]], [[1.0, 0.0, 0.0]])
    e1 = np.cross(axis, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(axis, e1)
    direction = (cos_t[:, None] * axis + (sin_t * np.cos(phi))[:, None] * e1
                 + (sin_t * np.sin(phi))[:, None] * e2)
    p = (m_w / 2)[:, None] * direction
    lepton = np.column_stack([m_w / 2, p])
    neutrino = np.column_stack([m_w / 2, -p])
    return _boost(lepton, w, m_w), _boost(neutrino, w, m_w)


def _massless(pt, eta, phi):
    return np.column_stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi),
                            pt * np.sinh(eta)])


def _pt(v):
    return np.hypot(v[:, 1], v[:, 2])


def _eta(v):
    return np.arcsinh(v[:, 3] / _pt(v))


def _mass(v):
    return np.sqrt(np.maximum(v[:, 0] ** 2 - v[:, 1] ** 2 - v[:, 2] ** 2 - v[:, 3] ** 2, 0))


def _inverse_cdf(rng, n, grid, density):
    """``n`` draws from a 1-D density tabulated on ``grid`` (trapezoidal inverse CDF)."""
    cdf = np.concatenate([[0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return np.interp(rng.uniform(0, cdf[-1], n), cdf, grid)


def _sample_dphi(rng, n, kappa, lin_sign=None):
    """Signed Δφjj from ``1 - κ cos Δφ`` (times ``|g|`` for a LIN sample).

    ``lin_sign = (s0, a)`` multiplies the density by ``|s0 + a cos 2Δφ|``; the sign of
    ``s0 + a cos 2Δφ`` is returned alongside (``None`` when ``lin_sign`` is ``None``).
    """
    grid = np.linspace(0, np.pi, 4097)
    density = 1 - kappa * np.cos(grid)
    if lin_sign is not None:
        density = density * np.abs(lin_sign[0] + lin_sign[1] * np.cos(2 * grid))
    dphi = _inverse_cdf(rng, n, grid, density)
    sign = None if lin_sign is None else np.sign(lin_sign[0] + lin_sign[1] * np.cos(2 * dphi))
    return dphi * rng.choice([-1.0, 1.0], n), sign


def _candidates(rng, n, par, shift_jets, shift_ww, deta_shift, lin_sign):
    """``n`` events before the generator cuts: a dict of branches (and the LIN sign)."""
    z = rng.standard_normal((n, 3))
    rho = par["ptj_rho"]
    ua = z[:, 0]
    ub = rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]
    log_pta = par["ptj1_mu"] + shift_jets + par["ptj1_sigma"] * ua
    log_ptb = par["ptj2_mu"] + shift_jets + par["ptj2_sigma"] * ub
    pt1, pt2 = np.exp(np.maximum(log_pta, log_ptb)), np.exp(np.minimum(log_pta, log_ptb))
    deta = par["deta_mu"] + deta_shift + par["deta_sigma"] * rng.standard_normal(n)
    central = rng.uniform(size=n) < par["central_frac"]
    deta[central] = np.abs(par["central_deta_sigma"] * rng.standard_normal(int(central.sum())))
    centre = par["centre_sigma"] * rng.standard_normal(n)
    forward = rng.choice([-1.0, 1.0], n)  # +1: the leading jet is the forward one
    eta1, eta2 = centre + forward * deta / 2, centre - forward * deta / 2
    phi1 = rng.uniform(-np.pi, np.pi, n)
    dphi, sign = _sample_dphi(rng, n, par["dphi_kappa"], lin_sign)
    phi2 = np.angle(np.exp(1j * (phi1 + dphi)))
    j1, j2 = _massless(pt1, eta1, phi1), _massless(pt2, eta2, phi2)

    mw1 = _breit_wigner(rng, n)
    mw2 = _breit_wigner(rng, n)
    u_ww = par["mww_rho"] * (ua + ub) / np.sqrt(2 + 2 * rho) + np.sqrt(
        1 - par["mww_rho"] ** 2) * z[:, 2]
    mww = mw1 + mw2 + np.exp(par["mww_mu"] + shift_ww + par["mww_sigma"] * u_ww)
    px, py = -(j1[:, 1] + j2[:, 1]), -(j1[:, 2] + j2[:, 2])
    mt = np.sqrt(mww**2 + px**2 + py**2)
    y = centre + par["yww_sigma"] * rng.standard_normal(n)
    ww = np.column_stack([mt * np.cosh(y), px, py, mt * np.sinh(y)])
    w1, w2 = _two_body(rng, ww, mww, mw1, mw2, par["ww_central"])
    l1, v1 = _lepton_decay(rng, w1, mw1, par["lep_backward"])
    l2, v2 = _lepton_decay(rng, w2, mw2, par["lep_backward"])
    branches = _branches(j1, j2, l1, l2, v1 + v2, mww)
    branches["mhat"] = _mass(j1 + j2 + ww)
    return branches, sign


def _breit_wigner(rng, n, half_window=15.0):
    """W masses from a Breit-Wigner truncated to ``m_W ± half_window`` GeV."""
    edge = np.arctan(2 * half_window / W_WIDTH)
    return W_MASS + W_WIDTH / 2 * np.tan(rng.uniform(-edge, edge, n))


def _branches(j1, j2, l1, l2, nunu, mww):
    """Every branch, derived from the four-vectors (re-ordering leading/subleading)."""
    out = {}
    for kind, (a, b) in {"j": (j1, j2), "l": (l1, l2)}.items():
        swap = _pt(b) > _pt(a)
        lead, sub = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
        for tag, v in (("1", lead), ("2", sub)):
            out[f"pt{kind}{tag}"] = _pt(v)
            out[f"eta{kind}{tag}"] = _eta(v)
            out[f"phi{kind}{tag}"] = np.arctan2(v[:, 2], v[:, 1])
        pair = lead + sub
        out[f"m{kind}{kind}"] = _mass(pair)
        if kind == "l":
            out["ptll"] = _pt(pair)
    out["deltaetajj"] = np.abs(out["etaj1"] - out["etaj2"])
    out["deltaphijj"] = np.abs(np.angle(np.exp(1j * (out["phij1"] - out["phij2"]))))
    out["met"] = _pt(nunu)
    out["metphi"] = np.arctan2(nunu[:, 2], nunu[:, 1])
    out["mww"] = mww
    return out


def _parton_acceptance(mhat, power):
    """``(1 - ŝ/s)^power``: the parton luminosities vanish as √ŝ reaches √s (zero beyond)."""
    return np.clip(1 - (mhat / SQRT_S_GEV) ** 2, 0, 1) ** power


def _passes_generator_cuts(b):
    c = GENERATOR_CUTS
    return ((b["ptj2"] > c["ptj_min"]) & (np.abs(b["etaj1"]) < c["etaj_max"])
            & (np.abs(b["etaj2"]) < c["etaj_max"]) & (b["mjj"] > c["mjj_min"])
            & (b["ptl2"] > c["ptl_min"]) & (np.abs(b["etal1"]) < c["etal_max"])
            & (np.abs(b["etal2"]) < c["etal_max"]))


def generate(n, seed, shift_jets=0.0, shift_ww=0.0, deta_shift=0.0, lin_sign=None,
             parameters=None):
    """Generate ``n`` events passing the generator cuts.

    Args:
        n: number of events to return.
        seed: an int or a ``numpy.random.SeedSequence``.
        shift_jets: log-median shift of the jets' pT (the tilt of their lognormal).
        shift_ww: log-median shift of the m_WW excess.
        deta_shift: shift of the mean Δηjj.
        lin_sign: ``(s0, a)`` of the interference sign ``s0 + a cos 2Δφjj``, for LIN samples.
        parameters: SM shape parameters (default ``SM_PARAMETERS``).

    Returns:
        A DataFrame with the branches ``BRANCHES`` (float64), and, for a LIN sample, the
        interference sign of each event in a column ``sign``.

    >>> events = generate(1000, seed=3)
    >>> bool((events.ptj1 >= events.ptj2).all() and (events.ptl1 >= events.ptl2).all())
    True
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of events, got {n}")
    par = {**SM_PARAMETERS, **(parameters or {})}
    rng = np.random.default_rng(seed)
    chunks, signs, have = [], [], 0
    while have < n:
        batch = int(1.6 * (n - have)) + 100
        branches, sign = _candidates(rng, batch, par, shift_jets, shift_ww, deta_shift,
                                     lin_sign)
        keep = _passes_generator_cuts(branches) & (
            rng.uniform(size=batch) < _parton_acceptance(branches["mhat"], par["lumi_power"]))
        chunks.append({k: v[keep] for k, v in branches.items()})
        if sign is not None:
            signs.append(sign[keep])
        have += int(keep.sum())
    frame = pd.DataFrame({k: np.concatenate([c[k] for c in chunks])[:n] for k in BRANCHES})
    if signs:
        frame["sign"] = np.concatenate(signs)[:n]
    return frame


# ----------------------------------------------------------------------------- writing
def _child_seed(seed: int, name: str) -> np.random.SeedSequence:
    """A seed for one sample, keyed by its name: adding or reordering samples changes no other.

    This is what ``SeedSequence.spawn`` does with the child's index as ``spawn_key``; the
    name's CRC-32 replaces the index so the key does not depend on the operator list.
    """
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),))


def _sample(kind: str, op: Operator | None, n: int, seed: np.random.SeedSequence):
    """Events and weights (pb, summing to the sample's cross section) of one sample."""
    if kind == "SM":
        return generate(n, seed), np.full(n, SM_XSEC_PB / n), SM_XSEC_PB
    ratio = op.lin_ratio if kind == "LI" else op.quad_ratio
    xsec = ratio * SM_XSEC_PB
    if op.kind == "rate only":
        events = generate(n, seed)
        return events, np.full(n, xsec / n), xsec
    order = 1 if kind == "LI" else 2  # E^2 for LIN, E^4 = (E^2)^2 for QUAD
    events = generate(n, seed, shift_jets=order * op.growth_jets, shift_ww=order * op.growth_ww,
                      deta_shift=order * op.deta_shift,
                      lin_sign=op.lin_sign if kind == "LI" else None,
                      parameters=op.decay_parameters)
    if kind == "QU":
        return events, np.full(n, xsec / n), xsec
    sign = events.pop("sign").to_numpy()
    net = sign.sum()
    if net * xsec <= 0:
        raise ValueError(
            f"LIN sample of {op.name}: the interference signs of {n} events sum to {net:+.0f}, "
            f"not to the sign of sigma_LIN = {xsec:+.3g} pb; generate more events "
            "(n_bsm, vaednn simulate --bsm-events)")
    return events, sign * (xsec / net), xsec


def write_ntuples(outdir, operators=DEFAULT_OPERATORS, n_events: int = DEFAULT_EVENTS,
                  n_bsm: int = DEFAULT_BSM_EVENTS, seed: int = 0, process: str = "SSWW", *,
                  overwrite: bool = False, missing_only: bool = False) -> list[Path]:
    """Write the SM ntuple and a LIN and a QUAD ntuple per operator.

    Every event written passes ``GENERATOR_CUTS``; the VBS cuts are left to the reader
    (about 69% of SM events pass them). Kinematic branches are float32, as in ROOT
    ntuples (``Float_t``); ``w`` is float64, in pb, summing to the file's cross section.
    The same arguments write the same events, weights, histograms and file UUIDs; the
    files still differ byte-wise in the creation times uproot stamps into them.

    Args:
        outdir: directory for the files (created if missing).
        operators: names from ``OPERATORS``.
        n_events: SM events to write.
        n_bsm: events per LIN and per QUAD sample.
        seed: master seed; each sample's seed derives from it and the sample's name.
        process: the process tag in file and tree names.
        overwrite: replace files that already exist (otherwise they are an error).
        missing_only: write only the files that do not exist yet, leave the others as
            they are. Each sample's events depend only on ``seed`` and its own name, so
            the files written are the ones a complete run would have written.

    Returns:
        The paths written: the SM file, then LIN and QUAD per operator.

    Raises:
        ValueError: an unknown operator or a non-positive number of events.
        FileExistsError: a file to write exists, and neither ``overwrite`` nor
            ``missing_only`` is set; nothing is written then.
        ValueError: too few LIN events for the interference signs to sum to the sign
            of the cross section. Nothing is written then either: the files appear
            together, after every sample is generated, and a folder this call created is
            removed again.
        NotADirectoryError: a file stands where ``outdir`` or one of its parents would be.
    """
    unknown = [op for op in operators if op not in OPERATORS]
    if unknown:
        raise ValueError(f"unknown operator(s) {unknown}; known: {sorted(OPERATORS)}")
    for name, value in (("n_events", n_events), ("n_bsm", n_bsm)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    outdir = check_folder(outdir)
    created = not outdir.exists()
    outdir.mkdir(parents=True, exist_ok=True)
    jobs = [("SM", None, ntuple_path(outdir, "SM", process=process), n_events)]
    for name in operators:
        for component, kind in (("LIN", "LI"), ("QUAD", "QU")):
            jobs.append((kind, OPERATORS[name],
                         ntuple_path(outdir, component, name, process=process), n_bsm))
    existing = [path.name for _, _, path, _ in jobs if path.exists()]
    if missing_only:
        jobs = [job for job in jobs if not job[2].exists()]
    elif existing and not overwrite:
        raise FileExistsError(
            f"{outdir}: {', '.join(existing)} already exist; pass overwrite=True "
            "(vaednn simulate --force) to replace them")
    written = []
    try:
        # Every file goes to a temporary first; they are renamed into place together when
        # the last one is written, so a failure leaves none of them.
        with contextlib.ExitStack() as renames:
            for kind, op, path, n in jobs:
                temporary = renames.enter_context(atomic_path(path))
                _write_sample(temporary, path, kind, op, int(n), seed)
                written.append(path)
    except BaseException:
        if created and not any(outdir.iterdir()):
            outdir.rmdir()
        raise
    return written


def _write_sample(temporary: Path, path: Path, kind: str, op: Operator | None, n: int,
                  seed: int) -> None:
    """Generate one sample and write it, as the ntuple ``path``, to ``temporary``."""
    tree = path.name.removeprefix("ntuple_").removesuffix(".root")
    events, weights, xsec = _sample(kind, op, n, _child_seed(seed, tree))
    branches = {b: events[b].to_numpy(np.float32) for b in BRANCHES}
    branches["w"] = weights
    # uncompressed: zlib saves only ~17% on these float32 branches but doubles the run time
    file_id = uuid.uuid5(uuid.NAMESPACE_URL, f"vaednn.simulate/{seed}/{tree}")
    with uproot.recreate(temporary, compression=None,
                         uuid_function=lambda: file_id) as file:
        # mktree, not assignment: uproot >= 5.7 writes a dict as an RNTuple. Baskets of
        # BASKET_EVENTS, as a real ntuple has, so a chunked reader never has to load
        # a whole branch at once.
        ttree = file.mktree(tree, {b: a.dtype for b, a in branches.items()})
        for start in range(0, len(weights), BASKET_EVENTS):
            ttree.extend({b: a[start:start + BASKET_EVENTS] for b, a in branches.items()})
        file[f"{tree}_nums"] = (np.array([xsec, weights.sum()]), np.array([0.0, 1.0, 2.0]))
        file[VERSION_KEY] = str(GENERATOR_VERSION)


def generator_version(path) -> int | None:
    """The generator version stamped into a file by :func:`write_ntuples`.

    Returns:
        The version, or None for a file without a stamp (real ntuples, or data written
        before the stamp existed).

    Raises:
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ntuple")
    with uproot.open(path) as file:
        if VERSION_KEY not in file:
            return None
        return int(str(file[VERSION_KEY]))


def stale_files(directory, operators=DEFAULT_OPERATORS, process: str = "SSWW") -> list[Path]:
    """The ntuples :func:`write_ntuples` would write into ``directory`` that are missing or
    were written by another generator version (an empty list: the data are current)."""
    directory = Path(directory)
    paths = [ntuple_path(directory, "SM", process=process)] + [
        ntuple_path(directory, component, name, process=process)
        for name in operators for component in ("LIN", "QUAD")]
    return [p for p in paths if not p.is_file() or generator_version(p) != GENERATOR_VERSION]


# ----------------------------------------------------------------------------- summary
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


# ------------------------------------------------------------------ reweighted (LHE) stand-ins
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
    events = generate(int(n_events), _child_seed(seed, REWEIGHTED_STEM))
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


def _main(argv=None) -> int:
    """``python -m vaednn.simulate --check DIR``: exit 0 when DIR holds current data, else 1."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vaednn.simulate",
                                     description="check generated ntuples against this generator")
    parser.add_argument("--check", type=Path, required=True, metavar="DIR",
                        help="directory of generated ntuples")
    parser.add_argument("--operators", nargs="+", default=list(DEFAULT_OPERATORS))
    args = parser.parse_args(argv)
    stale = stale_files(args.check, args.operators)
    if stale:
        print(f"{args.check}: {len(stale)} ntuple(s) missing or not from generator version "
              f"{GENERATOR_VERSION}, e.g. {stale[0].name}")
        return 1
    print(f"{args.check}: ntuples of generator version {GENERATOR_VERSION}, current")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
