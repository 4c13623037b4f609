import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from vaednn import compare, data, plotting, stats

REFERENCE_ROWS = ["counting", "single variable", "mjj fit", "BDT (supervised)"]


def synthetic_sample(name, n, rng, shift, weight_sign_flip=0.0):
    features = pd.DataFrame({f: rng.lognormal(3.0, 0.4, n) for f in data.FEATURES})
    features["mjj"] *= np.exp(shift * rng.random(n))
    weights = np.where(rng.random(n) < weight_sign_flip, -1.0, 1.0)
    return data.Sample(name, features, weights, xsec=0.01, sumw=float(n))


@pytest.fixture(scope="module")
def toy_data():
    """Two operators whose BSM events have a harder mjj (cA much more than cB)."""
    rng = np.random.default_rng(11)
    sm = compare.split_three(synthetic_sample("SSWW_SM", 3000, rng, 0.0))
    parts = {"train": {}, "validation": {}, "test": {}}
    for op, shift in (("cA", 2.0), ("cB", 0.3)):
        lin = compare.split_three(synthetic_sample(f"SSWW_{op}_LI", 1200, rng, shift,
                                                   weight_sign_flip=0.3))
        quad = compare.split_three(synthetic_sample(f"SSWW_{op}_QU", 1200, rng, 1.5 * shift))
        for index, name in enumerate(parts):
            parts[name][op] = data.OperatorSamples(op, sm[index], lin[index], quad[index])
    return compare.EvaluationData(**parts)


def test_split_three_keeps_full_rate_yields_and_disjoint_events():
    rng = np.random.default_rng(0)
    sample = synthetic_sample("SSWW_SM", 1000, rng, 0.0)
    parts = compare.split_three(sample, seed=3)
    assert [len(p) for p in parts] == [600, 200, 200]
    for part in parts:  # unit weights: each part alone predicts the whole sample's yield
        assert data.lumi_weights(part).sum() == pytest.approx(data.lumi_weights(sample).sum(),
                                                              rel=1e-12)
    ids = [set(map(tuple, p.features.to_numpy())) for p in parts]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    again = compare.split_three(sample, seed=3)
    assert all(a.features.equals(b.features) for a, b in zip(parts, again))
    with pytest.raises(ValueError, match="three positive shares summing to 1"):
        compare.split_three(sample, (0.5, 0.5, 0.5))


@pytest.fixture(scope="module")
def tables(toy_data):
    """Both operators with the references (a BDT each: trained once for every test)."""
    return compare.compare({"mjj": compare.feature_scorer("mjj"),
                            "met": lambda f: f["met"].to_numpy()}, toy_data)


def test_compare_tables_hold_every_metric_and_the_references(toy_data, tables):
    mjj = compare.feature_scorer("mjj")
    table = tables["cA"]
    assert list(table.index) == ["mjj", "met", *REFERENCE_ROWS]
    assert list(table.columns) == ["score", "AUC", "no_AUC_because", "best_sigma", "best_cut", "sigma_error",
                                   "c_lo_3sigma", "c_hi_3sigma", "min_abs_c", "c_lo_95", "c_hi_95",
                                   "c_lo_95_syst", "c_hi_95_syst", "falls_back",
                                   "falls_back_syst", "bins", "binning"]
    assert table.loc["single variable", "score"] == "mjj >"
    assert table.loc["counting", "bins"] == 1
    assert table.loc["mjj", "AUC"] > 0.8 > 0.6 > abs(table.loc["met", "AUC"] - 0.5) + 0.5
    assert table.loc["BDT (supervised)", "AUC"] > 0.75
    weaker = compare.compare({"mjj": mjj}, toy_data, operators=["cB"], references=False)
    assert weaker["cB"].loc["mjj", "AUC"] < table.loc["mjj", "AUC"]
    assert (table["c_lo_3sigma"] < 0).all() and (table["c_hi_3sigma"] > 0).all()
    assert (table["c_lo_95"] < 0).all() and (table["c_hi_95"] > 0).all()
    # A systematic never narrows; a shape fit of mjj beats counting on an mjj-shaped signal.
    assert (table["c_lo_95_syst"] <= table["c_lo_95"]).all()
    assert (table["c_hi_95_syst"] >= table["c_hi_95"]).all()
    width = table["c_hi_95"] - table["c_lo_95"]
    assert width["mjj fit"] < width["counting"]
    # The mjj row and the "mjj fit" reference are the same score.
    np.testing.assert_allclose(table.loc["mjj", ["c_lo_95", "c_hi_95", "c_hi_3sigma"]].astype(float),
                               table.loc["mjj fit", ["c_lo_95", "c_hi_95", "c_hi_3sigma"]].astype(float))
    np.testing.assert_allclose(table["min_abs_c"], np.minimum(-table["c_lo_3sigma"], table["c_hi_3sigma"]))


def test_reported_numbers_come_from_test_with_choices_made_on_validation(toy_data):
    mjj = compare.feature_scorer("mjj")
    held_out = compare.compare({"mjj": mjj}, toy_data, operators=["cA"],
                               references=False)["cA"].loc["mjj"]
    seed_way = compare.compare({"mjj": mjj}, toy_data, operators=["cA"], references=False,
                               choose_on="test")["cA"].loc["mjj"]
    validation = compare.score_samples(mjj, toy_data.validation["cA"])
    test = compare.score_samples(mjj, toy_data.test["cA"])
    # The cut is validation's best; sigma and the 3 sigma reach are test's yields at that cut.
    best = stats.best_cut(1.0, validation)
    assert held_out["best_cut"] == best.cut != stats.best_cut(1.0, test).cut
    assert held_out["best_sigma"] == pytest.approx(stats.significance([best.cut], 1.0, test)[2][0])
    assert held_out["c_hi_3sigma"] == pytest.approx(
        stats.held_out_coefficient(validation, test)[0])
    # The seed's procedure picks and reports on test: a different, more optimistic number.
    assert seed_way["c_hi_3sigma"] == pytest.approx(stats.min_coefficient(test))
    assert seed_way["c_hi_3sigma"] < held_out["c_hi_3sigma"]
    # The fit bins come from validation: refitting with test's own binning differs.
    b, lin, quad, _ = test.histogram(stats.fit_binning(validation))
    assert held_out["c_hi_95"] == pytest.approx(stats.likelihood_interval(b, lin, quad).hi)
    assert seed_way["c_hi_95"] != pytest.approx(held_out["c_hi_95"], rel=1e-6)
    with pytest.raises(ValueError, match="choose_on must be one of"):
        compare.compare({"mjj": mjj}, toy_data, choose_on="train")


def test_compare_accepts_precomputed_scores_and_checks_them(toy_data):
    mjj = compare.feature_scorer("mjj")
    precomputed = {op: {split: dict(zip(("sm", "lin", "quad"),
                                        (mjj(s.features) for s in getattr(toy_data, split)[op])))
                        for split in ("validation", "test")}
                   for op in toy_data.operators}
    tables = compare.compare({"given": precomputed, "mjj": mjj}, toy_data, references=False)
    for table in tables.values():
        text = ["score", "binning", "no_AUC_because"]
        given = table.loc["given"].drop(text).astype(float)
        np.testing.assert_allclose(given, table.loc["mjj"].drop(text).astype(float))
    precomputed["cA"]["test"]["sm"] = precomputed["cA"]["test"]["sm"][:-1]
    with pytest.raises(ValueError, match="'cA' test 'sm': 599 scores for 600 events"):
        compare.compare({"given": precomputed}, toy_data, references=False)
    with pytest.raises(ValueError, match="names of reference rows"):
        compare.compare({"counting": mjj}, toy_data)


def test_operator_matrix_and_its_heatmap(toy_data):
    scorers = {"cA": compare.feature_scorer("mjj"), "cB": compare.feature_scorer("met")}
    table = compare.operator_matrix(scorers, toy_data)
    assert len(table) == 4 and set(table["trained"]) == set(table["evaluated"]) == {"cA", "cB"}
    row = table.set_index(["trained", "evaluated"]).loc[("cA", "cA")]
    direct = compare.compare({"x": scorers["cA"]}, toy_data, references=False)["cA"].loc["x"]
    assert row["AUC"] == pytest.approx(direct["AUC"])
    ax = plotting.plot_operator_matrix(table, metric="AUC")
    assert ax.get_ylabel() == "trained on"
    values = sorted(float(t.get_text()) for t in ax.texts)
    np.testing.assert_allclose(values, sorted(table["AUC"]), rtol=1e-2)
    plt.close("all")


def test_results_table_rows_columns_and_extrapolation_flag(tables):
    # Later issues add rows and columns: they pass through after the fixed ones.
    extra = tables["cA"].copy()
    extra.loc["IsolationForest"] = extra.loc["met"]
    extra.loc["IsolationForest", "c_hi_3sigma"] = 2.5  # a 3 sigma reach beyond the generated c = 1
    extra["n_seeds"] = 1
    with pytest.raises(ValueError, match=r"no trained_on entry for model\(s\) \['IsolationForest', 'met'"):
        compare.results_table({"cA": extra})
    out = compare.results_table({"cA": extra, "cB": tables["cB"]},
                                trained_on={"IsolationForest": "SM", "met": "none",
                                            "mjj": "none"})
    trained_on = out.set_index(["operator", "model"])["trained_on"]
    assert trained_on[("cA", "BDT (supervised)")] == "cA"
    assert trained_on[("cB", "BDT (supervised)")] == "cB"
    assert trained_on[("cA", "IsolationForest")] == "SM" and trained_on[("cB", "counting")] == "none"
    assert list(out.columns[:len(compare.RESULT_COLUMNS)]) == list(compare.RESULT_COLUMNS)
    assert "n_seeds" in out.columns and "IsolationForest" in set(out["model"])
    assert len(out) == 7 + 6
    bounds = ["c_lo_3sigma", "c_hi_3sigma", "c_lo_95", "c_hi_95", "c_lo_95_syst", "c_hi_95_syst"]
    np.testing.assert_array_equal(out["extrapolated"], (out[bounds].abs() > 1).any(axis=1))
    flagged = out.set_index(["operator", "model"])["extrapolated"]
    assert flagged[("cA", "IsolationForest")] and not flagged.all()
    cb = out[out["operator"] == "cB"].set_index("model")
    assert cb.loc["met", "c_hi_3sigma"] == tables["cB"].loc["met", "c_hi_3sigma"]


def test_compare_on_generated_ntuples(generated_dir):
    prepared = compare.prepare(generated_dir, ("cW", "cqq3", "cHl3", "cHbox"), seed=0)
    assert prepared.test["cW"].sm is prepared.test["cHbox"].sm
    assert prepared.validation["cW"].sm is prepared.validation["cHl3"].sm
    assert prepared.train["cW"].lin.fraction == pytest.approx(0.6)
    assert prepared.validation["cW"].lin.fraction == pytest.approx(0.2)
    tables = compare.compare({"mjj": compare.feature_scorer("mjj")}, prepared,
                             operators=["cqq3", "cHl3"])
    table = tables["cqq3"]
    assert np.isfinite(table[["AUC", "best_sigma", "sigma_error", "c_lo_95", "c_hi_95"]]
                       .to_numpy(float)).all()
    # The four-quark operator hardens the jets: the supervised reference must see it.
    assert table.loc["BDT (supervised)", "AUC"] > 0.75
    # Rate only: a 10 % normalisation uncertainty widens the counting interval a lot.
    rate = tables["cHl3"].loc["counting"]
    assert rate["c_hi_95_syst"] - rate["c_lo_95_syst"] > 1.5 * (rate["c_hi_95"] - rate["c_lo_95"])


def test_compare_scores_keras_models_by_their_kind(toy_data):
    from vaednn import models
    train = toy_data.train["cA"]
    vae = models.build("vae", train.sm.features, seed=0)
    vae.fit(train.sm.features.to_numpy(), epochs=1, batch_size=256, verbose=0)
    # Which output compare() reads does not depend on training: the classifier stays as built.
    dnn = models.build("vae_dnn_latent", train.sm.features, seed=0)
    table = compare.compare({"vae": vae, "dnn": dnn}, toy_data, operators=["cA"],
                            references=False, intervals=False)["cA"]
    assert table["score"].tolist() == ["reco loss", "classifier output"]
    test = toy_data.test["cA"]
    w = [data.lumi_weights(s) for s in test]
    for name, scores in (
            ("vae", [models.event_losses(vae, s.features)["reco"].to_numpy() for s in test]),
            ("dnn", [models.classifier_output(dnn, s.features) for s in test])):
        # SM against the magnitude of each event's deviation (LIN has negative weights)
        expected = stats.auc(scores[0], w[0], np.r_[scores[1], scores[2]],
                             np.abs(np.r_[w[1], w[2]]))
        assert table.loc[name, "AUC"] == pytest.approx(expected, rel=1e-12)


def test_interval_table_and_its_plots(toy_data):
    table = compare.interval_table({"met": compare.feature_scorer("met")}, toy_data,
                                   operators=["cA"])
    assert list(table["model"]) == ["counting", "counting", "mjj fit", "mjj fit", "met", "met"]
    assert list(table["systematic"]) == [0.0, compare.SYSTEMATIC] * 3
    assert table["published_lo"].isna().all()  # cA is not a published operator
    # At cl = 0.6827 and 100 fb^-1 the mjj fit's interval is the one computed by hand.
    rescaled = toy_data.at_luminosity(100.0)
    mjj = compare.feature_scorer("mjj")
    choose, report = (compare.score_samples(mjj, getattr(rescaled, s)["cA"], 100.0)
                      for s in ("validation", "test"))
    b, lin, quad, _ = report.histogram(stats.fit_binning(choose))
    expected = stats.likelihood_interval(b, lin, quad, cl=0.6827)
    row = table[(table["model"] == "mjj fit") & (table["systematic"] == 0)].iloc[0]
    assert (row["lo"], row["hi"]) == pytest.approx(expected)
    published = table.assign(operator="cW", published_lo=-0.202, published_hi=0.202)
    ax = plotting.plot_interval_comparison(published)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "published (arXiv:2108.03199)" and "met (10 % syst.)" in labels
    scans = {"no syst": stats.profile_scan(b, lin, quad),
             "syst": stats.profile_scan(b, lin, quad, background_uncertainty=0.1)}
    lines = plotting.plot_profile(scans, operator="cA")
    assert len(lines) == 2 and lines[0].axes.get_xlabel() == "cA"
    plt.close("all")


def test_seed_spread_is_the_sample_std_and_undefined_for_one_seed():
    values = [0.62, 0.70, 0.81]
    mean = (0.62 + 0.70 + 0.81) / 3
    by_hand = math.sqrt(sum((v - mean) ** 2 for v in values) / (3 - compare.SEED_DDOF))
    assert compare.SEED_DDOF == 1
    assert compare.seed_spread(values) == pytest.approx(by_hand)
    assert compare.seed_spread([0.6, 0.8]) == pytest.approx(math.sqrt(0.02))
    assert math.isnan(compare.seed_spread([0.7])), "one seed has no spread"
    assert math.isnan(compare.seed_spread([0.7, np.nan])), "a seed without the number is left out"
    with pytest.raises(ValueError, match="no values"):
        compare.seed_spread([])


def test_the_old_names_of_the_3_sigma_reach_are_read_with_a_deprecation_warning(tables):
    old = tables["cB"].rename(columns={"c_lo_3sigma": "c_minus", "c_hi_3sigma": "c_plus"})
    with pytest.warns(DeprecationWarning, match=r"tables\['cB'\].*'c_minus', 'c_plus'"):
        out = compare.results_table({"cB": old}, trained_on={"mjj": "none", "met": "none"})
    assert "c_minus" not in out and "c_plus" not in out
    np.testing.assert_array_equal(out.set_index("model")["c_hi_3sigma"],
                                  tables["cB"]["c_hi_3sigma"].to_numpy())
    with pytest.raises(ValueError, match=r"old.csv: has both \['c_plus'\]"):
        compare.current_columns(old.assign(c_hi_3sigma=1.0), "old.csv")
    with pytest.warns(DeprecationWarning, match="metric: 'c_minus' is now called 'c_lo_3sigma'"):
        assert compare.current_column("c_minus", "metric") == "c_lo_3sigma"
