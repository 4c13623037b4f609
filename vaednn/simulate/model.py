"""The SSWW stand-in generator: its physics constants, the operators, and the events.

:func:`generate` draws events passing the generator cuts; :data:`OPERATORS` holds every
operator's rates and how it shapes events (:class:`Operator`).

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vaednn.data import FEATURES

__all__ = [
    "SM_XSEC_PB", "GENERATOR_VERSION", "VERSION_KEY", "SQRT_S_GEV", "W_MASS", "W_WIDTH",
    "GENERATOR_CUTS", "SM_MEDIANS", "SM_PARAMETERS", "EXTRA_BRANCHES", "BRANCHES",
    "DEFAULT_EVENTS", "DEFAULT_BSM_EVENTS", "BASKET_EVENTS", "Operator", "OPERATORS",
    "DEFAULT_OPERATORS", "generate"]

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
