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

#: ``vaednn.data.__all__`` when it was one module, and ``read_lhe``, which issue 20 names
#: ``vaednn.data.read_lhe``.
PUBLIC = [
    "FEATURES", "LOG_FEATURES", "VBS_CUTS", "LUMINOSITY", "WEIGHT", "COMPONENTS", "PB_TO_FB",
    "NtupleError", "Sample", "OperatorSamples", "feature_set", "ntuple_path", "cut_expression",
    "check_log_features", "open_tree", "check_max_events", "iterate_ntuple", "cut_mask",
    "concatenate", "read_ntuple", "derived", "SampleSpec", "SampleMap", "is_sample_map",
    "read_sample", "stream", "load_operator", "operators_in", "split", "lumi_weights",
    "wilson_weights", "mixture", "fingerprint", "DETECTOR_RESOLUTION", "jet_pt_resolution",
    "resolutions", "smear", "default_data_dir", "sample_table", "read_parquet", "ENTRY",
    "write_scores", "read_lhe"]


def test_the_package_holds_the_listed_modules_and_no_other():
    assert sorted(p.stem for p in DATA.glob("*.py") if p.stem != "__init__") == sorted(ORDER)


def test_the_data_modules_import_each_other_in_one_direction(architecture):
    graph = architecture.import_graph()
    bad = []
    for rank, name in enumerate(ORDER):
        for target in sorted(graph[f"vaednn.data.{name}"].edges):
            if target == "vaednn.data" or (target.startswith("vaednn.data.") and
                                           ORDER.index(target.rpartition(".")[2]) >= rank):
                bad.append(f"vaednn.data.{name} imports {target}")
    assert bad == []


def test_the_package_init_only_re_exports(architecture):
    kinds = architecture.statement_kinds(DATA / "__init__.py", ["vaednn.data."])
    assert set(kinds) == {"docstring", "import", "__all__"}


@pytest.mark.parametrize("name", ORDER)
def test_no_data_module_passes_600_lines(name, architecture):
    assert len((DATA / f"{name}.py").read_text().splitlines()) <= architecture.MAX_MODULE_LINES


def test_every_old_name_is_where_users_found_it():
    assert data.__all__ == PUBLIC
    homes = [importlib.import_module(f"vaednn.data.{name}") for name in ORDER]
    for name in PUBLIC:
        defined = [home for home in homes if name in home.__all__]
        assert len(defined) == 1, (name, [home.__name__ for home in defined])
        assert getattr(data, name) is getattr(defined[0], name)
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
