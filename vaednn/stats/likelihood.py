"""The binned profile likelihood of a Wilson coefficient: a pyhf model, its profile scan and
the expected interval.

:func:`model_spec` builds the pyhf model (per bin ``nu = b * kappa**theta + c * LIN + c**2 *
QUAD``); :func:`profile_scan` and :func:`likelihood_interval` evaluate it against SM-only
Asimov data. pyhf's backend is switched to numpy only inside each evaluation and restored
after it: the caller's backend is never changed.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import NamedTuple

import numpy as np
from scipy import stats as scipy_stats

__all__ = ["Interval", "ProfileScan", "C_RANGE", "MAX_BACKGROUND_UNCERTAINTY",
           "MODIFIER_SETTINGS", "model_spec", "profile_scan", "likelihood_interval"]


class Interval(NamedTuple):
    """An expected confidence interval on a Wilson coefficient: ``(lo, hi)``."""

    lo: float
    hi: float


@dataclasses.dataclass(frozen=True)
class ProfileScan:
    """The profile-likelihood scan behind :func:`likelihood_interval`.

    Attributes:
        c, q: the scanned coefficients (sorted) and ``q(c) = -2 ln lambda(c)``; ``inf`` where
            some bin would expect a zero or negative yield.
        threshold: the chi-square (1 dof) quantile at ``cl``.
        interval: the connected region around ``c = 0`` with ``q < threshold``.
        falls_back: True when q drops below the threshold again outside the interval (a
            second minimum, e.g. at ``c* = -L/Q`` of a rate-only operator, where SM + EFT
            equals the SM again): values there are not excluded either.
    """

    c: np.ndarray
    q: np.ndarray
    threshold: float
    interval: Interval
    falls_back: bool


#: Largest |c| the interval search covers: beyond it a bound is reported as +-inf.
C_RANGE = 1e4
#: Largest log-normal background width of :func:`likelihood_interval`: a factor e^3 = 20
#: per standard deviation already leaves the normalisation free; the profiling is checked
#: against pyhf's fits up to it.
MAX_BACKGROUND_UNCERTAINTY = 3.0
_GRID = np.geomspace(1e-5, C_RANGE, 250)
_REFINE = 64
#: Coefficients per pyhf evaluation: the model is built once per scan for this batch size.
_BATCH = 2 * len(_GRID) + 32
#: pyhf's interpolation codes of the model: ``code1`` makes ``bkg_norm`` the log-normal
#: ``b e^(d theta)``, smooth through ``theta = 0``.
MODIFIER_SETTINGS = {"normsys": {"interpcode": "code1"}, "histosys": {"interpcode": "code0"}}


def _as_bins(values, name: str, n: int | None = None) -> np.ndarray:
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{name} must be a non-empty 1-D array of per-bin yields")
    if n is not None and len(values) != n:
        raise ValueError(f"{name} has {len(values)} bins, background has {n}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} has NaN or infinite bins: {values}")
    return values


def _checked_model(background, lin, quad, background_uncertainty, mc_errors):
    """The per-bin arrays of a model, validated: ``(background, lin, quad, mc_errors)``."""
    background = _as_bins(background, "background")
    if (background <= 0).any():
        raise ValueError(f"background must be > 0 in every bin (Asimov data), got {background}")
    lin = _as_bins(lin, "lin", len(background))
    quad = _as_bins(quad, "quad", len(background))
    if mc_errors is not None:
        mc_errors = _as_bins(mc_errors, "mc_errors", len(background))
        if (mc_errors <= 0).any():
            raise ValueError(f"mc_errors must be > 0 in every bin, got {mc_errors}")
    if not (np.isfinite(background_uncertainty) and background_uncertainty >= 0):
        raise ValueError(f"background_uncertainty must be >= 0, got {background_uncertainty}")
    if background_uncertainty > MAX_BACKGROUND_UNCERTAINTY:
        raise ValueError(
            f"background_uncertainty = {background_uncertainty:g} is the log-normal width d "
            f"(the background scales by e^d per standard deviation); above "
            f"{MAX_BACKGROUND_UNCERTAINTY:g} (a factor {np.exp(MAX_BACKGROUND_UNCERTAINTY):.0f}) "
            "the background is unconstrained and e^d overflows: give a fraction, 0.1 for 10%")
    return background, lin, quad, mc_errors


def model_spec(background, lin, quad, *, background_uncertainty: float = 0.0,
               mc_errors=None) -> dict:
    """The pyhf model of :func:`likelihood_interval`: its specification, one channel ``score``.

    Samples ``background`` (with a ``normsys`` ``bkg_norm`` of ``hi = e^d``, ``lo = e^-d``
    where ``d = background_uncertainty > 0``, and a ``staterror`` ``mc_stat`` with
    ``mc_errors``), ``lin`` and ``quad``, scaled by the free normfactors ``c_lin`` and
    ``c_quad``; the model of a coefficient ``c`` sets ``c_lin = c`` and ``c_quad = c**2``.
    Build it with ``pyhf.Model(spec, validate=False, poi_name=None,
    modifier_settings=MODIFIER_SETTINGS)`` under whatever pyhf backend the caller has chosen:
    nothing here switches it (``validate=False``: pyhf's schema check warns with recent
    jsonschema releases; the spec is the one :func:`likelihood_interval` evaluates).

    Args:
        background, lin, quad, background_uncertainty, mc_errors: as in
            :func:`likelihood_interval`.

    Raises:
        ValueError: a bin that is not finite, a background or MC error ``<= 0``, arrays of
            different lengths, or a background uncertainty outside
            ``[0,`` :data:`MAX_BACKGROUND_UNCERTAINTY` ``]``; the message names the argument.

    >>> spec = model_spec([100.0, 20.0], [10.0, -2.0], [1.0, 3.0], background_uncertainty=0.1)
    >>> [(s["name"], [m["name"] for m in s["modifiers"]]) for s in spec["channels"][0]["samples"]]
    [('background', ['bkg_norm']), ('lin', ['c_lin']), ('quad', ['c_quad'])]
    """
    background, lin, quad, mc_errors = _checked_model(background, lin, quad,
                                                      background_uncertainty, mc_errors)
    delta = float(background_uncertainty)
    bkg_modifiers = []
    if delta > 0:
        # hi = e^d, lo = e^-d with exponential interpolation (code1): a log-normal
        # normalisation b e^(d theta), smooth through theta = 0.
        bounds = {"hi": float(np.exp(delta)), "lo": float(np.exp(-delta))}
        bkg_modifiers.append({"name": "bkg_norm", "type": "normsys", "data": bounds})
    if mc_errors is not None:
        bkg_modifiers.append({"name": "mc_stat", "type": "staterror",
                              "data": mc_errors.tolist()})
    samples = [{"name": "background", "data": background.tolist(), "modifiers": bkg_modifiers},
               {"name": "lin", "data": lin.tolist(),
                "modifiers": [{"name": "c_lin", "type": "normfactor", "data": None}]},
               {"name": "quad", "data": quad.tolist(),
                "modifiers": [{"name": "c_quad", "type": "normfactor", "data": None}]}]
    return {"channels": [{"name": "score", "samples": samples}]}


@contextlib.contextmanager
def _numpy_backend():
    """pyhf's 64-bit numpy backend inside the block, the caller's backend after it.

    pyhf's backend is global: switching it for good would change a caller's own fits. A
    model built under numpy evaluates with whatever backend is current, so both the build
    and every ``logpdf`` run inside this block.
    """
    import pyhf

    tensorlib, optimizer = pyhf.get_backend()
    if tensorlib.name == "numpy" and tensorlib.precision == "64b":
        yield
        return
    pyhf.set_backend("numpy", precision="64b")
    try:
        yield
    finally:
        pyhf.set_backend(tensorlib, optimizer)


class _Likelihood:
    """The binned model as a pyhf Model plus the numpy profiling of its nuisances.

    pyhf defines the likelihood (its numpy backend evaluates ``logpdf`` for a whole batch of
    coefficients at once); the nuisance parameters are profiled here directly, because one
    pyhf fit per point (~30 ms) would make an interval cost a second: the normalisation
    ``theta`` by a vectorised safeguarded Newton iteration, the per-bin MC-statistics
    ``gamma`` (if any) in closed form given ``theta``.
    """

    def __init__(self, background, lin, quad, delta, mc_errors):
        self.b, self.lin, self.quad = background, lin, quad
        self.log_kappa = delta
        self.rel = None if mc_errors is None else mc_errors / background
        self.spec = model_spec(background, lin, quad, background_uncertainty=delta,
                               mc_errors=mc_errors)
        self._model = None

    def _profile(self, c):
        """``(theta, gamma)`` minimising the NLL at each ``c`` (arrays over c, then bins)."""
        s = c[:, None] * self.lin + c[:, None] ** 2 * self.quad
        n, k = self.b, self.log_kappa
        theta = np.zeros(len(c))
        gamma = np.ones((len(c), len(n)))
        for _ in range(60):
            scale = np.exp(k * theta)[:, None]
            if self.rel is not None:
                gamma = self._gamma(self.b * scale, s, self.rel ** 2)
            if k == 0:
                break
            base = gamma * self.b * scale
            nu = base + s
            grad = np.sum(base * k * (1 - n / nu), axis=1) + theta
            hess = np.sum(base * k**2 * (1 - n * s / nu**2), axis=1) + 1
            step = -grad / np.where(hess > 0, hess, np.abs(hess) + 1)
            step = np.clip(step, -1.0, 1.0)
            theta = theta + step
            if np.max(np.abs(step)) < 1e-10:
                break
        return theta, gamma

    def _gamma(self, base, s, var):
        """The gamma minimising ``gamma B - n ln(gamma B + s) + (gamma - 1)^2 / (2 var)``.

        The larger root of ``a g^2 + bb g + cc = 0``. Where ``bb > 0`` it is computed as
        ``2 cc / (-bb - disc)``: the textbook ``(-bb + disc) / 2a`` subtracts two nearly
        equal numbers there, and for a large relative MC error (``var`` ~ 1e14) loses
        every digit.
        """
        n = self.b
        a = base
        bb = s + base * (base * var - 1)
        cc = (base * var - 1) * s - n * base * var
        disc = np.sqrt(np.maximum(bb**2 - 4 * a * cc, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            stable = 2 * cc / (-bb - disc)
        return np.where(bb > 0, stable, (-bb + disc) / (2 * a))

    @property
    def model(self):
        """The pyhf model, built once, evaluating :data:`_BATCH` coefficients plus c = 0."""
        if self._model is None:
            import pyhf

            with _numpy_backend():
                self._model = pyhf.Model(self.spec, validate=False, poi_name=None,
                                         batch_size=_BATCH + 1,
                                         modifier_settings=MODIFIER_SETTINGS)
        return self._model

    def q(self, c) -> np.ndarray:
        """``-2 ln lambda(c)`` from pyhf's log-likelihood, nuisances profiled."""
        c = np.asarray(c, dtype=np.float64)
        return np.concatenate([self._q(c[i:i + _BATCH]) for i in range(0, len(c), _BATCH)])

    def _q(self, wanted: np.ndarray) -> np.ndarray:
        theta, gamma = self._profile(wanted)
        nu = gamma * self.b * np.exp(self.log_kappa * theta)[:, None] \
            + wanted[:, None] * self.lin + wanted[:, None] ** 2 * self.quad
        valid = np.all(nu > 0, axis=1)
        model = self.model
        order = model.config.par_order
        # Row 0 is the SM (c = 0, nominal nuisances; pyhf starts normfactors at 1, not 0);
        # unused rows repeat it.
        pars = np.tile(np.asarray(model.config.suggested_init(), dtype=np.float64),
                       (_BATCH + 1, 1))
        pars[:, [model.config.par_slice(name).start for name in ("c_lin", "c_quad")]] = 0.0
        rows = 1 + np.flatnonzero(valid)
        for name, values in (("c_lin", wanted), ("c_quad", wanted**2), ("bkg_norm", theta)):
            if name in order:
                pars[rows, model.config.par_slice(name).start] = values[valid]
        if "mc_stat" in order:
            pars[rows, model.config.par_slice("mc_stat")] = gamma[valid]
        with _numpy_backend():
            data = np.concatenate([self.b, model.config.auxdata])
            logpdf = np.asarray(model.logpdf(pars, data), dtype=np.float64)
        q = np.full(len(wanted), np.inf)
        q[valid] = np.maximum(2 * (logpdf[0] - logpdf[rows]), 0.0)
        return q


def profile_scan(background, lin, quad, *, background_uncertainty: float = 0.0,
                 cl: float = 0.95, mc_errors=None) -> ProfileScan:
    """The profile-likelihood scan of :func:`likelihood_interval`, with the details.

    Arguments as in :func:`likelihood_interval`. The search evaluates q on a logarithmic
    grid of |c| from 1e-5 to :data:`C_RANGE` on each side (in one batch), plus every
    ``c* = -LIN/QUAD`` (per bin and in total) where q can dip back, then on a fine
    linear grid inside the bracket of each first crossing; each bound is the linear
    interpolation of ``sqrt(q)`` (nearly linear in c) to the threshold there.
    """
    background, lin, quad, mc_errors = _checked_model(background, lin, quad,
                                                      background_uncertainty, mc_errors)
    if not 0 < cl < 1:
        raise ValueError(f"cl must be in (0, 1), got {cl}")
    threshold = float(scipy_stats.chi2.ppf(cl, 1))
    model = _Likelihood(background, lin, quad, float(background_uncertainty), mc_errors)
    # Where SM + c LIN + c^2 QUAD returns to the SM (in a bin, or in total) q can dip back
    # in a window narrower than the grid's steps: those points are always evaluated.
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = -np.r_[lin, lin.sum()] / np.r_[quad, quad.sum()]
    returns = returns[np.isfinite(returns) & (np.abs(returns) <= C_RANGE) & (returns != 0)]
    grids = {sign: np.unique(np.r_[_GRID, sign * returns[np.sign(returns) == sign]])
             for sign in (1, -1)}
    q_grid = model.q(np.r_[grids[1], -grids[-1]])
    sides = {1: q_grid[: len(grids[1])], -1: q_grid[len(grids[1]):]}
    bounds, falls_back, extra_c, extra_q = {}, False, [], []
    for sign, q in sides.items():
        grid = grids[sign]
        above = np.flatnonzero(q >= threshold)
        if not len(above):
            bounds[sign] = sign * np.inf
            continue
        first = above[0]
        falls_back |= bool((q[first:] < threshold).any())
        low = 0.0 if first == 0 else grid[first - 1]
        fine = np.linspace(low, grid[first], _REFINE)
        q_fine = model.q(sign * fine)
        cross = int(np.flatnonzero(q_fine >= threshold)[0])
        lo_c, hi_c = fine[cross - 1], fine[cross]
        lo_r, hi_r = np.sqrt(q_fine[cross - 1]), np.sqrt(q_fine[cross])
        root = threshold ** 0.5
        if np.isfinite(hi_r):
            value = lo_c + (root - lo_r) * (hi_c - lo_c) / (hi_r - lo_r)
        else:  # the next point expects a negative yield: the bound is where that starts
            value = hi_c
        bounds[sign] = sign * float(value)
        extra_c.append(sign * fine)
        extra_q.append(q_fine)
    c_all = np.concatenate([grids[1], -grids[-1], *extra_c])
    q_all = np.concatenate([q_grid, *extra_q])
    order = np.argsort(c_all)
    return ProfileScan(c_all[order], q_all[order], threshold,
                       Interval(bounds[-1], bounds[1]), falls_back)


def likelihood_interval(background, lin, quad, *, background_uncertainty: float = 0.0,
                        cl: float = 0.95, mc_errors=None) -> Interval:
    """Expected interval on a Wilson coefficient from a binned profile likelihood (pyhf).

    Per bin the expected yield is ``nu = b e^(d theta) + c LIN + c^2 QUAD``: ``theta`` a
    background normalisation with a unit Gaussian constraint (a log-normal of relative width
    ``d = background_uncertainty``; pyhf's ``normsys`` with ``hi = e^d``, ``lo = e^-d``),
    and with ``mc_errors`` a per-bin MC-statistics ``staterror``. The data are the SM-only
    Asimov data (``n = b``), so ``c_hat = 0`` and ``q(c) = 2 NLL(c, theta_hat_hat(c)) - 2
    NLL(0, 0)``. The interval is the connected region around ``c = 0`` where ``q`` stays
    below the chi-square (1 dof) quantile at ``cl``; a bound q never reaches within
    ``|c| <=`` :data:`C_RANGE` is ``+-inf``. Where some bin would expect a zero or negative
    yield, the SM-only data exclude that c (``q = inf``). Whether q falls back below the
    threshold outside the interval is reported by :func:`profile_scan`.

    Args:
        background, lin, quad: per-bin yields at ``c = 1`` (LIN may be negative).
        background_uncertainty: relative background normalisation uncertainty ``d``, at
            most :data:`MAX_BACKGROUND_UNCERTAINTY`.
        cl: confidence level (0.95; 0.6827 gives ``Delta(-2 ln lambda) = 1``).
        mc_errors: the background's per-bin ``sqrt(sum w^2)``, optional.

    Returns:
        :class:`Interval` ``(lo, hi)``.

    >>> lo, hi = likelihood_interval([100.0], [10.0], [0.0], cl=0.6827)
    >>> round(lo, 3), round(hi, 3)  # ~ +-1 sigma = +-sqrt(100) / 10, Poisson-skewed
    (-0.967, 1.034)
    """
    return profile_scan(background, lin, quad, background_uncertainty=background_uncertainty,
                        cl=cl, mc_errors=mc_errors).interval
