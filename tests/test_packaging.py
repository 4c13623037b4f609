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
        "Detector", "baselines", "compare", "curves", "data", "detector", "explain", "extras",
        "files", "models", "plotting", "scan", "simulate", "stats", "workflow", "__version__"])
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
