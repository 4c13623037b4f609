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

from vaednn.stats.systematics import (MAX_BACKGROUND_UNCERTAINTY, SAMPLES, Luminosity, MCStat,
                                      Normalisation, Shape, channel_modifiers, per_bin)

__all__ = ["Interval", "ProfileScan", "C_RANGE",
           "MODIFIER_SETTINGS", "METHODS", "model_spec", "profile_scan", "likelihood_interval"]


class Interval(NamedTuple):
    """An expected confidence interval on a Wilson coefficient: ``(lo, hi)``."""

    lo: float
    hi: float


@dataclasses.dataclass(frozen=True)
class ProfileScan:
    """The profile-likelihood scan behind :func:`likelihood_interval`.

    Attributes:
        c, q: the scanned coefficients (sorted) and ``q(c) = -2 ln lambda(c)``; ``inf`` where
            some bin would expect a zero or negative yield. With pyhf fits (declared
            uncertainties beyond the fast path) the points the bound search evaluated.
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
_GRID = np.geomspace(1e-5, C_RANGE, 250)
_REFINE = 64
#: Coefficients per pyhf evaluation: the model is built once per scan for this batch size.
_BATCH = 2 * len(_GRID) + 32
#: pyhf's interpolation codes of the model: ``code1`` makes ``bkg_norm`` the log-normal
#: ``b e^(d theta)``, smooth through ``theta = 0``.
MODIFIER_SETTINGS = {"normsys": {"interpcode": "code1"}, "histosys": {"interpcode": "code0"}}


def _checked_model(background, lin, quad, background_uncertainty, mc_errors):
    """The per-bin arrays of a model, validated: ``(background, lin, quad, mc_errors)``."""
    background = per_bin(background, "background")
    if (background <= 0).any():
        raise ValueError(f"background must be > 0 in every bin (Asimov data), got {background}")
    lin = per_bin(lin, "lin", len(background))
    quad = per_bin(quad, "quad", len(background))
    if mc_errors is not None:
        mc_errors = per_bin(mc_errors, "mc_errors", len(background))
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


def _declared(background_uncertainty, mc_errors, systematics) -> tuple:
    """Every declared uncertainty: the old keywords' first, as :mod:`.systematics` objects."""
    if isinstance(systematics, (Normalisation, Luminosity, Shape, MCStat)):
        raise ValueError("systematics must be a sequence of declarations, got a single "
                         f"{type(systematics).__name__}: wrap it in a tuple")
    declared = []
    if background_uncertainty > 0:
        declared.append(Normalisation("bkg_norm", background_uncertainty))
    if mc_errors is not None:
        declared.append(MCStat(background=mc_errors))
    return (*declared, *systematics)


def model_spec(background, lin, quad, *, background_uncertainty: float = 0.0,
               mc_errors=None, systematics=()) -> dict:
    """The pyhf model of :func:`likelihood_interval`: its specification, one channel ``score``.

    Samples ``background`` (with a ``normsys`` ``bkg_norm`` of ``hi = e^d``, ``lo = e^-d``
    where ``d = background_uncertainty > 0``, and a ``staterror`` ``mc_stat`` with
    ``mc_errors``), ``lin`` and ``quad``, scaled by the free normfactors ``c_lin`` and
    ``c_quad``; the model of a coefficient ``c`` sets ``c_lin = c`` and ``c_quad = c**2``.
    Each of ``systematics`` adds its modifiers (:mod:`vaednn.stats.systematics`), after
    those of the two keywords; a :class:`~vaednn.stats.Luminosity` adds the spec's
    ``parameters`` block. Build it with ``pyhf.Model(spec, validate=False, poi_name=None,
    modifier_settings=MODIFIER_SETTINGS)`` under whatever pyhf backend the caller has chosen:
    nothing here switches it (``validate=False``: pyhf's schema check warns with recent
    jsonschema releases; the spec is the one :func:`likelihood_interval` evaluates).

    Args:
        background, lin, quad, background_uncertainty, mc_errors, systematics: as in
            :func:`likelihood_interval`.

    Raises:
        ValueError: a bin that is not finite, a background or MC error ``<= 0``, arrays of
            different lengths, a background uncertainty outside
            ``[0,`` :data:`MAX_BACKGROUND_UNCERTAINTY` ``]``, or a declared uncertainty
            that does not fit the bins or repeats a parameter; the message names the argument.

    >>> spec = model_spec([100.0, 20.0], [10.0, -2.0], [1.0, 3.0], background_uncertainty=0.1)
    >>> [(s["name"], [m["name"] for m in s["modifiers"]]) for s in spec["channels"][0]["samples"]]
    [('background', ['bkg_norm']), ('lin', ['c_lin']), ('quad', ['c_quad'])]
    """
    background, lin, quad, mc_errors = _checked_model(background, lin, quad,
                                                      background_uncertainty, mc_errors)
    yields = {"background": background, "lin": lin, "quad": quad}
    per_sample, parameters = channel_modifiers(
        _declared(float(background_uncertainty), mc_errors, systematics), yields)
    normfactors = {"background": [], "lin": [{"name": "c_lin", "type": "normfactor", "data": None}],
                   "quad": [{"name": "c_quad", "type": "normfactor", "data": None}]}
    samples = [{"name": name, "data": yields[name].tolist(),
                "modifiers": normfactors[name] + per_sample[name]} for name in SAMPLES]
    spec = {"channels": [{"name": "score", "samples": samples}]}
    if parameters:
        spec["parameters"] = parameters
    return spec


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


#: Relative step of the bracket search of :func:`_general_scan` (and the finite-difference
#: step of its fits' gradient).
_STEP, _H = 1.25, 1e-5
#: Most Newton steps of one fit of :class:`_Fit` (it converges in a few).
_MAX_STEPS = 100


class _Fit:
    """q(c) from fits of every nuisance parameter with ``c_lin = c``, ``c_quad = c**2`` fixed.

    pyhf's model defines the likelihood and evaluates it, under the numpy backend; the fit
    is ``fixed_poi_fit``-like, by Newton steps within pyhf's suggested bounds, warm-started
    from the previous one. Gradient and Hessian come from ONE batched evaluation of the
    point and its ``2 k`` neighbours: ``pyhf.infer.mle.fit`` (SLSQP) differences one point
    at a time and needs tens of iterations. The data are the Asimov data of the SM:
    nominal yields and auxdata, which the nominal model fits exactly, so ``q(c) =
    2 NLL(c, fitted) - 2 NLL(0, nominal)``.
    """

    def __init__(self, spec: dict, background, lin, quad):
        import pyhf

        self.b, self.lin, self.quad = background, lin, quad
        with _numpy_backend():
            probe = pyhf.Model(spec, validate=False, poi_name=None,
                               modifier_settings=MODIFIER_SETTINGS)
            config = probe.config
            self.coefficients = [config.par_slice(n).start for n in ("c_lin", "c_quad")]
            fixed = np.asarray(config.suggested_fixed(), dtype=bool)
            fixed[self.coefficients] = True
            self.free = np.flatnonzero(~fixed)
            self.model = pyhf.Model(spec, validate=False, poi_name=None,
                                    batch_size=2 * len(self.free) + 1,
                                    modifier_settings=MODIFIER_SETTINGS)
            self.data = np.concatenate([background, np.asarray(config.auxdata, dtype=np.float64)])
        self.nominal = np.asarray(config.suggested_init(), dtype=np.float64)
        self.nominal[self.coefficients] = 0.0
        self.bounds = np.asarray(config.suggested_bounds(), dtype=np.float64)[self.free]
        self.start = self.nominal[self.free]
        self.nll0 = self._evaluate(self.start, self.nominal)[0]
        self.evaluated: dict[float, float] = {}

    def _evaluate(self, x, pars):
        """``(-2 ln L, gradient, Hessian)`` at the free parameters ``x`` (the others from
        ``pars``), from one batched ``logpdf`` of ``x`` and its ``2 k`` neighbours.

        The Hessian is the Poisson terms' Gauss-Newton ``2 J diag(n / nu^2) J^T`` (exact at the
        Asimov point, where ``nu = n``) plus the constraint terms' diagonal (they are
        separable) from second differences.
        """
        k = len(self.free)
        rows = np.tile(pars, (2 * k + 1, 1))
        rows[:, self.free] = x
        rows[1 + np.arange(k), self.free] += _H
        rows[1 + k + np.arange(k), self.free] -= _H
        with _numpy_backend():
            nll = -2 * np.asarray(self.model.logpdf(rows, self.data), dtype=np.float64)
            nu = np.asarray(self.model.expected_actualdata(rows), dtype=np.float64)
        if not (np.isfinite(nll).all() and (nu > 0).all()):
            return np.inf, None, None
        constraint = nll - 2 * (nu - self.b * np.log(nu)).sum(axis=1)
        up, down = slice(1, k + 1), slice(k + 1, None)
        jac = (nu[up] - nu[down]) / (2 * _H)
        hessian = 2 * (jac * (self.b / nu[0] ** 2)) @ jac.T + np.diag(
            (constraint[up] - 2 * constraint[0] + constraint[down]) / _H**2)
        return nll[0], (nll[up] - nll[down]) / (2 * _H), hessian

    def q(self, c: float) -> float:
        """``q(c)``; ``inf`` where the nominal expected yield is ``<= 0`` in some bin.

        Newton steps within the bounds (projected: a parameter held on a bound by its
        gradient drops out of the step), each halved until the NLL does not increase, until
        the predicted decrease is below 1e-11.
        """
        if c in self.evaluated:
            return self.evaluated[c]
        if (self.b + c * self.lin + c**2 * self.quad <= 0).any():
            self.evaluated[c] = np.inf
            return np.inf
        pars = self.nominal.copy()
        pars[self.coefficients] = c, c**2
        x = self.start
        nll, gradient, hessian = self._evaluate(x, pars)
        if not np.isfinite(nll):
            x = self.nominal[self.free]
            nll, gradient, hessian = self._evaluate(x, pars)
        if not np.isfinite(nll):
            raise RuntimeError(f"the likelihood at c = {c:g} is not finite at the nominal "
                               "nuisance parameters: an expected yield is zero or negative")
        lower, upper = self.bounds.T
        for _ in range(_MAX_STEPS):
            # a parameter on its bound whose gradient points outwards stays there
            held = ((x <= lower) & (gradient > 0)) | ((x >= upper) & (gradient < 0))
            step = np.zeros_like(x)
            step[~held] = np.linalg.solve(hessian[np.ix_(~held, ~held)], -gradient[~held])
            if -0.5 * gradient @ step < 1e-11:
                break
            scale = 1.0
            while scale > 1e-12:
                trial = np.clip(x + scale * step, lower, upper)
                found = self._evaluate(trial, pars)
                if found[0] <= nll:
                    break
                scale /= 2
            else:
                break
            x, (nll, gradient, hessian) = trial, found
        else:
            raise RuntimeError(f"the fit of the nuisance parameters at c = {c:g} did not "
                               f"converge in {_MAX_STEPS} Newton steps")
        self.start = x
        self.evaluated[c] = max(float(nll - self.nll0), 0.0)
        return self.evaluated[c]


def _general_scan(background, lin, quad, spec, threshold) -> ProfileScan:
    """The interval of ``spec`` from pyhf fits (:class:`_Fit`), each bound bracketed and solved.

    Profiling more nuisances can only lower q, so the statistics-only interval of the fast
    path lies inside: each bound starts from it, steps outward by :data:`_STEP` until q
    reaches the threshold (inward first if it already does), then ``sqrt(q(c)) =
    sqrt(threshold)`` is solved by Brent's method (``q = inf`` counts as above: the bound
    is then where the yields turn negative). q falls back when the statistics-only scan
    does beyond the bound, or q at a ``c* = -LIN/QUAD`` beyond it is below the threshold.
    """
    from scipy import optimize

    inner = _fast_scan(background, lin, quad, 0.0, None, threshold)
    fit = _Fit(spec, background, lin, quad)
    root = threshold ** 0.5

    def excess(c, sign):
        q = fit.q(sign * c)
        return np.sqrt(q) - root if np.isfinite(q) else 1.0

    bounds, falls_back = {}, False
    for sign, start in ((1, inner.interval.hi), (-1, -inner.interval.lo)):
        fit.start = fit.nominal[fit.free]
        if not np.isfinite(start):
            bounds[sign] = sign * np.inf
            continue
        if excess(start, sign) >= 0:
            high, low = start, start / _STEP
            while excess(low, sign) >= 0:
                high, low = low, low / _STEP
        else:
            low, high = start, start * _STEP
            while high <= C_RANGE and excess(high, sign) < 0:
                low, high = high, high * _STEP
        if high > C_RANGE:
            bounds[sign] = sign * np.inf
            continue
        bound = optimize.brentq(excess, low, high, args=(sign,), xtol=1e-9 * high, rtol=1e-12)
        bounds[sign] = sign * bound
        beyond = sign * inner.c > bound
        falls_back |= bool((inner.q[beyond] < threshold).any())
        returns = _returns(lin, quad)
        for c in returns[sign * returns > bound]:
            falls_back = falls_back or fit.q(float(c)) < threshold
    c_all = np.array(sorted(fit.evaluated))
    q_all = np.array([fit.evaluated[c] for c in c_all])
    return ProfileScan(c_all, q_all, threshold, Interval(bounds[-1], bounds[1]), falls_back)


def _returns(lin, quad) -> np.ndarray:
    """Every ``c* = -LIN/QUAD`` (per bin and in total) within :data:`C_RANGE`, where SM + c LIN
    + c^2 QUAD returns to the SM and q can dip back."""
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = -np.r_[lin, lin.sum()] / np.r_[quad, quad.sum()]
    return returns[np.isfinite(returns) & (np.abs(returns) <= C_RANGE) & (returns != 0)]


def _fast_scan(background, lin, quad, delta, mc_errors, threshold) -> ProfileScan:
    """The grid search of :func:`profile_scan` with the numpy profiling of :class:`_Likelihood`."""
    model = _Likelihood(background, lin, quad, delta, mc_errors)
    # Where SM + c LIN + c^2 QUAD returns to the SM (in a bin, or in total) q can dip back
    # in a window narrower than the grid's steps: those points are always evaluated.
    returns = _returns(lin, quad)
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


def _fast_arguments(declared) -> tuple | None:
    """``(background_uncertainty, mc_errors)`` of the fast path, or None where ``declared``
    holds more than one background normalisation and the background's MC statistics."""
    norms = [d for d in declared if isinstance(d, Normalisation)]
    stat = [d for d in declared if isinstance(d, MCStat)]
    if (len(norms) + len(stat) != len(declared) or len(norms) > 1
            or any(d.samples != ("background",) for d in norms)
            or any(d.lin is not None or d.quad is not None for d in stat)):
        return None
    return (norms[0].fraction if norms else 0.0), (stat[0].background if stat else None)


#: How :func:`profile_scan` evaluates q: ``"auto"`` (the fast profiling where it covers the
#: declared uncertainties, pyhf fits otherwise), ``"fast"`` or ``"pyhf"``.
METHODS = ("auto", "fast", "pyhf")


def profile_scan(background, lin, quad, *, background_uncertainty: float = 0.0,
                 cl: float = 0.95, mc_errors=None, systematics=(),
                 method: str = "auto") -> ProfileScan:
    """The profile-likelihood scan of :func:`likelihood_interval`, with the details.

    Arguments as in :func:`likelihood_interval`. The fast path (at most one background
    :class:`~vaednn.stats.Normalisation` and the background's MC statistics) evaluates q on
    a logarithmic grid of |c| from 1e-5 to :data:`C_RANGE` on each side (in one batch),
    plus every ``c* = -LIN/QUAD`` (per bin and in total) where q can dip back, then on a
    fine linear grid inside the bracket of each first crossing; each bound is the linear
    interpolation of ``sqrt(q)`` (nearly linear in c) to the threshold there. Other
    uncertainties take pyhf fits (:func:`_general_scan`); then ``c`` and ``q`` hold the
    points evaluated.

    Args:
        method: one of :data:`METHODS`; ``"fast"`` refuses uncertainties it does not cover.
    """
    background, lin, quad, mc_errors = _checked_model(background, lin, quad,
                                                      background_uncertainty, mc_errors)
    if not 0 < cl < 1:
        raise ValueError(f"cl must be in (0, 1), got {cl}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    threshold = float(scipy_stats.chi2.ppf(cl, 1))
    spec = model_spec(background, lin, quad, background_uncertainty=background_uncertainty,
                      mc_errors=mc_errors, systematics=systematics)
    fast = _fast_arguments(_declared(float(background_uncertainty), mc_errors, systematics))
    if method == "fast" and fast is None:
        raise ValueError("method='fast' profiles one background normalisation and the "
                         "background's MC statistics only: these systematics need "
                         "method='pyhf' (or 'auto')")
    if method == "pyhf" or fast is None:
        return _general_scan(background, lin, quad, spec, threshold)
    return _fast_scan(background, lin, quad, *fast, threshold)


def likelihood_interval(background, lin, quad, *, background_uncertainty: float = 0.0,
                        cl: float = 0.95, mc_errors=None, systematics=(),
                        method: str = "auto") -> Interval:
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
        systematics: further declared uncertainties (:class:`~vaednn.stats.Normalisation`,
            :class:`~vaednn.stats.Luminosity`, :class:`~vaednn.stats.Shape`,
            :class:`~vaednn.stats.MCStat`), each profiled; beyond one background
            normalisation and the background's MC statistics, q comes from pyhf fits.
        method: as in :func:`profile_scan`.

    Returns:
        :class:`Interval` ``(lo, hi)``.

    >>> lo, hi = likelihood_interval([100.0], [10.0], [0.0], cl=0.6827)
    >>> round(lo, 3), round(hi, 3)  # ~ +-1 sigma = +-sqrt(100) / 10, Poisson-skewed
    (-0.967, 1.034)
    """
    return profile_scan(background, lin, quad, background_uncertainty=background_uncertainty,
                        cl=cl, mc_errors=mc_errors, systematics=systematics,
                        method=method).interval
