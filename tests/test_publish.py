"""vaednn.publish: records, workspaces and patchsets that pyhf alone reads, the HEPData
submission, the export folder; each checked against an independent computation."""

import json

import numpy as np
import pytest
import pyhf
from scipy import stats as scipy_stats

from vaednn import publish, stats

#: The package's interpolation codes, written out here: pyhf alone must be told them.
SETTINGS = {"normsys": {"interpcode": "code1"}, "histosys": {"interpcode": "code0"}}


def shaped_scores(seed=1):
    """A shaped operator: LIN changes sign along the score, QUAD sits at high scores."""
    rng = np.random.default_rng(seed)
    sm = rng.normal(0.0, 1.0, 3000)
    bsm = rng.normal(1.0, 1.0, 3000)
    return stats.ComponentScores(sm, np.full(3000, 0.5), bsm,
                                 np.where(bsm > 0.8, 0.02, -0.01), bsm, np.full(3000, 0.03))


def rate_only_scores(seed=2):
    """A rate-only operator: LIN and QUAD of every event proportional to its SM weight."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, 3000)
    w = np.full(3000, 0.4)
    return stats.ComponentScores(x, w, x, 0.05 * w, x, 0.01 * w, same_events=True)


@pytest.fixture(scope="module")
def records():
    return [publish.score_record(scores, scores, operator=operator, model="VAE+DNN",
                                 luminosity=350.0, seeds=(0, 1))
            for operator, scores in (("cW", shaped_scores()), ("cHbox", rate_only_scores()))]


def pyhf_interval(bkgonly_path, patchset_path, cl=0.95):
    """The interval from the JSON files with pyhf alone: q = 2 Delta NLL per patch (mu_eft
    fixed to 1, nuisances profiled), the first crossing of the chi2 quantile on each side
    of c = 0, linear in sqrt(q) between patches."""
    with open(bkgonly_path) as handle:
        ws = pyhf.Workspace(json.load(handle))
    with open(patchset_path) as handle:
        patches = pyhf.PatchSet(json.load(handle))
    c, twice_nll = [], []
    for patch in patches.patches:
        model = patches.apply(ws, patch.name).model(modifier_settings=SETTINGS)
        c.append(patch.values[0])
        twice_nll.append(float(pyhf.infer.mle.fixed_poi_fit(
            1.0, ws.data(model), model, return_fitted_val=True)[1]))
    c = np.array(c)
    q = np.array(twice_nll) - np.array(twice_nll)[c == 0][0]
    root = np.sqrt(scipy_stats.chi2.ppf(cl, 1))
    bounds = []
    for side in (-1, 1):
        mine = side * c >= 0
        order = np.argsort(side * c[mine])
        cs, rs = c[mine][order], np.sqrt(np.maximum(q[mine][order], 0))
        above = np.flatnonzero(rs >= root)
        if not len(above):
            bounds.append(side * np.inf)
            continue
        i = above[0]
        bounds.append(cs[i - 1] + (root - rs[i - 1]) * (cs[i] - cs[i - 1]) / (rs[i] - rs[i - 1]))
    return tuple(bounds)


def write_json(path, value):
    path.write_text(json.dumps(value))
    return path


@pytest.mark.parametrize("index", [0, 1], ids=["shaped", "rate-only"])
@pytest.mark.parametrize("systematic", [False, True], ids=["plain", "syst"])
def test_pyhf_alone_reproduces_the_interval_from_the_json_files(records, tmp_path, index,
                                                                 systematic):
    record = records[index]
    bkgonly = write_json(tmp_path / "bkgonly.json",
                         publish.workspace(record, systematic=systematic))
    patches = write_json(tmp_path / "patchset.json",
                         publish.patchset(record, systematic=systematic))
    found = pyhf_interval(bkgonly, patches)
    wanted = stats.likelihood_interval(record.background, record.lin, record.quad,
                                       background_uncertainty=record.systematic if systematic
                                       else 0.0)
    assert np.isfinite(wanted).all()
    np.testing.assert_allclose(found, wanted, rtol=1e-3)


def test_the_records_are_a_shaped_and_a_rate_only_operator(records):
    shaped, rate_only = records
    assert (shaped.lin > 0).any() and (shaped.lin < 0).any() and len(shaped.lin) > 2
    np.testing.assert_allclose(rate_only.lin / rate_only.background, 0.05)
    np.testing.assert_allclose(rate_only.quad / rate_only.background, 0.01)
    # The systematic widens the interval.
    assert shaped.interval_syst.hi > shaped.interval.hi


def test_the_patchset_digest_is_the_background_only_workspace_digest(records):
    for systematic in (False, True):
        ws = pyhf.Workspace(publish.workspace(records[0], systematic=systematic))
        patches = pyhf.PatchSet(publish.patchset(records[0], systematic=systematic))
        assert patches.digests["sha256"] == pyhf.utils.digest(ws)
        assert ws.get_measurement()["config"]["poi"] == "mu_eft"
        assert "expected" in ws.get_measurement()["name"]
        assert "expected" in patches.description
        # Asimov data: the observations are the nominal background.
        assert ws.observations["score"] == records[0].background.tolist()
    # With its normsys the background-only model builds without a POI.
    model = pyhf.Workspace(publish.workspace(records[0], systematic=True)).model(
        poi_name=None, modifier_settings=SETTINGS)
    assert model.config.par_order == ["bkg_norm"]


def test_the_two_normfactor_workspace_gives_the_patch_q(records, tmp_path):
    record = records[0]
    two = pyhf.Workspace(publish.two_normfactor_workspace(record, systematic=True))
    ws = pyhf.Workspace(publish.workspace(record, systematic=True))
    patches = pyhf.PatchSet(publish.patchset(record, systematic=True))
    model2 = two.model(modifier_settings=SETTINGS)
    assert model2.config.poi_name == "c_lin"
    data2 = two.data(model2)

    def twice_nll_two(c):
        init = model2.config.suggested_init()
        init[model2.config.par_slice("c_quad").start] = c * c
        fixed = model2.config.suggested_fixed()
        fixed[model2.config.par_slice("c_quad").start] = True
        return float(pyhf.infer.mle.fixed_poi_fit(c, data2, model2, init_pars=init,
                                                  fixed_params=fixed,
                                                  return_fitted_val=True)[1])

    def twice_nll_patch(c):
        (patch,) = [p for p in patches.patches if p.values[0] == c]
        model = patches.apply(ws, patch.name).model(modifier_settings=SETTINGS)
        return float(pyhf.infer.mle.fixed_poi_fit(1.0, ws.data(model), model,
                                                  return_fitted_val=True)[1])

    grid = publish.c_grid(record.interval_syst)
    chosen = [grid[0], grid[len(grid) // 3], 0.0, grid[-5]]
    q_two = [twice_nll_two(c) - twice_nll_two(0.0) for c in chosen]
    q_patch = [twice_nll_patch(c) - twice_nll_patch(0.0) for c in chosen]
    np.testing.assert_allclose(q_two, q_patch, rtol=1e-6, atol=1e-8)
    assert max(q_two) > 3.84


def test_c_grid_brackets_each_finite_bound_finely():
    grid = publish.c_grid((-2.0, 0.5))
    assert grid.min() == pytest.approx(-3.0) and grid.max() == pytest.approx(0.75)
    assert 0.0 in grid
    near = grid[np.abs(grid - 0.5) <= 0.02]
    assert np.diff(near).max() <= 0.5 * 0.004 + 1e-12
    open_side = publish.c_grid((-np.inf, 1.0))
    assert open_side.min() == -stats.C_RANGE


def lin_quad(lin_mods, quad_mods):
    return ({"name": "lin", "data": [2.0, 4.0],
             "modifiers": [{"name": "c_lin", "type": "normfactor", "data": None}, *lin_mods]},
            {"name": "quad", "data": [1.0, 3.0],
             "modifiers": [{"name": "c_quad", "type": "normfactor", "data": None}, *quad_mods]})


def test_eft_sample_translates_modifiers_by_hand():
    norm = {"name": "lumi_like", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}
    shape = {"name": "res", "type": "histosys",
             "data": {"hi_data": [3.0, 5.0], "lo_data": [1.0, 3.0]}}
    lin_stat = {"name": "mc", "type": "staterror", "data": [0.3, 0.4]}
    quad_stat = {"name": "mc", "type": "staterror", "data": [0.1, 0.2]}
    lin, quad = lin_quad([norm, shape, lin_stat], [norm, quad_stat])
    sample = publish.eft_sample(lin, quad, 2.0)
    assert sample["data"] == [2 * 2.0 + 4 * 1.0, 2 * 4.0 + 4 * 3.0]
    mods = {m["name"]: m for m in sample["modifiers"]}
    assert mods["mu_eft"]["type"] == "normfactor"
    assert mods["lumi_like"] == norm
    # quad has no histosys: its nominal enters both templates.
    assert mods["res"]["data"] == {"hi_data": [2 * 3.0 + 4 * 1.0, 2 * 5.0 + 4 * 3.0],
                                   "lo_data": [2 * 1.0 + 4 * 1.0, 2 * 3.0 + 4 * 3.0]}
    np.testing.assert_allclose(mods["mc"]["data"],
                               [np.hypot(2 * 0.3, 4 * 0.1), np.hypot(2 * 0.4, 4 * 0.2)])


def test_eft_sample_names_the_modifiers_it_cannot_carry():
    lin, quad = lin_quad([{"name": "only_lin", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}},
                          {"name": "sys", "type": "shapesys", "data": [1.0, 1.0]}], [])
    with pytest.raises(ValueError, match="only_lin.*sys|sys.*only_lin") as error:
        publish.eft_sample(lin, quad, 1.0)
    assert "shapesys" in str(error.value)


def test_the_histosys_translation_matches_pyhf_expected_data():
    shape_l = {"name": "res", "type": "histosys",
               "data": {"hi_data": [3.0, 5.0], "lo_data": [1.0, 3.5]}}
    shape_q = {"name": "res", "type": "histosys",
               "data": {"hi_data": [1.5, 2.0], "lo_data": [0.5, 3.5]}}
    lin, quad = lin_quad([shape_l], [shape_q])
    background = {"name": "background", "data": [50.0, 40.0], "modifiers": []}
    c = -1.5
    two = pyhf.Model({"channels": [{"name": "ch", "samples": [background, lin, quad]}]},
                     poi_name=None, modifier_settings=SETTINGS)
    one = pyhf.Model({"channels": [{"name": "ch", "samples": [
        background, publish.eft_sample(lin, quad, c)]}]}, poi_name=None,
        modifier_settings=SETTINGS)
    for alpha in (-0.7, 0.4):
        pars2 = {"c_lin": c, "c_quad": c * c, "res": alpha}
        pars1 = {"mu_eft": 1.0, "res": alpha}
        vec2 = [pars2[name] for name in two.config.par_order]
        vec1 = [pars1[name] for name in one.config.par_order]
        np.testing.assert_allclose(one.expected_actualdata(vec1),
                                   two.expected_actualdata(vec2), rtol=1e-12)


def test_patchset_refuses_a_malformed_inspire_id(records):
    with pytest.raises(ValueError, match="inspire_id"):
        publish.patchset(records[0], inspire_id="1234567")


# ------------------------------------------------------------------ records


def test_a_record_holds_the_package_numbers(records):
    from vaednn import compare

    scores = shaped_scores()
    record = records[0]
    for delta, interval in ((0.0, record.interval), (record.systematic, record.interval_syst)):
        fit = compare.sensitivity(scores, scores, background_uncertainty=delta)
        assert interval == (fit["lo"], fit["hi"])
    assert record.auc == stats.auc(*scores.sm_vs_bsm(1.0))
    # The ROC runs from (1, 1) at -inf down to the tightest cut.
    assert (record.roc.x[0], record.roc.y[0]) == (1.0, 1.0)
    assert record.roc.y[-1] < 0.01
    h = record.histogram.hist()
    # 3000 SM events of weight 0.5, each in one bin; sum w^2 = 0.5 * sum w.
    assert h["SM", :].values().sum() == pytest.approx(1500.0)
    np.testing.assert_allclose(h["SM", :].variances(), 0.5 * h["SM", :].values())
    np.testing.assert_array_equal(h["LIN", :].values(), record.lin)
    np.testing.assert_allclose(record.mc_errors**2, h["SM", :].variances())
    # The q(c) curve crosses the threshold at the interval's bounds.
    root = np.sqrt(scipy_stats.chi2.ppf(0.95, 1))
    for bound in record.interval:
        assert np.interp(bound, record.scan.x, np.sqrt(record.scan.y)) == pytest.approx(root,
                                                                                        rel=1e-3)


def test_records_json_round_trips_every_float_exactly(records, tmp_path):
    import dataclasses

    unbounded = dataclasses.replace(records[1], interval=stats.Interval(-np.inf, 0.25),
                                    auc=float("nan"))
    path = publish.save_records([records[0], unbounded], tmp_path / "records.json")
    back = publish.load_records(path)
    def same(a, b, where):
        if dataclasses.is_dataclass(a):
            for field in dataclasses.fields(a):
                same(getattr(a, field.name), getattr(b, field.name), f"{where}.{field.name}")
        elif isinstance(a, tuple) and not isinstance(a, stats.Interval):
            assert type(a) is type(b) and len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b)):
                same(x, y, f"{where}[{i}]")
        else:
            assert type(a) is type(b), where
            np.testing.assert_array_equal(b, a, err_msg=where)

    for before, after in zip([records[0], unbounded], back):
        same(before, after, before.operator)
    assert back[1].interval.lo == -np.inf and np.isnan(back[1].auc)
    assert json.loads(path.read_text())["records"][1]["interval"] == ["-inf", 0.25]


def test_load_records_names_the_bad_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        publish.load_records(tmp_path / "nowhere.json")
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="other.json.*not a records file"):
        publish.load_records(bad)


def test_score_record_refuses_a_score_without_a_fit():
    flat = stats.ComponentScores(np.zeros(10), np.full(10, 0.1), np.zeros(10), np.ones(10),
                                 np.zeros(10), np.ones(10))
    with pytest.raises(ValueError, match="cW / VAE: no binned fit"):
        publish.score_record(flat, flat, operator="cW", model="VAE", luminosity=350.0, seeds=())


# ------------------------------------------------------------------ HEPData and export


@pytest.fixture(scope="module")
def exported(records, tmp_path_factory):
    import pandas as pd

    results = pd.DataFrame({"operator": ["cW", "cHbox"], "model": ["VAE+DNN", "VAE+DNN"],
                            "AUC": [records[0].auc, records[1].auc], "AUC_std": [0.01, np.nan],
                            "n_seeds": [2, 1]})
    return publish.export(records, results, tmp_path_factory.mktemp("export") / "out")


def test_the_hepdata_submission_passes_hepdata_validator_and_a_broken_one_fails(exported,
                                                                                 tmp_path):
    import shutil

    import yaml

    assert publish.validation_errors(exported / "submission") == []
    assert publish.validation_errors(exported / "submission.tar.gz") == []
    broken = shutil.copytree(exported / "submission", tmp_path / "broken")
    table = broken / "expected_intervals.yaml"
    content = yaml.safe_load(table.read_text())
    del content["dependent_variables"][0]["values"][0]  # fewer values than rows
    table.write_text(yaml.safe_dump(content))
    errors = publish.validation_errors(broken)
    assert errors and any("expected_intervals.yaml" in e for e in errors)


def test_the_hepdata_tables_hold_the_intervals_at_full_precision(records, exported):
    import yaml

    table = yaml.safe_load((exported / "submission" / "expected_intervals.yaml").read_text())
    columns = {(v["header"]["name"], next(q["value"] for q in v["qualifiers"]
                                          if q["name"] == "systematics")): v
               for v in table["dependent_variables"]}
    lower = columns["c lower bound", "none"]
    assert [v["value"] for v in lower["values"]] == [r.interval.lo for r in records]
    upper = next(v for key, v in columns.items() if key[0] == "c upper bound" and key[1] != "none")
    assert [v["value"] for v in upper["values"]] == [r.interval_syst.hi for r in records]
    qualifiers = {q["name"]: q["value"] for q in lower["qualifiers"]}
    assert qualifiers == {"CL": 0.95, "luminosity": 350.0, "SQRT(S)": 13000.0,
                          "data": "expected (SM-only Asimov data)", "systematics": "none",
                          "training seeds": "0 1"}
    auc = yaml.safe_load((exported / "submission" / "auc.yaml").read_text())
    rows = auc["dependent_variables"][0]["values"]
    assert rows[0]["errors"][0]["symerror"] == 0.01 and "errors" not in rows[1]
    submission = next(yaml.safe_load_all((exported / "submission" / "submission.yaml").read_text()))
    histfactory = [r["location"] for r in submission["additional_resources"]
                   if r.get("type") == "HistFactory"]
    assert len(histfactory) == 2 * len(publish.LIKELIHOOD_FILES)
    assert all((exported / "submission" / name).is_file() for name in histfactory)


def test_the_exported_readme_recipe_reproduces_the_interval(records, exported):
    folder = exported / "likelihoods" / "cW_VAE_DNN"
    readme = (folder / "README.md").read_text()
    assert "pyhf.PatchSet" in readme and "fixed_poi_fit" in readme and "vaednn" not in \
        readme.split("```python")[1]
    for systematic, interval in ((False, records[0].interval), (True, records[0].interval_syst)):
        assert publish.run_reproduction(folder, systematic=systematic) == pytest.approx(
            (interval.lo, interval.hi), rel=1e-3)
    assert publish.run_reproduction(folder, systematic=True) != pytest.approx(
        (records[0].interval.lo, records[0].interval.hi), rel=1e-4)


def test_run_reproduction_names_a_folder_without_readme(tmp_path):
    with pytest.raises(FileNotFoundError, match="README.md"):
        publish.run_reproduction(tmp_path)


def test_export_runs_the_validator_and_refuses_what_it_refuses(records, tmp_path, monkeypatch):
    from vaednn.publish import hepdata

    monkeypatch.setattr(hepdata, "validation_errors", lambda path: [f"{path}: broken"])
    with pytest.raises(ValueError, match="hepdata-validator refuses.*broken"):
        publish.export(records, None, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left


def test_export_refuses_an_existing_folder_unless_forced(records, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="out: exists and is not empty"):
        publish.export(records, None, out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    publish.export(records, None, out, force=True)
    assert (out / "likelihoods" / "cHbox_VAE_DNN" / "README.md").is_file()
    # A second forced export of one record removes the files the first one owned.
    publish.export(records[:1], None, out, force=True)
    assert not (out / "likelihoods" / "cHbox_VAE_DNN" / "README.md").exists()
    assert (out / "likelihoods" / "cW_VAE_DNN" / "README.md").is_file()
    assert (out / "notes.txt").read_text() == "mine"
    assert len(publish.load_records(out / "records.json")) == 1


# ------------------------------------------------------------------ results and provenance


def _results_table(models, values):
    import pandas as pd

    return pd.DataFrame({"AUC": values, "c_lo_95": [-v for v in values]},
                        index=pd.Index(models, name="model"))


def test_results_csv_round_trips_floats_exactly_and_records_provenance(tmp_path):
    import pandas as pd

    from vaednn import workflow

    values = [0.1 + 0.2, 1 / 3, 2.0**-1074, 123456.78901234567]
    path = workflow.save_results({"cW": _results_table(["a", "b", "c", "d"], values)}, tmp_path,
                                 trained_on=dict.fromkeys("abcd", "SM"), luminosity=350.0,
                                 seeds=(0, 1), data="ab" * 32)
    table = pd.read_csv(path)
    assert table["AUC"].tolist() == values
    assert table["c_lo_95"].tolist() == [-v for v in values]
    rows = publish.read_provenance(path)
    assert [(r["operator"], r["model"]) for r in rows] == [("cW", m) for m in "abcd"]
    assert rows[0] == {"operator": "cW", "model": "a", "vaednn_version": __import__(
        "vaednn").__version__, "cl": 0.95, "luminosity": 350.0, "seeds": [0, 1],
        "data_sha256": "ab" * 32}


def test_a_results_table_of_the_old_precision_still_reads_and_upserts(tmp_path):
    import pandas as pd

    from vaednn import workflow

    path = tmp_path / workflow.RESULTS_FILE
    path.write_text("operator,model,trained_on,AUC,c_lo_95\ncW,old,SM,0.6667,-0.3333\n")
    workflow.save_results({"cW": _results_table(["new"], [1 / 3])}, tmp_path,
                          trained_on={"new": "SM"}, luminosity=100.0)
    table = pd.read_csv(path)
    assert table["AUC"].tolist() == [0.6667, 1 / 3]
    rows = publish.read_provenance(path)
    # The old row predates provenance: every field unknown.
    assert rows[0]["model"] == "old" and rows[0]["vaednn_version"] is None
    assert rows[1]["luminosity"] == 100.0 and rows[1]["seeds"] is None


def test_data_digest_is_the_sha256_of_the_files(tmp_path):
    import hashlib

    (tmp_path / "SM.root").write_bytes(b"events")
    assert publish.data_digest(tmp_path / "SM.root") == hashlib.sha256(b"events").hexdigest()
    folder = publish.data_digest(tmp_path)
    (tmp_path / "cW_LIN.root").write_bytes(b"more")
    assert publish.data_digest(tmp_path) != folder
    (tmp_path / ".cache").write_bytes(b"ignored")
    assert publish.data_digest(tmp_path) == publish.data_digest(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing"):
        publish.data_digest(tmp_path / "missing")


# ------------------------------------------------------------------ vaednn export


def test_vaednn_export_writes_the_folder_and_names_a_missing_results_file(records, tmp_path,
                                                                          capsys):
    from vaednn import cli

    path = publish.save_records(records, tmp_path / "records.json")
    argv = ["export", "--records", str(path), "--out", str(tmp_path / "pub")]
    assert cli.main([*argv, "--results", str(tmp_path / "gone.csv")]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("vaednn export: ") and "gone.csv" in error
    assert not (tmp_path / "pub").exists()
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "pub")
    assert publish.validation_errors(tmp_path / "pub" / "submission.tar.gz") == []
    # A second run refuses the folder it would overwrite, and names the way out.
    assert cli.main(argv) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main([*argv, "--force"]) == 0


def test_a_one_bin_fit_gets_a_valid_histogram_table(tmp_path):
    import yaml

    # every event at one score value: the fit has one bin, infinite on both sides
    w = np.full(2000, 0.4)
    same = np.zeros(2000)
    scores = stats.ComponentScores(same, w, same, 0.05 * w, same, 0.01 * w, same_events=True)
    record = publish.score_record(scores, scores, operator="cHl3", model="counting",
                                  luminosity=350.0, seeds=())
    assert len(record.background) == 1
    folder = publish.write_submission(publish.submission([record]), tmp_path / "sub")
    assert publish.validation_errors(folder) == []
    table = yaml.safe_load((tmp_path / "sub" / "score_histogram_chl3,_counting.yaml").read_text())
    assert table["independent_variables"][0]["values"] == [{"value": publish.ONE_BIN}]
