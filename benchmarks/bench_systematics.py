"""Speed of the likelihood interval with five nuisance groups against a dense scan of pyhf fits.

Requirement (issue 23): the expected 95% CL interval with a luminosity, a background
normalisation, one shape and the MC statistics of SM, LIN and QUAD (here 8 bins, 27 nuisance
parameters) in under a second.

The reference is the textbook way: ``pyhf.infer.mle.fit`` (numpy backend, scipy SLSQP) with
``c_lin = c`` and ``c_quad = c**2`` fixed, on an evenly spaced grid of c over both bounds,
each bound the linear interpolation of ``sqrt(q)`` to the threshold between the grid points
around it. ``vaednn.stats.likelihood_interval`` brackets each bound from the fast
statistics-only interval and solves it with Brent's method, each fit a few Newton steps
from one batched pyhf evaluation. Both intervals are printed; they agree to the grid's
interpolation error.

Usage: ``python benchmarks/bench_systematics.py [--quick]`` (--quick: a 4x coarser grid).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as scipy_stats

from vaednn import stats

N_BINS = 8


def model():
    """8 bins of a falling background and a rising EFT, with five nuisance groups."""
    b = np.geomspace(400.0, 12.0, N_BINS)
    lin = np.linspace(-3.0, 12.0, N_BINS)
    quad = np.geomspace(0.8, 10.0, N_BINS)
    tilt = np.linspace(-1.0, 1.0, N_BINS)
    systematics = (stats.Luminosity(0.02), stats.Normalisation("bkg_norm", 0.1),
                   stats.Shape("jes", b * (1 + 0.04 * tilt), b * (1 - 0.04 * tilt)),
                   stats.MCStat(background=0.03 * b, lin=0.1 * np.abs(lin), quad=0.1 * quad))
    return b, lin, quad, systematics


def reference_interval(b, lin, quad, systematics, grid):
    """The interval from one ``pyhf.infer.mle.fit`` per grid point."""
    import pyhf

    pyhf.set_backend("numpy", precision="64b")
    spec = stats.model_spec(b, lin, quad, systematics=systematics)
    pdf = pyhf.Model(spec, validate=False, poi_name=None, modifier_settings=stats.MODIFIER_SETTINGS)
    data = np.concatenate([b, pdf.config.auxdata])
    index = [pdf.config.par_slice(name).start for name in ("c_lin", "c_quad")]
    init = np.asarray(pdf.config.suggested_init(), dtype=np.float64)
    init[index] = 0.0
    nll0 = -2 * float(pdf.logpdf(init, data)[0])
    bounds = [list(x) for x in pdf.config.suggested_bounds()]
    fixed = list(pdf.config.suggested_fixed())
    for i in index:
        fixed[i] = True
    q = []
    for c in grid:
        start = init.copy()
        start[index] = c, c**2
        bounds[index[0]], bounds[index[1]] = [c - 1, c + 1], [c**2 - 1, c**2 + 1]
        _, twice_nll = pyhf.infer.mle.fit(data, pdf, init_pars=start.tolist(), par_bounds=bounds,
                                          fixed_params=fixed, return_fitted_val=True)
        q.append(max(float(twice_nll) - nll0, 0.0))
    root, q = scipy_stats.chi2.ppf(0.95, 1) ** 0.5, np.sqrt(q)
    out = []
    for side in (grid < 0, grid > 0):
        c, r = grid[side], q[side]
        order = np.argsort(np.abs(c))
        c, r = c[order], r[order]
        k = int(np.flatnonzero(r >= root)[0])
        out.append(c[k - 1] + (root - r[k - 1]) * (c[k] - c[k - 1]) / (r[k] - r[k - 1]))
    return tuple(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 4x coarser reference grid")
    args = parser.parse_args(argv)
    b, lin, quad, systematics = model()
    stats.likelihood_interval(b, lin, quad, systematics=systematics)  # imports, pyhf set-up
    repeats = 5
    start = time.perf_counter()
    for _ in range(repeats):
        interval = stats.likelihood_interval(b, lin, quad, systematics=systematics)
    fast = (time.perf_counter() - start) / repeats
    grid = np.linspace(-2.2, 0.7, 74 if args.quick else 146)
    start = time.perf_counter()
    reference = reference_interval(b, lin, quad, systematics, grid)
    slow = time.perf_counter() - start
    print(f"{N_BINS} bins, lumi + bkg norm + one shape + MC stat of SM/LIN/QUAD "
          f"({len(systematics)} declarations)")
    print(f"likelihood_interval  {fast:7.3f} s   ({interval.lo:.5f}, {interval.hi:.5f})")
    print(f"pyhf fit on {len(grid)} points {slow:7.1f} s   "
          f"({reference[0]:.5f}, {reference[1]:.5f})")
    print(f"speed-up {slow / fast:.0f}x; requirement: the interval under 1 s")


if __name__ == "__main__":
    main()
