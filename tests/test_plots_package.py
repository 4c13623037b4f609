"""The plots layer as a package: one concern per module, each importing only ``style``, and
the names users know (``vaednn.plotting.plot_roc``, ``vaednn.curves.plot_loss_curves``,
``vaednn.explain.plot_ablation``, ``vaednn.workflow.plot_smearing``) where they were."""

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

import vaednn
from vaednn import plots


#: Old module -> the names it held that now live in ``vaednn.plots`` (those of
#: ``vaednn.plotting`` are pinned in ``tests/public_names.toml``).
MOVED = {
    "vaednn.curves": ["TERM_LABELS", "history_frame", "plot_loss_curves", "save_history"],
    "vaednn.explain": ["plot_ablation", "plot_variables_high_loss"],
    "vaednn.workflow": ["plot_smearing", "plot_seed_curves"],
}


def test_the_plot_modules_import_only_style_inside_the_package(architecture):
    graph = architecture.import_graph()
    bad = []
    for name in architecture.package_modules("plots"):
        allowed = set() if name == "style" else {"vaednn.plots.style"}
        for target in sorted(graph[f"vaednn.plots.{name}"].edges):
            if (target == "vaednn.plots" or target.startswith("vaednn.plots.")) and \
                    target not in allowed:
                bad.append(f"vaednn.plots.{name} imports {target}")
            if target in ("vaednn.plotting", "vaednn.curves"):
                bad.append(f"vaednn.plots.{name} imports the re-export {target}")
    assert bad == []


@pytest.mark.parametrize("old", ["vaednn.plotting", "vaednn.curves"])
def test_the_old_plot_modules_only_re_export(old):
    tree = ast.parse(Path(importlib.util.find_spec(old).origin).read_text())
    defined = [ast.unparse(node)[:60] for node in tree.body
               if isinstance(node, (ast.FunctionDef, ast.ClassDef))
               or (isinstance(node, ast.Assign) and
                   [getattr(t, "id", None) for t in node.targets] != ["__all__"])]
    assert defined == []


def test_every_public_name_is_defined_in_one_module(architecture):
    homes = architecture.package_homes("plots")
    assert len(plots.__all__) == len(set(plots.__all__))
    for name in plots.__all__:
        assert getattr(plots, name) is getattr(architecture.defining_module(name, homes), name)


def moved(architecture):
    """Old module -> the names it held that now live in ``vaednn.plots``."""
    return {"vaednn.plotting": architecture.public_names()["plotting"], **MOVED}


@pytest.mark.parametrize("old", ["vaednn.curves", "vaednn.explain", "vaednn.plotting",
                                 "vaednn.workflow"])
def test_every_old_name_is_the_same_object(old, architecture):
    module = importlib.import_module(old)
    names = moved(architecture)[old]
    for name in names:
        assert getattr(module, name) is getattr(plots, name), f"{old}.{name}"
        if name.startswith("plot_") and name != "plot_helper":
            assert getattr(module, name).__module__.startswith("vaednn.plots."), name
    assert set(names) - {"PLOT_HELPERS", "COM_TEV", "LUMINOSITY_FB", "SAMPLES_NOTE",
                         "RAW_NAMES"} <= set(module.__all__)
    assert getattr(vaednn, old.rpartition(".")[2]) is module


def test_the_registry_lists_each_moved_helper_under_its_new_home(architecture):
    # The layout test renders every entry of PLOT_HELPERS by its key.
    helpers = [name for names in moved(architecture).values() for name in names
               if name.startswith("plot_") and name != "plot_helper"]
    keys = {key.rpartition(".")[2]: key for key in plots.PLOT_HELPERS}
    for name in helpers:
        assert keys[name].startswith("vaednn.plots."), keys[name]
        assert plots.PLOT_HELPERS[keys[name]] is getattr(plots, name)


def test_the_package_is_reachable_from_vaednn():
    assert "plots" in vaednn.__all__ and vaednn.plots is plots
