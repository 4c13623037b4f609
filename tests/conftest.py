"""Fixtures shared by the test files: a small generated data set, written once per session."""

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "agg")
# ``import helpers`` (tests/helpers.py) from the test files: pytest's importlib mode does not
# put the test folder on the path.
sys.path.insert(0, str(Path(__file__).parent))

#: What ``generated_dir`` holds: easy bosonic, four-quark, rate-only and invisible operators.
GENERATED_OPERATORS = ("cW", "cqq3", "cHl3", "cHbox")


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory):
    """A directory of ntuples: SM (20k events) and LIN/QUAD (10k each) of four operators."""
    from vaednn.simulate import write_ntuples

    directory = tmp_path_factory.mktemp("ntuples")
    write_ntuples(directory, operators=GENERATED_OPERATORS, n_events=20_000, n_bsm=10_000,
                  seed=1)
    return directory


@pytest.fixture(scope="session")
def architecture():
    """``tests/test_architecture.py`` as a module: the import map's parser and the package
    checks, so every package test reads imports and statements the same way."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("test_architecture.py")
    spec = importlib.util.spec_from_file_location("architecture", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
