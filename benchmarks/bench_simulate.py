"""Event rate of ``vaednn.simulate`` against a per-event Python loop, and the default set's time.

Requirement (issue 2): the default data set (200k SM events and 100k per LIN and QUAD
sample of the 6 default operators) is generated and written in under a minute on 2 cores.

The slow reference builds the same kind of event one at a time with ``math``: jets, the W
pair recoiling against them, two isotropic two-body decays per W, then the branches. It
shows what vectorising buys; the generator's physics is tested in tests/test_simulate.py.

Run: ``python benchmarks/bench_simulate.py [--quick]``.
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from pathlib import Path

from common import command_line
from vaednn import simulate

BUDGET_S = 60.0


def _boost(d, parent, m):
    e = (parent[0] * d[0] + sum(parent[i] * d[i] for i in (1, 2, 3))) / m
    scale = (e + d[0]) / (parent[0] + m)
    return [e] + [d[i] + parent[i] * scale for i in (1, 2, 3)]


def _decay(rnd, parent, m, m1, m2):
    p = math.sqrt(max((m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2), 0.0)) / (2 * m)
    c = rnd.uniform(-1, 1)
    s = math.sqrt(1 - c * c)
    phi = rnd.uniform(-math.pi, math.pi)
    v = (p * s * math.cos(phi), p * s * math.sin(phi), p * c)
    d1 = [math.sqrt(p * p + m1 * m1), *v]
    d2 = [math.sqrt(p * p + m2 * m2), *(-x for x in v)]
    return _boost(d1, parent, m), _boost(d2, parent, m)


def _pt(v):
    return math.hypot(v[1], v[2])


def _mass(v):
    return math.sqrt(max(v[0] ** 2 - v[1] ** 2 - v[2] ** 2 - v[3] ** 2, 0.0))


def slow_event(rnd: random.Random, par=simulate.SM_PARAMETERS) -> dict:
    """One SM-like event built with a Python loop (no generator cuts, isotropic decays)."""
    while True:
        a = rnd.gauss(0, 1)
        b = par["ptj_rho"] * a + math.sqrt(1 - par["ptj_rho"] ** 2) * rnd.gauss(0, 1)
        pts = sorted((math.exp(par["ptj1_mu"] + par["ptj1_sigma"] * a),
                      math.exp(par["ptj2_mu"] + par["ptj2_sigma"] * b)), reverse=True)
        deta = par["deta_mu"] + par["deta_sigma"] * rnd.gauss(0, 1)
        centre = par["centre_sigma"] * rnd.gauss(0, 1)
        phis = [rnd.uniform(-math.pi, math.pi)]
        phis.append(phis[0] + math.pi + rnd.gauss(0, 1))
        etas = (centre + deta / 2, centre - deta / 2)
        jets = [[pt * math.cosh(eta), pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)]
                for pt, eta, phi in zip(pts, etas, phis)]
        mw = simulate.W_MASS
        mww = 2 * mw + math.exp(par["mww_mu"] + par["mww_sigma"] * rnd.gauss(0, 1))
        px, py = -(jets[0][1] + jets[1][1]), -(jets[0][2] + jets[1][2])
        mt = math.sqrt(mww * mww + px * px + py * py)
        y = centre + par["yww_sigma"] * rnd.gauss(0, 1)
        ww = [mt * math.cosh(y), px, py, mt * math.sinh(y)]
        w1, w2 = _decay(rnd, ww, mww, mw, mw)
        l1, v1 = _decay(rnd, w1, mw, 0.0, 0.0)
        l2, v2 = _decay(rnd, w2, mw, 0.0, 0.0)
        leptons = sorted((l1, l2), key=_pt, reverse=True)
        jj = [x + y for x, y in zip(*jets)]
        ll = [x + y for x, y in zip(*leptons)]
        return {"mjj": _mass(jj), "mll": _mass(ll), "ptll": _pt(ll),
                "met": math.hypot(v1[1] + v2[1], v1[2] + v2[2]),
                "ptl1": _pt(leptons[0]), "ptl2": _pt(leptons[1]), "deltaetajj": abs(deta)}


def main(argv=None) -> None:
    args = command_line(__doc__, "small samples, for CI", argv)
    n_slow = 2_000 if args.quick else 20_000
    n_sm, n_bsm = (20_000, 10_000) if args.quick else (200_000, 100_000)
    ops = simulate.DEFAULT_OPERATORS

    t0 = time.perf_counter()
    rnd = random.Random(0)
    for _ in range(n_slow):
        slow_event(rnd)
    slow_rate = n_slow / (time.perf_counter() - t0)

    n_fast = 20 * n_slow  # enough events that numpy's per-call overhead does not dominate
    t0 = time.perf_counter()
    simulate.generate(n_fast, seed=0)
    fast_rate = n_fast / (time.perf_counter() - t0)

    n_total = n_sm + 2 * len(ops) * n_bsm
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        simulate.write_ntuples(Path(tmp), operators=ops, n_events=n_sm, n_bsm=n_bsm, seed=0)
        elapsed = time.perf_counter() - t0
    rate = n_total / elapsed
    n_default = 200_000 + 2 * len(ops) * 100_000
    default_time = n_default / rate

    print(f"per-event Python loop : {slow_rate:12,.0f} events/s  ({n_slow} events)")
    print(f"vectorised generate   : {fast_rate:12,.0f} events/s  ({n_fast} events)")
    print(f"ratio vectorised / loop: {fast_rate / slow_rate:.1f}x")
    print(f"write_ntuples, {len(ops)} operators, {n_total:,} events: {elapsed:.1f} s "
          f"= {rate:,.0f} events/s (generation + ROOT writing)")
    print(f"default set ({n_default:,} events): {default_time:.1f} s "
          f"{'(measured)' if not args.quick else '(extrapolated)'}; requirement < {BUDGET_S:.0f} s "
          f"on 2 cores: {'met' if default_time < BUDGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
