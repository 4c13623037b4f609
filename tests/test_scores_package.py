"""The scores layer as a package: one concern per module, imported in one direction, and the
names users know (``vaednn.anomaly.make``, ``vaednn.detector.Detector``,
``vaednn.baselines.IsolationForestScore``) where they were, as the same objects."""

import importlib
from pathlib import Path

import keras
import pytest

import vaednn
from vaednn import scores

ROOT = Path(__file__).resolve().parents[1]



@pytest.mark.parametrize("path", ["vaednn/anomaly.py", "vaednn/detector.py",
                                  "vaednn/baselines.py"])
def test_the_old_modules_only_re_export(path, architecture):
    kinds = architecture.statement_kinds(ROOT / path, ["vaednn.scores.", "__future__"])
    assert set(kinds) == {"docstring", "import", "__all__"}


def test_every_name_of_the_package_has_one_home(architecture):
    pinned = architecture.public_names()
    assert scores.__all__ == pinned["anomaly"] + pinned["detector"]
    homes = architecture.package_homes("scores")
    for name in scores.__all__:
        assert getattr(scores, name) is getattr(architecture.defining_module(name, homes), name)


@pytest.mark.parametrize("old", ["anomaly", "detector", "baselines"])
def test_the_old_modules_re_export_the_same_objects(old, architecture):
    module = importlib.import_module(f"vaednn.{old}")
    names = architecture.public_names()[old]
    assert set(names) == set(module.__all__)
    homes = architecture.package_homes("scores")
    for name in names + (["SPACES"] if old == "anomaly" else []):
        owner = architecture.defining_module(name, homes)
        assert getattr(module, name) is getattr(owner, name), name
    assert getattr(vaednn, old) is module


def test_vaednn_detector_and_the_registry_are_the_package_s():
    assert vaednn.Detector is scores.detector.Detector
    assert vaednn.anomaly.make("gmm", seed=2).seed == 2
    assert vaednn.anomaly.SCORES["isolation_forest"] is vaednn.baselines.IsolationForestScore


@pytest.mark.parametrize("name, module", [("RealNVP", "density"), ("GaussianVAE", "density"),
                                          ("AffineCoupling", "density")])
def test_saved_models_find_their_classes_by_the_registered_name(name, module):
    # A .keras file names the class "vaednn>Name", not its module, so files saved when the
    # classes lived in vaednn.anomaly still load.
    cls = keras.saving.get_registered_object(f"vaednn>{name}")
    assert cls is getattr(importlib.import_module(f"vaednn.scores.{module}"), name)
