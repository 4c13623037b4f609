"""Atomic writes leave either the old file or the new one, never a truncated file."""

import pytest

from vaednn import files


def test_atomic_write_replaces_content(tmp_path):
    target = tmp_path / "sub" / "results.csv"
    files.atomic_write_text(target, "old\n")
    files.atomic_write_text(target, "new\n")
    assert target.read_text() == "new\n"
    assert [p.name for p in target.parent.iterdir()] == ["results.csv"]


def test_failure_mid_write_keeps_the_previous_file(tmp_path):
    target = tmp_path / "model.keras"
    target.write_bytes(b"previous best model")
    with pytest.raises(RuntimeError, match="disk full"):
        with files.atomic_path(target) as temporary:
            assert temporary.suffix == ".keras"
            temporary.write_bytes(b"half a mod")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"previous best model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
