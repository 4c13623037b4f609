"""Scores out: write_scores and ``vaednn score`` align with the input tree entry by entry."""

import numpy as np
import pandas as pd
import pytest
import uproot

from vaednn import cli, data, models, simulate


@pytest.fixture(scope="module")
def ntuples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ntuples")
    simulate.write_ntuples(folder, operators=["cW"], n_events=1500, n_bsm=400, seed=3)
    return folder


@pytest.fixture(scope="module")
def model(ntuples, tmp_path_factory):
    sm = data.read_sample(ntuples, "SM")
    vae = models.build("vae", sm.features, kl_weight=1e-4)
    vae.fit(sm.features, epochs=1, batch_size=256, verbose=0)
    path = tmp_path_factory.mktemp("model") / "vae.keras"
    vae.save(path)
    return vae, path


def _expected(model, sample):
    column = np.full(sample.tree_entries, np.nan)
    column[sample.entries] = models.event_losses(model, sample.features)["reco"]
    return column


@pytest.mark.parametrize("suffix", [".root", ".parquet"])
def test_write_scores_gives_one_entry_per_input_entry_nan_outside_the_cuts(
        ntuples, model, tmp_path, suffix):
    vae, _ = model
    sample = data.read_sample(ntuples, "SM")
    n_tree = uproot.open(data.ntuple_path(ntuples))["SSWW_SM"].num_entries
    assert sample.tree_entries == n_tree and len(sample) < n_tree
    reco = models.event_losses(vae, sample.features)["reco"].to_numpy()
    path = data.write_scores(tmp_path / f"scores{suffix}", sample, {"reco": reco})
    if suffix == ".root":
        written = uproot.open(path)["SSWW_SM"].arrays(library="np")["reco"]
    else:
        table = pd.read_parquet(path)
        np.testing.assert_array_equal(table["entry"], np.arange(n_tree))
        written = table["reco"].to_numpy()
    assert len(written) == n_tree
    outside = np.setdiff1d(np.arange(n_tree), sample.entries)
    assert np.isnan(written[outside]).all() and len(outside) == n_tree - len(sample)
    np.testing.assert_array_equal(written[sample.entries], reco)
    # The cut is what leaves the NaN: the events outside fail it.
    raw = data.read_sample(ntuples, "SM", cuts=None)
    kept = raw.features.eval(data.VBS_CUTS).to_numpy()
    np.testing.assert_array_equal(np.isnan(written), ~kept)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        data.write_scores(path, sample, {"reco": reco})
    data.write_scores(path, sample, {"reco": 2 * reco}, overwrite=True)


def test_write_scores_refuses_what_it_cannot_align(ntuples, tmp_path):
    sample = data.read_sample(ntuples, "SM")
    with pytest.raises(ValueError, match=r"score 'reco' has 3 values for the \d+ events"):
        data.write_scores(tmp_path / "s.root", sample, {"reco": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="not a valid branch name"):
        data.write_scores(tmp_path / "s.root", sample, {"a b": np.zeros(len(sample))})
    with pytest.raises(ValueError, match=r"\.root \(a friend tree\) or \.parquet"):
        data.write_scores(tmp_path / "s.csv", sample, {"reco": np.zeros(len(sample))})
    frame = data.Sample.from_frame(sample.features, sample.weights, 1.0, 1.0)
    with pytest.raises(ValueError, match="built from a frame"):
        data.write_scores(tmp_path / "s.root", frame, {"reco": np.zeros(len(frame))})
    assert not list(tmp_path.iterdir())


def test_score_command_writes_one_aligned_file_per_sample(ntuples, model, tmp_path):
    vae, path = model
    out = tmp_path / "scores.root"
    assert cli.main(["score", "--model", str(path), "--data", str(ntuples),
                     "--out", str(out)]) == 0
    for component in ("SM", "LIN", "QUAD"):
        sample = data.read_sample(ntuples, component, "cW")
        written = uproot.open(cli.score_paths(out, [sample.name])[sample.name])[sample.name]
        arrays = written.arrays(library="np")
        assert set(arrays) == {"reco", "kl"}
        np.testing.assert_allclose(arrays["reco"], _expected(vae, sample), rtol=1e-6)
    assert cli.main(["score", "--model", str(path), "--data", str(ntuples),
                     "--out", str(out)]) == 2


def test_score_command_errors_go_through_the_one_error_path(ntuples, tmp_path, capsys):
    code = cli.main(["score", "--model", str(tmp_path / "none.keras"), "--data",
                     str(ntuples), "--out", str(tmp_path / "s.root")])
    assert code == 2
    err = capsys.readouterr().err
    assert "vaednn score:" in err and "model file not found" in err
