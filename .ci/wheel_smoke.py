"""Smoke test of an installed vaednn wheel; ``wheel_check.py`` runs it in a fresh venv.

It runs from a temporary folder outside the source tree and fails (AssertionError, exit
status 1) when ``vaednn`` is not the installed wheel's copy, when a module of the source
tree is not installed or does not import, or when a user's path does not work end to end:
generate ntuples, read a ROOT file, train a VAE for one epoch, score the events, write the
scores to a ROOT friend tree and read them back.

Usage: ``python wheel_smoke.py --source SOURCE_TREE``.
"""

import argparse
import importlib
import pkgutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

EVENTS = 400


def check_installed_copy(source: Path):
    """Import vaednn and every module of it; assert each comes from this venv's wheel."""
    import vaednn

    prefix = Path(sys.prefix).resolve()
    where = Path(vaednn.__file__).resolve()
    assert where.is_relative_to(prefix), f"vaednn imported from {where}, not from {prefix}"
    assert not where.is_relative_to(source), f"vaednn imported from the source tree: {where}"
    # setuptools installs its editable finder as a class, so its own __module__ names it.
    editable = [finder for finder in sys.meta_path
                if getattr(finder, "__module__", "").startswith("__editable__")]
    assert not editable, f"an editable-install hook is active: {editable}"
    names = [info.name for info in pkgutil.walk_packages(vaednn.__path__, "vaednn.")]
    in_source = {".".join(path.relative_to(source).with_suffix("").parts)
                 for path in (source / "vaednn").rglob("*.py")}
    in_source = {name.removesuffix(".__init__") for name in in_source} - {"vaednn"}
    missing = sorted(in_source - set(names))
    assert not missing, f"modules of the source tree missing from the installed wheel: {missing}"
    for name in names:
        module = importlib.import_module(name)
        assert Path(module.__file__).resolve().is_relative_to(prefix), \
            f"{name} imported from {module.__file__}"
    command = Path(sys.prefix) / "bin" / "vaednn"
    version = subprocess.run([str(command), "--version"], check=True, capture_output=True,
                             text=True).stdout
    assert vaednn.__version__ in version, f"{command} --version printed {version!r}"
    return names


def check_user_path(folder: Path):
    """Generate ntuples, train one epoch, score, write and read the scores as a ROOT file."""
    import uproot

    from vaednn import data, models, simulate

    simulate.write_ntuples(folder, operators=("cW",), n_events=EVENTS, n_bsm=EVENTS, seed=1)
    sm = data.read_ntuple(data.ntuple_path(folder, "SM"))
    quad = data.read_ntuple(data.ntuple_path(folder, "QUAD", "cW"))
    assert 0 < len(sm.weights) < EVENTS and 0 < len(quad.weights) < EVENTS, \
        "the VBS cuts should keep some but not all generated events"
    model, history = models.train("vae", sm.features, sm.features, seed=1, epochs=1,
                                  verbose=0)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    losses = models.event_losses(model, quad.features)
    assert len(losses) == len(quad.weights)
    assert np.isfinite(losses.to_numpy()).all() and (losses["reco"] > 0).all()
    out = data.write_scores(folder / "scores.root", quad, {"reco": losses["reco"]})
    with uproot.open(out) as file:
        written = file[quad.name]["reco"].array(library="np")
    assert len(written) == quad.tree_entries
    np.testing.assert_allclose(written[quad.entries], losses["reco"].to_numpy(), rtol=1e-6)
    assert np.isnan(np.delete(written, quad.entries)).all(), "events outside the cuts hold NaN"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="the source tree, which vaednn must not be imported from")
    args = parser.parse_args(argv)
    names = check_installed_copy(args.source.resolve())
    with tempfile.TemporaryDirectory(prefix="vaednn-smoke-") as folder:
        check_user_path(Path(folder))
    print(f"wheel smoke test: {len(names)} modules imported from {sys.prefix}, "
          "one epoch trained, scores written to ROOT and read back")
    return 0


if __name__ == "__main__":
    sys.exit(main())
