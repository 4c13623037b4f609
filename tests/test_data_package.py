"""The data layer as a package: one concern per module, imported in one direction, and the
names users know (``vaednn.data.read_ntuple``, ``vaednn.reweight.read_lhe``,
``vaednn.training_sets.classifier_set``) where they were."""

import importlib

import pytest

import vaednn
from vaednn import data




def test_every_old_name_is_where_users_found_it(architecture):
    assert data.__all__ == architecture.public_names()["data"]
    homes = architecture.package_homes("data")
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
