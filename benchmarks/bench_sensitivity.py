"""Speed of the whole results table: 6 operators x 6 rows, fits and 3 sigma reach included.

Requirement (issue 11): the table (every row's AUC, held-out cut, 3 sigma reach of each sign,
fit binning and three binned-likelihood intervals: 95 %, 95 % with a 10 % background
normalisation uncertainty, and the 68.27 % comparison interval at 100 fb^-1) takes under a
minute on 2 cores, so that the seed spread of issue 12 (x5) stays practical. One interval
must cost tens of milliseconds.

The S/sqrt(B) part is measured side by side with the seed's procedure, implemented here:
scan c upwards in steps of 0.01 and, at each c, evaluate sigma from the events at each of
100 cuts (numpy sums of the weights above the cut, kinder to the seed than its Python loops
over events) until sigma >= 3. That loop runs on one row and is extrapolated to the table's
36 rows; both answers are checked to agree to the step size.

Usage: ``python benchmarks/bench_sensitivity.py [--quick]`` (--quick: 10x fewer events).
"""

from __future__ import annotations

import time

import numpy as np

from common import command_line
from vaednn import compare, stats

OPERATORS = 6
ROWS = 6


def make_scores(n_sm, n_bsm, rng, shift):
    """One score of one operator: SM, LIN (a third negative) and QUAD, yields at 350 fb^-1."""
    return stats.ComponentScores(
        rng.exponential(1.0, n_sm), np.full(n_sm, 1400.0 / n_sm),
        rng.exponential(1.0 + shift, n_bsm),
        np.full(n_bsm, 60.0 / n_bsm) * np.where(rng.random(n_bsm) < 0.33, -1.0, 1.0),
        rng.exponential(1.0 + 2 * shift, n_bsm), np.full(n_bsm, 150.0 / n_bsm))


def seed_reach(scores, sign, cuts, step=1e-2, c_max=20.0):
    """The seed's 3 sigma reach: c scanned upwards, sigma from the events at every cut."""
    for c in np.arange(step, c_max, step):
        for k in cuts:
            b = scores.w_sm[scores.sm > k].sum()
            s = sign * c * scores.w_lin[scores.lin > k].sum() + c**2 * scores.w_quad[
                scores.quad > k].sum()
            if b > 0 and abs(s) / np.sqrt(b) >= 3:
                return sign * c
    return sign * np.inf


def table(rows):
    """Every number of the results table for ``rows`` of (validation, test) scores."""
    out = []
    for choose, report in rows:
        row = compare.metrics(choose, report)
        edges = stats.fit_binning(choose)
        b, lin, quad, _ = report.scaled(100.0 / 350.0).histogram(edges)
        row["c_68_100fb"] = stats.likelihood_interval(b, lin, quad, cl=0.6827)
        out.append(row)
    return out


def main(argv=None):
    args = command_line(__doc__, "10x fewer events", argv)
    n_sm, n_bsm = (8_000, 4_000) if args.quick else (80_000, 40_000)
    rng = np.random.default_rng(0)
    rows = [(make_scores(n_sm, n_bsm, rng, shift), make_scores(n_sm, n_bsm, rng, shift))
            for shift in np.linspace(0.05, 1.5, OPERATORS * ROWS)]

    table(rows[:1])  # imports (pyhf, jsonschema) out of the timing
    start = time.perf_counter()
    results = table(rows)
    whole = time.perf_counter() - start

    start = time.perf_counter()
    fast = [stats.min_coefficient(rows[0][1], sign=s) for s in (1, -1)]
    fast_time = (time.perf_counter() - start) * OPERATORS * ROWS
    cuts = np.quantile(rows[0][1].sm, np.linspace(0, 0.999, 100))
    start = time.perf_counter()
    slow = [seed_reach(rows[0][1], s, cuts) for s in (1, -1)]
    slow_time = (time.perf_counter() - start) * OPERATORS * ROWS
    np.testing.assert_allclose(fast, slow, atol=0.011)

    start = time.perf_counter()
    n_intervals = 20
    for _ in range(n_intervals):
        b, lin, quad, _ = rows[5][1].histogram(stats.fit_binning(rows[5][0]))
        stats.likelihood_interval(b, lin, quad, background_uncertainty=0.1)
    per_interval = (time.perf_counter() - start) / n_intervals

    print(f"{OPERATORS} operators x {ROWS} rows, {n_sm:,} SM and 2 x {n_bsm:,} BSM events per "
          f"split and row; {len(results)} rows, 3 intervals each")
    print(f"whole table (AUC, held-out cut, 3 sigma reach, binning, 3 fits per row): "
          f"{whole:6.2f} s   (requirement: < 60 s)")
    print(f"one 95 % interval with the 10 % systematic: {1e3 * per_interval:6.1f} ms "
          f"(requirement: tens of ms)")
    print(f"3 sigma reach, both signs, 36 rows: exact {fast_time:7.3f} s   seed loop "
          f"{slow_time:7.1f} s (one row measured, x36)   speed-up {slow_time / fast_time:7.0f}x; "
          f"c = {fast[0]:.4f} vs {slow[0]:.2f} (seed: 100 cuts, step 0.01)")


if __name__ == "__main__":
    main()
