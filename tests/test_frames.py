"""Samples from memory (Sample.from_frame) and from parquet files (data.read_parquet)."""

import sys

import numpy as np
import pandas as pd
import pytest

from vaednn import data, extras
from vaednn.data import NtupleError, Sample


@pytest.fixture(scope="module")
def sm(generated_dir):
    return data.read_sample(generated_dir, "SM")


def as_frame(sample):
    return sample.features.assign(w=sample.weights, run=1)


def test_from_frame_gives_the_sample_it_was_made_of(sm):
    again = Sample.from_frame(as_frame(sm), "w", sm.xsec, sm.sumw, name=sm.name)
    pd.testing.assert_frame_equal(again.features, sm.features)
    np.testing.assert_array_equal(again.weights, sm.weights)
    np.testing.assert_allclose(data.lumi_weights(again), data.lumi_weights(sm))
    by_array = Sample.from_frame(sm.features, sm.weights, sm.xsec, sm.sumw)
    np.testing.assert_array_equal(by_array.weights, sm.weights)


def test_from_frame_applies_cuts_and_counts_the_rows_read(sm):
    frame = as_frame(sm)
    cut = Sample.from_frame(frame, "w", sm.xsec, sm.sumw, cuts="mjj > 500")
    keep = frame["mjj"].to_numpy() > 500
    assert cut.n_read == len(frame) and len(cut) == keep.sum() > 0
    np.testing.assert_array_equal(cut.weights, sm.weights[keep])
    # Yields stay full-rate: the kept events carry the same luminosity weights as before.
    np.testing.assert_allclose(data.lumi_weights(cut), data.lumi_weights(sm)[keep])


@pytest.mark.parametrize("change, message", [
    (lambda f: (f.drop(columns="mjj"), "w"), r"lacks the column\(s\) \['mjj'\]"),
    (lambda f: (f, "weight"), r"lacks the column\(s\) \['weight'\]"),
    (lambda f: (f, np.ones(3)), r"one value per row"),
    (lambda f: (f.assign(met=np.r_[np.nan, f["met"].to_numpy()[1:]]), "w"),
     r"'met' has 1 NaN or infinite"),
    (lambda f: (f.assign(mll=np.r_[0.0, f["mll"].to_numpy()[1:]]), "w"),
     r"'mll' has 1 non-positive value"),
])
def test_from_frame_refuses_bad_frames(sm, change, message):
    frame, weights = change(as_frame(sm))
    with pytest.raises(NtupleError, match=message):
        Sample.from_frame(frame, weights, sm.xsec, sm.sumw)


def test_from_frame_refuses_bad_normalisation_and_empty_selections(sm):
    with pytest.raises(NtupleError, match="sumw = 0.0 .*finite and non-zero"):
        Sample.from_frame(as_frame(sm), "w", sm.xsec, 0.0)
    with pytest.raises(NtupleError, match="no event left after the cuts"):
        Sample.from_frame(as_frame(sm), "w", sm.xsec, sm.sumw, cuts="mjj < 0")


def test_parquet_reads_equal_to_the_ntuple(generated_dir, tmp_path):
    raw = data.read_sample(generated_dir, "SM", cuts=None)
    path = tmp_path / "sm.parquet"
    as_frame(raw).to_parquet(path)
    from_parquet = data.read_parquet(path, xsec=raw.xsec, sumw=raw.sumw)
    from_root = data.read_sample(generated_dir, "SM")
    pd.testing.assert_frame_equal(from_parquet.features, from_root.features)
    np.testing.assert_array_equal(from_parquet.weights, from_root.weights)
    assert (from_parquet.name, from_parquet.path, from_parquet.n_read) == (
        "sm", path, from_root.n_read)


def test_parquet_errors_name_the_file_and_the_column(sm, tmp_path):
    with pytest.raises(NtupleError, match="missing.parquet: file not found"):
        data.read_parquet(tmp_path / "missing.parquet", xsec=1.0, sumw=1.0)
    (tmp_path / "text.parquet").write_text("not parquet")
    with pytest.raises(NtupleError, match="text.parquet: not a readable parquet file"):
        data.read_parquet(tmp_path / "text.parquet", xsec=1.0, sumw=1.0)
    as_frame(sm).drop(columns="ptj2").to_parquet(tmp_path / "short.parquet")
    with pytest.raises(NtupleError, match=r"short.parquet: no column\(s\) \['ptj2'\]"):
        data.read_parquet(tmp_path / "short.parquet", xsec=1.0, sumw=1.0)


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(extras.MissingExtraError, match=r"pip install 'vaednn\[parquet\]'"):
        data.read_parquet(tmp_path / "x.parquet", xsec=1.0, sumw=1.0)
