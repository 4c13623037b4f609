"""The wheel holds every package and module of the source tree.

The editable install and the other tests import ``vaednn`` from the source tree, so they pass
whatever the wheel leaves out; ``make wheel-check`` installs the wheel and runs it, this test
checks its file list in seconds.
"""

import importlib.util
import zipfile
from pathlib import Path

import pytest

import vaednn

ROOT = Path(__file__).resolve().parents[1]


def _wheel_check():
    spec = importlib.util.spec_from_file_location("wheel_check", ROOT / ".ci" / "wheel_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_files(root: Path) -> set[str]:
    """The ``.py`` files of ``root/vaednn``, as paths relative to ``root``."""
    return {path.relative_to(root).as_posix() for path in (root / "vaednn").rglob("*.py")}


def wheel_files(wheel: Path) -> set[str]:
    """Every file name in the wheel archive."""
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def packages(files) -> set[str]:
    """The folders among ``files`` that hold an ``__init__.py``."""
    return {name.rsplit("/", 1)[0] for name in files if name.endswith("/__init__.py")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return _wheel_check().build_wheel(ROOT, tmp_path_factory.mktemp("wheel"))


def test_every_package_and_module_of_the_source_tree_is_in_the_wheel(wheel):
    source = source_files(ROOT)
    assert "vaednn/models/__init__.py" in source
    assert packages(wheel_files(wheel)) == packages(source)
    assert sorted(source - wheel_files(wheel)) == []


def test_the_wheel_holds_the_package_its_metadata_and_the_command_only(wheel):
    dist_info = f"vaednn-{vaednn.__version__}.dist-info/"
    files = wheel_files(wheel)
    assert {name for name in files if not name.startswith(("vaednn/", dist_info))} == set()
    assert {name for name in files if name.startswith("vaednn/")} == source_files(ROOT)
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(dist_info + "entry_points.txt").decode()
    assert "vaednn = vaednn.cli:main" in entry_points


def test_a_wheel_without_a_subpackage_fails_the_comparison(wheel, tmp_path):
    # What packages = ["vaednn"] built: the top-level modules without vaednn/models/.
    partial = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as full, zipfile.ZipFile(partial, "w") as archive:
        for item in full.infolist():
            if not item.filename.startswith("vaednn/models/"):
                archive.writestr(item, full.read(item))
    assert packages(source_files(ROOT)) - packages(wheel_files(partial)) == {"vaednn/models"}
