"""The data layer as a package: one concern per module, imported in one direction, and the
names users know (``vaednn.data.read_ntuple``, ``vaednn.reweight.read_lhe``,
``vaednn.training_sets.classifier_set``) where they were."""

import importlib
from pathlib import Path

import pytest

import vaednn
from vaednn import data

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "vaednn" / "data"

#: The modules of ``vaednn/data/``, lowest first: each imports only those before it.
ORDER = ("samples", "ntuples", "maps", "frames", "smearing", "scores_out", "reweighted",
         "reweight", "training_sets")



def test_the_package_holds_the_listed_modules_and_no_other(architecture):
    assert architecture.package_modules("data") == sorted(ORDER)


def test_the_data_modules_import_each_other_in_one_direction(architecture):
    assert architecture.order_violations("data", ORDER) == []


def test_the_package_init_only_re_exports(architecture):
    kinds = architecture.statement_kinds(DATA / "__init__.py", ["vaednn.data."])
    assert set(kinds) == {"docstring", "import", "__all__"}


@pytest.mark.parametrize("name", ORDER)
def test_no_data_module_passes_600_lines(name, architecture):
    assert len((DATA / f"{name}.py").read_text().splitlines()) <= architecture.MAX_MODULE_LINES


def test_every_old_name_is_where_users_found_it(architecture):
    assert data.__all__ == architecture.public_names()["data"]
    homes = [importlib.import_module(f"vaednn.data.{name}") for name in ORDER]
    for name in data.__all__:
        assert getattr(data, name) is getattr(architecture.defining_module(name, homes), name)
    assert data.derived.__module__ == "vaednn.data.maps"


@pytest.mark.parametrize("old, new", [
    ("vaednn.reweight", ("vaednn.data.reweight", "vaednn.data.reweighted")),
    ("vaednn.training_sets", ("vaednn.data.training_sets",))])
def test_the_old_modules_re_export_the_same_objects(old, new):
    module = importlib.import_module(old)
    homes = [importlib.import_module(name) for name in new]
    assert sorted(module.__all__) == sorted(n for home in homes for n in home.__all__)
    for name in module.__all__:
        assert [getattr(home, name) for home in homes if name in home.__all__] == \
            [getattr(module, name)]
    assert getattr(vaednn, old.rpartition(".")[2]) is module
