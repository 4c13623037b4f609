"""The comparison layer and the explainers as packages: one concern per module, imported in
one direction, and the names users know (``vaednn.compare.compare``,
``vaednn.compare.MIN_BACKGROUND``, ``vaednn.explain.shap_values``) where they were."""

import importlib
from pathlib import Path

import pytest

import vaednn

ROOT = Path(__file__).resolve().parents[1]

#: The package whose modules define each old module's names.
HOME = {"compare": "comparison", "explain": "explain"}
#: Names an old module re-exports from a layer below rather than from its own package.
BELOW = {"plot_ablation": "vaednn.plots", "plot_variables_high_loss": "vaednn.plots"}


def test_the_old_module_only_re_exports(architecture):
    kinds = architecture.statement_kinds(ROOT / "vaednn" / "compare.py", ["vaednn.comparison"])
    assert set(kinds) == {"docstring", "import", "__all__"}


@pytest.mark.parametrize("old", HOME)
def test_every_old_name_is_the_same_object(old, architecture):
    module = importlib.import_module(f"vaednn.{old}")
    package = importlib.import_module(f"vaednn.{HOME[old]}")
    # Every old name stays, in its old order; names the package gained since may follow.
    old_names = architecture.public_names()[old]
    assert [name for name in module.__all__ if name in old_names] == old_names
    homes = architecture.package_homes(HOME[old])
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
