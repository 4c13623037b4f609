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
SCORES = ROOT / "vaednn" / "scores"

#: The modules of ``vaednn/scores/``, lowest first: each imports only those before it.
ORDER = ("base", "vae", "density", "classical", "fixed", "registry", "studies", "detector")

#: ``vaednn.anomaly.__all__`` when it was one module.
ANOMALY = [
    "SCORES", "DEFAULT", "make", "AnomalyScore", "VAEScore", "FeatureErrorScore",
    "GaussianVAEScore", "FlowScore", "IsolationForestScore", "GaussianMixtureScore",
    "GaussianVAE", "RealNVP", "AffineCoupling", "SKLEARN_WEIGHTS", "check_sm_weights",
    "scaling_log_jacobian", "train", "LABELS", "fit_seeds", "log_energy_sum", "seed_study",
    "seed_tables", "width_ratios", "plot_width_ratios"]
#: ``vaednn.detector.__all__`` when it was one module.
DETECTOR = ["DENSITY_NAMES", "Detector", "VAE_NAMES", "signed_quantile"]


def test_the_package_holds_the_listed_modules_and_no_other():
    assert sorted(p.stem for p in SCORES.glob("*.py") if p.stem != "__init__") == sorted(ORDER)


def test_the_score_modules_import_each_other_in_one_direction(architecture):
    graph = architecture.import_graph()
    bad = []
    for rank, name in enumerate(ORDER):
        for target in sorted(graph[f"vaednn.scores.{name}"].edges):
            if target in ("vaednn.scores", "vaednn.anomaly", "vaednn.detector",
                          "vaednn.baselines") or (
                    target.startswith("vaednn.scores.") and
                    ORDER.index(target.rpartition(".")[2]) >= rank):
                bad.append(f"vaednn.scores.{name} imports {target}")
    assert bad == []


@pytest.mark.parametrize("path", ["vaednn/scores/__init__.py", "vaednn/anomaly.py",
                                  "vaednn/detector.py", "vaednn/baselines.py"])
def test_the_package_init_and_the_old_modules_only_re_export(path, architecture):
    kinds = architecture.statement_kinds(ROOT / path, ["vaednn.scores.", "__future__"])
    assert set(kinds) == {"docstring", "import", "__all__"}


@pytest.mark.parametrize("name", ORDER)
def test_no_score_module_passes_600_lines(name, architecture):
    assert len((SCORES / f"{name}.py").read_text().splitlines()) <= architecture.MAX_MODULE_LINES


def test_every_name_of_the_package_has_one_home():
    assert scores.__all__ == ANOMALY + DETECTOR
    homes = [importlib.import_module(f"vaednn.scores.{name}") for name in ORDER]
    for name in scores.__all__:
        defined = [home for home in homes if name in home.__all__]
        assert len(defined) == 1, (name, [home.__name__ for home in defined])
        assert getattr(scores, name) is getattr(defined[0], name)


@pytest.mark.parametrize("old, names", [("vaednn.anomaly", ANOMALY + ["SPACES"]),
                                        ("vaednn.detector", DETECTOR),
                                        ("vaednn.baselines", ["IsolationForestScore"])])
def test_the_old_modules_re_export_the_same_objects(old, names):
    module = importlib.import_module(old)
    assert set(names) - {"SPACES"} == set(module.__all__)
    for name in names:
        owner = importlib.import_module(f"vaednn.scores.{_home(name)}")
        assert getattr(module, name) is getattr(owner, name), name
    assert getattr(vaednn, old.rpartition(".")[2]) is module


def _home(name):
    """The module of ``vaednn/scores/`` whose ``__all__`` holds ``name``."""
    return next(home for home in ORDER
                if name in importlib.import_module(f"vaednn.scores.{home}").__all__)


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
