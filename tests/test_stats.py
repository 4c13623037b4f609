import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from vaednn import data, evaluate


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

def test_roc_by_hand_with_a_negative_weight():
    eff_sm, eff_bsm, cuts = evaluate.roc([1.0, 2.0, 3.0], [1.0, 1.0, 2.0],
                                         [2.0, 4.0], [-1.0, 3.0])
    assert cuts.tolist() == [-np.inf, 1.0, 2.0, 3.0, 4.0]
    assert eff_sm.tolist() == [1.0, 0.75, 0.5, 0.0, 0.0]
    assert eff_bsm.tolist() == [1.0, 1.0, 1.5, 1.5, 0.0]


def test_roc_matches_loop_on_random_events_with_negative_weights(events):
    loss_sm, w_sm, loss_lin, w_lin, *_ = events
    cuts = np.array([-1.0, 0.0, 0.37, 0.5, 1.0, 2.5, 100.0])
    eff_sm, eff_bsm, out_cuts = evaluate.roc(loss_sm, w_sm, loss_lin, w_lin, cuts)
    np.testing.assert_array_equal(out_cuts, cuts)
    np.testing.assert_allclose(eff_sm, [loop_above(loss_sm, w_sm, k) / w_sm.sum() for k in cuts])
    np.testing.assert_allclose(eff_bsm,
                               [loop_above(loss_lin, w_lin, k) / w_lin.sum() for k in cuts])


def test_auc_by_hand():
    # BSM 2 (w 1) beats SM 1 and ties SM 2: 1.5; BSM 3 (w 3) beats both: 6. Over 2 * 4.
    assert evaluate.auc([1, 2], [1, 1], [2, 3], [1, 3]) == pytest.approx(7.5 / 8)


def test_auc_equals_sklearn_for_positive_weights(events):
    loss_sm, w_sm, _, _, loss_quad, w_quad = events
    y = np.r_[np.zeros(len(loss_sm)), np.ones(len(loss_quad))]
    expected = roc_auc_score(y, np.r_[loss_sm, loss_quad], sample_weight=np.r_[w_sm, w_quad])
    assert evaluate.auc(loss_sm, w_sm, loss_quad, w_quad) == pytest.approx(expected, rel=1e-12)


def test_auc_matches_pair_loop_with_negative_weights(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    score_bsm, w_bsm = np.r_[loss_lin, loss_quad], np.r_[0.7 * w_lin, 0.49 * w_quad]
    assert (w_bsm < 0).any()
    assert evaluate.auc(loss_sm, w_sm, score_bsm, w_bsm) == pytest.approx(
        loop_auc(loss_sm, w_sm, score_bsm, w_bsm), rel=1e-10)


def test_auc_is_the_trapezoid_under_roc_and_antisymmetric(events):
    loss_sm, w_sm, loss_lin, w_lin, *_ = events
    eff_sm, eff_bsm, _ = evaluate.roc(loss_sm, w_sm, loss_lin, w_lin)
    area = evaluate.auc(loss_sm, w_sm, loss_lin, w_lin)
    # Curve runs from (1, 1) down to (0, 0): the area is minus the x-ordered integral.
    assert area == pytest.approx(-np.trapezoid(eff_bsm, eff_sm), rel=1e-10)
    assert evaluate.auc(-loss_sm, w_sm, -loss_lin, w_lin) == pytest.approx(1 - area, rel=1e-10)


@pytest.mark.parametrize("call, message", [
    (lambda: evaluate.auc([1, 2], [1, -1], [1], [1]), "SM: weights sum to zero"),
    (lambda: evaluate.roc([1, 2], [1, 1], [1, 2], [1]), "BSM: 2 scores but 1 weights"),
    (lambda: evaluate.roc([1, np.nan], [1, 1], [1], [1]), "SM: 1 NaN or infinite scores"),
    (lambda: evaluate.auc([[1, 2]], [[1, 1]], [1], [1]), "must be 1-D"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ------------------------------------------------------------------ significance

HAND = dict(loss_sm=[0.1, 0.2, 0.3, 0.4], w_sm=[4.0, 3.0, 2.0, 1.0],
            loss_lin=[0.25, 0.35], w_lin=[-1.0, 2.0], loss_quad=[0.45], w_quad=[3.0])


def test_significance_by_hand_including_the_seed_conventions():
    cuts = [0.2, 0.3, 0.4]
    s, b, sigma = evaluate.significance(cuts, -2.0, **HAND)
    # c = -2: S = |-2 LIN + 4 QUAD|; above 0.2: LIN = 1, QUAD = 3 -> 10; above 0.3: 2, 3 -> 8.
    np.testing.assert_allclose(s, [10.0, 8.0, 0.0])
    np.testing.assert_allclose(b, [3.0, 1.0, 0.5])  # nothing above 0.4: B = 0.5, S = 0
    np.testing.assert_allclose(sigma, [10 / np.sqrt(3), 8.0, 0.0])
    _, _, kept = evaluate.significance(cuts, -2.0, **HAND, min_background=1.0)
    assert np.isnan(kept[2]) and kept[1] == 8.0


def test_significance_matches_the_seed_loop(events):
    cuts = evaluate.all_cuts(*events[::2])[::7]
    for c in (-0.7, 0.3, 2.0):
        s, b, sigma = evaluate.significance(cuts, c, *events)
        expected = np.array([loop_sigma(k, c, *events) for k in cuts])
        np.testing.assert_allclose(np.c_[s, b, sigma], expected, rtol=1e-9, atol=1e-12)


def test_min_background_keeps_the_cuts_of_the_seed_scan(events):
    cuts = np.arange(0.0, 6.0, 0.05)
    _, _, sigma = evaluate.significance(cuts, 0.5, *events, min_background=1.0)
    seed_kept = [k for k in cuts if loop_sigma(k, 0.5, *events)[1] >= 1.0]
    np.testing.assert_array_equal(cuts[~np.isnan(sigma)], seed_kept)
    assert 0 < len(seed_kept) < len(cuts)


def test_significance_error_by_hand():
    # Above 0.2 at c = 1: B = 3 (norm 2), LIN = 1 (norm 0.5), QUAD = 3 (norm 1.5), S = 4.
    # poisson: var(S) = 0.5 * 1 + 1.5 * 3 = 5, var(B) = 2 * 3 = 6.
    # sumw2:  var(S) = 1 + 4 + 9 = 14, var(B) = 4 + 1 = 5.
    norms = dict(norm_sm=2.0, norm_lin=0.5, norm_quad=1.5)
    sigma, error = evaluate.significance_error([0.2], 1.0, **HAND, **norms, variance="poisson")
    assert sigma[0] == pytest.approx(4 / np.sqrt(3))
    assert error[0] ** 2 == pytest.approx(5 / 3 + 16 * 6 / (4 * 27))
    _, error = evaluate.significance_error([0.2], 1.0, **HAND, **norms, variance="sumw2")
    assert error[0] ** 2 == pytest.approx(14 / 3 + 16 * 5 / (4 * 27))
    sigma, error = evaluate.significance_error([0.4], 1.0, **HAND, **norms)
    assert sigma[0] == 0.0 and np.isnan(error[0])  # no background: sigma by convention


def test_significance_error_matches_the_seed_formula(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    norms = (3.0, 0.4, 0.05)
    cuts = np.array([0.0, 0.3, 1.0, 2.0])
    for c in (0.4, -1.5):
        sigma, error = evaluate.significance_error(
            cuts, c, loss_sm, w_sm, norms[0], loss_lin, w_lin, norms[1], loss_quad, w_quad,
            norms[2], variance="poisson")
        expected = np.array([loop_sigma_error_seed(k, c, loss_sm, w_sm, norms[0], loss_lin,
                                                   w_lin, norms[1], loss_quad, w_quad, norms[2])
                             for k in cuts])
        np.testing.assert_allclose(np.c_[sigma, error], expected, rtol=1e-9)


def test_sumw2_error_matches_loop_and_equals_poisson_for_unit_weights(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    cuts = np.array([0.1, 0.8, 1.7])
    c = 0.8
    _, error = evaluate.significance_error(cuts, c, loss_sm, w_sm, 1.0, loss_lin, w_lin, 1.0,
                                           loss_quad, w_quad, 1.0, variance="sumw2")
    for k, err in zip(cuts, error):
        b = loop_above(loss_sm, w_sm, k)
        s = c * loop_above(loss_lin, w_lin, k) + c**2 * loop_above(loss_quad, w_quad, k)
        var_s = (c**2 * loop_above(loss_lin, w_lin, k, 2)
                 + c**4 * loop_above(loss_quad, w_quad, k, 2))
        var_b = loop_above(loss_sm, w_sm, k, 2)
        assert err == pytest.approx(np.sqrt(var_s / b + s**2 * var_b / (4 * b**3)), rel=1e-9)
    # Generator weights of +-1 (yields = norm * raw): sum w^2 = |sum w| when all signs agree.
    norms = (2.0, 0.3, 0.7)
    unit = (loss_sm, norms[0] * np.ones_like(w_sm), norms[0],
            loss_lin, norms[1] * np.ones_like(w_lin), norms[1],
            loss_quad, norms[2] * np.ones_like(w_quad), norms[2])
    poisson = evaluate.significance_error(cuts, c, *unit, variance="poisson")[1]
    sumw2 = evaluate.significance_error(cuts, c, *unit, variance="sumw2")[1]
    np.testing.assert_allclose(poisson, sumw2, rtol=1e-12)


def test_sumw2_error_predicts_the_spread_of_resampled_monte_carlo():
    rng = np.random.default_rng(3)
    loss_sm, loss_lin, loss_quad = rng.exponential(1.0, 4000), rng.exponential(2.0, 3000), \
        rng.exponential(3.0, 2000)
    w_sm, w_quad = rng.uniform(0.5, 1.5, 4000), rng.uniform(0.2, 0.4, 2000)
    w_lin = rng.uniform(0.2, 1.0, 3000) * np.where(rng.random(3000) < 0.3, -1.0, 1.0)
    cut, c = 1.5, 1.0
    args = (loss_sm, w_sm, 1.0, loss_lin, w_lin, 1.0, loss_quad, w_quad, 1.0)
    _, error = evaluate.significance_error([cut], c, *args, variance="sumw2")
    # Poisson bootstrap: each MC event's multiplicity ~ Poisson(1), as in a new MC production.
    toys = [evaluate.significance(
        [cut], c, loss_sm, w_sm * rng.poisson(1.0, 4000), loss_lin, w_lin * rng.poisson(1.0, 3000),
        loss_quad, w_quad * rng.poisson(1.0, 2000))[2][0] for _ in range(400)]
    assert np.std(toys) == pytest.approx(error[0], rel=0.15)


@pytest.mark.parametrize("kwargs, message", [
    (dict(norm_sm=0.0), "norm_sm must be a positive number"),
    (dict(variance="gauss"), "variance must be one of"),
])
def test_significance_error_rejects_bad_options(kwargs, message):
    args = dict(norm_sm=1.0, norm_lin=1.0, norm_quad=1.0) | kwargs
    with pytest.raises(ValueError, match=message):
        evaluate.significance_error([0.2], 1.0, **HAND, **args)


# ------------------------------------------------------------------ best cut

def test_best_cut_is_the_maximum_over_every_distinct_loss(events):
    for c in (-1.0, 0.6):
        best = evaluate.best_cut(c, *events)
        cuts = evaluate.all_cuts(*events[::2])
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
    best = evaluate.best_cut(1.0, *args)
    x, f = golden_section(0.0, 1.0, 1e-5, lambda k: loop_sigma(k, 1.0, *args)[2])
    assert best.sigma == pytest.approx(10 / np.sqrt(6))
    assert best.cut == pytest.approx(0.94)
    assert x < 0.45 and f <= 25 / np.sqrt(56) + 1e-12


def test_best_cut_with_min_background_everything_excluded_raises():
    with pytest.raises(ValueError, match="min_background=100"):
        evaluate.best_cut(1.0, **HAND, min_background=100)


def test_max_significance_is_best_cut_at_each_c(events):
    c_values = np.array([-2.0, -0.4, 0.0, 0.3, 1.1])
    expected = [evaluate.best_cut(c, *events).sigma for c in c_values]
    np.testing.assert_allclose(evaluate.max_significance(c_values, *events), expected)


# ------------------------------------------------------------------ min coefficient

def test_min_coefficient_by_hand_both_signs():
    # One usable cut (no cut): B = 4, L = 2, Q = 1: |2c + c^2| / 2 = 3.
    args = ([0.0], [4.0], [1.0], [2.0], [1.0], [1.0])
    assert evaluate.min_coefficient(*args) == pytest.approx(-1 + np.sqrt(7))
    # c < 0: c^2 + 2c = 6 with c = -u: u^2 - 2u - 6 = 0.
    assert evaluate.min_coefficient(*args, sign=-1) == pytest.approx(-(1 + np.sqrt(7)))


def test_min_coefficient_finds_the_first_crossing_before_a_destructive_dip():
    # B = 1, L = -8, Q = 1: for c > 0, |c^2 - 8c| rises to 16 at c = 4, vanishes at c = 8.
    args = ([0.0], [1.0], [1.0], [-8.0], [1.0], [1.0])
    assert evaluate.min_coefficient(*args) == pytest.approx(4 - np.sqrt(13))
    assert evaluate.min_coefficient(*args, sign=-1) == pytest.approx(-(-4 + np.sqrt(19)))
    # sigma(c) is not monotone: it is above 3 at c = 4 and below at c = 7.9.
    sigma = evaluate.max_significance([4.0, 7.9], *args)
    assert sigma[0] > 3 > sigma[1]


def test_min_coefficient_is_where_the_scanned_best_sigma_first_reaches_3(events):
    for sign in (1, -1):
        c_min = evaluate.min_coefficient(*events, sign=sign, weights_luminosity=350.0,
                                         luminosity=700.0)
        assert np.sign(c_min) == sign
        scaled = [w * 2.0 if i % 2 else w for i, w in enumerate(events)]
        grid = np.linspace(0, c_min, 400)[1:] * (1 - 1e-9)
        assert np.nanmax(evaluate.max_significance(grid, *scaled)) < 3.0
        reached = evaluate.max_significance([c_min * (1 + 1e-9)], *scaled)[0]
        assert reached == pytest.approx(3.0, rel=1e-6) and reached >= 3.0
        # The literal loop agrees on the sign change.
        above = max(loop_sigma(k, c_min * (1 + 1e-6), *scaled)[2]
                    for k in evaluate.all_cuts(*events[::2]))
        assert above >= 3.0


def test_min_coefficient_scales_with_luminosity(events):
    # Weights made at 350 fb^-1 and asked for 1400: same as weights four times larger.
    quadrupled = [w * 4.0 if i % 2 else w for i, w in enumerate(events)]
    assert evaluate.min_coefficient(*events, luminosity=1400.0) == pytest.approx(
        evaluate.min_coefficient(*quadrupled), rel=1e-12)
    # sigma ~ sqrt(L): the pure-QUAD case gives c_min ~ L^(-1/4).
    pure_quad = (events[0], events[1], [], [], events[4], events[5])
    ratio = (evaluate.min_coefficient(*pure_quad, luminosity=16 * 350.0)
             / evaluate.min_coefficient(*pure_quad))
    assert ratio == pytest.approx(0.5, rel=1e-12)


def test_min_coefficient_without_signal_is_infinite_and_bad_sign_raises():
    assert evaluate.min_coefficient([0.0], [1.0], [], [], [], []) == np.inf
    with pytest.raises(ValueError, match="sign must be"):
        evaluate.min_coefficient([0.0], [1.0], [], [], [], [], sign=2)


# ------------------------------------------------------------------ comparison

def synthetic_sample(name, n, rng, shift, weight_sign_flip=0.0):
    features = pd.DataFrame({f: rng.lognormal(3.0, 0.4, n) for f in data.FEATURES})
    features["mjj"] *= np.exp(shift * rng.random(n))
    weights = np.where(rng.random(n) < weight_sign_flip, -1.0, 1.0)
    return data.Sample(name, features, weights, xsec=0.01, sumw=float(n))


@pytest.fixture(scope="module")
def toy_data():
    """Two operators whose BSM events have a harder mjj (cA much more than cB)."""
    rng = np.random.default_rng(11)
    sm = synthetic_sample("SSWW_SM", 2000, rng, 0.0)
    sm_train, sm_test = data.split(sm, 0.3, seed=0)
    train, test = {}, {}
    for op, shift in (("cA", 2.0), ("cB", 0.3)):
        lin = synthetic_sample(f"SSWW_{op}_LI", 800, rng, shift, weight_sign_flip=0.3)
        quad = synthetic_sample(f"SSWW_{op}_QU", 800, rng, 1.5 * shift)
        (lin_tr, lin_te), (quad_tr, quad_te) = data.split(lin, 0.3), data.split(quad, 0.3)
        train[op] = data.OperatorSamples(op, sm_train, lin_tr, quad_tr)
        test[op] = data.OperatorSamples(op, sm_test, lin_te, quad_te)
    return evaluate.EvaluationData(train, test)


def test_compare_tables_hold_every_metric_and_the_references(toy_data):
    mjj = evaluate.feature_scorer("mjj")
    tables = evaluate.compare({"mjj": mjj, "met": lambda f: f["met"].to_numpy()}, toy_data,
                              operators=["cA"])
    assert set(tables) == {"cA"}
    table = tables["cA"]
    assert list(table.index) == ["mjj", "met", "BDT (supervised)", "single variable"]
    assert list(table.columns) == ["score", "AUC", "best_sigma", "best_cut", "sigma_error",
                                   "c_minus", "c_plus", "min_abs_c"]
    assert table.loc["single variable", "score"] == "mjj >"
    assert table.loc["mjj", "AUC"] > 0.8 > 0.6 > abs(table.loc["met", "AUC"] - 0.5) + 0.5
    assert table.loc["BDT (supervised)", "AUC"] > 0.75
    weaker = evaluate.compare({"mjj": mjj}, toy_data, operators=["cB"], references=False)
    assert weaker["cB"].loc["mjj", "AUC"] < table.loc["mjj", "AUC"]
    assert (table["c_minus"] < 0).all() and (table["c_plus"] > 0).all()
    np.testing.assert_allclose(table["min_abs_c"], np.minimum(-table["c_minus"], table["c_plus"]))
    # The row equals the functions applied by hand to the test split.
    test = toy_data.test["cA"]
    w = [data.lumi_weights(s) for s in test]
    s = [mjj(x.features) for x in test]
    assert table.loc["mjj", "best_sigma"] == pytest.approx(
        evaluate.best_cut(1.0, s[0], w[0], s[1], w[1], s[2], w[2]).sigma)


def test_compare_accepts_precomputed_scores_and_checks_them(toy_data):
    mjj = evaluate.feature_scorer("mjj")
    precomputed = {op: dict(zip(("sm", "lin", "quad"), (mjj(s.features) for s in samples)))
                   for op, samples in toy_data.test.items()}
    tables = evaluate.compare({"given": precomputed, "mjj": mjj}, toy_data, references=False)
    for table in tables.values():
        given = table.loc["given"].drop("score").astype(float)
        np.testing.assert_allclose(given, table.loc["mjj"].drop("score").astype(float))
    precomputed["cA"]["sm"] = precomputed["cA"]["sm"][:-1]
    with pytest.raises(ValueError, match="'cA' 'sm': 599 scores for 600 test events"):
        evaluate.compare({"given": precomputed}, toy_data, references=False)


def test_operator_matrix_and_its_heatmap(toy_data):
    scorers = {"cA": evaluate.feature_scorer("mjj"), "cB": evaluate.feature_scorer("met")}
    table = evaluate.operator_matrix(scorers, toy_data)
    assert len(table) == 4 and set(table["trained"]) == set(table["evaluated"]) == {"cA", "cB"}
    row = table.set_index(["trained", "evaluated"]).loc[("cA", "cA")]
    direct = evaluate.compare({"x": scorers["cA"]}, toy_data, references=False)["cA"].loc["x"]
    assert row["AUC"] == pytest.approx(direct["AUC"])
    ax = evaluate.plot_operator_matrix(table, metric="AUC")
    assert ax.get_ylabel() == "trained on"
    values = sorted(float(t.get_text()) for t in ax.texts)
    np.testing.assert_allclose(values, sorted(table["AUC"]), rtol=1e-2)
    plt.close("all")


def test_compare_and_operator_matrix_on_generated_ntuples(generated_dir):
    prepared = evaluate.prepare(generated_dir, ("cW", "cqq3", "cHl3", "cHbox"), seed=0)
    assert prepared.test["cW"].sm is prepared.test["cHbox"].sm
    assert prepared.train["cW"].lin.fraction == pytest.approx(0.8)
    tables = evaluate.compare({"mjj": evaluate.feature_scorer("mjj")}, prepared,
                              operators=["cqq3"])
    table = tables["cqq3"]
    assert np.isfinite(table[["AUC", "best_sigma", "sigma_error"]].to_numpy(float)).all()
    # The four-quark operator hardens the jets: the supervised reference must see it.
    assert table.loc["BDT (supervised)", "AUC"] > 0.75
    assert (table["sigma_error"] < table["best_sigma"]).all()
    matrix = evaluate.operator_matrix(
        {op: evaluate.feature_scorer("mjj") for op in prepared.operators}, prepared)
    assert len(matrix) == 16
    # The same scorer on every row: each column holds one value.
    assert (matrix.groupby("evaluated")["AUC"].nunique() == 1).all()


# ------------------------------------------------------------------ plots

def test_plot_roc_draws_each_model_with_its_auc(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    curves = {"LIN": (loss_sm, w_sm, loss_lin, w_lin), "QUAD": (loss_sm, w_sm, loss_quad, w_quad)}
    lines = evaluate.plot_roc(curves, max_points=50)
    assert len(lines) == 3 and len(lines[0].get_xdata()) <= 50
    expected = evaluate.auc(loss_sm, w_sm, loss_quad, w_quad)
    assert lines[1].get_label() == f"QUAD (AUC = {expected:.3f})"
    assert lines[0].get_xdata()[0] == 1.0 and lines[0].get_xdata()[-1] == 0.0
    plt.close("all")


def test_plot_loss_distributions_shows_negative_lin_bins_as_magnitudes(events):
    loss_sm, w_sm, loss_lin, w_lin, loss_quad, w_quad = events
    drawn = evaluate.plot_loss_distributions(*events, c=0.5, bins=5)
    assert set(drawn) == {"SM", "LIN", "LIN < 0", "QUAD"}
    edges = np.histogram_bin_edges(np.r_[loss_sm, loss_lin, loss_quad], bins=5)
    lin, _ = np.histogram(loss_lin, edges, weights=0.5 * w_lin)
    assert (lin < 0).any()
    np.testing.assert_allclose(drawn["LIN"].get_data().values, np.clip(lin, 0, None))
    np.testing.assert_allclose(drawn["LIN < 0"].get_data().values, np.clip(-lin, 0, None))
    assert drawn["SM"].axes.get_yscale() == "log"
    plt.close("all")


def test_plot_significance_and_sigma_vs_c(events):
    cuts = evaluate.all_cuts(*events[::2])
    sigma, error = evaluate.significance_error(cuts, 1.0, events[0], events[1], 1.0, events[2],
                                               events[3], 1.0, events[4], events[5], 1.0)
    fig, ax = plt.subplots()
    line, band = evaluate.plot_significance(cuts, sigma, error, ax=ax, label="toy")
    assert line.axes is ax and len(line.get_xdata()) == len(cuts) - 1  # -inf not drawn
    assert band is not None
    c_values = np.linspace(0.1, 2.0, 5)
    line, hline = evaluate.plot_sigma_vs_c(c_values, evaluate.max_significance(c_values, *events),
                                           operator="cW")
    assert hline.get_ydata()[0] == 3.0 and line.axes.get_xlabel() == "cW"
    second, same = evaluate.plot_sigma_vs_c(c_values, 2 * evaluate.max_significance(c_values, *events),
                                            ax=line.axes, label="other")
    assert same is hline and second is not line
    assert [t.get_text() for t in line.axes.get_legend().get_texts()].count(r"3$\sigma$") == 1
    plt.close("all")


def test_compare_scores_keras_models_by_their_kind(toy_data):
    from vaednn import models
    train = toy_data.train["cA"]
    vae = models.build("vae", train.sm.features, seed=0)
    vae.fit(train.sm.features.to_numpy(), epochs=1, batch_size=256, verbose=0)
    # Which output compare() reads does not depend on training: the classifier stays as built.
    dnn = models.build("vae_dnn_latent", train.sm.features, seed=0)
    table = evaluate.compare({"vae": vae, "dnn": dnn}, toy_data, operators=["cA"],
                             references=False)["cA"]
    assert table["score"].tolist() == ["reco loss", "classifier output"]
    test = toy_data.test["cA"]
    w = [data.lumi_weights(s) for s in test]
    for name, scores in (
            ("vae", [models.event_losses(vae, s.features)["reco"].to_numpy() for s in test]),
            ("dnn", [models.classifier_output(dnn, s.features) for s in test])):
        expected = evaluate.auc(scores[0], w[0], np.r_[scores[1], scores[2]], np.r_[w[1], w[2]])
        assert table.loc[name, "AUC"] == pytest.approx(expected, rel=1e-12)
