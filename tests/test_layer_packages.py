"""Every layer package of ARCHITECTURE.md checked the same way: it holds the listed modules,
they import each other in one direction (each only those before it), its ``__init__`` only
re-exports, and no module passes about 600 lines. What is particular to one package (the
names users found in its old module) is tested in its own ``tests/test_<package>_package.py``.
"""

import pytest

#: The modules of each package, lowest first: each imports only those before it (``plots``:
#: ``style`` first, and every other one imports ``style`` only, which its own test asserts).
ORDER = {
    "data": ("samples", "ntuples", "maps", "frames", "smearing", "scores_out", "reweighted",
             "reweight", "training_sets"),
    "plots": ("style", "features", "matrix", "roc", "significance", "histories", "studies",
              "attributions"),
    "scores": ("base", "vae", "density", "classical", "fixed", "registry", "studies",
               "detector"),
    "comparison": ("splits", "scoring", "references", "merit", "tables", "uncertainties"),
    "explain": ("scores", "shapley", "ablations"),
    "scan": ("config", "trial", "results", "plots", "running"),
    "simulate": ("model", "ntuples", "checks", "reweighted", "__main__"),
    "publish": ("records", "workspaces", "diagnostics", "hepdata", "export", "provenance"),
}

#: The old modules that re-export a package: its own modules never import them.
RE_EXPORTS = {"scores": ("vaednn.anomaly", "vaednn.detector", "vaednn.baselines"),
              "plots": ("vaednn.plotting", "vaednn.curves")}

#: What a package's ``__init__`` may import besides its own modules, and the one statement
#: it may run: ``explain`` names the ``[explain]`` extra when shap is missing, before its
#: imports, even when the submodules are already imported.
INIT_SOURCES = {"scores": ("__future__",), "explain": ("vaednn.extras", "vaednn.plots")}
INIT_STATEMENT = {"explain": "require('shap', 'vaednn.explain')"}


@pytest.mark.parametrize("package", ORDER)
def test_the_package_holds_the_listed_modules_and_no_other(package, architecture):
    assert architecture.package_modules(package) == sorted(ORDER[package])


@pytest.mark.parametrize("package", ORDER)
def test_the_modules_import_each_other_in_one_direction(package, architecture):
    violations = architecture.order_violations(package, ORDER[package],
                                               RE_EXPORTS.get(package, ()))
    assert violations == []


@pytest.mark.parametrize("package", ORDER)
def test_the_package_init_only_re_exports(package, architecture):
    sources = (f"vaednn.{package}.", *INIT_SOURCES.get(package, ()))
    kinds = architecture.statement_kinds(architecture.PACKAGE / package / "__init__.py",
                                         sources)
    statement = INIT_STATEMENT.get(package)
    assert set(kinds) - {statement} == {"docstring", "import", "__all__"}
    assert (statement in kinds) == (statement is not None)


@pytest.mark.parametrize("path", [f"{package}/{name}.py" for package, names in ORDER.items()
                                  for name in ("__init__", *names)])
def test_no_module_passes_600_lines(path, architecture):
    lines = len((architecture.PACKAGE / path).read_text().splitlines())
    assert lines <= architecture.MAX_MODULE_LINES
