"""Declared uncertainties from events (vaednn.comparison.uncertainties) against sums written
out by hand: the resolution shape is the smeared events' yields and their mirror, one
nuisance for SM, LIN and QUAD; the MC statistics are sqrt(sum w^2) per (low, high] bin."""

import numpy as np
import pandas as pd
import pytest

from vaednn import compare, data, stats

EDGES = np.array([-np.inf, 300.0, 600.0, np.inf])
LUMINOSITY = 100.0


def sample(name, ptj1, weights):
    features = pd.DataFrame({"ptj1": np.asarray(ptj1, dtype=float)})
    return data.Sample(name, features, np.asarray(weights, dtype=float), xsec=0.001,
                       sumw=float(np.sum(np.abs(weights))), log_features=("ptj1",))


def operator_samples(seed=0, n=400):
    rng = np.random.default_rng(seed)
    return data.OperatorSamples(
        "cX", sample("SM", rng.lognormal(5.9, 0.5, n), np.ones(n)),
        sample("LIN", rng.lognormal(6.2, 0.5, n), rng.choice([-1.0, 1.0], n, p=[0.3, 0.7])),
        sample("QUAD", rng.lognormal(6.5, 0.5, n), np.ones(n)))


def by_hand(values, weights, power=1):
    """Per-bin sum of weight**power, bins (low, high] of EDGES, by an explicit loop."""
    out = np.zeros(len(EDGES) - 1)
    for value, weight in zip(values, weights):
        for i in range(len(out)):
            if EDGES[i] < value <= EDGES[i + 1]:
                out[i] += weight**power
    return out


def test_the_resolution_shape_is_the_smeared_yield_and_its_mirror_under_one_name():
    samples = operator_samples()
    scorer = compare.feature_scorer("ptj1")
    shapes = compare.resolution_shapes(scorer, samples, EDGES, LUMINOSITY, scale=2.0, seed=3)
    assert [s.sample for s in shapes] == list(stats.SAMPLES)
    assert {s.name for s in shapes} == {compare.RESOLUTION}
    moved = compare.smeared(samples, 2.0, seed=3)
    for shape, nominal, smeared in zip(shapes, samples, moved):
        yields = data.lumi_weights(nominal, LUMINOSITY)
        up = by_hand(smeared.features["ptj1"], yields)
        base = by_hand(nominal.features["ptj1"], yields)
        assert shape.up == pytest.approx(up, rel=1e-12)
        assert shape.down == pytest.approx(2 * base - up, rel=1e-12, abs=1e-12)
    assert not np.allclose(shapes[0].up, by_hand(samples.sm.features["ptj1"],
                                                 data.lumi_weights(samples.sm, LUMINOSITY)))


def test_no_smearing_gives_no_shape():
    samples = operator_samples()
    shapes = compare.resolution_shapes(compare.feature_scorer("ptj1"), samples, EDGES,
                                       LUMINOSITY, scale=0.0)
    for shape in shapes:
        assert shape.up == pytest.approx(shape.down)


def test_one_event_set_is_smeared_once_for_all_three_weight_columns():
    base = operator_samples()
    events = base.sm.features["ptj1"]
    one = data.OperatorSamples("cX", base.sm, sample("LIN", events, -base.sm.weights),
                               sample("QUAD", events, base.sm.weights), same_events=True)
    moved = compare.smeared(one, 1.0, seed=5)
    assert moved.same_events
    assert moved.lin.features.equals(moved.sm.features)
    assert moved.quad.features.equals(moved.sm.features)


def test_mc_statistics_are_sqrt_sum_w2_per_bin():
    samples = operator_samples()
    report = compare.score_samples(compare.feature_scorer("ptj1"), samples, LUMINOSITY)
    declared = compare.mc_statistics(report, EDGES)
    for name, s in zip(stats.SAMPLES, samples):
        expected = np.sqrt(by_hand(s.features["ptj1"], data.lumi_weights(s, LUMINOSITY), 2))
        assert getattr(declared, name) == pytest.approx(expected, rel=1e-12)


def test_every_group_widens_the_interval_and_all_together_most():
    samples = operator_samples(n=2000)
    scorer = compare.feature_scorer("ptj1")
    report = compare.score_samples(scorer, samples, 1000.0)
    background, lin, quad, _ = report.histogram(EDGES)
    groups = compare.declared_uncertainties(scorer, samples, EDGES, 1000.0)
    assert list(groups) == ["luminosity", "background normalisation", "resolution",
                            "MC statistics"]
    plain = stats.likelihood_interval(background, lin, quad)
    width = {name: np.subtract(*stats.likelihood_interval(background, lin, quad,
                                                          systematics=group)[::-1])
             for name, group in groups.items()}
    everything = np.subtract(*stats.likelihood_interval(
        background, lin, quad, systematics=sum(groups.values(), ()))[::-1])
    for name, w in width.items():
        assert w >= (plain.hi - plain.lo) * (1 - 1e-6), name
    assert everything >= max(width.values()) * (1 - 1e-6)
