"""Tests of the SM / LIN / QUAD generator: format, kinematics, EFT shapes, rates, seeds."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import uproot

from vaednn import simulate
from vaednn.data import FEATURES, LUMINOSITY, VBS_CUTS, lumi_weights, ntuple_path, read_ntuple
from vaednn.stats import auc
from vaednn.simulate import OPERATORS, SM_MEDIANS, SM_XSEC_PB, weighted_quantile, write_ntuples
from vaednn.simulate import model
from vaednn.simulate.__main__ import _main

OPS = ("cW", "cqq3", "cHl3", "cHbox")  # what the generated_dir fixture holds


def _tree(path):
    return path.name.removeprefix("ntuple_").removesuffix(".root")


def _arrays(path):
    """All branches of a file, and its ``_nums`` histogram contents."""
    with uproot.open(path) as file:
        tree = _tree(path)
        arrays = file[tree].arrays(library="np")
        nums = file[f"{tree}_nums"].values()
    return arrays, nums


def _paths(directory, operators=OPS):
    yield ntuple_path(directory, "SM")
    for op in operators:
        yield ntuple_path(directory, "LIN", op)
        yield ntuple_path(directory, "QUAD", op)


def _sample(directory, component="SM", op=None, cuts=VBS_CUTS):
    return read_ntuple(ntuple_path(directory, component, op), cuts=cuts)


# ------------------------------------------------------------------------------ format
def test_every_file_reads_back_with_all_branches(generated_dir):
    for path in _paths(generated_dir):
        arrays, nums = _arrays(path)
        assert set(FEATURES) | {"w", "phij1", "phij2", "phil1", "phil2"} <= set(arrays), path
        assert nums.shape == (2,)
        np.testing.assert_allclose(nums[1], arrays["w"].sum(), rtol=1e-12)
        sample = read_ntuple(path)
        assert list(sample.features.columns) == list(FEATURES)
        assert sample.xsec == nums[0] and sample.sumw == nums[1]
        n_file = len(arrays["w"])
        assert 0.5 * n_file < len(sample) < 0.9 * n_file, "VBS-cut efficiency out of range"


def test_event_counts_and_generator_cuts(generated_dir):
    cuts = simulate.GENERATOR_CUTS
    for path in _paths(generated_dir):
        a, _ = _arrays(path)
        assert len(a["w"]) == (20_000 if path.name.endswith("SM.root") else 10_000)
        assert (a["ptj1"] >= a["ptj2"]).all() and (a["ptl1"] >= a["ptl2"]).all()
        assert a["ptj2"].min() > cuts["ptj_min"] and a["ptl2"].min() > cuts["ptl_min"]
        assert np.abs(a["etal1"]).max() < cuts["etal_max"]
        assert a["mjj"].min() > cuts["mjj_min"]


# -------------------------------------------------------------------------- kinematics
def test_derived_branches_agree_with_four_vectors(generated_dir):
    for path in (ntuple_path(generated_dir, "SM"), ntuple_path(generated_dir, "QUAD", "cqq3")):
        a, _ = _arrays(path)
        a = {k: v.astype(np.float64) for k, v in a.items()}

        def p(kind, i):
            pt, eta, phi = a[f"pt{kind}{i}"], a[f"eta{kind}{i}"], a[f"phi{kind}{i}"]
            return pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)

        dphi = np.abs(np.angle(np.exp(1j * (a["phij1"] - a["phij2"]))))
        mjj2 = 2 * a["ptj1"] * a["ptj2"] * (np.cosh(a["etaj1"] - a["etaj2"]) - np.cos(dphi))
        dphil = a["phil1"] - a["phil2"]
        mll2 = 2 * a["ptl1"] * a["ptl2"] * (np.cosh(a["etal1"] - a["etal2"]) - np.cos(dphil))
        px = sum(p(k, i)[0] for k in "jl" for i in "12")
        py = sum(p(k, i)[1] for k in "jl" for i in "12")
        ptll = np.hypot(p("l", 1)[0] + p("l", 2)[0], p("l", 1)[1] + p("l", 2)[1])
        np.testing.assert_allclose(a["mjj"], np.sqrt(mjj2), rtol=1e-4)
        np.testing.assert_allclose(a["mll"], np.sqrt(mll2), rtol=1e-3)
        np.testing.assert_allclose(a["deltaphijj"], dphi, atol=1e-5)
        np.testing.assert_allclose(a["deltaetajj"], np.abs(a["etaj1"] - a["etaj2"]), atol=1e-5)
        np.testing.assert_allclose(a["ptll"], ptll, rtol=1e-4)
        # LO: the neutrinos balance the visible transverse momentum
        np.testing.assert_allclose(a["met"], np.hypot(px, py), rtol=1e-3, atol=1e-3)
        assert (a["deltaphijj"] >= 0).all() and (a["deltaphijj"] <= np.pi).all()
        assert (a["mww"] > 2 * (simulate.W_MASS - 15.0)).all()


def test_invariant_mass_of_a_hand_computed_pair():
    # two 50 GeV massless jets back to back in phi at eta = 0: m = 100 GeV;
    # with eta = +-1: m^2 = 2 * 50 * 50 * (cosh 2 + 1)
    j = model._massless(np.array([50.0, 50.0]), np.array([0.0, 1.0]), np.array([0.0, 0.0]))
    k = model._massless(np.array([50.0, 50.0]), np.array([0.0, -1.0]), np.array([np.pi] * 2))
    np.testing.assert_allclose(model._mass(j + k), [100.0, np.sqrt(5000 * (np.cosh(2) + 1))])
    np.testing.assert_allclose(model._pt(j + k), [0.0, 0.0], atol=1e-12)


def test_boost_of_a_particle_at_rest_gives_the_parent_velocity():
    parent = np.array([[100.0, 30.0, -40.0, 50.0]])
    mass = np.sqrt(np.array([100.0**2 - 30**2 - 40**2 - 50**2]))
    daughter = np.array([[10.0, 0.0, 0.0, 0.0]])  # mass 10 at rest in the parent frame
    np.testing.assert_allclose(model._boost(daughter, parent, mass), parent * 10 / mass[0])


def test_decays_conserve_four_momentum_and_masses():
    rng = np.random.default_rng(0)
    n = 1000
    m = rng.uniform(170, 900, n)
    parent = np.column_stack([np.sqrt(m**2 + 100**2 + 300**2), np.full(n, 100.0), np.zeros(n),
                              np.full(n, 300.0)])
    mw = np.full(n, simulate.W_MASS)
    w1, w2 = model._two_body(rng, parent, m, mw, mw)
    np.testing.assert_allclose(w1 + w2, parent, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(model._mass(w1), mw, rtol=1e-6)
    lep, nu = model._lepton_decay(rng, w1, mw, backward=0.5)
    np.testing.assert_allclose(lep + nu, w1, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(model._mass(lep), 0.0, atol=1e-3)


# ---------------------------------------------------------------------------- SM shapes
def test_sm_medians_match_physics_md_within_15_percent(generated_dir):
    sm = _sample(generated_dir)
    w = lumi_weights(sm)
    for var, target in SM_MEDIANS.items():
        median = weighted_quantile(sm.features[var], w, 0.5)
        assert abs(median / target - 1) < 0.15, (var, median, target)


def test_sm_rate_after_the_cuts(generated_dir):
    sm = _sample(generated_dir)
    assert sm.xsec == SM_XSEC_PB
    assert 3.5 <= lumi_weights(sm).sum() / LUMINOSITY <= 4.0  # fb


def test_sm_correlations_of_the_logs_are_physical(generated_dir):
    f = _sample(generated_dir).features
    logs = np.log(f[["mjj", "ptj1", "ptj2", "ptl1", "mll", "ptll", "met"]])
    logs["deltaetajj"] = f["deltaetajj"]
    corr = logs.corr()
    for a, b, target in (("mjj", "deltaetajj", 0.67), ("ptj1", "ptj2", 0.64),
                         ("ptl1", "mll", 0.67), ("ptl1", "ptll", 0.76), ("met", "ptj1", 0.40)):
        assert abs(corr.loc[a, b] - target) < 0.15, (a, b, corr.loc[a, b])


def test_summary_passes_on_the_generated_data(generated_dir):
    tables = simulate.physics_summary(generated_dir, operators=OPS)
    sm, ratios = tables["SM after the VBS cuts"], tables["cross-section ratios at c = 1"]
    fidelity = tables["generator fidelity before the cuts"]
    assert len(sm) == len(SM_MEDIANS) + 1 and len(ratios) == 2 * len(OPS)
    assert len(fidelity) == 2 + 2 * (1 + 2 * len(OPS))  # Δη, mjj shape; mjj, mll per sample
    for table in (sm, ratios, fidelity):
        assert table["passed"].all(), table[~table["passed"]].to_string()
    cw = ratios.set_index(["check", "sample"]).loc[("sigma_QUAD/sigma_SM", "cW")]
    assert cw["value"] == pytest.approx(0.77) and cw["source"] == "S"


def test_summary_fails_what_is_out_of_range(generated_dir):
    sm = simulate.physics_summary(generated_dir, operators=OPS, tolerance=1e-4)
    assert not sm["SM after the VBS cuts"]["passed"].all()


def test_summary_has_no_reference_for_an_unknown_operator(generated_dir, tmp_path):
    for component in ("SM", "LIN", "QUAD"):
        source = ntuple_path(generated_dir, component, "cHl3")
        target = ntuple_path(tmp_path, component, "cNEW")
        with uproot.open(source) as old, uproot.recreate(target) as new:
            tree = _tree(target)
            arrays = old[_tree(source)].arrays(library="np")
            new.mktree(tree, {k: v.dtype for k, v in arrays.items()}).extend(arrays)
            new[f"{tree}_nums"] = old[f"{_tree(source)}_nums"].to_numpy()
    ratios = simulate.physics_summary(tmp_path, operators=["cNEW"])["cross-section ratios at c = 1"]
    assert ratios["value"].tolist() == pytest.approx([-0.485, 0.06])
    assert ratios["passed"].isna().all() and (ratios["source"] == "none").all()


# --------------------------------------------------------------------- generator fidelity
def test_every_final_state_respects_the_collision_energy(generated_dir):
    for path in _paths(generated_dir):
        a, _ = _arrays(path)
        assert a["mhat"].max() < simulate.SQRT_S_GEV, path.name
        assert (a["mjj"] < a["mhat"]).all() and (a["mll"] < a["mhat"]).all(), path.name
    # the parton luminosities make mjj above 7 TeV rare (PHYSICS.md): fewer than the ~1%
    # an x^-3.1 tail from [C]'s p90 at 2.5 TeV would put there
    sm, _ = _arrays(ntuple_path(generated_dir, "SM"))
    assert np.mean(sm["mjj"] > 7000) < 5e-3


def test_parton_acceptance_vanishes_at_the_collision_energy():
    mhat = np.array([0.0, 6500.0, 13_000.0, 20_000.0])
    # (1 - ŝ/s)^2: 1, (3/4)^2, 0, 0
    np.testing.assert_allclose(model._parton_acceptance(mhat, 2.0), [1.0, 0.5625, 0.0, 0.0])


def test_deltaetajj_and_mjj_are_smooth_through_the_cuts_before_the_cuts(generated_dir):
    sm = _sample(generated_dir, cuts=None)
    w = lumi_weights(sm)
    ratio = simulate.deta_step_across_cut(sm.features["deltaetajj"], w)
    assert abs(ratio - 1) < 1 / 3, ratio
    assert simulate.smoothness_chi2(sm.features["mjj"], w) < simulate.MJJ_SMOOTHNESS_MAX


def test_the_checks_catch_a_block_pasted_on_a_gaussian_and_a_kink():
    rng = np.random.default_rng(0)
    # the generator before version 2: 26% uniform in [0, 2] on a Gaussian of mean 4.1
    deta = np.concatenate([rng.uniform(0, 2, 26_000), rng.normal(4.1, 1.4, 74_000)])
    assert simulate.deta_step_across_cut(deta, np.ones(len(deta))) > 2
    smooth = np.exp(rng.normal(np.log(300), 0.6, 200_000))
    assert simulate.smoothness_chi2(smooth, np.ones(len(smooth))) < 2
    # a density whose log slope jumps at 250 GeV: an extra component ending there
    kinked = np.concatenate([smooth, rng.uniform(150, 250, 20_000)])
    assert simulate.smoothness_chi2(kinked, np.ones(len(kinked))) > 5


def test_files_carry_the_generator_version_and_stale_data_is_found(tmp_path):
    paths = write_ntuples(tmp_path, operators=("cW",), n_events=500, n_bsm=500)
    assert all(simulate.generator_version(p) == simulate.GENERATOR_VERSION for p in paths)
    assert simulate.stale_files(tmp_path, operators=("cW",)) == []
    assert simulate.stale_files(tmp_path, operators=("cW", "cHl3")) == [
        ntuple_path(tmp_path, "LIN", "cHl3"), ntuple_path(tmp_path, "QUAD", "cHl3")]
    with uproot.update(paths[0]) as file:  # as a previous generator version would have it
        file[simulate.VERSION_KEY] = str(simulate.GENERATOR_VERSION - 1)
    assert simulate.stale_files(tmp_path, operators=("cW",)) == [paths[0]]
    assert _main(["--check", str(tmp_path), "--operators", "cW"]) == 1
    write_ntuples(tmp_path, operators=("cW",), n_events=500, n_bsm=500, overwrite=True)
    assert _main(["--check", str(tmp_path), "--operators", "cW"]) == 0


def test_a_file_without_a_stamp_has_no_version(generated_dir, tmp_path):
    source = ntuple_path(generated_dir, "SM")
    target = tmp_path / source.name
    with uproot.open(source) as old, uproot.recreate(target) as new:
        new.mktree("SSWW_SM", {"mjj": np.float32}).extend({"mjj": old["SSWW_SM"]["mjj"].array(
            library="np")})
    assert simulate.generator_version(target) is None
    assert simulate.stale_files(tmp_path, operators=()) == [target]
    with pytest.raises(FileNotFoundError, match="nothing.root"):
        simulate.generator_version(tmp_path / "nothing.root")


# ------------------------------------------------------------------------- EFT samples
def test_rates_give_the_stated_ratios(generated_dir):
    sm_sigma = lumi_weights(_sample(generated_dir, cuts=None)).sum()
    for op in OPS:
        for component, ratio, bounds in (("LIN", OPERATORS[op].lin_ratio, OPERATORS[op].lin_range),
                                         ("QUAD", OPERATORS[op].quad_ratio,
                                          OPERATORS[op].quad_range)):
            sigma = lumi_weights(_sample(generated_dir, component, op, cuts=None)).sum()
            assert sigma / sm_sigma == pytest.approx(ratio, rel=1e-9)
            assert bounds[0] <= ratio <= bounds[1]


def test_lin_weights_carry_the_interference_sign(generated_dir):
    for op in OPS:
        lin, _ = _arrays(ntuple_path(generated_dir, "LIN", op))
        quad, _ = _arrays(ntuple_path(generated_dir, "QUAD", op))
        assert (lin["w"] < 0).any(), op
        assert (quad["w"] > 0).all(), op
    cw, _ = _arrays(ntuple_path(generated_dir, "LIN", "cW"))
    assert 0.2 < (cw["w"] < 0).mean() < 0.5  # both signs, LIN integrates to almost nothing
    cqq3, _ = _arrays(ntuple_path(generated_dir, "LIN", "cqq3"))
    assert (cqq3["w"] < 0).all()  # four-quark interference is destructive


def test_cw_lin_modulates_deltaphijj_as_cos_2dphi(generated_dir):
    lin = _sample(generated_dir, "LIN", "cW")
    w = lumi_weights(lin)
    middle = np.abs(lin.features["deltaphijj"] - np.pi / 2) < np.pi / 4
    assert w[middle].sum() < 0 < w[~middle].sum()
    # the modulation is large against the net rate
    assert abs(w[middle].sum()) > 2 * abs(w.sum())


@pytest.mark.parametrize("op", ["cW", "cqq3"])
def test_energy_growing_quad_has_harder_tails(generated_dir, op):
    sm, quad = _sample(generated_dir), _sample(generated_dir, "QUAD", op)
    lin = _sample(generated_dir, "LIN", op)
    for var in ("mll", "ptl1"):
        p90_sm = weighted_quantile(sm.features[var], sm.weights, 0.9)
        p90_quad = weighted_quantile(quad.features[var], quad.weights, 0.9)
        p50_lin = weighted_quantile(lin.features[var], np.abs(lin.weights), 0.5)
        p50_sm = weighted_quantile(sm.features[var], sm.weights, 0.5)
        assert p90_quad > 1.3 * p90_sm, (op, var, p90_quad, p90_sm)
        assert p50_lin > p50_sm, (op, var)


def _after_cuts(directory, component, op=None):
    """Every branch (with ``mww``) of a file after the VBS cuts, and ``|w|``."""
    arrays, _ = _arrays(ntuple_path(directory, component, op))
    frame = pd.DataFrame(arrays).query(VBS_CUTS)
    return frame, np.abs(frame["w"].to_numpy())


def _median_ratios(directory, component, op, variables):
    sm, w_sm = _after_cuts(directory, "SM")
    bsm, w_bsm = _after_cuts(directory, component, op)
    return {var: weighted_quantile(bsm[var], w_bsm, 0.5) / weighted_quantile(sm[var], w_sm, 0.5)
            for var in variables}


# PHYSICS.md: QUAD medians of the energy variables ~2-3x the SM's, LIN's ~1.5-2x (|w|-weighted)
@pytest.mark.parametrize("op, variables", [("cW", ("mll", "ptl1", "ptll", "mww")),
                                           ("cqq3", ("ptj1", "ptj2", "mjj"))])
@pytest.mark.parametrize("component, low, high", [("QUAD", 1.8, 3.5), ("LIN", 1.3, 2.2)])
def test_energy_growing_medians_follow_physics_md(generated_dir, op, variables, component, low,
                                                  high):
    ratios = _median_ratios(generated_dir, component, op, variables)
    for var, ratio in ratios.items():
        assert low < ratio < high, (op, component, var, ratio)


def test_cw_lin_is_softer_than_quad(generated_dir):
    variables = ("mll", "ptl1", "ptll", "mww")
    lin = _median_ratios(generated_dir, "LIN", "cW", variables)
    quad = _median_ratios(generated_dir, "QUAD", "cW", variables)
    for var in variables:
        assert 1.2 < quad[var] / lin[var] < 2.2, (var, lin[var], quad[var])


@pytest.mark.parametrize("var", ["mll", "ptl1"])
def test_one_lepton_variable_separates_cw_quad_from_the_sm(generated_dir, var):
    sm, quad = _sample(generated_dir), _sample(generated_dir, "QUAD", "cW")
    area = auc(sm.features[var], lumi_weights(sm), quad.features[var], lumi_weights(quad))
    assert area > 0.75, (var, area)


def test_central_two_body_decay_follows_one_minus_cos2():
    # parent at rest along z: cos θ* is the daughter's own polar angle; for a density
    # 1 - cos²θ*, <cos²θ*> = (2/3 - 2/5) / (4/3) = 1/5 (isotropic: 1/3)
    n = 40_000
    m = np.full(n, 500.0)
    parent = np.column_stack([m, np.zeros((n, 3))])
    mw = np.full(n, simulate.W_MASS)
    for central, expected in ((0.0, 1 / 3), (1.0, 1 / 5)):
        w1, w2 = model._two_body(np.random.default_rng(0), parent, m, mw, mw, central)
        cos = w1[:, 3] / np.linalg.norm(w1[:, 1:], axis=1)
        assert np.mean(cos**2) == pytest.approx(expected, abs=0.006), central
        np.testing.assert_allclose(w1 + w2, parent, atol=1e-9)


def test_operator_decay_parameters_override_only_what_they_set():
    assert OPERATORS["cW"].decay_parameters == {"ww_central": 1.0, "lep_backward": -0.15}
    assert OPERATORS["cqq3"].decay_parameters == {"ww_central": 0.0}


def test_four_quark_quad_has_hard_jets(generated_dir):
    sm, quad = _sample(generated_dir), _sample(generated_dir, "QUAD", "cqq3")
    for var in ("ptj1", "ptj2"):
        ratio = (weighted_quantile(quad.features[var], quad.weights, 0.5)
                 / weighted_quantile(sm.features[var], sm.weights, 0.5))
        assert 2.0 < ratio < 3.5, (var, ratio)


@pytest.mark.parametrize("component", ["LIN", "QUAD"])
def test_rate_only_operator_has_the_sm_shapes(generated_dir, component):
    sm = _sample(generated_dir).features
    bsm = _sample(generated_dir, component, "cHl3").features
    assert not np.array_equal(sm["mjj"][:100], bsm["mjj"][:100])  # other events...
    for var in ("mjj", "deltaetajj", "deltaphijj", "ptj1", "ptl1", "mll", "met", "ptll"):
        assert scipy.stats.ks_2samp(sm[var], bsm[var]).pvalue > 1e-3, var  # ...same shapes


def test_ks_test_sees_an_energy_growing_operator(generated_dir):
    sm = _sample(generated_dir).features
    quad = _sample(generated_dir, "QUAD", "cW").features
    assert scipy.stats.ks_2samp(sm["mll"], quad["mll"]).pvalue < 1e-6


def test_invisible_operator_is_near_the_sm(generated_dir):
    sm, quad = _sample(generated_dir), _sample(generated_dir, "QUAD", "cHbox")
    for var in ("mll", "ptl1", "ptj1", "mjj"):
        ratio = (weighted_quantile(quad.features[var], quad.weights, 0.5)
                 / weighted_quantile(sm.features[var], sm.weights, 0.5))
        assert 0.95 < ratio < 1.15, (var, ratio)


# ------------------------------------------------------------------------------- seeds
def _read_all(paths):
    return {p.name: _arrays(p) for p in paths}


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    kwargs = dict(operators=("cW",), n_events=2000, n_bsm=1000)
    first = _read_all(write_ntuples(tmp_path / "a", seed=7, **kwargs))
    again = _read_all(write_ntuples(tmp_path / "b", seed=7, **kwargs))
    other = _read_all(write_ntuples(tmp_path / "c", seed=8, **kwargs))
    for name, (arrays, nums) in first.items():
        for branch, values in arrays.items():
            np.testing.assert_array_equal(values, again[name][0][branch])
        np.testing.assert_array_equal(nums, again[name][1])
        assert not np.array_equal(arrays["mjj"], other[name][0]["mjj"])


def test_adding_an_operator_leaves_the_others_unchanged(tmp_path):
    kwargs = dict(n_events=1000, n_bsm=1000, seed=3)
    alone = _read_all(write_ntuples(tmp_path / "a", operators=("cW",), **kwargs))
    more = _read_all(write_ntuples(tmp_path / "b", operators=("cHl3", "cqq1", "cW"), **kwargs))
    for name, (arrays, _) in alone.items():
        np.testing.assert_array_equal(arrays["ptl1"], more[name][0]["ptl1"])


# --------------------------------------------------------------------------- bad input
def test_unknown_operator_is_named(tmp_path):
    with pytest.raises(ValueError, match="cXYZ"):
        write_ntuples(tmp_path, operators=("cW", "cXYZ"), n_events=10, n_bsm=10)


@pytest.mark.parametrize("kwargs", [{"n_events": 0}, {"n_bsm": -5}, {"n_events": 2.5}])
def test_non_positive_event_counts_are_refused(tmp_path, kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        write_ntuples(tmp_path, operators=("cW",), **kwargs)


def test_every_operator_in_the_table_is_consistent():
    assert set(simulate.DEFAULT_OPERATORS) <= set(OPERATORS)
    assert {op.kind for op in OPERATORS.values()} >= {"easy", "medium", "rate only", "invisible"}
    for op in OPERATORS.values():
        assert op.lin_range[0] <= op.lin_ratio <= op.lin_range[1], op.name
        assert op.quad_range[0] <= op.quad_ratio <= op.quad_range[1], op.name
        assert op.quad_ratio > 0
        assert op.interval[0] < 0 < op.interval[1]


def test_weighted_quantile_refuses_negative_weights():
    with pytest.raises(ValueError, match="non-negative"):
        weighted_quantile([1.0, 2.0], [1.0, -1.0], 0.5)


def test_branches_are_written_in_baskets_so_chunked_reading_stays_bounded(tmp_path):
    from vaednn.simulate import BASKET_EVENTS

    path = simulate.write_ntuples(tmp_path, operators=(), n_events=2 * BASKET_EVENTS + 10,
                                  n_bsm=10, seed=0)[0]
    branch = uproot.open(path)["SSWW_SM"]["mjj"]
    assert branch.num_baskets == 3
    assert branch.basket_entry_start_stop(0) == (0, BASKET_EVENTS)


def test_physics_summary_reads_a_sample_map_like_the_directory(generated_dir, tmp_path):
    lines = ["[sm]", f'file = "{generated_dir}/ntuple_SSWW_SM.root"', 'tree = "SSWW_SM"']
    for op in ("cW", "cHl3"):
        for part, kind in (("lin", "LI"), ("quad", "QU")):
            lines += [f"[operators.{op}.{part}]",
                      f'file = "{generated_dir}/ntuple_SSWW_{op}_{kind}.root"',
                      f'tree = "SSWW_{op}_{kind}"']
    (tmp_path / "map.toml").write_text("\n".join(lines))
    from_map = simulate.physics_summary(tmp_path / "map.toml", operators=("cW", "cHl3"))
    from_directory = simulate.physics_summary(generated_dir, operators=("cW", "cHl3"))
    for title, table in from_directory.items():
        pd.testing.assert_frame_equal(from_map[title], table)
