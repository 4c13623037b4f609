import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from vaednn import plotting, stats


# ------------------------------------------------------------------ literal references
# Written as the original analysis did: Python loops over events and cuts.

def loop_above(scores, weights, cut, power=1):
    total = 0.0
    for s, w in zip(scores, weights):
        if s > cut:
            total += w**power
    return total


def loop_sigma(cut, c, loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad):
    """The seed's sigmaFunction."""
    n_b = loop_above(loss_sm, w_sm, cut)
    n_s = c * loop_above(loss_lin, w_lin, cut) + c * c * loop_above(loss_quad, w_quad, cut)
    if n_b == 0.0:
        n_b, n_s = 0.5, 0.0
    return abs(n_s), n_b, abs(n_s) / np.sqrt(n_b)


def loop_sigma_error_seed(cut, c, loss_sm, w_sm, norm_sm, loss_lin, w_lin, norm_lin,
                          loss_quad, w_quad, norm_quad):
    """The seed's sigma_max_err1: raw weights, var(n) = |n|."""
    k_b, k_l, k_q = norm_sm, norm_lin * c, norm_quad * c * c
    n_b = loop_above(loss_sm, np.asarray(w_sm) / norm_sm, cut)
    n_l = loop_above(loss_lin, np.asarray(w_lin) / norm_lin, cut)
    n_q = loop_above(loss_quad, np.asarray(w_quad) / norm_quad, cut)
    s = n_l * k_l + n_q * k_q
    sigma = abs(s) / np.sqrt(n_b * k_b)
    error = np.sqrt((abs(n_l) * k_l**2 + abs(n_q) * k_q**2) * np.sign(s) ** 2 / abs(n_b * k_b)
                    + s**2 / (4 * k_b * n_b**2))
    return sigma, error


def loop_auc(score_sm, w_sm, score_bsm, w_bsm):
    pairs = 0.0
    for s_i, w_i in zip(score_bsm, w_bsm):
        for s_j, w_j in zip(score_sm, w_sm):
            pairs += w_i * w_j * (1.0 if s_i > s_j else 0.5 if s_i == s_j else 0.0)
    return pairs / (sum(w_sm) * sum(w_bsm))


def golden_section(a, b, tol, sigma_of_cut):
    """The seed's GoldenRatioSearch for the maximum of sigma(cut) on [a, b]."""
    r = (np.sqrt(5) - 1) / 2
    a1, a2 = b - r * (b - a), a + r * (b - a)
    while abs(b - a) > tol:
        if sigma_of_cut(a1) < sigma_of_cut(a2):
            a, a1 = a1, a2
            a2 = a + r * (b - a)
        else:
            b, a2 = a2, a1
            a1 = b - r * (b - a)
    x = (a + b) / 2
    return x, sigma_of_cut(x)


@pytest.fixture(scope="module")
def events():
    """SM, LIN (a third of the weights negative) and QUAD, losses rounded so ties occur."""
    rng = np.random.default_rng(7)
    loss_sm = np.round(rng.exponential(1.0, 300), 2)
    w_sm = rng.uniform(0.5, 2.0, 300)
    loss_lin = np.round(rng.exponential(1.6, 200), 2)
    w_lin = rng.uniform(0.2, 1.0, 200) * np.where(rng.random(200) < 0.35, -1.0, 1.0)
    loss_quad = np.round(rng.exponential(2.5, 120), 2)
    w_quad = rng.uniform(0.1, 0.6, 120)
    return loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad


# ------------------------------------------------------------------ ROC / AUC

def test_roc_by_hand_with_a_negative_sm_weight():
    # NLO SM: signed weights with a positive total; the SM efficiency leaves [0, 1].
    eff_sm, eff_bsm, cuts = stats.roc([2.0, 4.0], [-1.0, 3.0],
                                      [1.0, 2.0, 3.0], [1.0, 1.0, 2.0])
    assert cuts.tolist() == [-np.inf, 1.0, 2.0, 3.0, 4.0]
    assert eff_sm.tolist() == [1.0, 1.0, 1.5, 1.5, 0.0]
    assert eff_bsm.tolist() == [1.0, 0.75, 0.5, 0.0, 0.0]


def test_roc_matches_loop_on_random_events(events):
    loss_sm, w_sm, loss_lin, w_lin, *_ = events
    w_lin = np.abs(w_lin)
    cuts = np.array([-1.0, 0.0, 0.37, 0.5, 1.0, 2.5, 100.0])
    eff_sm, eff_bsm, out_cuts = stats.roc(loss_sm, w_sm, loss_lin, w_lin, cuts)
    np.testing.assert_array_equal(out_cuts, cuts)
    np.testing.assert_allclose(eff_sm, [loop_above(loss_sm, w_sm, k) / w_sm.sum() for k in cuts])
    np.testing.assert_allclose(eff_bsm,
                               [loop_above(loss_lin, w_lin, k) / w_lin.sum() for k in cuts])


def test_auc_by_hand():
    # BSM 2 (w 1) beats SM 1 and ties SM 2: 1.5; BSM 3 (w 3) beats both: 6. Over 2 * 4.
    assert stats.auc([1, 2], [1, 1], [2, 3], [1, 3]) == pytest.approx(7.5 / 8)


def test_auc_equals_sklearn_for_positive_weights(events):
    loss_sm, w_sm, _, _, loss_quad, w_quad = events
    y = np.r_[np.zeros(len(loss_sm)), np.ones(len(loss_quad))]
    expected = roc_auc_score(y, np.r_[loss_sm, loss_quad], sample_weight=np.r_[w_sm, w_quad])
    assert stats.auc(loss_sm, w_sm, loss_quad, w_quad) == pytest.approx(expected, rel=1e-12)


def test_auc_matches_pair_loop_with_negative_sm_weights(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    w_sm = w_sm * np.where(np.arange(len(w_sm)) % 7 == 0, -0.3, 1.0)
    assert (w_sm < 0).any()
    score_bsm, w_bsm = np.r_[loss_lin, loss_quad], np.abs(np.r_[0.7 * w_lin, 0.49 * w_quad])
    assert stats.auc(loss_sm, w_sm, score_bsm, w_bsm) == pytest.approx(
        loop_auc(loss_sm, w_sm, score_bsm, w_bsm), rel=1e-10)


def test_auc_is_the_trapezoid_under_roc_and_antisymmetric(events):
    loss_sm, w_sm, loss_lin, w_lin, *_ = events
    w_lin = np.abs(w_lin)
    eff_sm, eff_bsm, _ = stats.roc(loss_sm, w_sm, loss_lin, w_lin)
    area = stats.auc(loss_sm, w_sm, loss_lin, w_lin)
    # Curve runs from (1, 1) down to (0, 0): the area is minus the x-ordered integral.
    assert area == pytest.approx(-np.trapezoid(eff_bsm, eff_sm), rel=1e-10)
    assert stats.auc(-loss_sm, w_sm, -loss_lin, w_lin) == pytest.approx(1 - area, rel=1e-10)


@pytest.mark.parametrize("call, message", [
    (lambda: stats.auc([1, 2], [1, -1], [1], [1]), "SM: weights sum to 0"),
    (lambda: stats.auc([1, 2], [1, 1], [1, 2], [1, -1]), "BSM: 1 negative weights"),
    (lambda: stats.roc([1, 2], [1, 1], [1, 2], [1]), "BSM: 2 scores but 1 weights"),
    (lambda: stats.roc([1, np.nan], [1, 1], [1], [1]), "SM: 1 NaN or infinite scores"),
    (lambda: stats.auc([[1, 2]], [[1, 1]], [1], [1]), "must be 1-D"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------------ significance

HAND_ARRAYS = dict(sm=[0.1, 0.2, 0.3, 0.4], w_sm=[4.0, 3.0, 2.0, 1.0],
                   lin=[0.25, 0.35], w_lin=[-1.0, 2.0], quad=[0.45], w_quad=[3.0])
HAND = stats.ComponentScores(**HAND_ARRAYS)


def scores_of(arrays, norms=None):
    return stats.ComponentScores(*arrays, norms=norms)


def test_significance_by_hand_including_the_seed_conventions():
    cuts = [0.2, 0.3, 0.4]
    s, b, sigma = stats.significance(cuts, -2.0, HAND)
    # c = -2: S = |-2 LIN + 4 QUAD|; above 0.2: LIN = 1, QUAD = 3 -> 10; above 0.3: 2, 3 -> 8.
    np.testing.assert_allclose(s, [10.0, 8.0, 0.0])
    np.testing.assert_allclose(b, [3.0, 1.0, 0.5])  # nothing above 0.4: B = 0.5, S = 0
    np.testing.assert_allclose(sigma, [10 / np.sqrt(3), 8.0, 0.0])
    _, _, kept = stats.significance(cuts, -2.0, HAND, min_background=1.0)
    assert np.isnan(kept[2]) and kept[1] == 8.0


def test_significance_matches_the_seed_loop(events):
    cuts = stats.all_cuts(*events[::2])[::7]
    for c in (-0.7, 0.3, 2.0):
        s, b, sigma = stats.significance(cuts, c, scores_of(events))
        expected = np.array([loop_sigma(k, c, *events) for k in cuts])
        np.testing.assert_allclose(np.c_[s, b, sigma], expected, rtol=1e-9, atol=1e-12)


def test_min_background_keeps_the_cuts_of_the_seed_scan(events):
    cuts = np.arange(0.0, 6.0, 0.05)
    _, _, sigma = stats.significance(cuts, 0.5, scores_of(events), min_background=1.0)
    seed_kept = [k for k in cuts if loop_sigma(k, 0.5, *events)[1] >= 1.0]
    np.testing.assert_array_equal(cuts[~np.isnan(sigma)], seed_kept)
    assert 0 < len(seed_kept) < len(cuts)


def test_significance_error_by_hand():
    # Above 0.2 at c = 1: B = 3 (norm 2), LIN = 1 (norm 0.5), QUAD = 3 (norm 1.5), S = 4.
    # poisson: var(S) = 0.5 * 1 + 1.5 * 3 = 5, var(B) = 2 * 3 = 6.
    # sumw2:  var(S) = 1 + 4 + 9 = 14, var(B) = 4 + 1 = 5.
    hand = stats.ComponentScores(**HAND_ARRAYS, norms=(2.0, 0.5, 1.5))
    sigma, error = stats.significance_error([0.2], 1.0, hand, variance="poisson")
    assert sigma[0] == pytest.approx(4 / np.sqrt(3))
    assert error[0] ** 2 == pytest.approx(5 / 3 + 16 * 6 / (4 * 27))
    _, error = stats.significance_error([0.2], 1.0, hand, variance="sumw2")
    assert error[0] ** 2 == pytest.approx(14 / 3 + 16 * 5 / (4 * 27))
    sigma, error = stats.significance_error([0.4], 1.0, hand)
    assert sigma[0] == 0.0 and np.isnan(error[0])  # no background: sigma by convention


def test_significance_error_matches_the_seed_formula(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    norms = (3.0, 0.4, 0.05)
    cuts = np.array([0.0, 0.3, 1.0, 2.0])
    for c in (0.4, -1.5):
        sigma, error = stats.significance_error(cuts, c, scores_of(events, norms),
                                                variance="poisson")
        expected = np.array([loop_sigma_error_seed(k, c, loss_sm, w_sm, norms[0], loss_lin,
                                                   w_lin, norms[1], loss_quad, w_quad, norms[2])
                             for k in cuts])
        np.testing.assert_allclose(np.c_[sigma, error], expected, rtol=1e-9)


def test_sumw2_error_matches_loop_and_equals_poisson_for_unit_weights(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    cuts = np.array([0.1, 0.8, 1.7])
    c = 0.8
    _, error = stats.significance_error(cuts, c, scores_of(events), variance="sumw2")
    for k, err in zip(cuts, error):
        b = loop_above(loss_sm, w_sm, k)
        s = c * loop_above(loss_lin, w_lin, k) + c**2 * loop_above(loss_quad, w_quad, k)
        var_s = (c**2 * loop_above(loss_lin, w_lin, k, 2)
                 + c**4 * loop_above(loss_quad, w_quad, k, 2))
        var_b = loop_above(loss_sm, w_sm, k, 2)
        assert err == pytest.approx(np.sqrt(var_s / b + s**2 * var_b / (4 * b**3)), rel=1e-9)
    # Generator weights of +-1 (yields = norm * raw): sum w^2 = |sum w| when all signs agree.
    norms = (2.0, 0.3, 0.7)
    unit = scores_of((loss_sm, norms[0] * np.ones_like(w_sm), loss_lin,
                      norms[1] * np.ones_like(w_lin), loss_quad, norms[2] * np.ones_like(w_quad)),
                     norms)
    poisson = stats.significance_error(cuts, c, unit, variance="poisson")[1]
    sumw2 = stats.significance_error(cuts, c, unit, variance="sumw2")[1]
    np.testing.assert_allclose(poisson, sumw2, rtol=1e-12)


def test_sumw2_error_predicts_the_spread_of_resampled_monte_carlo():
    rng = np.random.default_rng(3)
    loss_sm, loss_lin, loss_quad = rng.exponential(1.0, 4000), rng.exponential(2.0, 3000), \
        rng.exponential(3.0, 2000)
    w_sm, w_quad = rng.uniform(0.5, 1.5, 4000), rng.uniform(0.2, 0.4, 2000)
    w_lin = rng.uniform(0.2, 1.0, 3000) * np.where(rng.random(3000) < 0.3, -1.0, 1.0)
    cut, c = 1.5, 1.0
    _, error = stats.significance_error(
        [cut], c, scores_of((loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad)), variance="sumw2")
    # Poisson bootstrap: each MC event's multiplicity ~ Poisson(1), as in a new MC production.
    toys = [stats.significance([cut], c, scores_of((
        loss_sm, w_sm * rng.poisson(1.0, 4000), loss_lin, w_lin * rng.poisson(1.0, 3000),
        loss_quad, w_quad * rng.poisson(1.0, 2000))))[2][0] for _ in range(400)]
    assert np.std(toys) == pytest.approx(error[0], rel=0.15)


def test_significance_error_rejects_bad_options():
    with pytest.raises(ValueError, match="norm_sm must be a positive number"):
        stats.ComponentScores(**HAND_ARRAYS, norms=(0.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="variance must be one of"):
        stats.significance_error([0.2], 1.0, HAND, variance="gauss")
    with pytest.raises(ValueError, match="needs the scores' norms"):
        stats.significance_error([0.2], 1.0, HAND, variance="poisson")


# ------------------------------------------------------------------ best cut

def test_best_cut_is_the_maximum_over_every_distinct_loss(events):
    for c in (-1.0, 0.6):
        best = stats.best_cut(c, scores_of(events))
        cuts = stats.all_cuts(*events[::2])
        sigmas = [loop_sigma(k, c, *events)[2] for k in cuts]
        assert best.sigma == pytest.approx(max(sigmas), rel=1e-12)
        assert best.cut == cuts[int(np.argmax(sigmas))]
        assert (best.signal, best.background) == pytest.approx(loop_sigma(best.cut, c, *events)[:2])


def test_golden_section_misses_the_maximum_of_a_step_function_best_cut_does_not():
    # 101 SM events evenly spread over [0, 1]; signal in a broad cluster at 0.45 and a
    # narrow one at 0.95. sigma(cut) has two humps; the golden-section search compares
    # sigma(0.382) = 25/sqrt(62) with sigma(0.618) = 10/sqrt(38), drops the upper third and
    # climbs the lower hump (at most 25/sqrt(56) = 3.34), missing 10/sqrt(6) = 4.08 at cut 0.94.
    loss_sm = np.linspace(0.0, 1.0, 101)
    w_sm = np.ones_like(loss_sm)
    loss_quad = np.r_[np.full(5, 0.45), np.full(10, 0.95)]
    w_quad = np.r_[np.full(5, 3.0), np.full(10, 1.0)]
    args = (loss_sm, w_sm, np.array([]), np.array([]), loss_quad, w_quad)
    best = stats.best_cut(1.0, scores_of(args))
    x, f = golden_section(0.0, 1.0, 1e-5, lambda k: loop_sigma(k, 1.0, *args)[2])
    assert best.sigma == pytest.approx(10 / np.sqrt(6))
    assert best.cut == pytest.approx(0.94)
    assert x < 0.45 and f <= 25 / np.sqrt(56) + 1e-12


def test_best_cut_with_min_background_everything_excluded_raises():
    with pytest.raises(ValueError, match="min_background=100"):
        stats.best_cut(1.0, HAND, min_background=100)


def test_max_significance_is_best_cut_at_each_c(events):
    c_values = np.array([-2.0, -0.4, 0.0, 0.3, 1.1])
    expected = [stats.best_cut(c, scores_of(events)).sigma for c in c_values]
    np.testing.assert_allclose(stats.max_significance(c_values, scores_of(events)), expected)


# ------------------------------------------------------------------ min coefficient

def test_min_coefficient_by_hand_both_signs():
    # One usable cut (no cut): B = 4, L = 2, Q = 1: |2c + c^2| / 2 = 3.
    args = ([0.0], [4.0], [1.0], [2.0], [1.0], [1.0])
    assert stats.min_coefficient(scores_of(args)) == pytest.approx(-1 + np.sqrt(7))
    # c < 0: c^2 + 2c = 6 with c = -u: u^2 - 2u - 6 = 0.
    assert stats.min_coefficient(scores_of(args), sign=-1) == pytest.approx(-(1 + np.sqrt(7)))


def test_min_coefficient_finds_the_first_crossing_before_a_destructive_dip():
    # B = 1, L = -8, Q = 1: for c > 0, |c^2 - 8c| rises to 16 at c = 4, vanishes at c = 8.
    args = ([0.0], [1.0], [1.0], [-8.0], [1.0], [1.0])
    assert stats.min_coefficient(scores_of(args)) == pytest.approx(4 - np.sqrt(13))
    assert stats.min_coefficient(scores_of(args), sign=-1) == pytest.approx(-(-4 + np.sqrt(19)))
    # sigma(c) is not monotone: it is above 3 at c = 4 and below at c = 7.9.
    sigma = stats.max_significance([4.0, 7.9], scores_of(args))
    assert sigma[0] > 3 > sigma[1]


def test_min_coefficient_is_where_the_scanned_best_sigma_first_reaches_3(events):
    for sign in (1, -1):
        c_min = stats.min_coefficient(scores_of(events), sign=sign, weights_luminosity=350.0,
                                      luminosity=700.0)
        assert np.sign(c_min) == sign
        scaled = [w * 2.0 if i % 2 else w for i, w in enumerate(events)]
        grid = np.linspace(0, c_min, 400)[1:] * (1 - 1e-9)
        assert np.nanmax(stats.max_significance(grid, scores_of(scaled))) < 3.0
        reached = stats.max_significance([c_min * (1 + 1e-9)], scores_of(scaled))[0]
        assert reached == pytest.approx(3.0, rel=1e-6) and reached >= 3.0
        # The literal loop agrees on the sign change.
        above = max(loop_sigma(k, c_min * (1 + 1e-6), *scaled)[2]
                    for k in stats.all_cuts(*events[::2]))
        assert above >= 3.0


def test_min_coefficient_scales_with_luminosity(events):
    # Weights made at 350 fb^-1 and asked for 1400: same as weights four times larger.
    quadrupled = [w * 4.0 if i % 2 else w for i, w in enumerate(events)]
    assert stats.min_coefficient(scores_of(events), luminosity=1400.0) == pytest.approx(
        stats.min_coefficient(scores_of(quadrupled)), rel=1e-12)
    # sigma ~ sqrt(L): the pure-QUAD case gives c_min ~ L^(-1/4).
    pure_quad = (events[0], events[1], [], [], events[4], events[5])
    ratio = (stats.min_coefficient(scores_of(pure_quad), luminosity=16 * 350.0)
             / stats.min_coefficient(scores_of(pure_quad)))
    assert ratio == pytest.approx(0.5, rel=1e-12)


def test_min_coefficient_without_signal_is_infinite_and_bad_sign_raises():
    empty = scores_of(([0.0], [1.0], [], [], [], []))
    assert stats.min_coefficient(empty) == np.inf
    with pytest.raises(ValueError, match="sign must be"):
        stats.min_coefficient(empty, sign=2)




def test_held_out_coefficient_chooses_on_one_set_and_reports_on_the_other(events):
    choose = scores_of(events)
    for sign in (1, -1):
        c, cut = stats.held_out_coefficient(choose, choose, sign=sign)
        # Chosen and reported on the same events, it is the seed's min_coefficient.
        assert c == pytest.approx(stats.min_coefficient(choose, sign=sign), rel=1e-12)
    # Reported on events with twice the background at every cut: the same cut, B doubled.
    report = scores_of((events[0], 2 * events[1], *events[2:]))
    c, cut = stats.held_out_coefficient(choose, report)
    background = loop_above(events[0], 2 * events[1], cut)
    lin, quad = loop_above(events[2], events[3], cut), loop_above(events[4], events[5], cut)
    assert abs(quad * c**2 + lin * c) == pytest.approx(3 * np.sqrt(background), rel=1e-9)


# ------------------------------------------------------------------ likelihood

def test_asimov_significance_closed_forms():
    s, b = np.array([5.0, 30.0]), np.array([100.0, 20.0])
    expected = np.sqrt(2 * ((s + b) * np.log(1 + s / b) - s))
    np.testing.assert_allclose(stats.asimov_significance(s, b), expected, rtol=1e-12)
    # Cowan et al. with sigma_b = 0.2 b, written out by hand for s = 10, b = 50.
    sb2 = (0.2 * 50) ** 2
    by_hand = np.sqrt(2 * (60 * np.log(60 * (50 + sb2) / (50**2 + 60 * sb2))
                           - 50**2 / sb2 * np.log(1 + sb2 * 10 / (50 * (50 + sb2)))))
    assert stats.asimov_significance(10.0, 50.0, 0.2) == pytest.approx(by_hand, rel=1e-12)
    # s << b: both reduce to s / sqrt(b + sigma_b^2).
    assert stats.asimov_significance(1.0, 1e6, 1e-3) == pytest.approx(
        1 / np.sqrt(1e6 + 1e6), rel=1e-3)
    assert stats.asimov_significance(10.0, 50.0, 0.2) < stats.asimov_significance(10.0, 50.0)
    with pytest.raises(ValueError, match="s must be > -b"):
        stats.asimov_significance(-60.0, 50.0)


@pytest.mark.parametrize("b, lin, quad", [(100.0, 10.0, 0.0), (40.0, -6.0, 2.0),
                                          (1000.0, -485.0, 60.0)])
def test_one_bin_interval_is_the_poisson_likelihood_ratio(b, lin, quad):
    from scipy.optimize import brentq

    def q(c):
        nu = b + c * lin + c**2 * quad
        if nu <= 0:
            return np.inf
        return 2 * (nu - b - b * np.log(nu / b)) - 3.841458820694124

    def first_root(sign):
        grid = sign * np.geomspace(1e-6, 1e3, 20001)
        above = np.flatnonzero(np.array([q(c) for c in grid]) >= 0)[0]
        return brentq(q, grid[above - 1], grid[above])

    lo, hi = stats.likelihood_interval([b], [lin], [quad])
    assert lo == pytest.approx(first_root(-1), rel=1e-3)
    assert hi == pytest.approx(first_root(1), rel=1e-3)


def test_large_bin_with_a_small_systematic_is_gaussian():
    b, lin, delta = 1e5, 50.0, 0.01
    lo, hi = stats.likelihood_interval([b], [lin], [0.0], background_uncertainty=delta)
    expected = 1.96 * np.sqrt(b + delta**2 * b**2) / lin
    # Poisson and log-normal skew move the bounds by ~1 % in opposite directions; the
    # half-width keeps the Gaussian value to second order.
    assert (hi - lo) / 2 == pytest.approx(expected, rel=1e-3)
    assert -lo == pytest.approx(expected, rel=2e-2) and hi == pytest.approx(expected, rel=2e-2)


def test_a_systematic_never_narrows_the_interval():
    rng = np.random.default_rng(5)
    for _ in range(5):
        b = rng.uniform(5, 200, 4)
        quad = rng.uniform(0.5, 5, 4)
        lin = rng.uniform(-0.9, 0.9, 4) * 2 * np.sqrt(b * quad)
        plain = stats.likelihood_interval(b, lin, quad)
        for delta in (0.05, 0.3):
            syst = stats.likelihood_interval(b, lin, quad, background_uncertainty=delta)
            assert syst.lo <= plain.lo + 1e-9 and syst.hi >= plain.hi - 1e-9
        mc = stats.likelihood_interval(b, lin, quad, mc_errors=0.1 * b)
        assert mc.lo <= plain.lo + 1e-9 and mc.hi >= plain.hi - 1e-9


def test_profiled_nuisances_match_a_pyhf_fit():
    import pyhf

    b, lin, quad = np.array([80.0, 30.0, 6.0]), np.array([-4.0, 3.0, 2.0]), np.array([1.0, 2, 3])
    scan = stats.profile_scan(b, lin, quad, background_uncertainty=0.2, mc_errors=0.2 * b)
    model = stats.likelihood._Likelihood(b, lin, quad, 0.2, 0.2 * b)
    pyhf.set_backend("numpy")
    pdf = pyhf.Model(model.spec, validate=False, poi_name=None,
                     modifier_settings={"normsys": {"interpcode": "code1"},
                                        "histosys": {"interpcode": "code0"}})
    data = np.concatenate([b, pdf.config.auxdata])
    init = np.asarray(pdf.config.suggested_init(), dtype=float)
    bounds = [(-50.0, 50.0) if name in ("c_lin", "c_quad") else (-10.0, 10.0)
              for name in pdf.config.par_order
              for _ in range(pdf.config.param_set(name).n_parameters)]
    index = {name: pdf.config.par_slice(name).start for name in ("c_lin", "c_quad")}
    init[list(index.values())] = 0.0  # pyhf starts normfactors at 1; the SM is c = 0
    nll0 = -float(pdf.logpdf(init, data)[0])
    for c in (-1.5, 0.7, 2.0):
        start = init.copy()
        start[index["c_lin"]], start[index["c_quad"]] = c, c**2
        fixed = [i in index.values() for i in range(len(init))]
        best = pyhf.infer.mle.fit(data, pdf, init_pars=start.tolist(), fixed_params=fixed,
                                  par_bounds=bounds, return_fitted_val=True)[1]
        assert model.q(np.array([c]))[0] == pytest.approx(float(best) - 2 * nll0, rel=1e-4)
    assert scan.q.min() == pytest.approx(0.0, abs=1e-8) and np.isfinite(scan.interval).all()


def test_every_public_name_of_stats_is_its_home_modules():
    # vaednn.stats re-exports its modules' names: one object, so patching or isinstance checks
    # see the same thing whichever path a caller imports.
    modules = (stats.components, stats.roc_auc, stats.counting, stats.likelihood, stats.binning,
               stats.systematics)
    home = {name: module for module in modules for name in module.__all__}
    assert len(home) == sum(len(module.__all__) for module in modules)
    for name in stats.__all__:
        assert getattr(stats, name) is getattr(home[name], name), name


def test_model_spec_is_the_model_of_the_interval():
    # nu = b e^(d theta) + c LIN + c^2 QUAD per bin, computed by hand, against pyhf's
    # expected data of the public spec at c = 1.5 and theta = +-1 (code1 normsys).
    import pyhf

    b, lin, quad, d = np.array([80.0, 30.0]), np.array([-4.0, 3.0]), np.array([1.0, 2.0]), 0.2
    spec = stats.model_spec(b, lin, quad, background_uncertainty=d)
    assert spec == stats.likelihood._Likelihood(b, lin, quad, d, None).spec
    pyhf.set_backend("numpy")
    model = pyhf.Model(spec, validate=False, poi_name=None,
                       modifier_settings=stats.MODIFIER_SETTINGS)
    c = 1.5
    for theta in (1.0, -1.0):
        pars = np.asarray(model.config.suggested_init(), dtype=float)
        for name, value in (("c_lin", c), ("c_quad", c**2), ("bkg_norm", theta)):
            pars[model.config.par_slice(name).start] = value
        assert model.expected_actualdata(pars) == pytest.approx(
            b * np.exp(d * theta) + c * lin + c**2 * quad, rel=1e-12)
    with_mc = stats.model_spec(b, lin, quad, mc_errors=[8.0, 3.0])["channels"][0]["samples"][0]
    assert with_mc["modifiers"] == [{"name": "mc_stat", "type": "staterror", "data": [8.0, 3.0]}]
    with pytest.raises(ValueError, match="quad has 1 bins, background has 2"):
        stats.model_spec(b, lin, [1.0])
    with pytest.raises(ValueError, match="background_uncertainty must be >= 0"):
        stats.model_spec(b, lin, quad, background_uncertainty=-0.1)


def test_rate_only_operator_flags_the_second_minimum():
    # One bin, LIN/SM = -0.485, QUAD/SM = 0.06 (cHl3): SM + EFT = SM again at c = 0.485/0.06.
    scan = stats.profile_scan([1000.0], [-485.0], [60.0])
    assert scan.falls_back
    near = scan.c[np.argmin(np.abs(scan.c - 485 / 60))]
    assert scan.q[np.argmin(np.abs(scan.c - 485 / 60))] < scan.threshold and near > scan.interval.hi
    assert not stats.profile_scan([1000.0], [10.0], [60.0]).falls_back


def test_interval_rejects_bad_input():
    with pytest.raises(ValueError, match="lin has 2 bins, background has 1"):
        stats.likelihood_interval([1.0], [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="background must be > 0"):
        stats.likelihood_interval([0.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="cl must be in"):
        stats.likelihood_interval([1.0], [1.0], [1.0], cl=1.5)


# ------------------------------------------------------------------ binning

def test_fit_binning_merges_until_every_bin_is_usable():
    rng = np.random.default_rng(2)
    sm = rng.exponential(1.0, 2000)
    scores = scores_of((sm, np.full(2000, 0.05), rng.exponential(1.5, 500), np.full(500, -0.02),
                        rng.exponential(2.0, 500), np.full(500, 0.03)))
    edges = stats.fit_binning(scores)
    assert edges[0] == -np.inf and edges[-1] == np.inf and 2 <= len(edges) - 1 <= 10
    b, lin, quad, errors = scores.histogram(edges)
    assert (b >= 5).all() and (lin**2 < 4 * b * quad).all()
    assert b.sum() == pytest.approx(100.0)
    counts = [np.sum((sm > low) & (sm <= high)) for low, high in zip(edges[:-1], edges[1:])]
    np.testing.assert_allclose(errors, 0.05 * np.sqrt(counts))


def test_fit_binning_names_the_bin_when_impossible():
    # LIN^2 = 100 > 4 SM QUAD = 4 * 10 * 1 in every merge: nu < 0 for some c.
    scores = scores_of((np.arange(10.0), np.ones(10), [5.0], [-10.0], [5.0], [1.0]))
    with pytest.raises(stats.BinningError, match=r"bin \(-inf, inf\].*LIN\^2 = 100"):
        stats.fit_binning(scores)


# ------------------------------------------------------------------ plots

def test_plot_roc_draws_each_model_with_its_auc(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    curves = {"LIN": (loss_sm, w_sm, loss_lin, np.abs(w_lin)), "QUAD": (loss_sm, w_sm, loss_quad, w_quad)}
    lines = plotting.plot_roc(curves, max_points=50, rejection=False)
    assert len(lines) == 3 and len(lines[0].get_xdata()) <= 50
    expected = stats.auc(loss_sm, w_sm, loss_quad, w_quad)
    assert lines[1].get_label() == f"QUAD (AUC = {expected:.3f})"
    assert lines[0].get_xdata()[0] == 1.0 and lines[0].get_xdata()[-1] == 0.0
    plt.close("all")


def test_plot_roc_shows_background_rejection_against_signal_efficiency(events):
    loss_sm, w_sm, _, _, loss_quad, w_quad = events
    (line, guess) = plotting.plot_roc({"QUAD": (loss_sm, w_sm, loss_quad, w_quad)})
    eff_sm, eff_bsm, _ = stats.roc(loss_sm, w_sm, loss_quad, w_quad)
    passing = eff_sm > 0  # no SM event left: infinite rejection, not drawn
    np.testing.assert_allclose(line.get_xdata(), eff_bsm[passing])
    np.testing.assert_allclose(line.get_ydata(), 1 / eff_sm[passing])
    assert line.axes.get_yscale() == "log"
    np.testing.assert_allclose(guess.get_ydata() * guess.get_xdata(), 1.0)  # random: 1/eps
    plt.close("all")


def test_plot_loss_distributions_shows_negative_lin_bins_as_magnitudes(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    drawn = plotting.plot_loss_distributions(stats.ComponentScores(*events), c=0.5, bins=5)
    assert set(drawn) == {"SM", "LIN", "LIN < 0", "QUAD"}
    edges = np.histogram_bin_edges(np.r_[loss_sm, loss_lin, loss_quad], bins=5)
    lin, _ = np.histogram(loss_lin, edges, weights=0.5 * w_lin)
    assert (lin < 0).any()
    np.testing.assert_allclose(drawn["LIN"].get_data().values, np.clip(lin, 0, None))
    np.testing.assert_allclose(drawn["LIN < 0"].get_data().values, np.clip(-lin, 0, None))
    assert drawn["SM"].axes.get_yscale() == "log"
    plt.close("all")


def test_plot_significance_and_sigma_vs_c(events):
    cuts = stats.all_cuts(*events[::2])
    scores = stats.ComponentScores(*events)
    sigma, error = stats.significance_error(cuts, 1.0, scores)
    fig, ax = plt.subplots()
    line, band = plotting.plot_significance(cuts, sigma, error, ax=ax, label="toy")
    assert line.axes is ax and len(line.get_xdata()) == len(cuts) - 1  # -inf not drawn
    assert band is not None
    c_values = np.linspace(0.1, 2.0, 5)
    line, hline = plotting.plot_sigma_vs_c(c_values, stats.max_significance(c_values, scores),
                                           operator="cW")
    assert hline.get_ydata()[0] == 3.0 and line.axes.get_xlabel() == "cW"
    second, same = plotting.plot_sigma_vs_c(c_values, 2 * stats.max_significance(c_values, scores),
                                            ax=line.axes, label="other")
    assert same is hline and second is not line
    assert [t.get_text() for t in line.axes.get_legend().get_texts()].count(r"3$\sigma$") == 1
    plt.close("all")


@pytest.mark.parametrize("backend", ["numpy_32b", "jax"])
def test_interval_leaves_the_callers_pyhf_backend_alone(backend):
    # pyhf's backend is global: a likelihood interval must neither change it for the caller
    # nor depend on it (the numbers are always those of the 64-bit numpy backend).
    import pyhf

    b, lin, quad = np.array([80.0, 30.0, 6.0]), np.array([-4.0, 3.0, 2.0]), np.array([1.0, 2, 3])
    pyhf.set_backend("numpy")
    reference = stats.likelihood_interval(b, lin, quad, background_uncertainty=0.2,
                                          mc_errors=0.2 * b)
    if backend == "jax":
        pytest.importorskip("jax")
        pyhf.set_backend("jax", "minuit" if _has("iminuit") else None)
    else:
        pyhf.set_backend("numpy", precision="32b")
    before = pyhf.get_backend()
    try:
        interval = stats.likelihood_interval(b, lin, quad, background_uncertainty=0.2,
                                             mc_errors=0.2 * b)
        after = pyhf.get_backend()
        assert after[0] is before[0] and after[1] is before[1]
        assert (after[0].name, after[0].precision) == (before[0].name, before[0].precision)
    finally:
        pyhf.set_backend("numpy")
    assert tuple(interval) == pytest.approx(tuple(reference), rel=1e-12)


def _has(module):
    import importlib.util

    return importlib.util.find_spec(module) is not None
