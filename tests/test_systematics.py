"""Declared uncertainties of the binned fit (``vaednn.stats.systematics``), the general pyhf
path of the profile scan, and the one bin convention (``vaednn.stats.histogram``).

Each interval is checked against an independent computation: the fast path, or a
hand-written one-bin negative log-likelihood minimised with scipy.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import optimize
from scipy import stats as scipy_stats

from vaednn import plotting, stats
from vaednn.stats import likelihood

CL = 0.95
THRESHOLD = scipy_stats.chi2.ppf(CL, 1)


def hand_interval(twice_nll, n_nuisances: int, scale: float) -> tuple[float, float]:
    """The interval of a one-bin model from its ``-2 ln L(c, nuisances)`` (Asimov data):
    nuisances minimised by scipy, each bound solved by brentq on ``q(c) = THRESHOLD``."""
    reference = twice_nll(0.0, np.zeros(n_nuisances))

    def q(c):
        if n_nuisances == 1:
            found = optimize.minimize_scalar(lambda x: twice_nll(c, [x]), bracket=(-0.1, 0.1),
                                             tol=1e-12)
        else:
            found = optimize.minimize(lambda x: twice_nll(c, x), np.zeros(n_nuisances),
                                      method="Nelder-Mead",
                                      options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000})
        return found.fun - reference

    def bound(sign):
        high = scale
        while q(sign * high) < THRESHOLD:
            high *= 2
        return sign * optimize.brentq(lambda c: q(sign * c) - THRESHOLD, 0.0, high, xtol=1e-10)

    return bound(-1), bound(1)


def poisson(nu, n):
    """``2 (nu - n ln nu)``: twice the Poisson NLL up to a constant; huge for nu <= 0."""
    return 2 * (nu - n * np.log(nu)) if nu > 0 else 1e300


# ---- the general path against the fast one -------------------------------------------------

@pytest.mark.parametrize("case", ["shaped", "rate_only", "falls_back"])
def test_general_path_with_a_background_normsys_equals_the_fast_path(case):
    if case == "shaped":
        b, lin, quad = np.array([120.0, 60.0, 25.0, 8.0]), np.array([-2.0, 1.0, 4.0, 6.0]), \
            np.array([0.5, 1.0, 2.5, 5.0])
    elif case == "rate_only":  # every component with the background's shape
        b = np.array([80.0, 40.0, 20.0])
        lin, quad = 0.05 * b, 0.02 * b
    else:  # SM + c LIN + c^2 QUAD is the SM again at c = 10 in every bin: q returns to 0
        b, lin, quad = np.array([400.0, 300.0]), np.array([-40.0, -10.0]), np.array([4.0, 1.0])
    width = 0.05 if case == "falls_back" else 0.3  # wider: the normalisation absorbs it
    for kwargs in ({"background_uncertainty": 0.1},
                   {"background_uncertainty": width, "mc_errors": 0.05 * b}):
        fast = stats.profile_scan(b, lin, quad, method="fast", **kwargs)
        general = stats.profile_scan(b, lin, quad, method="pyhf", **kwargs)
        np.testing.assert_allclose(general.interval, fast.interval, rtol=1e-3)
        assert general.falls_back == fast.falls_back == (case == "falls_back")
        # the general scan holds the points it fitted, sorted
        assert np.all(np.diff(general.c) > 0) and len(general.c) == len(general.q) > 4


def test_one_fit_equals_pyhf_own_fit():
    """q(c) of the Newton fits is pyhf.infer.mle.fit's, with c_lin and c_quad fixed."""
    import pyhf

    b, lin, quad = np.array([50.0, 20.0, 6.0]), np.array([1.0, 3.0, 4.0]), np.array([0.5, 1.0, 3.0])
    systematics = (stats.Luminosity(0.03), stats.Normalisation("bkg_norm", 0.1),
                   stats.Shape("jes", b * [1.05, 1.0, 0.9], b * [0.96, 1.0, 1.08]),
                   stats.MCStat(background=0.05 * b, lin=[0.2, -0.0, 0.5], quad=[0.1, 0.2, 0.3]))
    spec = stats.model_spec(b, lin, quad, systematics=systematics)
    fit = likelihood._Fit(spec, b, lin, quad)
    c = 0.8
    pyhf.set_backend("numpy", precision="64b")
    model = pyhf.Model(spec, validate=False, poi_name=None,
                       modifier_settings=stats.MODIFIER_SETTINGS)
    data = np.concatenate([b, model.config.auxdata])
    init = np.asarray(model.config.suggested_init(), dtype=np.float64)
    bounds = [list(x) for x in model.config.suggested_bounds()]
    fixed = list(model.config.suggested_fixed())
    for name, value in (("c_lin", c), ("c_quad", c**2)):
        index = model.config.par_slice(name).start
        init[index], fixed[index], bounds[index] = value, True, [value - 1, value + 1]
    _, twice_nll = pyhf.infer.mle.fit(data, model, init_pars=init.tolist(), par_bounds=bounds,
                                      fixed_params=fixed, return_fitted_val=True)
    init[[model.config.par_slice(n).start for n in ("c_lin", "c_quad")]] = 0.0
    reference = -2 * model.logpdf(init, data)[0]
    assert fit.q(c) == pytest.approx(float(twice_nll - reference), rel=1e-4)


# ---- one bin against a hand-written likelihood ---------------------------------------------

B, L, Q = 100.0, 6.0, 2.0


def test_shape_uncertainty_matches_the_hand_computed_one_bin_interval():
    delta = 8.0
    # nu = b + alpha delta + c L + c^2 Q, unit Gaussian alpha (code0: linear)
    with_shape = hand_interval(
        lambda c, a: poisson(B + a[0] * delta + c * L + c**2 * Q, B) + a[0] ** 2, 1, 1.0)
    without = hand_interval(lambda c, a: poisson(B + c * L + c**2 * Q, B), 1, 1.0)
    shape = stats.Shape("shape", up=[B + delta], down=[B - delta])
    got = stats.likelihood_interval([B], [L], [Q], systematics=(shape,))
    plain = stats.likelihood_interval([B], [L], [Q])
    np.testing.assert_allclose(got, with_shape, rtol=1e-3)
    np.testing.assert_allclose(plain, without, rtol=1e-3)
    # wider, by the hand-computed amount
    assert got.hi - got.lo > plain.hi - plain.lo
    assert (got.hi - got.lo) - (plain.hi - plain.lo) == pytest.approx(
        (with_shape[1] - with_shape[0]) - (without[1] - without[0]), rel=1e-3)


def test_luminosity_matches_the_hand_computed_one_bin_interval():
    f = 0.05
    # nu = lambda (b + c L + c^2 Q), Gaussian constraint of lambda around 1 with width f
    hand = hand_interval(lambda c, x: poisson((1 + x[0]) * (B + c * L + c**2 * Q), B)
                         + (x[0] / f) ** 2, 1, 1.0)
    got = stats.likelihood_interval([B], [L], [Q], systematics=(stats.Luminosity(f),))
    np.testing.assert_allclose(got, hand, rtol=1e-3)
    assert got.hi - got.lo > np.subtract(*stats.likelihood_interval([B], [L], [Q])[::-1])


def test_mc_statistics_of_lin_and_quad_match_the_hand_computed_interval():
    lin, quad, d_lin, d_quad = -3.0, 2.0, 1.5, 0.8  # LIN negative: staterror could not
    hand = hand_interval(lambda c, a: poisson(B + c * (lin + a[0] * d_lin)
                                              + c**2 * (quad + a[1] * d_quad), B)
                         + a[0] ** 2 + a[1] ** 2, 2, 1.0)
    mc = stats.MCStat(lin=[d_lin], quad=[d_quad])
    got = stats.likelihood_interval([B], [lin], [quad], systematics=(mc,))
    np.testing.assert_allclose(got, hand, rtol=1e-3)
    plain = stats.likelihood_interval([B], [lin], [quad])
    assert got.lo < plain.lo and got.hi > plain.hi  # more freedom: a wider interval


# ---- the specification ------------------------------------------------------------------

def test_old_keywords_give_the_identical_spec():
    b, lin, quad, errors = [100.0, 20.0], [10.0, -2.0], [1.0, 3.0], [4.0, 2.0]
    spec = stats.model_spec(b, lin, quad, background_uncertainty=0.1, mc_errors=errors)
    assert spec == {"channels": [{"name": "score", "samples": [
        {"name": "background", "data": b, "modifiers": [
            {"name": "bkg_norm", "type": "normsys",
             "data": {"hi": float(np.exp(0.1)), "lo": float(np.exp(-0.1))}},
            {"name": "mc_stat", "type": "staterror", "data": errors}]},
        {"name": "lin", "data": lin,
         "modifiers": [{"name": "c_lin", "type": "normfactor", "data": None}]},
        {"name": "quad", "data": quad,
         "modifiers": [{"name": "c_quad", "type": "normfactor", "data": None}]}]}]}
    declared = (stats.Normalisation("bkg_norm", 0.1), stats.MCStat(background=errors))
    assert stats.model_spec(b, lin, quad, systematics=declared) == spec


def test_every_declared_modifier_builds_a_pyhf_model():
    import pyhf

    b, lin, quad = np.array([100.0, 20.0]), np.array([10.0, 0.0]), np.array([1.0, 3.0])
    declared = (stats.Luminosity(0.02), stats.Normalisation("xsec", 0.05, ("lin", "quad")),
                stats.Shape("jes", b * 1.1, b * 0.9), stats.MCStat(lin=[1.0, 0.5], quad=[0.0, 1.0]))
    spec = stats.model_spec(b, lin, quad, systematics=declared)
    assert spec["parameters"][0]["name"] == "lumi"
    with likelihood._numpy_backend():
        model = pyhf.Model(spec, validate=False, poi_name=None,
                           modifier_settings=stats.MODIFIER_SETTINGS)
    # a LIN bin at zero yield still gets its MC error; a zero error gets no parameter
    assert sorted(model.config.par_order) == sorted(
        ["c_lin", "c_quad", "lumi", "xsec", "jes", "mc_stat_lin_0", "mc_stat_lin_1",
         "mc_stat_quad_1"])
    assert model.config.param_set("lumi").sigmas == [0.02]
    pars = np.asarray(model.config.suggested_init(), dtype=np.float64)
    pars[model.config.par_slice("c_lin")] = 2.0
    pars[model.config.par_slice("c_quad")] = 4.0
    pars[model.config.par_slice("mc_stat_lin_1")] = 1.0  # + 1 sigma = 0.5 in LIN's bin 1
    np.testing.assert_allclose(model.expected_actualdata(pars), b + 2 * (lin + [0, 0.5]) + 4 * quad)


@pytest.mark.parametrize("build, message", [
    (lambda: stats.Normalisation("n", -0.1), "fraction"),
    (lambda: stats.Normalisation("n", np.nan), "fraction"),
    (lambda: stats.Normalisation("n", 0.1, ("signal",)), "unknown sample 'signal'"),
    (lambda: stats.Normalisation("c_lin", 0.1), "reserved"),
    (lambda: stats.Luminosity(-0.02), "Luminosity: fraction"),
    (lambda: stats.Shape("s", [1.0, np.nan], [1.0, 1.0]), "up has NaN"),
    (lambda: stats.Shape("s", [1.0, 2.0], [1.0]), "up has 2 bins, down has 1"),
    (lambda: stats.Shape("s", [1.0], [1.0], sample="sm"), "unknown sample 'sm'"),
    (lambda: stats.MCStat(), "at least one"),
    (lambda: stats.MCStat(lin=[1.0, -1.0]), "lin errors must be >= 0"),
    (lambda: stats.MCStat(background=[1.0, 0.0]), "background errors must be > 0"),
    (lambda: stats.model_spec([1.0, 2.0], [0.0, 0.0], [0.0, 0.0],
                              systematics=(stats.Shape("s", [1.0], [1.0]),)),
     "Shape 's': up has 1 bins, background has 2"),
    (lambda: stats.model_spec([1.0], [0.0], [0.0], systematics=(stats.MCStat(quad=[1, 2]),)),
     "MCStat: quad has 2 bins"),
    (lambda: stats.model_spec([1.0], [0.0], [0.0], background_uncertainty=0.1,
                              systematics=(stats.Normalisation("bkg_norm", 0.2),)),
     r"\['bkg_norm'\] declared twice"),
    (lambda: stats.model_spec([1.0], [0.0], [0.0], systematics=(stats.Luminosity(0.01),
                                                                stats.Luminosity(0.02))),
     "declared twice"),
    (lambda: stats.model_spec([1.0], [0.0], [0.0], systematics=stats.Luminosity(0.01)),
     "wrap it in a tuple"),
    (lambda: stats.model_spec([1.0], [0.0], [0.0], systematics=("lumi",)),
     "is not a Normalisation"),
    (lambda: stats.profile_scan([1.0], [1.0], [0.0], method="fast",
                                systematics=(stats.Luminosity(0.01),)), "method='pyhf'"),
    (lambda: stats.profile_scan([1.0], [1.0], [0.0], method="minuit"), "method must be"),
])
def test_bad_declarations_raise_naming_the_argument(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# ---- the bin convention ---------------------------------------------------------------------

def test_histogram_bins_follow_the_cut_convention():
    rng = np.random.default_rng(3)
    edges = np.array([-np.inf, 0.0, 0.5, 1.0, np.inf])
    values = np.r_[rng.normal(0.5, 1.0, 500), edges[1:-1]]  # three values exactly on edges
    weights = rng.normal(1.0, 0.5, len(values))
    counts = stats.histogram(values, weights, edges).values()
    for k, edge in enumerate(edges[1:-1], start=1):  # above the edge = score > edge
        assert counts[k:].sum() == pytest.approx(weights[values > edge].sum(), rel=1e-12)
    assert counts.sum() == pytest.approx(weights.sum(), rel=1e-12)  # open outer bins
    finite = stats.histogram(values, weights, [0.0, 1.0])
    flow = finite.values(flow=True)
    assert flow[0] == pytest.approx(weights[values <= 0].sum(), rel=1e-12)
    assert flow[-1] == pytest.approx(weights[values > 1].sum(), rel=1e-12)
    with pytest.raises(ValueError, match="edges must be"):
        stats.histogram(values, weights, [1.0, 0.0])
    with pytest.raises(ValueError, match="histogram: values: 1 NaN"):
        stats.histogram([np.nan], None, [0.0, 1.0])


def test_a_score_on_an_edge_lands_in_the_same_bin_in_the_fit_and_in_the_figure():
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    sm = np.array([0.5, 1.0, 1.5, 2.0, 2.5])  # 1.0 and 2.0 sit on edges: the bins below
    w_sm = np.array([1.0, 10.0, 100.0, 1000.0, 10000.0])
    scores = stats.ComponentScores(sm, w_sm, sm, w_sm, sm, w_sm)
    fit_yields = scores.histogram(edges)[0]
    np.testing.assert_array_equal(fit_yields, [11.0, 1100.0, 10000.0])
    drawn = plotting.plot_loss_distributions(scores, bins=edges)
    np.testing.assert_array_equal(drawn["SM"].get_data().values, fit_yields)
    plt.close("all")


def test_one_shape_nuisance_moves_several_samples_together():
    """A resolution shifts SM and LIN at once: one histosys parameter on both samples, so at
    alpha = 1 both are at their up yields (one parameter in the model, not two)."""
    import pyhf

    spec = stats.model_spec([100.0, 50.0], [5.0, -2.0], [1.0, 1.0], systematics=(
        stats.Shape("resolution", [110.0, 45.0], [90.0, 55.0]),
        stats.Shape("resolution", [6.0, -1.0], [4.0, -3.0], sample="lin")))
    model = pyhf.Model(spec, poi_name=None, validate=False,
                       modifier_settings=stats.MODIFIER_SETTINGS)
    assert model.config.par_names.count("resolution") == 1
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    pars[model.config.par_slice("resolution")] = 1.0
    pars[model.config.par_slice("c_lin")] = 1.0
    pars[model.config.par_slice("c_quad")] = 0.0
    assert model.expected_actualdata(pars).tolist() == pytest.approx([116.0, 44.0])


@pytest.mark.parametrize("declared, message", [
    ((stats.Shape("s", [1.0], [1.0]), stats.Shape("s", [2.0], [0.5])),
     "'s' declared twice on background"),
    ((stats.Normalisation("s", 0.1), stats.Shape("s", [1.0], [1.0], sample="lin")), "declared twice"),
    ((stats.Shape("s", [1.0], [1.0]), stats.Normalisation("s", 0.1)), r"\['s'\] declared twice"),
])
def test_a_shape_name_is_one_nuisance_per_sample(declared, message):
    with pytest.raises(ValueError, match=message):
        stats.model_spec([1.0], [0.5], [0.1], systematics=declared)
