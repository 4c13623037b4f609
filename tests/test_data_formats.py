"""Ntuples that do not look like the seed's: other names, derived variables, no histogram."""

import awkward as ak
import numpy as np
import pytest
import uproot

from helpers import sample_tables
from vaednn import data
from vaednn.data import FEATURES, NtupleError, derived


def four_vector_events(n=400, seed=0):
    """Jets and leptons as (pt, eta, phi), with every seed branch computed by hand."""
    rng = np.random.default_rng(seed)
    obj = {}
    for name, pt_scale in (("j1", 150.0), ("j2", 80.0), ("l1", 70.0), ("l2", 35.0)):
        obj[name] = (20.0 + rng.exponential(pt_scale, n), rng.uniform(-4, 4, n),
                     rng.uniform(-np.pi, np.pi, n))
    obj["j1"][1][:] = rng.uniform(1.5, 4.5, n)
    obj["j2"][1][:] = rng.uniform(-4.5, -1.5, n)

    def p4(pt, eta, phi):
        return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])

    def mass(a, b):
        e, px, py, pz = p4(*obj[a]) + p4(*obj[b])
        return np.sqrt(e**2 - px**2 - py**2 - pz**2)

    lep = p4(*obj["l1"]) + p4(*obj["l2"])
    dphi = np.abs(obj["j1"][2] - obj["j2"][2])
    seed_format = {
        "deltaetajj": np.abs(obj["j1"][1] - obj["j2"][1]),
        "deltaphijj": np.minimum(dphi, 2 * np.pi - dphi),
        "etaj1": obj["j1"][1], "etaj2": obj["j2"][1], "etal1": obj["l1"][1], "etal2": obj["l2"][1],
        "met": rng.uniform(20.0, 200.0, n),
        "mjj": mass("j1", "j2"), "mll": mass("l1", "l2"),
        "ptj1": obj["j1"][0], "ptj2": obj["j2"][0], "ptl1": obj["l1"][0], "ptl2": obj["l2"][0],
        "ptll": np.hypot(lep[1], lep[2]),
        "w": rng.normal(1.0, 0.5, n),
    }
    return obj, seed_format


def write_seed_format(path, columns, xsec=0.004, sumw=123.0):
    tree = path.stem.removeprefix("ntuple_")
    with uproot.recreate(path) as file:
        file.mktree(tree, {name: np.float64 for name in columns})
        file[tree].extend(columns)
        file[f"{tree}_nums"] = (np.array([xsec, sumw]), np.array([0.0, 1.0, 2.0]))
    return path


OTHER_MAP = {
    "deltaetajj": derived.deltaeta("Jet_eta1", "Jet_eta2"),
    "deltaphijj": derived.deltaphi("Jet_phi1", "Jet_phi2"),
    "etaj1": "Jet_eta1", "etaj2": "Jet_eta2", "etal1": "Lep_eta1", "etal2": "Lep_eta2",
    "met": "MET",
    "mjj": derived.mass("Jet_pt1", "Jet_eta1", "Jet_phi1", "Jet_pt2", "Jet_eta2", "Jet_phi2"),
    "mll": derived.mass("Lep_pt1", "Lep_eta1", "Lep_phi1", "Lep_pt2", "Lep_eta2", "Lep_phi2"),
    "ptj1": "Jet_pt1", "ptj2": "Jet_pt2", "ptl1": "Lep_pt1", "ptl2": "Lep_pt2",
    "ptll": derived.pt_pair("Lep_pt1", "Lep_phi1", "Lep_pt2", "Lep_phi2"),
}


def write_other_format(path, obj, seed_format):
    """Another framework's file: float32 branches, tree in sub-directories, no _nums."""
    columns = {"MET": seed_format["met"].astype(np.float32),
               "genWeight": seed_format["w"].astype(np.float32),
               "nJet": np.full(len(seed_format["w"]), 2, dtype=np.int32)}
    for prefix, (a, b) in (("Jet", ("j1", "j2")), ("Lep", ("l1", "l2"))):
        for i, key in enumerate(("pt", "eta", "phi")):
            columns[f"{prefix}_{key}1"] = obj[a][i].astype(np.float32)
            columns[f"{prefix}_{key}2"] = obj[b][i].astype(np.float32)
    with uproot.recreate(path) as file:
        file.mkdir("analysis/nominal")
        file["analysis/nominal"].mktree("Events", {name: v.dtype for name, v in columns.items()})
        file["analysis/nominal/Events"].extend(columns)
    return path


@pytest.fixture
def both_formats(tmp_path):
    obj, seed_format = four_vector_events()
    seed_path = write_seed_format(tmp_path / "ntuple_SSWW_SM.root", seed_format)
    other_path = write_other_format(tmp_path / "sm_other.root", obj, seed_format)
    return seed_path, other_path


def test_derived_expressions_agree_with_four_vectors(both_formats):
    seed_path, other_path = both_formats
    expected = data.read_ntuple(seed_path, cuts=None)
    got = data.read_ntuple(other_path, tree="analysis/nominal/Events", cuts=None,
                           branches=OTHER_MAP, weight="genWeight", xsec=0.004, sumw=123.0)
    for name in FEATURES:
        np.testing.assert_allclose(got.features[name], expected.features[name], rtol=2e-5,
                                   atol=2e-5, err_msg=name)
    assert got.features.dtypes.eq(np.float64).all()
    assert (got.features["deltaphijj"] <= np.pi).all() and (got.features["deltaphijj"] >= 0).all()


def test_other_format_gives_the_same_sample_after_cuts(both_formats):
    seed_path, other_path = both_formats
    expected = data.read_ntuple(seed_path)
    got = data.read_ntuple(other_path, tree="analysis/nominal/Events", branches=OTHER_MAP,
                           weight="genWeight", xsec=0.004, sumw=123.0)
    assert 0 < len(got) < got.n_read
    assert len(got) == len(expected)
    np.testing.assert_allclose(got.weights, expected.weights, rtol=1e-6)
    np.testing.assert_allclose(data.lumi_weights(got), data.lumi_weights(expected), rtol=1e-6)


def test_no_histogram_and_no_xsec_names_both_ways_out(both_formats):
    _, other_path = both_formats
    with pytest.raises(NtupleError, match=r"no normalisation histogram 'Events_nums'.*xsec=\.\.\. and sumw="):
        data.read_ntuple(other_path, tree="analysis/nominal/Events", branches=OTHER_MAP,
                         weight="genWeight")


def test_missing_branch_in_a_map_is_named(both_formats):
    _, other_path = both_formats
    with pytest.raises(NtupleError, match=r"has no branch 'MissingET' \(for 'met'\)"):
        data.read_ntuple(other_path, tree="analysis/nominal/Events",
                         branches={**OTHER_MAP, "met": "MissingET"}, weight="genWeight",
                         xsec=1.0, sumw=1.0)
    with pytest.raises(NtupleError, match=r"has no branch 'Lep_phi9'"):
        data.read_ntuple(other_path, tree="analysis/nominal/Events",
                         branches={**OTHER_MAP, "ptll": derived.pt_pair("Lep_pt1", "Lep_phi1",
                                                                        "Lep_pt2", "Lep_phi9")},
                         weight="genWeight", xsec=1.0, sumw=1.0)


def test_unknown_feature_in_a_map_is_rejected(both_formats):
    _, other_path = both_formats
    with pytest.raises(ValueError, match=r"unknown feature\(s\) \['MET'\]"):
        data.read_ntuple(other_path, tree="analysis/nominal/Events", branches={"MET": "met"})


def test_jagged_branch_is_named_with_the_way_out(tmp_path):
    obj, seed_format = four_vector_events(n=20)
    path = tmp_path / "jagged.root"
    with uproot.recreate(path) as file:
        jets = ak.Array([[a, b, 10.0] for a, b in zip(obj["j1"][0], obj["j2"][0])])
        file["Events"] = {"Jet_pt": jets, **{k: v for k, v in seed_format.items()
                                             if k not in ("ptj1", "ptj2")}}
    with uproot.recreate(tmp_path / "tree.root") as file:
        file.mktree("Events", {"Jet_pt": "var * float64",
                               **{k: np.float64 for k in seed_format if k not in ("ptj1", "ptj2")}})
        file["Events"].extend({"Jet_pt": jets, **{k: v for k, v in seed_format.items()
                                                   if k not in ("ptj1", "ptj2")}})
    with pytest.raises(NtupleError, match=r"branch 'Jet_pt' \(for 'ptj1'\) is jagged.*'Jet_pt\[:, 0\]'"):
        data.read_ntuple(tmp_path / "tree.root", tree="Events", cuts=None,
                         branches={"ptj1": "Jet_pt", "ptj2": "Jet_pt"}, xsec=1.0, sumw=1.0)
    picked = data.read_ntuple(tmp_path / "tree.root", tree="Events", cuts=None,
                              branches={"ptj1": "Jet_pt[:, 0]", "ptj2": "Jet_pt[:, 1]"},
                              xsec=1.0, sumw=1.0)
    np.testing.assert_allclose(picked.features["ptj2"], obj["j2"][0])


def test_chunked_reader_gives_the_same_sample(both_formats):
    seed_path, _ = both_formats
    whole = data.read_ntuple(seed_path)
    chunks = list(data.iterate_ntuple(seed_path, step_size=37))
    assert len(chunks) == int(np.ceil(400 / 37))
    chunked = data.read_ntuple(seed_path, step_size=37)
    assert chunked.n_read == whole.n_read == 400
    assert chunked.features.equals(whole.features)
    np.testing.assert_array_equal(chunked.weights, whole.weights)
    np.testing.assert_allclose(sum(data.lumi_weights(c).sum() for c in chunks),
                               data.lumi_weights(whole).sum())


SAMPLE_MAP_TOML = """
[defaults]
tree = "analysis/nominal/Events"
weight = "genWeight"

[defaults.branches]
deltaetajj = { derive = "deltaeta", args = ["Jet_eta1", "Jet_eta2"] }
deltaphijj = { derive = "deltaphi", args = ["Jet_phi1", "Jet_phi2"] }
etaj1 = "Jet_eta1"
etaj2 = "Jet_eta2"
etal1 = "Lep_eta1"
etal2 = "Lep_eta2"
met = "MET"
mjj = { derive = "mass", args = ["Jet_pt1", "Jet_eta1", "Jet_phi1", "Jet_pt2", "Jet_eta2", "Jet_phi2"] }
mll = { derive = "mass", args = ["Lep_pt1", "Lep_eta1", "Lep_phi1", "Lep_pt2", "Lep_eta2", "Lep_phi2"] }
ptj1 = "Jet_pt1"
ptj2 = "Jet_pt2"
ptl1 = "Lep_pt1"
ptl2 = "Lep_pt2"
ptll = { derive = "pt_pair", args = ["Lep_pt1", "Lep_phi1", "Lep_pt2", "Lep_phi2"] }

""" + sample_tables(sm=("sm_other.root", 0.004, 123.0), lin=("lin_other.root", 0.001, 50.0),
                   quad=("sm_other.root", 0.002, 123.0))


def test_sample_map_reads_a_whole_operator(tmp_path, both_formats):
    seed_path, other_path = both_formats
    obj, seed_format = four_vector_events(seed=5)
    write_other_format(tmp_path / "lin_other.root", obj, seed_format)
    (tmp_path / "samples.toml").write_text(SAMPLE_MAP_TOML)
    assert data.operators_in(tmp_path / "samples.toml") == ["cW"]
    samples = data.load_operator(tmp_path / "samples.toml", "cW")
    expected = data.read_ntuple(seed_path)
    np.testing.assert_allclose(samples.sm.features.to_numpy(), expected.features.to_numpy(),
                               rtol=2e-5, atol=2e-5)
    assert samples.lin.xsec == 0.001 and samples.quad.xsec == 0.002
    assert samples.lin.name == "Events"


def test_sample_map_in_yaml_and_its_errors(tmp_path, both_formats):
    import tomllib

    import yaml

    content = tomllib.loads(SAMPLE_MAP_TOML)
    (tmp_path / "samples.yaml").write_text(yaml.safe_dump(content))
    assert len(data.read_sample(tmp_path / "samples.yaml", "SM")) > 0
    with pytest.raises(KeyError, match=r"no operator 'cHq3'; the map has \['cW'\]"):
        data.load_operator(tmp_path / "samples.yaml", "cHq3")
    content["sm"]["colour"] = "red"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(content))
    with pytest.raises(ValueError, match=r"sm has unknown key\(s\) \['colour'\]"):
        data.SampleMap.load(tmp_path / "bad.yaml")
    content["sm"].pop("colour")
    content["defaults"]["branches"]["ptll"] = {"derive": "ptt", "args": []}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(content))
    with pytest.raises(ValueError, match="unknown derivation 'ptt'"):
        data.SampleMap.load(tmp_path / "bad.yaml")


def test_the_docs_sample_map_example_is_valid(tmp_path):
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "samples.md").read_text()
    example = re.search(r"```toml\n(# samples.toml.*?)```", page, re.S).group(1)
    (tmp_path / "samples.toml").write_text(example)
    sample_map = data.SampleMap.load(tmp_path / "samples.toml")
    assert set(sample_map.sm.branches) == set(FEATURES)
    assert sample_map.spec("QUAD", "cW").tree == "Events"
    assert sample_map.spec("LIN", "cW").tree == "analysis/nominal/Events"
    assert sample_map.spec("LIN", "cW").file == tmp_path / "SSWW_cW_LIN.root"


def test_stream_yields_every_selected_event_once_per_epoch(both_formats):
    seed_path, _ = both_formats
    whole = data.read_ntuple(seed_path)
    dataset = data.stream(seed_path.parent, batch_events=16, step_size=50, seed=1)
    epochs = [np.concatenate([batch.numpy() for batch in dataset]) for _ in range(2)]
    expected = np.sort(whole.features.to_numpy(np.float32), axis=0)
    for events in epochs:
        assert events.shape == whole.features.shape
        np.testing.assert_array_equal(np.sort(events, axis=0), expected)
    assert not np.array_equal(epochs[0], epochs[1]), "each epoch is shuffled anew"
    again = np.concatenate([batch.numpy() for batch in data.stream(seed_path.parent,
                                                                     batch_events=16,
                                                                     step_size=50, seed=1)])
    np.testing.assert_array_equal(again, epochs[0])


def test_stream_with_weights_gives_labels_and_yields(both_formats):
    seed_path, _ = both_formats
    whole = data.read_ntuple(seed_path)
    batches = list(data.stream(seed_path.parent, batch_events=1000, weights=True, seed=None))
    x, y, w = (np.concatenate([b[i].numpy() for b in batches]) for i in range(3))
    np.testing.assert_array_equal(y, np.zeros(len(whole)))
    np.testing.assert_allclose(w, data.lumi_weights(whole), rtol=1e-6)
    np.testing.assert_allclose(x, whole.features.to_numpy(np.float32))
