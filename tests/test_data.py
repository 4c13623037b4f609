import numpy as np
import pandas as pd
import pytest
import uproot

from vaednn import data
from vaednn.data import FEATURES, NtupleError


def good_columns(n=50, seed=0):
    """Events that all pass the VBS cuts, with positive energy-like features."""
    rng = np.random.default_rng(seed)
    columns = {name: rng.uniform(1.0, 3.0, n) for name in FEATURES}
    columns.update(
        deltaetajj=rng.uniform(2.5, 6.0, n),
        mjj=rng.uniform(300.0, 2000.0, n),
        ptj1=rng.uniform(60.0, 400.0, n),
        ptj2=rng.uniform(40.0, 60.0, n),
    )
    # Signs mixed, sum positive as the SM cross section is (opposite signs are refused).
    columns["w"] = np.where(np.arange(n) % 5 == 0, -1.0, 1.0) * rng.uniform(0.5, 1.5, n)
    columns["phij1"] = rng.uniform(-np.pi, np.pi, n)
    return columns


def write(path, columns, tree="SSWW_SM", nums=(0.004, None)):
    xsec, sumw = nums
    with uproot.recreate(path) as file:
        file.mktree(tree, {name: values.dtype for name, values in columns.items()})
        file[tree].extend(columns)
        if xsec is not None:
            sumw = float(np.sum(columns["w"])) if sumw is None else sumw
            file[f"{tree}_nums"] = (np.array([xsec, sumw]), np.array([0.0, 1.0, 2.0]))
    return path


@pytest.fixture
def good_file(tmp_path):
    return write(tmp_path / "ntuple_SSWW_SM.root", good_columns())


def test_read_ntuple_reads_features_weights_and_normalisation(good_file):
    columns = good_columns()
    sample = data.read_ntuple(good_file)
    assert sample.name == "SSWW_SM"
    assert list(sample.features.columns) == list(FEATURES)
    np.testing.assert_array_equal(sample.features["mjj"], columns["mjj"])
    np.testing.assert_array_equal(sample.weights, columns["w"])
    assert (sample.weights < 0).any(), "negative weights must be kept"
    assert sample.xsec == pytest.approx(0.004)
    assert sample.sumw == pytest.approx(np.sum(columns["w"]))
    assert sample.fraction == 1.0 and sample.n_read == 50


def test_cuts_are_applied_and_counted(tmp_path):
    columns = good_columns()
    columns["mjj"][:7] = 150.0
    columns["ptj2"][7:10] = 20.0
    sample = data.read_ntuple(write(tmp_path / "ntuple_SSWW_SM.root", columns))
    assert len(sample) == 40 and sample.n_read == 50
    assert sample.features["mjj"].min() > 200 and sample.features["ptj2"].min() > 30
    assert len(data.read_ntuple(tmp_path / "ntuple_SSWW_SM.root", cuts=None)) == 50


def test_max_events_sets_fraction(good_file):
    sample = data.read_ntuple(good_file, max_events=10)
    assert len(sample) == 10 and sample.fraction == pytest.approx(0.2)


def test_missing_file(tmp_path):
    with pytest.raises(NtupleError, match="ntuple_SSWW_SM.root: file not found"):
        data.read_ntuple(tmp_path / "ntuple_SSWW_SM.root")


def test_missing_tree(good_file):
    with pytest.raises(NtupleError, match=r"no tree 'SSWW_cW_LI'.*SSWW_SM"):
        data.read_ntuple(good_file, tree="SSWW_cW_LI")


def test_missing_branch(tmp_path):
    columns = good_columns()
    del columns["ptll"]
    path = write(tmp_path / "ntuple_SSWW_SM.root", columns)
    with pytest.raises(NtupleError, match=r"ntuple_SSWW_SM.root: tree 'SSWW_SM' has no branch 'ptll'"):
        data.read_ntuple(path)


def test_missing_nums_histogram(tmp_path):
    path = write(tmp_path / "ntuple_SSWW_SM.root", good_columns(), nums=(None, None))
    with pytest.raises(NtupleError, match=r"no normalisation histogram 'SSWW_SM_nums'.*xsec="):
        data.read_ntuple(path)
    assert data.read_ntuple(path, xsec=1.0, sumw=2.0).sumw == 2.0


@pytest.mark.parametrize("column, rows, values, message", [
    ("mll", [3, 8], np.nan, r"branch 'mll' has 2 NaN or infinite"),
    ("mll", [3, 8], np.inf, r"branch 'mll' has 2 NaN or infinite"),
    ("mjj", [0], np.nan, "'mjj' has 1 NaN"),
    ("met", [1, 2, 3], [0.0, -1.0, 0.0], r"'met' has 3 non-positive value\(s\)"),
    ("deltaetajj", slice(None), 1.0, "no event left after the cuts"),
], ids=["nan", "infinite", "nan in a cut variable is not silently cut away",
        "non-positive log feature", "no event after cuts"])
def test_bad_values_are_named(tmp_path, column, rows, values, message):
    columns = good_columns()
    columns[column][rows] = values
    with pytest.raises(NtupleError, match=message):
        data.read_ntuple(write(tmp_path / "ntuple_SSWW_SM.root", columns))


@pytest.mark.parametrize("step_size", [None, 7, "1 kB"])
def test_an_rntuple_reads_as_the_same_ttree_does(tmp_path, step_size):
    columns = good_columns(n=60)
    columns["mjj"][::4] = 100.0  # some events fail the cuts, so entries are not 0..n-1
    (tmp_path / "ttree").mkdir()
    ttree = write(tmp_path / "ttree" / "ntuple_SSWW_SM.root", columns)
    rntuple = tmp_path / "ntuple_SSWW_SM.root"
    with uproot.recreate(rntuple) as file:
        file["SSWW_SM"] = columns
        file["SSWW_SM_nums"] = (np.array([0.004, float(np.sum(columns["w"]))]),
                                np.array([0.0, 1.0, 2.0]))
    assert uproot.open(rntuple).classname_of("SSWW_SM") == "ROOT::RNTuple"
    expected = data.read_ntuple(ttree)
    got = data.read_ntuple(rntuple, step_size=step_size)
    pd.testing.assert_frame_equal(got.features, expected.features)
    np.testing.assert_array_equal(got.weights, expected.weights)
    np.testing.assert_array_equal(got.entries, expected.entries)
    assert (got.xsec, got.sumw, got.n_read, got.tree_entries) == \
        (expected.xsec, expected.sumw, 60, 60)
    assert len(got) == 45
    chunks = list(data.iterate_ntuple(rntuple, step_size=16))
    assert [c.n_read for c in chunks] == [16, 16, 16, 12]
    pd.testing.assert_frame_equal(data.concatenate(chunks).features, expected.features)


def test_an_object_that_is_no_tree_is_named(tmp_path):
    path = write(tmp_path / "ntuple_SSWW_SM.root", good_columns())
    with pytest.raises(NtupleError, match="'SSWW_SM_nums' is a TH1D, not a TTree or an RNTuple"):
        data.read_ntuple(path, tree="SSWW_SM_nums")


def test_a_feature_set_of_the_analysis_chooses_the_columns_and_the_cuts(tmp_path):
    columns = good_columns(n=40)
    columns["nu_pt"] = np.linspace(1.0, 40.0, 40)
    path = write(tmp_path / "ntuple_SSWW_SM.root", columns)
    features = ["mjj", "etaj1", "neutrino"]
    sample = data.read_ntuple(path, features=features, branches={"neutrino": "nu_pt"},
                              cuts="neutrino > 10.5")
    assert list(sample.features.columns) == features
    assert sample.log_features == ("mjj",)
    np.testing.assert_array_equal(sample.features["neutrino"], columns["nu_pt"][10:])
    np.testing.assert_array_equal(sample.entries, np.arange(10, 40))
    with pytest.raises(ValueError, match=r"cuts 'met > 1' name \['met'\], which are not "
                                         r"features; cuts select on \['mjj', 'etaj1', 'neutrino'\]"):
        data.read_ntuple(path, features=features, branches={"neutrino": "nu_pt"},
                         cuts="met > 1")
    columns["nu_pt"][3] = -1.0
    path = write(tmp_path / "ntuple_SSWW_SM.root", columns)
    with pytest.raises(NtupleError, match=r"'nu_pt' has 1 non-positive"):
        data.read_ntuple(path, features=["mjj", "nu_pt"], log_features=["nu_pt"], cuts=None)
    with pytest.raises(ValueError, match=r"log_features \['met'\] are not among"):
        data.read_ntuple(path, features=["mjj"], log_features=["met"])
    with pytest.raises(ValueError, match="branch map names unknown feature"):
        data.read_ntuple(path, features=["mjj"], branches={"met": "nu_pt"}, cuts=None)


def test_unreadable_file(tmp_path):
    path = tmp_path / "ntuple_SSWW_SM.root"
    path.write_text("not root")
    with pytest.raises(NtupleError, match="not a readable ROOT file"):
        data.read_ntuple(path)


def test_ntuple_error_is_a_value_error():
    assert issubclass(NtupleError, ValueError)


def test_load_operator_reads_three_components(tmp_path):
    for component, seed in (("SM", 0), ("LIN", 1), ("QUAD", 2)):
        path = data.ntuple_path(tmp_path, component, "cW")
        write(path, good_columns(seed=seed), tree=path.stem.removeprefix("ntuple_"))
    samples = data.load_operator(tmp_path, "cW")
    assert [s.name for s in samples] == ["SSWW_SM", "SSWW_cW_LI", "SSWW_cW_QU"]
    assert samples.operator == "cW"


def make_sample(weights, xsec=0.002, sumw=None, name="s"):
    weights = np.asarray(weights, dtype=float)
    features = pd.DataFrame({f: np.arange(len(weights), dtype=float) + 1 for f in FEATURES})
    return data.Sample(name, features, weights, xsec=xsec,
                       sumw=weights.sum() if sumw is None else sumw)


def test_lumi_weights_hand_computed():
    # 2 fb x 350 fb^-1 = 700 events in all, shared as the weights 1 : -1 : 2.
    sample = make_sample([1.0, -1.0, 2.0], xsec=0.002)
    np.testing.assert_allclose(data.lumi_weights(sample, 350.0), [350.0, -350.0, 700.0])


def test_split_is_seeded_disjoint_and_keeps_yields():
    sample = make_sample(np.ones(1000))
    train, test = data.split(sample, 0.2, seed=3)
    assert (len(train), len(test)) == (800, 200)
    assert set(train.features["mjj"]).isdisjoint(test.features["mjj"])
    for part in (train, test):
        assert data.lumi_weights(part).sum() == pytest.approx(data.lumi_weights(sample).sum())
    again, _ = data.split(sample, 0.2, seed=3)
    other, _ = data.split(sample, 0.2, seed=4)
    np.testing.assert_array_equal(train.features["mjj"], again.features["mjj"])
    assert not np.array_equal(train.features["mjj"], other.features["mjj"])


def test_split_rejects_a_sample_too_small():
    with pytest.raises(ValueError, match="cannot be split"):
        data.split(make_sample([1.0]), 0.2)


def test_wilson_scaling_and_mixture():
    sm, lin, quad = make_sample([1.0, 1.0]), make_sample([1.0, -3.0]), make_sample([2.0])
    w_lin, w_quad = data.wilson_weights(lin, quad, c=-0.5, luminosity=100.0)
    # LIN: 200 events x (1, -3)/(-2) = (-100, 300), times c = -0.5; QUAD: 200 x 0.25.
    np.testing.assert_allclose(w_lin, [50.0, -150.0])
    np.testing.assert_allclose(w_quad, [50.0])
    x, y, w = data.mixture(sm, lin, quad, c=-0.5, luminosity=100.0)
    assert x.shape == (5, 14)
    np.testing.assert_array_equal(y, [0, 0, 1, 1, 1])
    np.testing.assert_allclose(w, [100.0, 100.0, 50.0, -150.0, 50.0])


def _smear_input(n=40_000, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f: rng.uniform(100, 200, n) for f in FEATURES})
    for name in ("etaj1", "etaj2", "etal1", "etal2"):
        frame[name] = rng.uniform(-2.5, 2.5, n)
    frame["deltaetajj"] = rng.uniform(0, 6, n)
    frame["deltaphijj"] = rng.uniform(0, np.pi, n)
    return frame


def test_smear_is_absolute_in_angles_and_met_and_relative_in_pt():
    features = _smear_input()
    smeared = data.smear(features, 1.0, seed=1)
    pd.testing.assert_frame_equal(smeared, data.smear(features, 1.0, seed=1))
    diff = smeared - features
    res = data.DETECTOR_RESOLUTION
    # absolute: the spread does not grow with the value
    for name, sigma in (("etaj1", res["jet_angle"]), ("etal2", res["lepton_angle"]),
                        ("met", res["met_gev"])):
        assert diff[name].std() == pytest.approx(sigma, rel=0.03), name
        large = features[name].abs() > features[name].abs().median()
        assert diff[name][large].std() == pytest.approx(diff[name][~large].std(), rel=0.05)
    # relative: the spread of the ratio is the resolution, 2% for leptons
    for name in ("ptl1", "ptll"):
        assert (diff[name] / features[name]).std() == pytest.approx(res["lepton_pt"], rel=0.03)
    jets = diff["ptj1"] / features["ptj1"] / data.jet_pt_resolution(features["ptj1"])
    assert jets.std() == pytest.approx(1.0, rel=0.03)


def test_jet_resolution_follows_physics_md():
    # PHYSICS.md: 10-15% at 50 GeV, about 5% at 500 GeV
    assert 0.10 <= data.jet_pt_resolution(50.0) <= 0.15
    assert data.jet_pt_resolution(500.0) == pytest.approx(0.05, abs=0.005)


def test_smear_keeps_every_quantity_in_its_range_and_scales():
    features = _smear_input()
    strong = data.smear(features, 8.0, seed=2)
    assert (strong[list(data.LOG_FEATURES)] > 0).all().all()
    assert strong["deltaetajj"].min() >= 0
    assert strong["deltaphijj"].between(0, np.pi).all()
    pd.testing.assert_frame_equal(data.smear(features, 0.0), features)
    once, twice = data.smear(features, 1.0, seed=3), data.smear(features, 2.0, seed=3)
    ratio = (twice - features)["etaj2"].std() / (once - features)["etaj2"].std()
    assert ratio == pytest.approx(2.0, rel=0.03)


def test_smear_refuses_unknown_columns_and_negative_scales():
    features = _smear_input(100)
    with pytest.raises(ValueError, match="nJets"):
        data.smear(features.assign(nJets=1.0))
    with pytest.raises(ValueError, match="scale must be >= 0"):
        data.smear(features, -1.0)
    with pytest.raises(ValueError, match="ptj2"):
        data.smear(features[["mjj", "ptj1"]])


def test_sample_table_counts_and_yields():
    sample = make_sample([1.0, -1.0, 2.0], xsec=0.002, name="SSWW_cW_LI")
    sample.n_read = 5
    row = data.sample_table([sample], luminosity=350.0).loc["SSWW_cW_LI"]
    assert row["events_read"] == 5 and row["events_selected"] == 3
    assert row["xsec_fb"] == pytest.approx(2.0)
    assert row["yield"] == pytest.approx(700.0)
    assert row["neg_weight_fraction"] == pytest.approx(1 / 3)
