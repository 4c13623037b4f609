"""Another analysis: 12 variables of a real-layout ntuple, read -> build -> fit -> score ->
compare -> SHAP, end to end, and written back (small and fast)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import uproot

from helpers import sample_tables
from vaednn import compare, data, explain, models, plotting, simulate

#: Δφjj and the lepton η dropped; the leptons' Δφ added, derived from the branches.
FEATURES = ["deltaetajj", "etaj1", "etaj2", "met", "mjj", "mll", "ptj1", "ptj2", "ptl1",
            "ptl2", "ptll", "dphill"]
#: The ntuple's own branch names (as an experiment's framework writes them).
RENAMED = {"deltaetajj": "JJ_deta", "etaj1": "Jet_eta1", "etaj2": "Jet_eta2", "met": "MET",
           "mjj": "JJ_mass", "mll": "LL_mass", "ptj1": "Jet_pt1", "ptj2": "Jet_pt2",
           "ptl1": "Lep_pt1", "ptl2": "Lep_pt2", "ptll": "LL_pt", "phil1": "Lep_phi1",
           "phil2": "Lep_phi2"}

MAP = """
[defaults]
tree = "nominal/Events"
weight = "genWeight"
features = {features}

[defaults.branches]
{branches}
dphill = {{ derive = "deltaphi", args = ["Lep_phi1", "Lep_phi2"] }}

"""


def _write(path, events, weights):
    columns = {RENAMED[name]: events[name].to_numpy() for name in RENAMED}
    columns["genWeight"] = weights
    with uproot.recreate(path) as file:
        file.mktree("nominal/Events", {name: np.float64 for name in columns})
        file["nominal/Events"].extend(columns)
    return float(weights.sum())


@pytest.fixture(scope="module")
def sample_map(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    sm = simulate.generate(1500, seed=21)
    lin = simulate.generate(500, seed=22, shift_jets=0.4, shift_ww=0.4)
    quad = simulate.generate(500, seed=23, shift_jets=0.8, shift_ww=0.8)
    lin_w = np.where(np.arange(500) % 4 == 0, -1.0, 1.0)
    tables = {name: (f"{name}.root", xsec, _write(folder / f"{name}.root", events, w))
              for name, events, w, xsec in (("sm", sm, np.ones(1500), 0.004),
                                            ("lin", lin, lin_w, 0.001),
                                            ("quad", quad, np.ones(500), 0.002))}
    branches = "\n".join(f'{name} = "{RENAMED[name]}"' for name in FEATURES if name in RENAMED)
    path = folder / "samples.toml"
    path.write_text(MAP.format(features="[" + ", ".join(f'"{f}"' for f in FEATURES) + "]",
                               branches=branches) + sample_tables(**tables))
    return path


def test_a_twelve_variable_analysis_runs_end_to_end(sample_map, tmp_path):
    cuts = "(ptj1 > 30) & (mjj > 200) & (dphill > 0.1)"
    prepared = compare.prepare(sample_map, ["cW"], cuts=cuts, seed=1)
    train = prepared.train["cW"]
    assert list(train.sm.features.columns) == FEATURES
    assert train.sm.log_features == ("met", "mjj", "mll", "ptj1", "ptj2", "ptl1", "ptl2", "ptll")
    assert (train.sm.features["dphill"] > 0.1).all()

    model = models.build("vae", train.sm.features, kl_weight=1e-4)
    assert model.features == tuple(FEATURES)
    model.fit(train.sm.features, epochs=2, batch_size=128, verbose=0)
    test = prepared.test["cW"]
    # Scoring takes the columns by name: any order works.
    reordered = test.quad.features[FEATURES[::-1]]
    np.testing.assert_allclose(models.event_losses(model, reordered)["reco"],
                               models.event_losses(model, test.quad.features)["reco"])
    with pytest.raises(ValueError, match=r"lacks feature column\(s\) \['dphill'\]"):
        models.event_losses(model, test.quad.features.drop(columns="dphill"))

    tables = compare.compare({"VAE": model}, prepared, intervals=False)
    table = tables["cW"]
    assert {"VAE", "counting", "single variable", "mjj fit", "BDT (supervised)"} <= \
        set(table.index)
    assert 0.5 < table.loc["VAE", "AUC"] <= 1.0
    assert table.loc["single variable", "score"].split()[0] in FEATURES

    score = explain.reco_loss_score(model)
    background = test.sm.features.iloc[:4]
    values = explain.shap_values(score, test.quad.features.iloc[:2], background)
    assert values.feature_names == FEATURES and values.values.shape == (2, 12)
    np.testing.assert_allclose(values.values.sum(axis=1) + values.base_values,
                               score(test.quad.features.iloc[:2][FEATURES].to_numpy()),
                               rtol=1e-4, atol=1e-7)
    ax = explain.plot_summary(values, labels={"dphill": r"$\Delta\phi_{\ell\ell}$"})
    ticks = {t.get_text() for t in ax.get_yticklabels()}
    assert r"$\Delta\phi_{\ell\ell}$" in ticks and plotting.variable_label("mjj", units=False) in ticks
    plt.close(ax.figure)
    high = explain.variables_high_loss(model, test.quad.features, 0.0)
    assert set(high.index) == set(FEATURES)

    reco = models.event_losses(model, test.quad.features)["reco"].to_numpy()
    path = data.write_scores(tmp_path / "quad_scores.root", test.quad, {"reco": reco})
    written = uproot.open(path)[test.quad.name]["reco"].array(library="np")
    assert len(written) == 500 and np.count_nonzero(~np.isnan(written)) == len(test.quad)
    np.testing.assert_array_equal(written[test.quad.entries], reco)


def test_in_memory_samples_compare_as_files_do(sample_map):
    cuts = "(ptj1 > 30) & (mjj > 200)"
    samples = data.load_operator(sample_map, "cW", cuts=cuts)
    frames = {part: data.Sample.from_frame(s.features, s.weights, s.xsec, s.sumw, name=s.name,
                                           features=FEATURES)
              for part, s in zip(("sm", "lin", "quad"), samples)}
    in_memory = compare.prepare({"cW": data.OperatorSamples("cW", **frames)}, seed=1)
    from_files = compare.prepare(sample_map, ["cW"], cuts=cuts, seed=1)
    for split in ("train", "validation", "test"):
        for mine, theirs in zip(getattr(in_memory, split)["cW"], getattr(from_files, split)["cW"]):
            pd.testing.assert_frame_equal(mine.features, theirs.features)
            np.testing.assert_array_equal(data.lumi_weights(mine), data.lumi_weights(theirs))
    other = data.OperatorSamples("cX", frames["sm"].select(np.arange(100), 1.0), frames["lin"],
                                 frames["quad"])
    with pytest.raises(ValueError, match="another SM sample"):
        compare.prepare({"cW": in_memory.test["cW"], "cX": other})
