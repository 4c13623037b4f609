"""The steps the notebooks share, the notebook runner and the command line."""

import logging

import numpy as np
import pandas as pd
import pytest

from vaednn import cli, compare, data, reproduce, stats, workflow


@pytest.fixture(scope="module")
def analysis(generated_dir):
    return compare.prepare(generated_dir, ["cW", "cHl3"], seed=0)


def test_classifier_set_balances_classes_and_keeps_signs(analysis):
    samples = analysis.train["cW"]
    x, y, w = workflow.classifier_set(samples, c=0.5, seed=3)
    assert x.shape == (len(samples.sm) + len(samples.lin) + len(samples.quad), 14)
    assert np.abs(w[y == 0]).sum() == pytest.approx(len(y) / 2)
    assert np.abs(w[y == 1]).sum() == pytest.approx(len(y) / 2)
    assert (w[y == 1] < 0).any(), "LIN's negative weights are kept"
    again = workflow.classifier_set(samples, c=0.5, seed=3)
    np.testing.assert_array_equal(x, again[0])
    assert not np.array_equal(y, workflow.classifier_set(samples, c=0.5, seed=4)[1])


def test_classifier_set_rejects_all_zero_weights(analysis):
    samples = analysis.train["cW"]
    zero = data.OperatorSamples("cW", samples.sm, samples.lin, samples.quad)
    with pytest.raises(ValueError, match="cW at c=0: every event weight is zero"):
        workflow.classifier_set(zero, c=0.0)


def test_train_caches_the_model_and_its_history(analysis, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="vaednn")
    first = workflow.train("vae", analysis, "cW", epochs=1, seed=0, runs=tmp_path, verbose=0)
    assert first.path.is_file() and first.path.with_suffix(".csv").is_file()
    assert set(first.history["term"]) >= {"loss", "reconstruction_loss", "kl_loss"}
    assert set(first.history["split"]) == {"train", "val"}
    second = workflow.train("vae", analysis, "cW", epochs=1, seed=0, runs=tmp_path, verbose=0)
    assert "loading the trained model" in caplog.text
    assert second.path == first.path
    x = analysis.test["cW"].quad.features
    from vaednn import models

    pd.testing.assert_frame_equal(models.event_losses(first.model, x), models.event_losses(second.model, x))
    other = workflow.train("vae", analysis, "cW", epochs=2, seed=0, runs=tmp_path, verbose=0)
    assert other.path != first.path


def test_train_ensemble_caches_each_member_and_stops_on_val_auc(analysis, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="vaednn")
    first = workflow.train_ensemble("vae_dnn_latent", analysis, "cW", [3, 5], epochs=2,
                                    runs=tmp_path, clipnorm=1.0)
    assert [t.path.is_file() for t in first] == [True, True]
    assert first[0].path != first[1].path
    assert first[0].model.optimizer.clipnorm == 1.0
    assert "val_auc" in {f"val_{t}" for t in first[0].history["term"]}
    x = analysis.test["cW"].quad.features
    from vaednn import models

    outputs = [models.classifier_output(t.model, x) for t in first]
    assert not np.allclose(outputs[0], outputs[1]), "the seeds give different models"
    again = workflow.train_ensemble("vae_dnn_latent", analysis, "cW", [3, 5], epochs=2,
                                    runs=tmp_path, clipnorm=1.0)
    assert caplog.text.count("loading the trained model") == 2
    np.testing.assert_allclose(models.classifier_output(again[1].model, x), outputs[1])


def test_seed_average_of_a_hand_made_case():
    seed_0 = pd.DataFrame({"AUC": [0.6, 0.7], "c_lo_3sigma": [-0.5, -1.0], "c_lo_95": [-0.2, -0.3],
                           "score": ["reco loss", "mjj"], "falls_back": [False, False]},
                          index=pd.Index(["VAE", "counting"], name="model"))
    seed_1 = pd.DataFrame({"AUC": [0.8], "c_lo_3sigma": [-0.7], "c_lo_95": [-0.4],
                           "score": ["reco loss"], "falls_back": [True]},
                          index=pd.Index(["VAE"], name="model"))
    out = workflow.seed_average([seed_0, seed_1])
    assert list(out.index) == ["VAE", "counting"]
    assert out.loc["VAE", "AUC"] == pytest.approx(0.7)
    assert out.loc["VAE", "AUC_std"] == pytest.approx(np.sqrt(0.02)), "ddof = 1"
    assert out.loc["VAE", "c_lo_3sigma_std"] == pytest.approx(np.sqrt(0.02))
    assert out.loc["VAE", "c_lo_95"] == pytest.approx(-0.3)
    assert bool(out.loc["VAE", "falls_back"]) and out.loc["VAE", "score"] == "reco loss"
    assert list(out["n_seeds"]) == [2, 1]
    assert np.isnan(out.loc["counting", "AUC_std"]), "one value has no spread"
    assert out.loc["counting", "AUC"] == 0.7
    with pytest.raises(ValueError, match="at least one table"):
        workflow.seed_average([])


def test_reconstruction_width_is_the_ratio_of_spreads():
    inputs = np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]])
    outputs = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]])
    width = workflow.reconstruction_width(inputs, outputs, ["a", "b"])
    assert list(width.index) == ["a", "b"] and width["a"] == 0.0
    assert width["b"] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="do not match"):
        workflow.reconstruction_width(inputs, outputs, ["a"])


def test_parameters_follow_the_environment(monkeypatch):
    monkeypatch.setenv("VAEDNN_QUICK", "1")
    monkeypatch.setenv("VAEDNN_RUNS", "/somewhere/runs")
    quick = workflow.parameters()
    assert quick.quick and quick.runs == "/somewhere/runs" and len(quick.seeds) >= 2
    monkeypatch.setenv("VAEDNN_QUICK", "0")
    full = workflow.parameters()
    assert not full.quick and len(full.seeds) >= 5 and full.events > quick.events
    monkeypatch.setenv("VAEDNN_QUICK", "yes")
    with pytest.raises(ValueError, match="VAEDNN_QUICK must be 0 or 1"):
        workflow.parameters()


def test_check_claim_uses_the_range_of_the_run(monkeypatch):
    monkeypatch.setenv("VAEDNN_QUICK", "1")
    assert workflow.check_claim(0.55, "AUC", full=(0.8, 1.0), quick=(0.5, 1.0)) == 0.55
    assert workflow.check_claim(0.55, "AUC", full=(0.8, 1.0), quick=None) == 0.55
    monkeypatch.setenv("VAEDNN_QUICK", "0")
    with pytest.raises(AssertionError, match=r"AUC = 0.55 is outside .*\[0.8, 1.0\]"):
        workflow.check_claim(0.55, "AUC", full=(0.8, 1.0), quick=(0.5, 1.0))


def test_significance_scan_finds_the_exact_best_cut(analysis):
    test = analysis.test["cW"]
    scored = compare.score_samples(compare.feature_scorer("mll"), test)
    scan = workflow.significance_scan(scored, c=1.0)
    best = stats.best_cut(1.0, scored)
    assert scan["sigma"].max() == pytest.approx(best.sigma)
    assert scan.loc[scan["sigma"].idxmax(), "cut"] == pytest.approx(best.cut)
    assert np.isneginf(scan["cut"].iloc[0])
    assert (scan["error"].dropna() >= 0).all()
    no_background = scan["error"].isna()
    assert (scan.loc[no_background, "B"] == 0.5).all() and (scan.loc[no_background, "sigma"] == 0).all()


def test_save_results_writes_the_headline_numbers(analysis, tmp_path):
    tables = workflow.comparison(analysis, shared={"mll": compare.feature_scorer("mll")},
                                 per_operator={}, c=1.0)
    path = workflow.save_results(tables, tmp_path, trained_on={"mll": "none"})
    table = pd.read_csv(path)
    assert list(table.columns[:len(compare.RESULT_COLUMNS)]) == list(compare.RESULT_COLUMNS)
    assert set(table["operator"]) == {"cW", "cHl3"}
    assert set(table["model"]) == {"mll", "counting", "single variable", "mjj fit",
                                   "BDT (supervised)"}
    rate_only = table[(table["operator"] == "cHl3") & (table["model"] == "mll")]
    assert 0.4 < rate_only["AUC"].item() < 0.6, "a rate-only operator has the SM's shapes"
    assert (table["n_seeds"] == 1).all() and table["AUC_std"].isna().all()
    by_row = table.set_index(["operator", "model"])["trained_on"]
    assert by_row[("cW", "BDT (supervised)")] == "cW" and by_row[("cHl3", "BDT (supervised)")] == "cHl3"
    assert by_row[("cW", "counting")] == "none"


def test_comparison_averages_an_ensemble_over_its_seeds(analysis):
    members = [compare.feature_scorer("mll"), compare.feature_scorer("mjj")]
    tables = workflow.comparison(analysis, shared={"pair": members}, per_operator={}, c=1.0)
    single = workflow.comparison(analysis, shared={"mll": members[0], "mjj": members[1]},
                                 per_operator={}, c=1.0)
    for op in ("cW", "cHl3"):
        row, alone = tables[op].loc["pair"], single[op]
        assert row["n_seeds"] == 2 and tables[op].loc["counting", "n_seeds"] == 1
        assert row["AUC"] == pytest.approx(alone.loc[["mll", "mjj"], "AUC"].mean())
        assert row["AUC_std"] == pytest.approx(alone.loc[["mll", "mjj"], "AUC"].std(ddof=1))



def _table(models, auc):
    return pd.DataFrame({"AUC": auc, "c_lo_95": -0.5, "c_hi_95": 0.5},
                        index=pd.Index(models, name="model"))


def test_save_results_upserts_rows_by_operator_and_model(tmp_path):
    path = workflow.save_results({"cW": _table(["VAE", "counting"], [0.6, 0.5]),
                                  "cqq1": _table(["VAE"], [0.7])}, tmp_path)
    # A second notebook adds its scores and refreshes one row; the rest stays as it was.
    workflow.save_results({"cW": _table(["flow", "VAE"], [0.8, 0.65])}, tmp_path,
                          trained_on={"flow": "SM"})
    table = pd.read_csv(path)
    assert list(zip(table["operator"], table["model"])) == [
        ("cW", "VAE"), ("cW", "counting"), ("cqq1", "VAE"), ("cW", "flow")]
    assert table["AUC"].tolist() == [0.65, 0.5, 0.7, 0.8]
    assert table["trained_on"].tolist() == ["SM", "none", "SM", "SM"]
    first = [c for c in compare.RESULT_COLUMNS if c in table]
    assert list(table.columns[:len(first)]) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, "results.provenance.json"]


def test_save_results_replaces_an_older_format(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="vaednn")
    path = tmp_path / workflow.RESULTS_FILE
    path.write_text("operator,model,AUC,min_abs_c\ncW,VAE,0.6,0.3\ncW,gone,0.5,1\n")
    workflow.save_results({"cW": _table(["VAE"], [0.7])}, tmp_path)
    table = pd.read_csv(path)
    assert table["model"].tolist() == ["VAE"] and "min_abs_c" not in table
    assert "an older results table" in caplog.text


def test_smearing_study_at_zero_is_the_unsmeared_result(analysis):
    scorer = compare.feature_scorer("mll")
    table = workflow.smearing_study({"mll": scorer}, analysis, "cW", scales=(0.0, 2.0))
    unsmeared = compare.compare({"mll": scorer}, analysis, operators=["cW"], references=False,
                                intervals=False)["cW"].loc["mll", "AUC"]
    assert table.loc[table["scale"] == 0.0, "AUC"].item() == pytest.approx(unsmeared)
    assert table.loc[table["scale"] == 2.0, "AUC"].item() != pytest.approx(unsmeared)
    axes = workflow.plot_smearing(table)
    assert len(axes[0].lines) == 1 and list(axes[0].lines[0].get_xdata()) == [0.0, 2.0]


def test_ensure_data_generates_once_then_reuses(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="vaednn")
    directory = tmp_path / "ntuples"
    operators = workflow.ensure_data(directory, events=3000, bsm_events=1000, operators=["cW"])
    assert operators == ["cW"]
    stamp = data.ntuple_path(directory, "SM").stat().st_mtime_ns
    workflow.ensure_data(directory, events=3000, bsm_events=1000, operators=["cW"])
    assert "using the ntuples" in caplog.text
    assert data.ntuple_path(directory, "SM").stat().st_mtime_ns == stamp


def test_update_readme_replaces_only_the_marked_section(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{reproduce.README_START}\nold\n{reproduce.README_END}\nend\n")
    table = pd.DataFrame({"operator": ["cW", "cW"], "model": ["counting", "VAE"],
                          "c_lo_95": [-0.4, -0.3], "c_hi_95": [0.4, 0.2]})
    assert reproduce.update_readme(table, readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("end\n") and "old" not in text
    assert " ".join(reproduce.readme_legend().split()) in " ".join(text.split())
    assert "| VAE      | [-0.3, 0.2] (0.62) |" in text, "width 0.5 over counting's 0.8"
    (tmp_path / "plain.md").write_text("no markers")
    assert not reproduce.update_readme(table, tmp_path / "plain.md")


def test_notebooks_are_numbered_chapters_without_outputs():
    import nbformat

    paths = reproduce.notebooks()
    assert [p.name[:2] for p in paths] == [f"{i:02d}" for i in range(len(paths))]
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), path.name
        assert "workflow.parameters()" in code[0].source, \
            f"{path.name}: the first cell takes the shared parameters from workflow.parameters()"
        assert "os.environ" not in code[0].source, f"{path.name}: the environment is read in the library"
        assert "parameters" in code[0].metadata.get("tags", [])
        for cell in code:
            assert "class " not in cell.source and "def " not in cell.source, \
                f"{path.name}: logic belongs in the library"


def test_cli_simulate_then_summary(tmp_path, capsys):
    out = tmp_path / "ntuples"
    assert cli.main(["simulate", "--out", str(out), "--events", "3000", "--bsm-events", "1000",
                     "--operators", "cW", "cHl3"]) == 0
    assert "wrote 5 files" in capsys.readouterr().err
    assert cli.main(["summary", "--data", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SSWW_cW_QU" in printed and "SSWW_cHl3_LI" in printed and "passed" in printed


def test_cli_reports_a_bad_file_by_name(tmp_path, capsys):
    (tmp_path / "ntuple_SSWW_SM.root").write_text("not root")
    (tmp_path / "ntuple_SSWW_cW_LI.root").write_text("")
    (tmp_path / "ntuple_SSWW_cW_QU.root").write_text("")
    assert cli.main(["summary", "--data", str(tmp_path)]) == 2
    assert "ntuple_SSWW_SM.root: not a readable ROOT file" in capsys.readouterr().err


def _results(operator, model, trained_on, n_seeds, lo, hi, binning=""):
    return {"operator": operator, "model": model, "trained_on": trained_on, "n_seeds": n_seeds,
            "AUC": 0.7, "c_lo_3sigma": 2 * lo, "c_hi_3sigma": 2 * hi, "c_lo_95": lo,
            "c_hi_95": hi, "binning": binning}


def test_readme_table_is_a_pivot_of_intervals_and_widths_relative_to_counting():
    reason = "bin (1, inf]: LIN^2 > 4 SM QUAD"
    table = pd.DataFrame([
        _results("cW", "counting", "none", 1, -0.5, 0.5),
        _results("cW", "VAE", "SM", 5, -0.3, 0.2),
        _results("cW", "VAE+DNN", "cW", 5, -0.25, 0.15),
        _results("cqq1", "counting", "none", 1, -0.2, 0.4),
        _results("cqq1", "VAE", "SM", 3, -0.1, 1.4),
        _results("cqq1", "VAE+DNN", "cqq1", 5, np.nan, np.nan, reason),
        _results("cHbox", "VAE", "SM", 5, -4.0, 7.0),
        _results("cHbox", "VAE+DNN", "cHbox", 5, np.nan, np.nan, reason),
    ])
    pivot = reproduce.readme_table(table)
    shown = pivot.table.set_index("model")
    assert list(pivot.table.columns) == ["model", "trained on", "seeds", "cW", "cqq1", "cHbox"]
    assert list(shown.index) == ["counting", "VAE", "VAE+DNN"]
    assert shown.loc["counting", "cW"] == "[-0.5, 0.5] (1.00)"
    # widths 0.5 / 1.0 and 1.5 / 0.6; 1.4 lies beyond the generated |c| = 1
    assert shown.loc["VAE", "cW"] == "[-0.3, 0.2] (0.50)"
    assert shown.loc["VAE", "cqq1"] == "[-0.1, 1.4 †] (2.50)"
    assert shown.loc["VAE", "cHbox"] == "[-4 †, 7 †] (—)", "cHbox has no counting row"
    assert shown.loc["counting", "cHbox"] == "", "counting was not evaluated on cHbox"
    assert shown.loc["VAE+DNN", "cqq1"] == shown.loc["VAE+DNN", "cHbox"] == "—¹"
    assert pivot.notes == [f"¹ no fit: {reason}"], "one note per reason"
    assert shown.loc["VAE+DNN", "trained on"] == "each operator"
    assert shown.loc["VAE", "trained on"] == "SM" and shown.loc["counting", "trained on"] == "none"
    assert shown.loc["VAE", "seeds"] == "5, 3" and shown.loc["VAE+DNN", "seeds"] == "5"
    with pytest.raises(ValueError, match=r"more than one row.*\('cW', 'VAE'\)"):
        reproduce.readme_table(pd.concat([table, table.iloc[[1]]]))
    with pytest.raises(ValueError, match="c_hi_95"):
        reproduce.readme_table(table.drop(columns="c_hi_95"))


def test_readme_section_of_the_committed_results_is_the_readme_s():
    results = reproduce.summary(reproduce.ROOT / "figures")
    readme = (reproduce.ROOT / "README.md").read_text()
    section = readme.split(reproduce.README_START)[1].split(reproduce.README_END)[0]
    assert section.strip() == reproduce.readme_section(results).strip()


def test_summary_reads_a_results_file_with_the_old_reach_names(tmp_path):
    pd.DataFrame({"operator": ["cW"], "model": ["VAE"], "c_minus": [-0.3], "c_plus": [0.25],
                  "c_lo_95": [-0.2], "c_hi_95": [0.2]}).to_csv(tmp_path / "results.csv",
                                                               index=False)
    with pytest.warns(DeprecationWarning, match="results.csv: columns"):
        table = reproduce.summary(tmp_path)
    assert table.loc[0, "c_lo_3sigma"] == -0.3 and table.loc[0, "c_hi_3sigma"] == 0.25


def test_weight_summary_of_one_event_set_by_hand():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    # xsec * L / sumw = 1 event per unit weight at data.LUMINOSITY
    unit = dict(xsec=3.0 / (data.PB_TO_FB * data.LUMINOSITY), sumw=3.0)
    sm, lin, quad = (data.Sample(name, frame, np.array(w), **unit) for name, w in
                     (("SM", [1.0, 1.0, 1.0]), ("LIN", [2.0, -1.0, -3.0]), ("QUAD", [1.0, 0.0, 1.0])))
    table = workflow.weight_summary(data.OperatorSamples("cT", sm, lin, quad, same_events=True),
                                    c=1.0)
    bsm = table.loc["BSM: 1·LIN + 1²·QUAD per event"]  # per event: 3, -1, -2
    assert bsm["events"] == pytest.approx(0.0) and bsm["|events|"] == pytest.approx(6.0)
    assert bsm["negative share"] == pytest.approx(3.0 / 6.0)
    assert bsm["effective events"] == pytest.approx(0.0)
    assert bsm["largest event share"] == pytest.approx(3.0 / 6.0)
    lin_row = table.loc["LIN × 1"]  # 2, -1, -3: (Σw)² / Σw² = 4 / 14
    assert lin_row["effective events"] == pytest.approx(4.0 / 14.0)
    assert table.loc["SM", "effective events"] == pytest.approx(3.0)
    independent = workflow.weight_summary(data.OperatorSamples("cT", sm, lin, quad), c=1.0)
    assert "BSM: 1·LIN + 1²·QUAD per event" not in independent.index


def test_ensure_reweighted_writes_once_and_names_a_half_written_folder(tmp_path):
    paths = workflow.ensure_reweighted(tmp_path / "rw", 300, seed=1, operators=["cW"])
    stamps = {kind: path.stat().st_mtime_ns for kind, path in paths.items()}
    again = workflow.ensure_reweighted(tmp_path / "rw", 999, seed=2, operators=["cW"])
    assert again == paths and {k: p.stat().st_mtime_ns for k, p in again.items()} == stamps
    paths["root"].unlink()
    with pytest.raises(FileNotFoundError, match="reweighted_SSWW.root missing"):
        workflow.ensure_reweighted(tmp_path / "rw", 300, seed=1, operators=["cW"])
