"""Set-up for every pytest run: notebooks execute in quick mode, writing to a scratch folder.

The notebooks read their data, figure and model folders from the environment; pointing
them at a temporary folder keeps a test run from touching the committed figures or the
full data set, and the kernels nbval starts inherit these variables.
"""

import os
import shutil
import tempfile
from pathlib import Path

_SCRATCH = Path(tempfile.mkdtemp(prefix="vaednn-test-"))


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "agg")
    os.environ.setdefault("VAEDNN_QUICK", "1")
    for variable, folder in (("VAEDNN_DATA", "data"), ("VAEDNN_FIGURES", "figures"),
                             ("VAEDNN_RUNS", "runs")):
        os.environ.setdefault(variable, str(_SCRATCH / folder))


def pytest_unconfigure(config):
    shutil.rmtree(_SCRATCH, ignore_errors=True)
