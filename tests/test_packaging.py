"""The package's public face: its API, its dependencies, and its set-up commands."""

import re
import tomllib
from pathlib import Path

import yaml

import vaednn

ROOT = Path(__file__).resolve().parents[1]


def requirement_names(requirements):
    return {re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower(): req.replace(" ", "")
            for req in requirements}


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = requirement_names(project["dependencies"] + [
        req for extra in extras.values() for req in extra if not req.startswith("vaednn[")])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [dep for dep in env["dependencies"] if isinstance(dep, str)]
    pip = [dep for entry in env["dependencies"] if isinstance(entry, dict) for dep in entry["pip"]]
    listed = requirement_names(dep for dep in conda + pip
                               if not dep.startswith(("python=", "-e")) and dep != "pip")
    assert listed == wanted


def test_dev_pulls_in_every_extra_and_the_extras_module_knows_them():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (itself,) = [req for req in extras["dev"] if req.startswith("vaednn[")]
    assert set(itself.removeprefix("vaednn[").removesuffix("]").split(",")) == set(extras) - {"dev"}
    # Every distribution of an extra is named (by its import name) in vaednn.extras.EXTRAS.
    declared = {name: extra for extra, reqs in extras.items() if extra != "dev"
                for name in requirement_names(reqs)}
    assert declared == vaednn.extras.EXTRAS


def test_core_dependencies_are_the_lean_set():
    core = requirement_names(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert set(core) == {"numpy", "pandas", "scipy", "pyyaml", "uproot", "awkward", "keras",
                         "tensorflow", "jax", "scikit-learn", "pyhf", "matplotlib", "mplhep",
                         "hist", "seaborn"}


def test_version_has_one_source():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "vaednn.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", vaednn.__version__)


def test_python_version_agrees():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    assert project["requires-python"] == ">=3.11"


def test_public_api_is_pinned():
    # Any change to the public API must show up as a diff of this list.
    assert sorted(vaednn.__all__) == sorted([
        "Detector", "anomaly", "baselines", "cli", "compare", "comparison", "curves", "data",
        "detector",
        "explain", "expressions", "extras", "files", "models", "plots", "plotting", "publish",
        "reproduce",
        "reweight", "scan", "scores", "simulate", "stats", "training_sets", "workflow",
        "__version__"])
    for name in vaednn.__all__:
        assert getattr(vaednn, name) is not None


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1)
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert commands == ["make figures", "make test"]
    ci = [line for line in (ROOT / ".ci/run").read_text().splitlines()
          if line and not line.startswith(("#", "set ", "cd "))]
    assert ci == ["make test"]


def test_the_readme_links_every_docs_page_and_every_link_resolves():
    pages = {"README.md": ROOT / "README.md",
             **{f"docs/{p.name}": p for p in sorted((ROOT / "docs").glob("*.md"))}}
    readme_links = re.findall(r"\]\(([^)#]+)\)", pages["README.md"].read_text())
    assert set(pages) - {"README.md"} <= set(readme_links)
    broken = [(name, target) for name, path in pages.items()
              for target in re.findall(r"\]\(([^)#]+)\)", path.read_text())
              if "://" not in target and not (path.parent / target).exists()]
    assert broken == []


#: Modules of the core install, imported with every extra blocked.
CORE_MODULES = ("vaednn.data", "vaednn.simulate", "vaednn.stats", "vaednn.compare",
                "vaednn.comparison",
                "vaednn.models", "vaednn.plotting", "vaednn.curves", "vaednn.detector",
                "vaednn.baselines", "vaednn.anomaly", "vaednn.workflow", "vaednn.cli",
                "vaednn.scan", "vaednn.files", "vaednn.expressions", "vaednn.scores")

_BLOCKED_RUN = r'''
import importlib, importlib.abc, importlib.metadata, json, re, sys
extras, allowed = set(json.loads(sys.argv[1])), set(json.loads(sys.argv[2]))
distributions = importlib.metadata.packages_distributions()
refused = set()

def absent(top):
    """A module a core-only install lacks: an extra's, or one of a distribution outside the
    core's requirements (packages that import such a module when present must cope)."""
    if top in extras:
        return True
    if top in sys.stdlib_module_names or top == "vaednn":
        return False
    owners = distributions.get(top, [])
    return bool(owners) and not any(re.sub(r"[-_.]+", "-", d).lower() in allowed for d in owners)

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if absent(name.split(".")[0]):
            refused.add(name.split(".")[0])
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
for module in json.loads(sys.argv[3]):
    importlib.import_module(module)
imported = sorted({name.split(".")[0] for name in sys.modules})
from vaednn import data
from vaednn.scan import running
hints = {}
for extra, call in (("explain", lambda: importlib.import_module("vaednn.explain")),
                    ("scan", lambda: running._start_ray(None, 1, None)),
                    ("parquet", lambda: data.read_parquet("events.parquet", 1.0, 1.0))):
    try:
        call()
        hints[extra] = "no error"
    except Exception as error:
        hints[extra] = f"{type(error).__name__}: {error}"
print(json.dumps({"imported": imported, "hints": hints, "refused": sorted(refused)}))
'''


def _normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(requirements):
    """The distributions ``requirements`` install, with their own requirements (no extras)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen, todo = set(), [Requirement(req) for req in requirements]
    while todo:
        requirement = todo.pop()
        name = _normal(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in needs:
            need = Requirement(text)
            if need.marker is None or need.marker.evaluate({"extra": ""}):
                todo.append(need)
    return seen


def test_core_modules_need_only_core_dependencies_and_extras_name_their_pip_command():
    """The extras split without a second install: in a fresh interpreter every module of
    a distribution outside the core's requirements (from pyproject.toml, with their own
    requirements) is made absent; the core modules must import, and each extra's entry
    point must fail with its pip command."""
    import json
    import subprocess
    import sys

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    blocked = sorted(vaednn.extras.EXTRAS)
    allowed = sorted(_closure(project["dependencies"]))
    result = subprocess.run(
        [sys.executable, "-c", _BLOCKED_RUN, json.dumps(blocked), json.dumps(allowed),
         json.dumps(CORE_MODULES)],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    # The core modules import with only the core's distributions present.
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert not set(report["imported"]) & set(blocked)
    # The hook did refuse: the extras the calls below reach for.
    assert {"ray", "shap", "pyarrow"} <= set(report["refused"])
    for extra, message in report["hints"].items():
        assert message.startswith("MissingExtraError") and f"pip install 'vaednn[{extra}]'" \
            in message, (extra, message)
