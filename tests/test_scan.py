"""Tests of vaednn.scan: grid expansion, one trial, and one small Ray scan resumed once."""

import json
import logging
import math
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from vaednn import compare, scan
from vaednn.scan import running, trial as scan_trial

OPERATORS = ["cW", "cHbox"]
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "scan.yaml"

# Two VAEs, a VAE+DNN trained on cW, and a trial whose model cannot be built.
RAY_GRID = {
    "models": {"vae": {"latent_dim": [2, 3]}, "vae_dnn_reco": {},
               "vae_model2": {"batch_size": [0]}},
    "operators": OPERATORS,
    "train_operators": ["cW"],
    "training": {"epochs": 1, "validation_split": 0.2},
    "data_options": {"max_events": 4000},
}


@pytest.fixture(scope="module")
def small_data(generated_dir):
    return compare.prepare(generated_dir, OPERATORS, max_events=3000)


# ----------------------------------------------------------------------------- the grid

def test_grid_is_a_product_per_model_and_vaes_ignore_training_operators():
    grid = scan.Grid.from_dict({
        "models": {"vae": {"latent_dim": [2, 3, 4]}, "vae_dnn_latent": {"latent_dim": [3, 7]}},
        "hyperparameters": {"learning_rate": [1e-3, "5e-4"]},
        "train_operators": ["cW", "cHbox"], "seeds": [0, 1]})
    trials = grid.trials()
    vae = [t for t in trials if t["model"] == "vae"]
    dnn = [t for t in trials if t["model"] == "vae_dnn_latent"]
    assert len(vae) == 3 * 2 * 2 and {t["train_operator"] for t in vae} == {"SM"}
    assert len(dnn) == 2 * 2 * 2 * 2 and {t["train_operator"] for t in dnn} == {"cW", "cHbox"}
    assert {t["hyperparameters"]["learning_rate"] for t in trials} == {1e-3, 5e-4}
    ids = [t["trial_id"] for t in trials]
    assert len(set(ids)) == len(ids)
    assert ids == [t["trial_id"] for t in grid.trials()]
    assert set(ids).isdisjoint(t["trial_id"] for t in grid.trials({"source": "other"}))


def test_layer_sizes_are_lists_of_lists():
    grid = scan.Grid.from_dict({"models": {"vae": {"encoder_units": [[20, 10, 7], [8, 4]]}}})
    assert [t["hyperparameters"]["encoder_units"] for t in grid.trials()] == [(20, 10, 7), (8, 4)]
    with pytest.raises(ValueError, match="encoder_units.*list of them"):
        scan.Grid.from_dict({"models": {"vae": {"encoder_units": [20, 10, 7]}}})


@pytest.mark.parametrize("content, message", [
    ({"models": {"vea": {}}}, "unknown model 'vea'"),
    ({"models": {"vae": {"classifier_weight": [1.0]}}}, "no hyperparameter.*classifier_weight"),
    ({"models": ["vae"], "hyperparamters": {}}, "unknown key.*hyperparamters"),
    ({"models": {"vae": {"latent_dim": [2]}}, "hyperparameters": {"latent_dim": [3]}},
     "both"),
    ({"models": ["vae"], "metric": "auc"}, "metric must be one of"),
    ({"models": ["vae"], "training": {"epoch": 3}}, "unknown training option.*epoch"),
    ({"models": ["vae"], "training": {"weights": "equal"}}, "weights must be one of"),
    ({"models": {"vae": {"latent_dim": []}}}, "empty list"),
])
def test_bad_grids_are_named(content, message):
    with pytest.raises(ValueError, match=message):
        scan.Grid.from_dict(content)


def test_operators_are_checked_against_the_data(generated_dir):
    grid = scan.Grid.from_dict({"models": ["vae"], "train_operators": ["cT0"]})
    with pytest.raises(ValueError, match=r"train_operators \['cT0'\] are not in"):
        grid.resolve(generated_dir)
    resolved = scan.Grid.from_dict({"models": ["vae"]}).resolve(generated_dir)
    assert set(resolved.operators) == {"cW", "cqq3", "cHl3", "cHbox"}


def test_example_config_expands_as_its_comment_says():
    grid = scan.Grid.load(EXAMPLE)
    counts = pd.Series([t["model"] for t in grid.trials()]).value_counts()
    assert counts.to_dict() == {"vae_dnn_latent": 8, "vae": 8, "vae_model3": 2}


# ----------------------------------------------------------------------------- one trial

def test_balanced_weights_give_each_class_the_same_weight(small_data):
    trial = scan.Grid.from_dict({"models": ["vae_dnn_latent"]}).trials()[0]
    x, y, w = scan_trial._training_arrays(trial, small_data.train["cW"], trial["data_options"])
    for label in (0, 1):
        assert np.abs(w[y == label]).sum() == pytest.approx(len(y) / 2)
    assert (w < 0).any()  # LIN interference keeps its sign
    assert x.shape == (len(y), 14)


def test_nan_loss_is_recorded_as_failed(small_data, tmp_path):
    grid = scan.Grid.from_dict({"models": {"vae": {"reco_weight": [math.inf]}},
                                "training": {"epochs": 1}})
    trial = grid.trials()[0]
    rows = scan.run_trial(trial, small_data, tmp_path)
    assert [row["operator"] for row in rows] == OPERATORS
    assert {row["status"] for row in rows} == {"failed"}
    assert "not finite" in rows[0]["error"]
    assert all(math.isnan(row["AUC"]) for row in rows)
    assert not list(tmp_path.glob("models/*.keras"))
    table = scan.load_results(tmp_path)
    assert table["status"].tolist() == ["failed", "failed"]


def test_rerun_skips_ok_and_failed_trials_but_retries_crashed_ones(tmp_path):
    trials = [{"trial_id": name} for name in ("ok", "failed", "crashed", "absent", "cut")]
    for status in ("ok", "failed", "crashed"):
        scan_trial.write_json(tmp_path / "trials" / f"{status}.json",
                         {"trial": {}, "rows": [{"status": status}]})
    (tmp_path / "trials" / "cut.json").write_text('{"rows": [{"sta')  # a write cut short
    assert running._finished(tmp_path, trials, retry_failed=False) == {"ok", "failed"}
    assert running._finished(tmp_path, trials, retry_failed=True) == {"ok"}


# ----------------------------------------------------------------------------- a Ray scan

@pytest.fixture(scope="module")
def ray_scan(generated_dir, tmp_path_factory):
    """One local scan of RAY_GRID on a Ray started once for this module."""
    import ray

    running._start_ray(None, 2, None)
    out = tmp_path_factory.mktemp("scan")
    recorder = logging.Handler()
    recorder.emit = lambda record: SCAN_LINES.append(record.getMessage())
    log = logging.getLogger("vaednn")
    level = log.level
    log.addHandler(recorder)
    log.setLevel(logging.INFO)
    try:
        results = scan.run(RAY_GRID, generated_dir, out)
    finally:
        log.removeHandler(recorder)
        log.setLevel(level)
    yield results, out
    ray.shutdown()


#: The messages the scan of ray_scan logged to the "vaednn" logger.
SCAN_LINES = []


def test_the_scan_logs_its_plan_a_line_per_trial_and_the_summary(ray_scan):
    assert SCAN_LINES[0].startswith("vaednn scan: 4 trials (0 already in")
    per_trial = [line for line in SCAN_LINES if line.startswith("[")]
    assert sorted(line.split("]")[0] for line in per_trial) == ["[1/4", "[2/4", "[3/4", "[4/4"]
    assert sum("FAILED" in line for line in per_trial) == 1
    assert any(line.startswith("\nTrials ranked by") for line in SCAN_LINES)


def test_verbose_lines_reach_stderr_only_where_logging_is_not_configured(monkeypatch, capsys):
    log = logging.getLogger("vaednn")
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    with running._progress_shown(True):
        log.info("shown")
    with running._progress_shown(False):
        log.info("hidden")
    assert capsys.readouterr().err == "shown\n"
    assert not any(type(h) is logging.StreamHandler for h in log.handlers)
    configured = logging.StreamHandler()
    monkeypatch.setattr(logging.getLogger(), "handlers", [configured])
    with running._progress_shown(True):
        assert not any(type(h) is logging.StreamHandler for h in log.handlers)


def test_results_table_has_a_row_per_trial_and_operator(ray_scan):
    results, out = ray_scan
    assert list(results.columns[:len(scan.COLUMNS)]) == list(scan.COLUMNS)
    assert {"hp_latent_dim", "hp_classifier_weight"} <= set(results.columns)
    assert len(results) == 4 * len(OPERATORS)
    assert results.groupby("trial_id")["operator"].apply(sorted).map(tuple).nunique() == 1
    ok = results[results["status"] == "ok"]
    assert ok["trial_id"].nunique() == 3
    assert ok["AUC"].between(0, 1).all() and (ok["min_abs_c"] > 0).all()
    assert (ok["epochs"] == 1).all() and (ok["train_seconds"] > 0).all()
    assert set(ok.loc[ok["model"] == "vae_dnn_reco", "train_operator"]) == {"cW"}
    on_disk = pd.read_csv(out / "results.csv")
    assert on_disk["trial_id"].tolist() == results["trial_id"].tolist()


def test_failing_trial_is_recorded_and_the_others_finish(ray_scan):
    results, _ = ray_scan
    failed = results[results["status"] != "ok"]
    assert set(failed["model"]) == {"vae_model2"}
    assert failed["error"].str.contains("batch_size must be >= 1").all()
    assert failed["AUC"].isna().all()


def test_saved_models_load_back_and_score_as_recorded(ray_scan, generated_dir):
    import keras

    from vaednn import models

    results, _ = ray_scan
    data = compare.prepare(generated_dir, OPERATORS, max_events=4000)
    ok = results[results["status"] == "ok"]
    loaded = {}
    for _, row in ok.drop_duplicates("trial_id").iterrows():
        loaded[row["trial_id"]] = model = keras.models.load_model(row["model_path"])
        assert model.name == row["model"]
        if row["model"] == "vae":
            assert models.encode(model, data.test["cW"].sm.features).shape[1] == \
                row["hp_latent_dim"]
    # The classifier's recorded figures come back from the file it saved.
    row = ok[ok["model"] == "vae_dnn_reco"].iloc[0]
    table = compare.compare({row["model"]: loaded[row["trial_id"]]}, data, references=False)
    recorded = ok.set_index(["trial_id", "operator"]).loc[row["trial_id"], "AUC"]
    for op in OPERATORS:
        assert table[op]["AUC"].iloc[0] == pytest.approx(recorded[op], rel=1e-6)


def test_plots_of_the_results(ray_scan):
    results, _ = ray_scan
    fig, (left, right) = plt.subplots(1, 2)
    bars = scan.plot_min_coefficient(results, ax=left)
    ok = results[results["status"] == "ok"]
    assert set(bars) == set(zip(ok["model"], ok["train_operator"]))
    assert all(len(container) == len(OPERATORS) for container in bars.values())
    lines = scan.plot_auc_vs_latent(results, ax=right)
    vae = next(key for key in lines if key[0] == "vae")
    x, _ = lines[vae].lines[0].get_data()
    assert list(x) == [2.0, 3.0]
    plt.close(fig)


def test_resume_runs_only_the_missing_trial(ray_scan, generated_dir, tmp_path):
    results, first = ray_scan
    out = tmp_path / "scan"
    shutil.copytree(first, out)
    ok_ids = sorted(results.loc[results["status"] == "ok", "trial_id"].unique())
    removed = ok_ids[0]
    (out / "trials" / f"{removed}.json").unlink()
    config = tmp_path / "scan.yaml"
    config.write_text(json.dumps(RAY_GRID))  # JSON is YAML
    status = scan.main_from_args(config, data=generated_dir, out_dir=out)
    assert status == 1  # one trial of the grid failed
    again = scan.load_results(out).drop_duplicates("trial_id").set_index("trial_id")
    before = results.drop_duplicates("trial_id").set_index("trial_id")
    assert sorted(again.index) == sorted(before.index)
    rerun = again.index[again["finished"] != before.loc[again.index, "finished"]]
    assert list(rerun) == [removed]
    assert again.loc[removed, "status"] == "ok"


def test_summary_ranks_by_the_metric_with_failures_last():
    table = pd.DataFrame({
        "trial_id": ["a", "a", "b", "b", "c", "c"], "model": "vae", "train_operator": "SM",
        "seed": 0, "operator": ["cW", "cHbox"] * 3,
        "min_abs_c": [0.5, 2.0, 0.2, 1.0, np.nan, np.nan], "AUC": [0.7, 0.6, 0.6, 0.5, np.nan, np.nan],
        "status": ["ok"] * 4 + ["failed"] * 2})
    assert scan.summary(table, "min_abs_c").index.tolist() == ["b", "a", "c"]
    assert scan.summary(table, "AUC").index.tolist() == ["a", "b", "c"]
    assert scan.summary(table, "AUC")["mean"].iloc[0] == pytest.approx(0.65)


def test_min_coefficient_plot_marks_operators_never_reached():
    table = pd.DataFrame({"trial_id": ["a", "a"], "model": "vae", "train_operator": "SM",
                          "seed": 0, "operator": ["cW", "cHbox"],
                          "min_abs_c": [0.3, np.inf], "status": "ok"})
    drawn = scan.plot_min_coefficient(table)
    assert len(drawn[("vae", "SM")]) == 1
    assert len(drawn["never 3 sigma"].get_xdata()) == 1
    plt.close("all")


def _seeded_results():
    """Two training operators of one model, three seeds and two latent sizes each; the cHbox
    trials score far lower, so pooling the two would give a wide spread."""
    rows = []
    for trained, base in (("cW", 0.85), ("cHbox", 0.55)):
        for latent in (2, 4):
            for seed, shift in enumerate((-0.01, 0.0, 0.04)):
                trial = f"{trained}-{latent}-{seed}"
                for operator, offset in (("cW", 0.0), ("cHbox", 0.02)):
                    rows.append({"trial_id": trial, "model": "vae_dnn", "train_operator": trained,
                                 "seed": seed, "operator": operator, "status": "ok",
                                 "hp_latent_dim": latent,
                                 "AUC": base + shift + offset + 0.01 * latent,
                                 "min_abs_c": (1 - base) * latent + shift + offset})
    return pd.DataFrame(rows)


def test_auc_vs_latent_has_one_line_per_training_operator_with_the_seed_spread():
    results = _seeded_results()
    drawn = scan.plot_auc_vs_latent(results, operator="cW")
    assert set(drawn) == {("vae_dnn", "cW"), ("vae_dnn", "cHbox")}
    line = drawn[("vae_dnn", "cW")].lines[0]
    seeds = np.array([-0.01, 0.0, 0.04])
    np.testing.assert_allclose(line.get_ydata(), [0.85 + seeds.mean() + 0.01 * k for k in (2, 4)])
    # the error bar is the standard deviation over seeds with ddof = 1
    segment = drawn[("vae_dnn", "cW")].lines[2][0].get_segments()[0]
    assert segment[1][1] - segment[0][1] == pytest.approx(2 * seeds.std(ddof=1))
    assert "mean ± std over seeds" in line.axes.get_ylabel()
    assert drawn[("vae_dnn", "cW")].get_label() == "vae_dnn (trained on cW)"
    plt.close("all")


def test_min_coefficient_bars_are_per_training_operator_means_over_seeds():
    results = _seeded_results()
    drawn = scan.plot_min_coefficient(results)
    seeds = np.array([-0.01, 0.0, 0.04])
    bars = drawn[("vae_dnn", "cHbox")]
    # best configuration: latent 2; evaluated operators cW then cHbox
    np.testing.assert_allclose([b.get_height() for b in bars],
                               [0.45 * 2 + seeds.mean(), 0.45 * 2 + seeds.mean() + 0.02])
    segment = bars.errorbar.lines[2][0].get_segments()[0]
    assert segment[1][1] - segment[0][1] == pytest.approx(2 * seeds.std(ddof=1))
    plt.close("all")


def test_summary_reads_the_old_name_of_a_metric_with_a_deprecation_warning():
    table = pd.DataFrame({
        "trial_id": ["a", "a", "b", "b"], "model": "vae", "train_operator": "SM", "seed": 0,
        "operator": ["cW", "cHbox"] * 2, "c_plus": [0.5, 2.0, 0.2, 1.0], "status": "ok"})
    with pytest.warns(DeprecationWarning) as caught:
        ranked = scan.summary(table, "c_plus")
    assert [str(w.message).split(":")[0] for w in caught] == ["summary", "summary"]
    assert "'c_plus' is now called 'c_hi_3sigma'" in str(caught[0].message)
    assert "columns ['c_plus'] are now called ['c_hi_3sigma']" in str(caught[1].message)
    assert ranked.index.tolist() == ["b", "a"], "smaller reach first"
    assert ranked["mean"].tolist() == pytest.approx([0.6, 1.25])
