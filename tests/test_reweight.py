"""vaednn.reweight: LHE and ROOT reweighted samples, the header mapping, the decomposition."""

import gzip
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vaednn import compare, data, reweight, simulate
from vaednn.reweight import LHEError

REAL = Path(__file__).resolve().parents[1] / "examples" / "dy1j_smeftsim.lhe.gz"
DY_FEATURES = ["ptl1", "ptl2", "etal1", "etal2", "mll", "ptll", "deltaphill", "ptj1", "etaj1"]
OPS = ("cW", "cqq3", "cHq3")


@pytest.fixture(scope="module")
def real():
    return reweight.read_lhe(REAL, features=DY_FEATURES)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return simulate.write_reweighted(tmp_path_factory.mktemp("rw"), operators=OPS,
                                     n_events=3000, seed=2)


# --------------------------------------------------------------------------- the real file
def test_real_file_events_weights_points_and_cross_section(real):
    assert len(real) == 10_000 and real.weights.shape == (10_000, 37)
    assert real.points["cHDD_0p1"] == {"chdd": 0.1}
    assert real.points["cHWB_0p1"] == {"chwb": 0.1}
    assert real.points["cHl3_0p1"] == {"chl3": 0.1}
    assert real.points["cGtil_0p1"] == {"cgtil": 0.1}  # BLOCK SMEFTcpv
    assert real.points["SM"] == {}
    # ids whose header entry sets nothing are listed (and reweight to the SM card) ...
    assert {"SM", "cdB_0p1", "cuW_0p1"} <= set(real.ids_setting_nothing)
    assert np.array_equal(real.column("cdB_0p1"), real.column("SM"))
    # ... and sigma comes from <init>, with MadGraph's average convention sum(w)/N = sigma.
    assert real.xsec == pytest.approx(0.3757, abs=1e-4)
    assert real.sumw / len(real) == pytest.approx(real.xsec, rel=1e-6)
    sm = real.operator_samples(["chdd"], linear_only=True)["chdd"].sm
    assert data.lumi_weights(sm, 1.0).sum() == pytest.approx(real.xsec * 1000, rel=1e-6)


def test_real_file_kinematics_from_vector(real):
    # Drell-Yan + 1 jet at LO: the dilepton recoils against the jet.
    assert np.allclose(real.features["ptll"], real.features["ptj1"], rtol=1e-6)
    assert (real.features["mll"] > 0).all() and (real.features["deltaphill"] <= np.pi).all()
    with pytest.raises(LHEError, match=r"'ptj2'.*undefined in 500 of 500 events .*\{'j': 500\}"):
        reweight.read_lhe(REAL, features=["ptj2"], max_events=500)


def test_one_point_per_operator_cannot_give_quad(real):
    with pytest.raises(LHEError, match=r"'chdd' has 1 point.*cannot separate LIN from QUAD"):
        real.decompose(["chdd"])
    with pytest.raises(LHEError, match=r"no weight id moves \['cdb'\]"):
        real.decompose(["cdb"], linear_only=True)


def test_linear_only_is_the_finite_difference(real):
    parts = real.decompose(["chdd", "chwb"], linear_only=True)
    assert parts.linear_only and parts.terms == ("SM", "LIN_chdd", "LIN_chwb")
    for op, wid in (("chdd", "cHDD_0p1"), ("chwb", "cHWB_0p1")):
        expected = (real.column(wid) - real.column("SM")) / 0.1
        np.testing.assert_allclose(parts[f"LIN_{op}"], expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(parts["SM"], real.column("SM"), rtol=0, atol=1e-12)
    samples = real.operator_samples(["chdd"], linear_only=True)["chdd"]
    assert samples.same_events and samples.quad.name.endswith("_QU_not_fitted")
    assert not samples.quad.weights.any()


def test_user_mapping_overrides_the_header():
    sample = reweight.read_lhe(REAL, features=["ptl1"], max_events=300,
                               points={"cHDD_0p1": {"chdd": 0.2}})
    assert sample.points["cHDD_0p1"] == {"chdd": 0.2}
    lin = sample.decompose(["chdd"], linear_only=True)["LIN_chdd"]
    expected = (sample.column("cHDD_0p1") - sample.column("SM")) / 0.2
    np.testing.assert_allclose(lin, expected, rtol=0, atol=1e-12)
    with pytest.raises(LHEError, match="'cHDD_0p3'"):
        reweight.read_lhe(REAL, features=["ptl1"], max_events=10,
                          points={"cHDD_0p3": {"chdd": 0.3}})


# --------------------------------------------------------------------------- header errors
def _lhe(tmp_path, initrwgt: str, event_ids=("SM", "a"), card="    5 0.0e+00 # chdd\n"):
    weights = "".join(f"<wgt id='{wid}'> 1.0 </wgt>\n" for wid in event_ids)
    event = ("<event>\n 1 1 1.0 91.0 0.0078 0.118\n"
             " 13 1 0 0 0 0 10.0 5.0 3.0 11.6 0.0 0.0 9.0\n"
             f"<rwgt>\n{weights}</rwgt>\n</event>\n")
    text = ("<LesHouchesEvents version=\"3.0\">\n<header>\n<slha>\nBLOCK SMEFT #\n" + card
            + "</slha>\n<initrwgt>\n<weightgroup name='rw'>\n" + initrwgt
            + "</weightgroup>\n</initrwgt>\n</header>\n<init>\n"
            "2212 2212 6500.0 6500.0 0 0 0 0 3 1\n2.0 0.1 1.0 1\n</init>\n"
            + event * 2 + "</LesHouchesEvents>\n")
    path = tmp_path / "small.lhe.gz"
    with gzip.open(path, "wt") as stream:
        stream.write(text)
    return path


@pytest.mark.parametrize("initrwgt, event_ids, message", [
    ("<weight id='SM'></weight><weight id='a'>set param_card smeft 7 0.1</weight>",
     ("SM", "a"), r"weight id 'a' sets block smeft entry \[7\], which the header's param card"),
    ("<weight id='SM'></weight><weight id='a'>set param_card smeft 5 0.1\n"
     "set param_card smeft 5 0.2</weight>", ("SM", "a"), r"weight id 'a' sets chdd twice"),
    ("<weight id='SM'></weight><weight id='SM'></weight>", ("SM", "SM"),
     r"weight id 'SM' is declared twice"),
    ("<weight id='SM'></weight><weight id='a'>set param_card smeft 5 0.1</weight>",
     ("SM", "b"), r"event 0 has weight ids unknown to the header \['b'\]"),
    ("<weight id='SM'></weight><weight id='a'>launch --rwgt_name=x</weight>",
     ("SM", "a"), r"weight id 'a': cannot interpret"),
])
def test_unknown_or_contradictory_ids_are_named(tmp_path, initrwgt, event_ids, message):
    path = _lhe(tmp_path, initrwgt, event_ids)
    with pytest.raises(LHEError, match=message):
        reweight.read_lhe(path, features=["ptl1"])


def test_a_set_by_name_and_the_normalisation_of_a_small_file(tmp_path):
    path = _lhe(tmp_path, "<weight id='SM'></weight><weight id='a'>set chdd 0.5</weight>")
    sample = reweight.read_lhe(path, features=["ptl1"])
    assert sample.points == {"SM": {}, "a": {"chdd": 0.5}}
    assert sample.ids_setting_nothing == ("SM",)
    assert sample.xsec == 2.0 and sample.sumw == 2.0  # <init> sigma; sum of XWGTUP
    assert sample.features["ptl1"].tolist() == pytest.approx([math.hypot(10, 5)] * 2)


# --------------------------------------------------------------------------- decomposition
def _synthetic(points, rng, operators=("a", "b")):
    """Events with known SM, LIN, QUAD and MIX weights, and their weights at ``points``."""
    n = 50
    truth = {"SM": rng.uniform(0.5, 2, n)}
    for op in operators:
        truth[f"LIN_{op}"] = rng.normal(0, 1, n)
        truth[f"QUAD_{op}"] = rng.uniform(0, 3, n)
    truth["MIX_a_b"] = rng.normal(0, 1, n)
    columns = []
    for point in points.values():
        a, b = point.get("a", 0.0), point.get("b", 0.0)
        columns.append(truth["SM"] + a * truth["LIN_a"] + b * truth["LIN_b"]
                       + a * a * truth["QUAD_a"] + b * b * truth["QUAD_b"]
                       + a * b * truth["MIX_a_b"])
    sample = reweight.ReweightedSample(
        "synthetic", pd.DataFrame({"x": np.arange(n, dtype=float) + 1}),
        np.column_stack(columns), tuple(points), points, np.ones(n), 1.0, float(n), n_read=n)
    return sample, truth


def test_decomposition_recovers_sm_lin_quad_and_mixed():
    points = {"SM": {}, "a1": {"a": 1.0}, "a2": {"a": -0.5}, "b1": {"b": 2.0},
              "b2": {"b": 0.3}, "b3": {"b": -1.0}, "ab": {"a": 1.0, "b": 1.0}}
    sample, truth = _synthetic(points, np.random.default_rng(3))
    parts = sample.decompose(["a", "b"])
    assert set(parts.terms) == set(truth) and not parts.linear_only
    for term, values in truth.items():
        np.testing.assert_allclose(parts[term], values, rtol=0, atol=1e-10)
    assert parts.residual < 1e-12
    assert 1 < parts.condition_number < 100
    # Without the mixed point, no MIX term and the pure points only.
    alone = sample.decompose(["a", "b"], mixed=False)
    assert "MIX_a_b" not in alone.terms and "ab" not in alone.ids


def test_condition_number_of_sm_and_plus_minus_one():
    # A = [[1,0,0],[1,1,1],[1,-1,1]]: A^T A has eigenvalues 2 and (5 +- sqrt 17)/2.
    points = {"SM": {}, "p": {"a": 1.0}, "m": {"a": -1.0}}
    sample, truth = _synthetic(points, np.random.default_rng(4), operators=("a", "b"))
    parts = sample.decompose(["a"])
    assert parts.condition_number == pytest.approx(
        math.sqrt((5 + math.sqrt(17)) / (5 - math.sqrt(17))), rel=1e-12)
    np.testing.assert_allclose(parts["QUAD_a"], truth["QUAD_a"], atol=1e-12)


def test_too_few_points_and_missing_sm_are_named():
    sample, _ = _synthetic({"a1": {"a": 1.0}, "a2": {"a": 2.0}}, np.random.default_rng(5))
    with pytest.raises(LHEError, match="do not fix the SM weight"):
        sample.decompose(["a"])
    sample, _ = _synthetic({"SM": {}, "b1": {"b": 1.0}, "ab": {"a": 1.0, "b": 2.0}},
                           np.random.default_rng(6))
    with pytest.raises(LHEError, match="'a' has 0 point"):
        sample.decompose(["a", "b"])


def test_cuts_and_max_events_keep_an_event_with_all_its_weights(real):
    cut = real.cut("ptl1 > 250")
    assert 0 < len(cut) < len(real)
    assert np.array_equal(cut.weights, real.weights[cut.entries])
    assert np.array_equal(cut.features.to_numpy(), real.features.to_numpy()[cut.entries])
    first = cut.max_events(4000)
    assert first.entries.max() < 4000 and first.fraction == pytest.approx(0.4)
    assert np.array_equal(first.weights, real.weights[first.entries])
    ops = first.operator_samples(["chdd", "chwb"], linear_only=True)
    assert ops["chdd"].sm is ops["chwb"].sm
    assert all(np.array_equal(s.entries, first.entries) for s in ops["chdd"])
    with pytest.raises(LHEError, match="no event left"):
        real.cut("ptl1 < 0")


# --------------------------------------------------------------------------- LHE vs ROOT
def test_generated_lhe_and_root_give_the_same_operator_samples(generated):
    from_lhe = reweight.read_lhe(generated["lhe"])
    from_root = reweight.read_map(generated["map"])
    assert from_lhe.points == from_root.points == simulate.reweighting_points(OPS)
    a = from_lhe.operator_samples(OPS)
    b = from_root.operator_samples(OPS)
    for op in OPS:
        assert a[op].same_events and b[op].same_events
        for x, y in zip(a[op], b[op]):
            np.testing.assert_allclose(x.features.to_numpy(), y.features.to_numpy(), rtol=1e-6)
            scale = np.max(np.abs(y.weights))
            np.testing.assert_allclose(data.lumi_weights(x), data.lumi_weights(y),
                                       rtol=1e-6, atol=1e-9 * scale * 1e3)
    # The generator's model: LIN and QUAD rates at c = 1 are the operator's ratios.
    sm = a["cqq3"].sm.weights.sum()
    assert a["cqq3"].lin.weights.sum() / sm == pytest.approx(simulate.OPERATORS["cqq3"].lin_ratio)
    assert a["cqq3"].quad.weights.sum() / sm == pytest.approx(
        simulate.OPERATORS["cqq3"].quad_ratio)
    parts = from_lhe.decompose(OPS)
    assert "MIX_cW_cqq3" in parts.terms and parts.residual < 1e-10


def test_prepare_splits_lhe_and_root_alike_and_by_event(generated):
    from_lhe = reweight.read_lhe(generated["lhe"]).cut(data.VBS_CUTS)
    via_map = compare.prepare(generated["map"], ["cW", "cqq3"], cuts=data.VBS_CUTS, seed=3)
    via_lhe = compare.prepare(from_lhe, ["cW", "cqq3"], seed=3)
    for part in ("train", "validation", "test"):
        for op in ("cW", "cqq3"):
            x, y = getattr(via_lhe, part)[op], getattr(via_map, part)[op]
            assert x.same_events
            for s, t in zip(x, y):
                assert np.array_equal(s.entries, t.entries)
                np.testing.assert_allclose(s.weights, t.weights, rtol=1e-6)
            # one event index for all three components
            assert np.array_equal(x.sm.entries, x.lin.entries)
            assert np.array_equal(x.sm.entries, x.quad.entries)
    everything = np.concatenate([getattr(via_lhe, p)["cW"].sm.entries
                                 for p in ("train", "validation", "test")])
    assert np.array_equal(np.sort(everything), from_lhe.entries)


def test_a_cut_cannot_split_an_events_weights(generated):
    # Three frames cut separately lose different rows; split one by one, the same position
    # holds different events. As one event set the weights travel together.
    sample = reweight.read_map(generated["map"]).cut("(mjj > 300) & (ptj2 > 40)")
    ops = sample.operator_samples(["cW"])
    train, validation, test = compare.split_three(ops["cW"], seed=1)
    for part in (train, validation, test):
        assert np.array_equal(part.sm.entries, part.lin.entries)
        assert np.array_equal(part.lin.entries, part.quad.entries)
        position = {e: k for k, e in enumerate(sample.entries)}
        rows = [position[e] for e in part.lin.entries]
        np.testing.assert_array_equal(part.lin.weights,
                                      sample.decompose(["cW"])["LIN_cW"][rows])
    assert sum(len(p.sm) for p in (train, validation, test)) == len(sample)
    independent = data.OperatorSamples("cW", ops["cW"].sm, ops["cW"].lin, ops["cW"].quad)
    with pytest.raises(ValueError, match="only when same_events"):
        compare.split_three(independent)
    with pytest.raises(ValueError, match="linear_only is for reweighted samples"):
        compare.prepare({"cW": independent}, ["cW"], linear_only=True)


# --------------------------------------------------------------------------- sample maps
@pytest.mark.parametrize("extra, message", [
    ('weight_vector = "V"\nweight_ids = ["SM"]\n', r"needs .*\['points'\] missing"),
    ('weight_vector = "V"\nweight_ids = ["SM", "SM"]\npoints = {SM = {}}\n', "names an id twice"),
    ('weight_vector = "V"\nweight_ids = ["SM"]\npoints = {SM = {}, x = {cW = 1.0}}\n',
     r"points names id\(s\) \['x'\] not in weight_ids"),
    ('weight_vector = "V"\nweight_ids = ["SM"]\npoints = {SM = {cW = "one"}}\n',
     r"points.SM must be a table \{operator = number\}"),
])
def test_sample_map_reweighting_fields_are_checked(tmp_path, extra, message):
    path = tmp_path / "map.toml"
    path.write_text('[sm]\nfile = "x.root"\nxsec = 1.0\n' + extra)
    with pytest.raises(ValueError, match=message):
        data.SampleMap.load(path)


def test_root_weight_vector_of_the_wrong_length_is_named(generated):
    spec = data.SampleMap.load(generated["map"]).sm
    with pytest.raises(LHEError, match=r"LHEReweightingWeight has 8 weights at entry 0, but 3"):
        reweight.read_root(spec.file, spec.tree, weight_vector="LHEReweightingWeight",
                           ids=["SM", "a", "b"], points={}, xsec=1.0, features=["mjj"])


def test_relative_weight_vector_is_multiplied_by_the_nominal(generated, tmp_path):
    import uproot

    absolute = reweight.read_map(generated["map"])
    ids = list(absolute.ids)
    scale = 2.0  # nominal weights other than w_SM, so the product is tested
    path = tmp_path / "nano.root"
    with uproot.recreate(path) as file:
        branches = {f: absolute.features[f].to_numpy() for f in ("mjj", "ptj1")}
        branches["genWeight"] = absolute.nominal * scale
        branches["LHEReweightingWeight"] = absolute.weights / (absolute.nominal * scale)[:, None]
        file.mktree("Events", {k: (np.dtype((np.float64, (len(ids),)))
                                   if k == "LHEReweightingWeight" else v.dtype)
                               for k, v in branches.items()}).extend(branches)
    relative = reweight.read_root(path, "Events", weight_vector="LHEReweightingWeight",
                                  ids=ids, points=absolute.points, xsec=absolute.xsec,
                                  weight="genWeight", relative=True, features=["mjj", "ptj1"])
    np.testing.assert_allclose(relative.weights, absolute.weights, rtol=1e-12)
    assert relative.sumw == pytest.approx(scale * absolute.sumw)


def test_read_time_max_events_normalises_to_the_events_read(generated):
    head = reweight.read_lhe(generated["lhe"], max_events=1000)
    assert len(head) == 1000 and head.n_read == 1000 and head.fraction == 1
    sm = head.operator_samples(["cW"])["cW"].sm
    # All SM weights are sigma/N: the 1000 events read stand for the whole sigma.
    assert data.lumi_weights(sm, 1.0).sum() == pytest.approx(simulate.SM_XSEC_PB * 1000)


def test_cli_simulate_lhe_writes_the_three_files(tmp_path):
    from vaednn import cli

    assert cli.main(["-q", "simulate", "--lhe", "--out", str(tmp_path), "--events", "200",
                     "--operators", "cW", "cHl3"]) == 0
    stem = tmp_path / simulate.REWEIGHTED_STEM
    sample = reweight.read_lhe(stem.with_suffix(".lhe.gz"))
    assert len(sample) == 200 and sample.ids == ("SM", "cW_p1", "cW_m1", "cHl3_p1",
                                                 "cHl3_m1", "cW_cHl3_p1")
    assert reweight.read_map(stem.with_suffix(".toml")).points == sample.points
    before = stem.with_suffix(".lhe.gz").read_bytes()
    assert cli.main(["-q", "simulate", "--lhe", "--out", str(tmp_path), "--events", "300"]) != 0
    assert stem.with_suffix(".lhe.gz").read_bytes() == before  # not overwritten


def test_final_state_sorts_by_pt_and_counts_what_it_does_not_classify():
    state = reweight.FinalState.from_particles([
        [(21, 3.0, 4.0, 0.0, 5.0), (2, 6.0, 8.0, 0.0, 10.0), (6, 1.0, 0.0, 0.0, 200.0),
         (-11, 0.0, 30.0, 40.0, 50.0), (12, 1.0, 1.0, 0.0, 1.5), (-14, 2.0, -1.0, 0.0, 2.5)]])
    assert state.unclassified == {6: 1}
    assert reweight.VARIABLES["ptj1"](state).tolist() == [10.0]
    assert reweight.VARIABLES["ptj2"](state).tolist() == [5.0]
    # the two jets are parallel and massless: their pair has no mass
    assert reweight.VARIABLES["mjj"](state)[0] == pytest.approx(0.0, abs=1e-6)
    assert reweight.VARIABLES["met"](state)[0] == pytest.approx(3.0)  # |(3, 0)|
    assert reweight.VARIABLES["etal1"](state)[0] == pytest.approx(np.arcsinh(40 / 30))
    assert np.isnan(reweight.VARIABLES["ptl2"](state)[0])
    back_to_back = reweight.FinalState.from_particles([[(1, 30.0, 40.0, 0.0, 50.0),
                                                        (-1, -30.0, -40.0, 0.0, 50.0)]])
    assert reweight.VARIABLES["mjj"](back_to_back)[0] == pytest.approx(100.0)
    assert reweight.VARIABLES["deltaphijj"](back_to_back)[0] == pytest.approx(np.pi)
    assert reweight.VARIABLES["ptjj"](back_to_back)[0] == pytest.approx(0.0, abs=1e-9)
