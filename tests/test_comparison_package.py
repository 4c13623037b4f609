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

#: ``__all__`` of ``vaednn/compare.py`` and ``vaednn/explain.py`` when they were modules,
#: with ``MIN_BACKGROUND``, which notebook 04 reads as ``compare.MIN_BACKGROUND``.
OLD_ALL = {
    "compare": [
        "SPLIT", "SYSTEMATIC", "CHOICES", "EvaluationData", "split_three", "prepare",
        "normalisation", "score", "score_samples", "feature_scorer", "counting_scorer",
        "REFERENCES", "train_bdt", "train_ratio_regression", "best_variable", "sensitivity",
        "metrics", "compare", "operator_matrix", "SEED_DDOF", "seed_spread", "RENAMED_COLUMNS",
        "current_column", "current_columns", "RESULT_COLUMNS", "TRAINED_ON", "EACH_OPERATOR",
        "results_table", "PUBLISHED_INTERVALS", "PUBLISHED_LUMINOSITY", "PUBLISHED_CL",
        "interval_table", "MIN_BACKGROUND"],
    "explain": [
        "METHODS", "Score", "as_score", "shap_values", "reco_loss_score", "kl_score",
        "classifier_score", "mean_abs", "plot_summary", "plot_mean_abs", "ablation",
        "plot_ablation", "variables_high_loss", "plot_variables_high_loss"],
}
#: The package whose modules define each old module's names.
HOME = {"compare": "comparison", "explain": "explain"}
#: Names an old module re-exports from a layer below rather than from its own package.
BELOW = {"plot_ablation": "vaednn.plots", "plot_variables_high_loss": "vaednn.plots"}


@pytest.mark.parametrize("package", ORDER)
def test_the_package_holds_the_listed_modules_and_no_other(package):
    found = sorted(p.stem for p in (ROOT / "vaednn" / package).glob("*.py")
                   if p.stem != "__init__")
    assert found == sorted(ORDER[package])


@pytest.mark.parametrize("package", ORDER)
def test_the_modules_import_each_other_in_one_direction(package, architecture):
    graph = architecture.import_graph()
    prefix = f"vaednn.{package}"
    bad = []
    for rank, name in enumerate(ORDER[package]):
        for target in sorted(graph[f"{prefix}.{name}"].edges):
            if target == prefix or (target.startswith(prefix + ".") and
                                    ORDER[package].index(target.rpartition(".")[2]) >= rank):
                bad.append(f"{prefix}.{name} imports {target}")
    assert bad == []


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


@pytest.mark.parametrize("old", OLD_ALL)
def test_every_old_name_is_the_same_object(old):
    module = importlib.import_module(f"vaednn.{old}")
    package = importlib.import_module(f"vaednn.{HOME[old]}")
    assert module.__all__ == OLD_ALL[old]
    homes = [importlib.import_module(f"vaednn.{HOME[old]}.{name}") for name in ORDER[HOME[old]]]
    for name in OLD_ALL[old]:
        if name in BELOW:
            assert getattr(module, name) is getattr(importlib.import_module(BELOW[name]), name)
            continue
        defined = [home for home in homes if name in home.__all__]
        assert len(defined) == 1, (name, [home.__name__ for home in defined])
        assert getattr(module, name) is getattr(defined[0], name)
        assert getattr(package, name) is getattr(defined[0], name)
    assert getattr(vaednn, old) is module


def test_shared_helpers_are_public_in_their_owning_module():
    # Helpers two modules use are public where they are defined, not private across modules.
    from vaednn.comparison import merit, references, scoring
    from vaednn.explain import ablations, scores, shapley
    assert merit.component_scores is scoring.component_scores
    assert merit.reference_scorers is references.reference_scorers
    assert ablations.feature_array is shapley.feature_array is scores.feature_array
    assert ablations.check_model is scores.check_model
