"""The scan and the generator as packages: one concern per module, imported in one
direction, and the names users know (``vaednn.scan.run``, ``vaednn.simulate.write_ntuples``,
``python -m vaednn.simulate --check``) where they were."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import vaednn
from vaednn import scan, simulate

ROOT = Path(__file__).resolve().parents[1]

#: Public names of the old modules outside ``__all__`` that the package, tests and
#: benchmarks read (``simulate.W_MASS``, ``simulate.DEFAULT_EVENTS``, ...).
OLD_OTHER = {
    "scan": [],
    "simulate": ["W_MASS", "W_WIDTH", "EXTRA_BRANCHES", "BRANCHES", "DEFAULT_EVENTS",
                 "DEFAULT_BSM_EVENTS", "BASKET_EVENTS", "SM_XSEC_AFTER_CUTS_FB",
                 "DETA_STEP_RANGE", "MJJ_SMOOTHNESS_MAX"],
}


@pytest.mark.parametrize("package", ["scan", "simulate"])
def test_every_old_name_is_where_users_found_it(package, architecture):
    module = importlib.import_module(f"vaednn.{package}")
    assert module.__all__ == architecture.public_names()[package]
    homes = architecture.package_homes(package)
    for name in module.__all__ + OLD_OTHER[package]:
        home = architecture.defining_module(name, homes)
        assert getattr(module, name) is getattr(home, name)
    assert getattr(vaednn, package) is module


def test_ray_workers_find_the_trial_function_and_the_package_root():
    # Ray pickles the trainable by reference: its module path is what a worker imports,
    # and code_search_path must be the folder that holds vaednn, not vaednn itself.
    from vaednn.scan import running, trial

    assert trial.tune_trainable.__module__ == "vaednn.scan.trial"
    source = Path(running.__file__).read_text()
    assert "Path(__file__).resolve().parents[2]" in source
    assert (Path(running.__file__).resolve().parents[2] / "vaednn" / "__init__.py").is_file()


def test_the_scan_plots_keep_their_registry_entries():
    from vaednn import plotting

    assert plotting.PLOT_HELPERS["vaednn.scan.plots.plot_min_coefficient"] is \
        scan.plot_min_coefficient
    assert plotting.PLOT_HELPERS["vaednn.scan.plots.plot_auc_vs_latent"] is \
        scan.plot_auc_vs_latent


def test_python_m_vaednn_simulate_check_runs_the_package_main(tmp_path):
    done = subprocess.run([sys.executable, "-m", "vaednn.simulate", "--check", str(tmp_path),
                           "--operators", "cW"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stdout.strip() == (f"{tmp_path}: 3 ntuple(s) missing or not from generator "
                                   f"version {simulate.GENERATOR_VERSION}, "
                                   "e.g. ntuple_SSWW_SM.root")
