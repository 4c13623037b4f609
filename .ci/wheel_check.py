"""Build the wheel, install it into a fresh virtual environment and run the smoke test there.

``make test`` runs this first (target ``wheel-check``), with the Python of ``.venv``. An
editable install (``pip install -e``) and the test suite both import ``vaednn`` from the
source tree, so neither notices a module the wheel leaves out; this does:

1. The wheel is built from a copy of ``pyproject.toml``, the readme and ``vaednn/`` in a
   temporary folder, so no ``build/`` or ``*.egg-info`` is written into the source tree and
   no stale ``build/lib`` file from an earlier build can reach the wheel.
2. A fresh venv (no pip of its own) gets the wheel with ``pip --python <fresh> install
   --no-deps --no-index``: the wheel and nothing else, no network.
3. The dependencies (TensorFlow, JAX, Keras ...) are not installed again (minutes): a ``.pth``
   file in the fresh venv names ``.venv``'s site-packages as a path line. Python processes
   ``.pth`` files only in site directories, not in folders a path line adds, so ``.venv``'s
   editable-install hook (``__editable__.vaednn-*.pth``) never runs there; the fresh venv's
   own site-packages comes first on ``sys.path``, so ``import vaednn`` finds the wheel's copy.
   The smoke test asserts both.
4. ``wheel_smoke.py`` runs with the fresh venv's Python from a temporary folder outside the
   source tree.

Usage: ``python .ci/wheel_check.py`` (exit status 0 when the installed wheel passes).
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
import venv
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]
PACKAGE = "vaednn"


def build_wheel(source: Path, out: Path) -> Path:
    """Build the wheel of the project in ``source`` into ``out`` and return its path.

    Builds from a copy (see the module docstring) with this interpreter's setuptools
    (``--no-build-isolation``: no download) and ``--no-deps``.
    """
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    copy = out / "source"
    copy.mkdir(parents=True)
    shutil.copy2(source / "pyproject.toml", copy)
    shutil.copy2(source / project["readme"], copy)
    shutil.copytree(source / PACKAGE, copy / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--no-index", "--quiet", "--wheel-dir", str(out), str(copy)],
                   # setuptools < 69 calls its [tool.setuptools] support "beta" on every build.
                   check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    (wheel,) = out.glob("*.whl")
    return wheel


def fresh_venv(folder: Path, wheel: Path) -> Path:
    """Create a venv in ``folder`` holding ``wheel``, with this interpreter's packages as
    dependencies (a ``.pth`` path line); return the venv's Python."""
    venv.create(folder, with_pip=False, symlinks=True)
    python = folder / "bin" / "python"
    # Installed before the .pth exists: pip would otherwise find .venv's editable vaednn and
    # try to uninstall it (it refuses, the copy lying outside this venv, but warns).
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                    "--no-deps", "--no-index", "--quiet", str(wheel)], check=True)
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip()
    dependencies = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    Path(site_packages, "dependencies.pth").write_text("".join(f"{p}\n" for p in dependencies))
    return python


def main() -> int:
    """Build, install and smoke-test the wheel; return the smoke test's exit status."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vaednn-wheel-") as tmp:
        tmp = Path(tmp)
        if tmp.is_relative_to(SOURCE):
            raise RuntimeError(f"the temporary folder {tmp} lies inside the source tree {SOURCE}")
        wheel = build_wheel(SOURCE, tmp / "dist")
        python = fresh_venv(tmp / "venv", wheel)
        run = tmp / "run"
        run.mkdir()
        smoke = shutil.copy2(Path(__file__).with_name("wheel_smoke.py"), run)
        env = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
        result = subprocess.run([str(python), "-P", str(smoke), "--source", str(SOURCE)],
                                cwd=run, env=env)
        print(f"wheel check: {wheel.name} in a fresh venv, smoke test "
              f"{'passed' if result.returncode == 0 else 'FAILED'} "
              f"({time.perf_counter() - start:.0f} s)")
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
