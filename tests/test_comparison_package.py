"""The comparison layer and the explainers as packages: one concern per module, imported in
one direction, and the names users know (``vaednn.compare.compare``,
``vaednn.compare.MIN_BACKGROUND``, ``vaednn.explain.shap_values``) where they were."""

import importlib
from pathlib import Path

import pytest

import vaednn

ROOT = Path(__file__).resolve().parents[1]

#: The modules of each package, lowest first: each imports only those before it.
ORDER = {
    "comparison": ("splits", "scoring", "references", "merit", "tables"),
    "explain": ("scores", "shapley", "ablations"),
}

#: The package whose modules define each old module's names.
HOME = {"compare": "comparison", "explain": "explain"}
#: Names an old module re-exports from a layer below rather than from its own package.
BELOW = {"plot_ablation": "vaednn.plots", "plot_variables_high_loss": "vaednn.plots"}


@pytest.mark.parametrize("package", ORDER)
def test_the_package_holds_the_listed_modules_and_no_other(package, architecture):
    assert architecture.package_modules(package) == sorted(ORDER[package])


@pytest.mark.parametrize("package", ORDER)
def test_the_modules_import_each_other_in_one_direction(package, architecture):
    assert architecture.order_violations(package, ORDER[package]) == []


@pytest.mark.parametrize("path", ["vaednn/comparison/__init__.py", "vaednn/compare.py",
                                  "vaednn/explain/__init__.py"])
def test_the_package_init_and_the_old_module_only_re_export(path, architecture):
    # The extra is named even when the submodules are already imported.
    extra = "require('shap', 'vaednn.explain')"
    kinds = architecture.statement_kinds(ROOT / path, ["vaednn."])
    assert set(kinds) - {extra} == {"docstring", "import", "__all__"}
    assert (extra in kinds) == path.startswith("vaednn/explain")


@pytest.mark.parametrize("path", sorted(f"{package}/{name}" for package in ORDER
                                        for name in ("__init__",) + ORDER[package]))
def test_no_module_passes_600_lines(path, architecture):
    lines = len((ROOT / "vaednn" / f"{path}.py").read_text().splitlines())
    assert lines <= architecture.MAX_MODULE_LINES


@pytest.mark.parametrize("old", HOME)
def test_every_old_name_is_the_same_object(old, architecture):
    module = importlib.import_module(f"vaednn.{old}")
    package = importlib.import_module(f"vaednn.{HOME[old]}")
    assert module.__all__ == architecture.public_names()[old]
    homes = [importlib.import_module(f"vaednn.{HOME[old]}.{name}") for name in ORDER[HOME[old]]]
    for name in module.__all__:
        if name in BELOW:
            assert getattr(module, name) is getattr(importlib.import_module(BELOW[name]), name)
            continue
        home = architecture.defining_module(name, homes)
        assert getattr(module, name) is getattr(home, name)
        assert getattr(package, name) is getattr(home, name)
    assert getattr(vaednn, old) is module


def test_shared_helpers_are_public_in_their_owning_module():
    # Helpers two modules use are public where they are defined, not private across modules.
    from vaednn.comparison import merit, references, scoring
    from vaednn.explain import ablations, scores, shapley
    assert merit.component_scores is scoring.component_scores
    assert merit.reference_scorers is references.reference_scorers
    assert ablations.feature_array is shapley.feature_array is scores.feature_array
    assert ablations.check_model is scores.check_model
