"""Declared uncertainties of the binned fit: each one pyhf modifier (or a set of them) on the
samples ``background``, ``lin`` and ``quad`` of :func:`~vaednn.stats.model_spec`.

:class:`Normalisation` (a log-normal ``normsys``), :class:`Luminosity` (pyhf's ``lumi``),
:class:`Shape` (a ``histosys`` from per-bin up/down yields) and :class:`MCStat` (Monte Carlo
statistics per sample) are small frozen dataclasses, validated when built; the bin counts,
which they do not know, are checked against the yields by :func:`channel_modifiers`, the
one place their pyhf modifiers are written.

>>> b, lin, quad = [100.0, 20.0], [10.0, -2.0], [1.0, 3.0]
>>> per_sample, parameters = channel_modifiers(
...     [Normalisation("bkg_norm", 0.1), Luminosity(0.02)],
...     {"background": b, "lin": lin, "quad": quad})
>>> [m["name"] for m in per_sample["background"]], [m["type"] for m in per_sample["quad"]]
(['bkg_norm', 'lumi'], ['lumi'])
>>> parameters[0]["sigmas"]
[0.02]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["SAMPLES", "MAX_BACKGROUND_UNCERTAINTY", "Normalisation", "Luminosity", "Shape",
           "MCStat", "channel_modifiers", "per_bin"]

#: The samples of the fit's one channel, in the order of the specification.
SAMPLES = ("background", "lin", "quad")
#: Largest log-normal width of a :class:`Normalisation` (and of ``background_uncertainty``):
#: a factor e^3 = 20 per standard deviation already leaves the normalisation free; the
#: profiling is checked against pyhf's fits up to it.
MAX_BACKGROUND_UNCERTAINTY = 3.0
#: Names the model itself uses: the coefficient's normfactors and the luminosity.
_RESERVED = ("c_lin", "c_quad", "lumi")


def _store_checked(declared, **values) -> None:
    """Replace fields of a frozen declaration by their checked, normalised values."""
    for field, value in values.items():
        object.__setattr__(declared, field, value)


def per_bin(values, name: str, n: int | None = None) -> np.ndarray:
    """``values`` as a float64 array of per-bin yields: 1-D, not empty, finite and, with
    ``n``, of ``n`` bins; otherwise a ValueError naming ``name``."""
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{name} must be a non-empty 1-D array of per-bin yields")
    if n is not None and len(values) != n:
        raise ValueError(f"{name} has {len(values)} bins, background has {n}")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} has NaN or infinite bins: {values}")
    return values


def _checked_name(name, what: str) -> str:
    if not (isinstance(name, str) and name):
        raise ValueError(f"{what}: name must be a non-empty string, got {name!r}")
    if name in _RESERVED or name.startswith("mc_stat"):
        raise ValueError(f"{what}: name {name!r} is reserved by the model ({_RESERVED} and "
                         "mc_stat*)")
    return name


def _checked_sample(sample, what: str) -> str:
    if sample not in SAMPLES:
        raise ValueError(f"{what}: unknown sample {sample!r}, expected one of {SAMPLES}")
    return sample


@dataclasses.dataclass(frozen=True)
class Normalisation:
    """A log-normal normalisation uncertainty: pyhf's ``normsys`` with ``hi = e^d``, ``lo =
    e^-d`` (``code1``, :data:`~vaednn.stats.MODIFIER_SETTINGS`): the samples scale by
    ``e^(d theta)``, ``theta`` unit Gaussian; one parameter ``name`` for all ``samples``.

    ``background_uncertainty=d`` of :func:`~vaednn.stats.model_spec` is
    ``Normalisation("bkg_norm", d)``.

    Attributes:
        name: the nuisance parameter.
        fraction: the width ``d`` (0.1 for 10%), in ``[0,`` :data:`MAX_BACKGROUND_UNCERTAINTY` ``]``.
        samples: the samples it scales, among :data:`SAMPLES`.
    """

    name: str
    fraction: float
    samples: tuple[str, ...] = ("background",)

    def __post_init__(self):
        what = f"Normalisation {self.name!r}"
        _checked_name(self.name, what)
        fraction = float(self.fraction)
        if not (np.isfinite(fraction) and 0 <= fraction <= MAX_BACKGROUND_UNCERTAINTY):
            raise ValueError(
                f"{what}: fraction must be in [0, {MAX_BACKGROUND_UNCERTAINTY:g}] (the "
                f"log-normal width d; e^d per standard deviation), got {self.fraction}")
        samples = (self.samples,) if isinstance(self.samples, str) else tuple(self.samples)
        if not samples or len(set(samples)) != len(samples):
            raise ValueError(f"{what}: samples must name distinct samples, got {self.samples}")
        for sample in samples:
            _checked_sample(sample, what)
        _store_checked(self, fraction=fraction, samples=samples)


@dataclasses.dataclass(frozen=True)
class Luminosity:
    """The luminosity uncertainty: every sample (SM, LIN and QUAD) scales by one factor.

    pyhf's ``lumi`` modifier, the HistFactory luminosity: every yield times ``lambda``, with
    a Gaussian constraint of mean 1 and width ``fraction`` (the specification's
    ``parameters`` entry carries it). Chosen over a shared ``normsys`` because it is the
    convention of published HistFactory workspaces (a linear factor with a Gaussian
    constraint, the ``lumi`` parameter readers look for), so a spec of this package combines
    with theirs; for the percent-level widths of a luminosity the two agree to second order.

    Attributes:
        fraction: the relative width, in ``(0, 0.15]``; ``lambda`` is bounded to
            ``1 +- 5 fraction`` (positive).
    """

    fraction: float

    def __post_init__(self):
        fraction = float(self.fraction)
        if not (np.isfinite(fraction) and 0 < fraction <= 0.15):
            raise ValueError("Luminosity: fraction must be in (0, 0.15] (the relative width, "
                             f"0.02 for 2%), got {self.fraction}")
        _store_checked(self, fraction=fraction)


@dataclasses.dataclass(frozen=True)
class Shape:
    """A shape uncertainty of one sample: pyhf's ``histosys`` with the per-bin ``up`` and
    ``down`` yields at plus and minus one standard deviation, interpolated linearly (``code0``):
    ``nu = nominal + alpha (up - nominal)`` for ``alpha > 0``, unit Gaussian ``alpha``.

    Attributes:
        name: the nuisance parameter.
        up, down: the sample's per-bin yields at ``+1`` and ``-1`` sigma (LIN's and QUAD's
            at ``c = 1``).
        sample: one of :data:`SAMPLES`.
    """

    name: str
    up: np.ndarray
    down: np.ndarray
    sample: str = "background"

    def __post_init__(self):
        what = f"Shape {self.name!r}"
        _checked_name(self.name, what)
        _checked_sample(self.sample, what)
        up, down = per_bin(self.up, f"{what}: up"), per_bin(self.down, f"{what}: down")
        if len(up) != len(down):
            raise ValueError(f"{what}: up has {len(up)} bins, down has {len(down)}")
        _store_checked(self, up=up, down=down)


@dataclasses.dataclass(frozen=True)
class MCStat:
    """Monte Carlo statistics: each sample's per-bin ``sqrt(sum w^2)`` (None: none declared).

    The background's is pyhf's ``staterror`` ``mc_stat`` (``mc_errors`` of
    :func:`~vaednn.stats.model_spec`): a Gaussian ``gamma`` per bin scaling it, of width
    ``error / background``. LIN and QUAD get the same Gaussian term written additively, one
    ``histosys`` per bin with a non-zero error, ``mc_stat_lin_<bin>`` and
    ``mc_stat_quad_<bin>``: up and down are the nominal yields ``+- error`` in that bin, so the
    sample is ``c (LIN + alpha error)`` with a unit Gaussian ``alpha``. That is
    ``staterror``'s ``c LIN gamma``, ``gamma = 1 + alpha error / LIN``, but also defined where
    LIN is negative or zero; pyhf's ``staterror`` and ``shapesys`` compute a relative error
    only where the nominal yield is positive and silently fix the other bins. A LIN or QUAD
    bin of zero error has no MC uncertainty and gets no parameter.

    Attributes:
        background: per-bin errors of the background, each ``> 0`` (a ``staterror`` width).
        lin, quad: per-bin errors of LIN and QUAD at ``c = 1``, each ``>= 0``.
    """

    background: np.ndarray | None = None
    lin: np.ndarray | None = None
    quad: np.ndarray | None = None

    def __post_init__(self):
        if self.background is None and self.lin is None and self.quad is None:
            raise ValueError("MCStat: give the errors of at least one of background, lin, quad")
        for sample in SAMPLES:
            value = getattr(self, sample)
            if value is None:
                continue
            errors = per_bin(value, f"MCStat: {sample}")
            low = errors <= 0 if sample == "background" else errors < 0
            if low.any():
                need = "> 0" if sample == "background" else ">= 0"
                raise ValueError(f"MCStat: {sample} errors must be {need} in every bin, got "
                                 f"{errors} (bin {int(np.flatnonzero(low)[0])})")
            _store_checked(self, **{sample: errors})


def _shifted(nominal: np.ndarray, index: int, shift: float) -> dict:
    hi, lo = nominal.copy(), nominal.copy()
    hi[index] += shift
    lo[index] -= shift
    return {"hi_data": hi.tolist(), "lo_data": lo.tolist()}


def _modifiers_of(declared, yields: Mapping[str, np.ndarray]) -> tuple[dict, list]:
    """``({sample: [modifier, ...]}, [parameter, ...])`` of one declared uncertainty."""
    n = len(yields["background"])

    def bins(values, what):
        if len(values) != n:
            raise ValueError(f"{what} has {len(values)} bins, background has {n}")
        return values

    if isinstance(declared, Normalisation):
        bounds = {"hi": float(np.exp(declared.fraction)), "lo": float(np.exp(-declared.fraction))}
        return {s: [{"name": declared.name, "type": "normsys", "data": bounds}]
                for s in declared.samples}, []
    if isinstance(declared, Luminosity):
        width = declared.fraction
        parameter = {"name": "lumi", "auxdata": [1.0], "sigmas": [width],
                     "bounds": [[1.0 - 5 * width, 1.0 + 5 * width]], "inits": [1.0]}
        return {s: [{"name": "lumi", "type": "lumi", "data": None}] for s in SAMPLES}, [parameter]
    if isinstance(declared, Shape):
        what = f"Shape {declared.name!r}"
        data = {"hi_data": bins(declared.up, f"{what}: up").tolist(),
                "lo_data": bins(declared.down, f"{what}: down").tolist()}
        return {declared.sample: [{"name": declared.name, "type": "histosys", "data": data}]}, []
    if isinstance(declared, MCStat):
        out = {}
        if declared.background is not None:
            errors = bins(declared.background, "MCStat: background")
            out["background"] = [{"name": "mc_stat", "type": "staterror",
                                  "data": errors.tolist()}]
        for sample in ("lin", "quad"):
            errors = getattr(declared, sample)
            if errors is not None:
                bins(errors, f"MCStat: {sample}")
                out[sample] = [{"name": f"mc_stat_{sample}_{i}", "type": "histosys",
                                "data": _shifted(yields[sample], i, float(errors[i]))}
                               for i in np.flatnonzero(errors > 0)]
        return out, []
    raise ValueError(f"systematics: {declared!r} is not a Normalisation, Luminosity, Shape or "
                     "MCStat")


def channel_modifiers(systematics: Sequence, yields: Mapping) -> tuple[dict, list]:
    """The pyhf modifiers of declared uncertainties on the fit's samples.

    Args:
        systematics: :class:`Normalisation`, :class:`Luminosity`, :class:`Shape` and
            :class:`MCStat` instances.
        yields: ``{"background": ..., "lin": ..., "quad": ...}``, the nominal per-bin yields.

    Returns:
        ``({sample: [modifier, ...]}, parameters)``: each sample's modifiers in the order
        declared, and the specification's ``parameters`` entries (the luminosity's).

    Raises:
        ValueError: an object that is not one of the four, a bin count that differs from the
            background's, or two declarations of one parameter (two luminosities, two
            MC statistics of one sample, a name given twice; a :class:`Shape`'s name may
            return on another sample, one nuisance correlating them).
    """
    yields = {s: np.asarray(yields[s], dtype=np.float64) for s in SAMPLES}
    per_sample = {s: [] for s in SAMPLES}
    parameters, seen, shapes = [], set(), {}
    for declared in systematics:
        modifiers, extra = _modifiers_of(declared, yields)
        if isinstance(declared, Shape):
            # One nuisance may shift several samples (a detector resolution moves SM, LIN and
            # QUAD together): a Shape's name returns once per sample, and for no other kind.
            on = shapes.setdefault(declared.name, set())
            if declared.sample in on or declared.name in seen:
                raise ValueError(f"systematics: Shape {declared.name!r} declared twice"
                                 + (f" on {declared.sample}" if declared.sample in on else ""))
            on.add(declared.sample)
            names = set()
        elif isinstance(declared, MCStat):
            # one name per sample: LIN's and QUAD's parameters are per bin
            names = {"mc_stat" if s == "background" else f"mc_stat_{s}"
                     for s in SAMPLES if getattr(declared, s) is not None}
        else:
            names = {m["name"] for ms in modifiers.values() for m in ms}
        again = names & (seen | set(shapes))
        if again:
            raise ValueError(f"systematics: {sorted(again)} declared twice")
        seen |= names
        parameters += extra
        for sample, found in modifiers.items():
            per_sample[sample] += found
    return per_sample, parameters
