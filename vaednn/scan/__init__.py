"""Scans of models × hyperparameters × training operators × seeds, run on Ray Tune.

A grid (a YAML file or a dict, see :class:`Grid` and ``examples/scan.yaml``) names the
models, their hyperparameters, the operators whose LIN and QUAD samples train the VAE+DNN
classifiers, and the seeds; :meth:`Grid.trials` expands it as a Cartesian product. Each
trial trains one model on the training split and evaluates it with
:func:`vaednn.compare.compare` on the test split of every operator. :func:`run` hands the
trials to Ray Tune (``ray.tune.grid_search``), which runs as many at once as there are
CPUs (``cpus_per_trial`` each, TensorFlow's thread pools sized to match), on this machine
by default or on a Ray cluster given its ``address``.

What a scan leaves in ``out_dir``:

* ``trials/<trial_id>.json``: the result rows of one trial, written by the trial itself
  the moment it ends. ``trial_id`` is a hash of everything that determines the result
  (model, hyperparameters, training operator, seed, training options, a fingerprint of the
  data's contents and the vaednn version), so a
  rerun of the same scan skips the trials already there: an interrupted scan resumes
  where it stopped, and a grid grown by one value runs only the new trials.
* ``models/<model>-<trial_id>.keras``: each trained model (loads with
  ``keras.models.load_model``; it carries its input scaling).
* ``results.csv``: one row per trial × evaluated operator (:data:`COLUMNS`, then the
  hyperparameters), for :func:`load_results` and the plots.
* ``ray/``: Ray Tune's own logs of each run.

A trial that raises, or whose loss turns NaN, is recorded with ``status = "failed"`` and
its ``error`` (the trial file also keeps the traceback); the scan goes on, and a rerun does
not retry it unless ``retry_failed=True``. A trial whose Ray worker died (killed, out of
memory, node lost) is recorded as ``"crashed"`` and is run again by the next rerun.

One concern per module, each importing only those above it in this list:

- :mod:`~vaednn.scan.config`: :class:`Grid`, the configuration file, trial ids,
  :data:`COLUMNS` and :data:`METRICS`;
- :mod:`~vaednn.scan.trial`: one trial (:func:`run_trial`) and the function Ray runs;
- :mod:`~vaednn.scan.results`: the results table (:func:`load_results`) and the ranking
  (:func:`summary`);
- :mod:`~vaednn.scan.plots`: plots of the results;
- :mod:`~vaednn.scan.running`: the scan on Ray (:func:`run`) and ``vaednn scan``
  (:func:`main_from_args`).

This module only re-exports their public names.

>>> grid = Grid.from_dict({"models": {"vae": {"latent_dim": [2, 3]}}, "seeds": [0, 1]})
>>> [(t["hyperparameters"]["latent_dim"], t["seed"]) for t in grid.trials()]
[(2, 0), (2, 1), (3, 0), (3, 1)]
"""

from vaednn.scan.config import COLUMNS, METRICS, Grid
from vaednn.scan.trial import run_trial
from vaednn.scan.results import load_results, summary
from vaednn.scan.plots import plot_auc_vs_latent, plot_min_coefficient
from vaednn.scan.running import main_from_args, run

__all__ = [
    "Grid",
    "COLUMNS",
    "METRICS",
    "run",
    "run_trial",
    "main_from_args",
    "load_results",
    "summary",
    "plot_min_coefficient",
    "plot_auc_vs_latent",
]
