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

>>> grid = Grid.from_dict({"models": {"vae": {"latent_dim": [2, 3]}}, "seeds": [0, 1]})
>>> [(t["hyperparameters"]["latent_dim"], t["seed"]) for t in grid.trials()]
[(2, 0), (2, 1), (3, 0), (3, 1)]
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import json
import logging
import math
import os
import socket
import sys
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from vaednn import data as vdata
from vaednn import plotting, training_sets
from vaednn.extras import require
from vaednn.files import atomic_path, atomic_write_text, check_folder

log = logging.getLogger("vaednn")

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

#: Metrics a scan can be ranked by, and whether larger is better.
METRICS = {"AUC": True, "best_sigma": True, "min_abs_c": False, "c_hi_3sigma": False,
           "c_lo_3sigma": True}

#: The columns of the results table, before the hyperparameter columns.
COLUMNS = (
    "trial_id", "model", "train_operator", "seed", "operator",
    "AUC", "best_sigma", "best_cut", "sigma_error", "c_lo_3sigma", "c_hi_3sigma", "min_abs_c",
    "status", "error", "epochs", "train_seconds", "eval_seconds", "started", "finished",
    "host", "pid", "model_path",
)
_METRIC_COLUMNS = ("AUC", "best_sigma", "best_cut", "sigma_error", "c_lo_3sigma",
                   "c_hi_3sigma", "min_abs_c")

_TRAINING_DEFAULTS = dict(epochs=10, validation_split=0.2, weights="balanced")
_DATA_DEFAULTS = dict(split_seed=0, max_events=None, luminosity=vdata.LUMINOSITY, c=1.0)
_GRID_KEYS = {"models", "hyperparameters", "operators", "train_operators", "seeds",
              "training", "data_options", "resources", "metric", "data", "out"}


def _model_defaults():
    # Importing vaednn.models starts TensorFlow: done only when a grid is checked.
    from vaednn import models

    return models.DEFAULTS


def _number(value):
    """YAML 1.1 reads ``5e-4`` (no dot) as a string; take it as the number it means."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value


def _candidates(name: str, values, defaults: Mapping, where: str) -> list:
    """The list of values a hyperparameter takes; layer sizes are lists of lists."""
    values = _number(values)
    if not isinstance(values, list):
        values = [values]
    if not values:
        raise ValueError(f"{where}: {name!r} has an empty list of values")
    if isinstance(defaults.get(name), tuple):
        if not all(isinstance(v, list | tuple) for v in values):
            raise ValueError(f"{where}: {name!r} takes layer sizes, so give a list of them, "
                             f"e.g. [[20, 10, 7], [28, 14, 7]], got {values!r}")
        values = [tuple(int(u) for u in v) for v in values]
    return values


@dataclasses.dataclass
class Grid:
    """What a scan trains: every combination of the values listed.

    Attributes:
        models: model name (:data:`vaednn.models.MODEL_NAMES`) -> {hyperparameter: list of
            values} scanned for that model only (``{}`` for the model's defaults).
        hyperparameters: {hyperparameter: list of values} scanned for every model (each
            model must accept each name; see :data:`vaednn.models.DEFAULTS`). Layer sizes
            (``encoder_units``, ...) take a list of lists.
        operators: evaluated operators (None: every operator in the data).
        train_operators: operators whose LIN + QUAD samples, mixed with the SM training
            split, train the VAE+DNN models (None: the first evaluated operator). Plain
            VAEs train on SM alone, so they are not repeated per training operator
            (their ``train_operator`` is ``"SM"``).
        seeds: model seeds (initial weights, sampling, shuffling).
        training: ``epochs`` (10), ``validation_split`` (0.2; the held-out events give the
            ``val_*`` curves), ``weights`` of the VAE+DNN training events: ``"balanced"``
            (default: the signed yields, each class rescaled to the same sum of |w|),
            ``"yields"`` (signed yields at ``c``) or ``"unit"``; optional ``early_stopping``
            and ``patience`` as in ``model.fit``.
        data_options: ``split_seed`` (0; the train/test split, the same for every trial),
            ``max_events`` (None: every event), ``luminosity`` (fb^-1), ``c`` (the Wilson
            coefficient of the training mixture and of the AUC and best sigma).
        cpus_per_trial, gpus_per_trial: Ray resources each trial reserves.
        metric: the column the summary is ranked by (a key of :data:`METRICS`).
    """

    models: dict
    hyperparameters: dict = dataclasses.field(default_factory=dict)
    operators: list | None = None
    train_operators: list | None = None
    seeds: list = dataclasses.field(default_factory=lambda: [0])
    training: dict = dataclasses.field(default_factory=dict)
    data_options: dict = dataclasses.field(default_factory=dict)
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    metric: str = "min_abs_c"

    def __post_init__(self):
        defaults = _model_defaults()
        if isinstance(self.models, str):
            self.models = [self.models]
        if isinstance(self.models, list | tuple):
            self.models = {name: {} for name in self.models}
        if not self.models:
            raise ValueError("grid: 'models' is empty; name at least one model")
        scanned = {}
        for name, own in self.models.items():
            if name not in defaults:
                raise ValueError(f"grid: unknown model {name!r}; choose from {sorted(defaults)}")
            own = dict(own or {})
            both = set(own) & set(self.hyperparameters)
            if both:
                raise ValueError(f"grid: {sorted(both)} given both for {name!r} and in "
                                 "'hyperparameters'; give each in one place")
            merged = {**self.hyperparameters, **own}
            unknown = set(merged) - set(defaults[name])
            if unknown:
                raise ValueError(f"grid: {name!r} has no hyperparameter(s) {sorted(unknown)}; "
                                 f"it takes {sorted(defaults[name])}")
            scanned[name] = {key: _candidates(key, values, defaults[name], f"grid: {name!r}")
                             for key, values in sorted(merged.items())}
        self._scanned = scanned
        seeds = self.seeds if isinstance(self.seeds, list) else [self.seeds]
        bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int | np.integer)]
        if bad:
            raise ValueError(f"grid: seeds must be integers, got {bad}")
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise ValueError("grid: 'seeds' is empty")
        unknown = set(self.training) - set(_TRAINING_DEFAULTS) - {"early_stopping", "patience"}
        if unknown:
            raise ValueError(f"grid: unknown training option(s) {sorted(unknown)}; allowed: "
                             f"{sorted(_TRAINING_DEFAULTS) + ['early_stopping', 'patience']}")
        self.training = {**_TRAINING_DEFAULTS, **_number(dict(self.training))}
        if self.training["weights"] not in training_sets.WEIGHTINGS:
            raise ValueError(f"grid: training weights must be one of "
                             f"{training_sets.WEIGHTINGS}, got {self.training['weights']!r}")
        if int(self.training["epochs"]) < 1:
            raise ValueError(f"grid: epochs must be >= 1, got {self.training['epochs']}")
        unknown = set(self.data_options) - set(_DATA_DEFAULTS)
        if unknown:
            raise ValueError(f"grid: unknown data option(s) {sorted(unknown)}; allowed: "
                             f"{sorted(_DATA_DEFAULTS)}")
        self.data_options = {**_DATA_DEFAULTS, **_number(dict(self.data_options))}
        from vaednn import compare

        self.metric = compare.current_column(self.metric, "grid: metric")
        if self.metric not in METRICS:
            raise ValueError(f"grid: metric must be one of {sorted(METRICS)}, got {self.metric!r}")
        if not self.cpus_per_trial > 0 or self.gpus_per_trial < 0:
            raise ValueError(f"grid: cpus_per_trial must be > 0 and gpus_per_trial >= 0, got "
                             f"{self.cpus_per_trial} and {self.gpus_per_trial}")
        for key in ("operators", "train_operators"):
            value = getattr(self, key)
            if isinstance(value, str):
                setattr(self, key, [value])

    @classmethod
    def from_dict(cls, content: Mapping) -> Grid:
        """A grid from the content of a scan file (keys as in ``examples/scan.yaml``).

        ``data`` and ``out`` (where :func:`main_from_args` reads and writes) are ignored
        here; ``resources`` holds ``cpus_per_trial`` and ``gpus_per_trial``.
        """
        unknown = set(content) - _GRID_KEYS
        if unknown:
            raise ValueError(f"grid: unknown key(s) {sorted(unknown)}; allowed: {sorted(_GRID_KEYS)}")
        if "models" not in content:
            raise ValueError("grid: needs 'models'")
        resources = dict(content.get("resources") or {})
        unknown = set(resources) - {"cpus_per_trial", "gpus_per_trial"}
        if unknown:
            raise ValueError(f"grid: unknown resource(s) {sorted(unknown)}; allowed: "
                             "cpus_per_trial, gpus_per_trial")
        fields = {key: content[key] for key in ("models", "hyperparameters", "operators",
                                                "train_operators", "seeds", "training",
                                                "data_options", "metric") if key in content}
        fields = {key: value for key, value in fields.items() if value is not None}
        return cls(**fields, **{key: float(value) for key, value in resources.items()})

    @classmethod
    def load(cls, path) -> Grid:
        """A grid from a YAML file (see ``examples/scan.yaml``); errors name the file."""
        return _grid(_read_config(path), path)

    def resolve(self, source) -> Grid:
        """This grid with its operators taken from, and checked against, the data in ``source``."""
        available = vdata.operators_in(source)
        if not available:
            raise ValueError(f"{source}: no operator with both LIN and QUAD ntuples")
        operators = list(self.operators or available)
        train = list(self.train_operators or operators[:1])
        for key, wanted in (("operators", operators), ("train_operators", train)):
            missing = [op for op in wanted if op not in available]
            if missing:
                raise ValueError(f"grid: {key} {missing} are not in {source} "
                                 f"(it has {available})")
        return dataclasses.replace(self, operators=operators, train_operators=train)

    def trials(self, data_key: Mapping | None = None) -> list[dict]:
        """Every trial of the grid, in a stable order, each with its ``trial_id``.

        Args:
            data_key: what identifies the data (source, evaluated operators, options);
                it enters the trial ids so results on other data are never reused.
        """
        from vaednn import models

        train_operators = self.train_operators or [None]
        trials = []
        for name, scanned in self._scanned.items():
            dnn = models.is_classifier(name)
            keys = list(scanned)
            for values in itertools.product(*(scanned[k] for k in keys)):
                for op in (train_operators if dnn else ["SM"]):
                    for seed in self.seeds:
                        trial = {"model": name, "hyperparameters": dict(zip(keys, values)),
                                 "train_operator": op, "seed": seed,
                                 "training": dict(self.training),
                                 "data_options": dict(self.data_options)}
                        trial["trial_id"] = _trial_id(trial, data_key)
                        trials.append(trial)
        return trials


def _grid(content: Mapping, path) -> Grid:
    """:meth:`Grid.from_dict` of a configuration file, with errors that name the file."""
    try:
        return Grid.from_dict(content)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _read_config(path) -> dict:
    import yaml

    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a scan configuration")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: scan configuration not found")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise ValueError(f"{path}: not valid YAML ({reason})") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path}: a scan configuration is a mapping of keys "
                         "(models, hyperparameters, seeds, ...)")
    return content


def _jsonable(value):
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _trial_id(trial: Mapping, data_key: Mapping | None) -> str:
    content = json.dumps(_jsonable({**trial, "data": data_key}), sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:12]


# --------------------------------------------------------------------------- one trial

def _limit_threads(threads: int) -> None:
    """Size TensorFlow's pools to the trial's CPUs, so parallel trials do not oversubscribe."""
    import tensorflow as tf

    threads = max(1, int(threads))
    current = (tf.config.threading.get_intra_op_parallelism_threads(),
               tf.config.threading.get_inter_op_parallelism_threads())
    if current == (threads, threads):
        return
    # Only possible before TensorFlow's runtime starts; a reused Ray worker was set by
    # its first trial with the same CPU share, and is caught by the check above.
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def _training_arrays(trial: Mapping, samples, options: Mapping):
    """``(x, y, w)`` a model trains on, shuffled with the trial's seed."""
    from vaednn import models

    if not models.is_classifier(trial["model"]):
        x = samples.sm.features.to_numpy(np.float64)
        return x[np.random.default_rng(trial["seed"]).permutation(len(x))], None, None
    x, y, w = training_sets.classifier_set(samples, c=options["c"], seed=trial["seed"],
                                           luminosity=options["luminosity"],
                                           weighting=trial["training"]["weights"])
    if trial["model"] == "vae_dnn_separate":
        x = (training_sets.paired_sm(samples.sm.features, len(y), trial["seed"]), x)
    return x, y, w


def _fit(trial, samples, options):
    """Build and train; return the model and the epochs run. A NaN loss raises FloatingPointError."""
    from vaednn import models

    x, y, w = _training_arrays(trial, samples, options)
    training = trial["training"]
    fit_options = dict(epochs=int(training["epochs"]), verbose=0,
                       validation_split=float(training["validation_split"]))
    if training.get("early_stopping"):
        fit_options.update(early_stopping=training["early_stopping"],
                           patience=int(training.get("patience", 20)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        model, history = models.train(trial["model"], samples.sm.features, x, y, w,
                                      seed=trial["seed"], **trial["hyperparameters"],
                                      **fit_options)
    losses = np.asarray(history.history.get("loss", []), dtype=float)
    stopped = [str(w.message) for w in caught if "not finite" in str(w.message)]
    if stopped or not np.isfinite(losses).all():
        raise FloatingPointError(stopped[0] if stopped else f"the loss is not finite: {losses}")
    return model, len(losses)


def _row_template(trial: Mapping) -> dict:
    return {"trial_id": trial["trial_id"], "model": trial["model"],
            "train_operator": trial["train_operator"], "seed": trial["seed"]}


def _write_json(path: Path, content) -> None:
    atomic_write_text(path, json.dumps(_jsonable(content), indent=1))


def run_trial(trial: Mapping, data, out_dir, threads: int | None = None) -> list[dict]:
    """Train and evaluate one trial; write its rows and model to ``out_dir``.

    This is what each Ray trial runs; it can also be called directly (one process, no Ray).
    It never raises for a failure of the trial itself: the rows then have
    ``status = "failed"``, NaN metrics and the ``error``.

    Args:
        trial: one element of :meth:`Grid.trials`.
        data: :class:`vaednn.compare.EvaluationData` (the splits of every evaluated operator).
        out_dir: the scan's directory.
        threads: TensorFlow intra- and inter-op threads (None: leave TensorFlow's default).

    Returns:
        One row (dict) per evaluated operator, also written to ``trials/<trial_id>.json``.
    """
    out_dir = Path(out_dir)
    started = time.time()
    base = {**_row_template(trial), "status": "ok", "error": "", "epochs": 0,
            "train_seconds": math.nan, "eval_seconds": math.nan, "started": started,
            "host": socket.gethostname(), "pid": os.getpid(), "model_path": ""}
    options = trial["data_options"]
    hyperparameters = dict(trial["hyperparameters"])
    metrics = {op: dict.fromkeys(_METRIC_COLUMNS, math.nan) for op in data.operators}
    try:
        if threads is not None:
            _limit_threads(threads)
        import keras

        from vaednn import compare, models

        keras.backend.clear_session()
        hyperparameters = {**models.DEFAULTS[trial["model"]], **hyperparameters}
        op = trial["train_operator"]
        samples = data.train[data.operators[0] if op == "SM" else op]
        tick = time.perf_counter()
        model, base["epochs"] = _fit(trial, samples, options)
        base["train_seconds"] = time.perf_counter() - tick
        path = out_dir / "models" / f"{trial['model']}-{trial['trial_id']}.keras"
        with atomic_path(path) as temporary:
            model.save(temporary)
        base["model_path"] = str(path)
        tick = time.perf_counter()
        tables = compare.compare({trial["model"]: model}, data, c=options["c"],
                                 references=False)
        base["eval_seconds"] = time.perf_counter() - tick
        metrics = {op: {k: float(table.iloc[0][k]) for k in _METRIC_COLUMNS}
                   for op, table in tables.items()}
    except Exception as error:  # noqa: BLE001 - a trial's failure is a result, not a crash
        base["status"] = "failed"
        base["error"] = f"{type(error).__name__}: {error}"
        base["traceback"] = traceback.format_exc()
    base["finished"] = time.time()
    rows = [{**base, "operator": op, **metrics[op],
             **{f"hp_{k}": _cell(v) for k, v in hyperparameters.items()}}
            for op in data.operators]
    _write_json(out_dir / "trials" / f"{trial['trial_id']}.json",
                {"trial": trial, "rows": rows})
    return rows


def _cell(value):
    """Layer sizes as "20-10-7", so the table stays one scalar per cell."""
    if isinstance(value, tuple | list):
        return "-".join(str(int(v)) for v in value)
    return value


def _trainable(config, data=None):
    """The Ray Tune function trainable: one trial, then one report of its outcome."""
    from ray import tune

    trial = config["trial"]
    rows = run_trial(trial, data, config["out_dir"], threads=config["threads"])
    first = rows[0]
    values = [row[config["metric"]] for row in rows]
    tune.report({"trial_id": trial["trial_id"], "status": first["status"],
                 "error": first["error"], "epochs": first["epochs"],
                 "train_seconds": first["train_seconds"],
                 "score": float(np.mean(values)) if first["status"] == "ok" else math.nan})


# --------------------------------------------------------------------------- the scan

def _data_key(data, grid: Grid) -> dict:
    """What identifies the data: its contents (not its path), the options and this vaednn."""
    import vaednn

    contents = vdata.fingerprint(
        sample for op in grid.operators for split in (data.train, data.test)
        for sample in split[op])
    return {"contents": contents, "operators": list(grid.operators),
            "vaednn": vaednn.__version__, **grid.data_options}


def _finished(out_dir: Path, trials, retry_failed: bool) -> set[str]:
    done = set()
    for trial in trials:
        path = out_dir / "trials" / f"{trial['trial_id']}.json"
        if not path.is_file():
            continue
        try:
            rows = json.loads(path.read_text())["rows"]
        except (ValueError, KeyError):
            continue  # a file cut short by a crash: run the trial again
        status = rows[0]["status"] if rows else "crashed"
        if status == "ok" or (status == "failed" and not retry_failed):
            done.add(trial["trial_id"])
    return done


def _describe(trial: Mapping) -> str:
    hp = " ".join(f"{k}={_cell(v)}" for k, v in trial["hyperparameters"].items())
    return (f"{trial['model']}{' ' + hp if hp else ''} seed={trial['seed']} "
            f"trained on {trial['train_operator']}")


def _progress_callback(total: int, metric: str):
    require("ray", "vaednn scan")
    require("tqdm", "vaednn scan")
    from ray import tune
    # The text bar, in a notebook too: tqdm.auto's widget needs ipywidgets, and warns without.
    from tqdm import tqdm

    class Progress(tune.Callback):
        """A line per finished trial above a progress bar over the whole scan."""

        def __init__(self):
            self.bar = None

        def __getstate__(self):
            # Tune pickles its callbacks with the experiment; a bar on a stream cannot be.
            return {**self.__dict__, "bar": None}

        def setup(self, **info):
            self.bar = tqdm(total=total, desc="scan", unit="trial", file=sys.stderr)

        def on_trial_complete(self, iteration, trials, trial, **info):
            result = trial.last_result or {}
            if result.get("status") == "ok":
                outcome = (f"ok, mean {metric} = {result['score']:.4g}, "
                           f"{result['epochs']} epochs in {result['train_seconds']:.1f} s")
            else:
                outcome = f"FAILED: {result.get('error') or 'no result reported'}"
            log.info("[%d/%d] %s: %s", self.bar.n + 1, total, _describe(trial.config["trial"]),
                     outcome)
            self.bar.update(1)

        def on_trial_error(self, iteration, trials, trial, **info):
            log.info("[%d/%d] %s: CRASHED in Ray (worker lost; a rerun retries it)",
                     self.bar.n + 1, total, _describe(trial.config["trial"]))
            self.bar.update(1)

        def on_experiment_end(self, trials, **info):
            if self.bar is not None:
                self.bar.close()

    return Progress()


def _start_ray(address, num_cpus, runtime_env):
    """Connect to ``address``, or start Ray in this process on loopback only."""
    ray = require("ray", "vaednn scan")
    from ray.job_config import JobConfig

    if ray.is_initialized():
        return False
    package_root = str(Path(__file__).resolve().parents[1])
    if address is None:
        # No usage statistics sent out, no dashboard, workers find vaednn even if it is
        # not installed: a local scan touches nothing beyond loopback. address="local"
        # starts a new instance even where a `ray start` head runs on this machine: without
        # it, ray.init joins that cluster and refuses num_cpus.
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(),
                 include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False,
                 configure_logging=False, runtime_env=runtime_env,
                 job_config=JobConfig(code_search_path=[package_root]))
    else:
        if runtime_env is None:
            import vaednn

            # Ship this vaednn to the cluster, so its nodes need only the dependencies.
            runtime_env = {"py_modules": [vaednn]}
        _connect(ray, address, runtime_env)
    return True


#: What a client must set to reach a head node that uses token authentication.
_TOKEN_HELP = ("set RAY_AUTH_TOKEN to the head's token (`ray get-auth-token` on the head "
               "prints it), or RAY_AUTH_TOKEN_PATH to a file holding it, or put it in "
               "~/.ray/auth_token; RAY_AUTH_MODE=disabled if the head has no authentication")


def _connect(ray, address: str, runtime_env) -> None:
    """``ray.init(address=...)``, token authentication included.

    ``ray start --head`` turns token authentication on when it finds a token, but
    ``ray.init`` only sends one when ``RAY_AUTH_MODE=token``; so with a token at hand
    and no mode chosen, the mode is set here. A connection that fails for want of a
    usable token is a one-line ``ConnectionError`` saying what to set.
    """
    from ray._private.authentication.authentication_token_setup import (
        maybe_enable_token_auth_if_token_available,
    )

    # Ray's own rule for `ray start --head`: with RAY_AUTH_MODE unset, a token found in
    # RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token turns token mode on (it
    # also refreshes Ray's cached configuration, which reading the variable alone misses).
    try:
        # Raises too, where a token file is named but missing or empty.
        maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
    except Exception as error:
        from ray.exceptions import AuthenticationError

        reason = " ".join(str(getattr(error, "message", error)).split())
        if isinstance(error, AuthenticationError) or "auth" in reason.lower():
            raise ConnectionError(f"{address}: the Ray head refused the connection "
                                  f"({reason}); {_TOKEN_HELP}") from None
        if isinstance(error, ConnectionError | TimeoutError):
            raise ConnectionError(f"{address}: cannot connect to a Ray head ({reason}); "
                                  f"is `ray start --head` running there? If it uses token "
                                  f"authentication, {_TOKEN_HELP}") from None
        raise


def run(grid, data_dir, out_dir, address: str | None = None, *, resume: bool = True,
        retry_failed: bool = False, metric: str | None = None, num_cpus: int | None = None,
        runtime_env: dict | None = None, verbose: bool = True) -> pd.DataFrame:
    """Run every trial of ``grid`` on Ray Tune and return the results table.

    Args:
        grid: a :class:`Grid`, a dict of its keys, or the path of a YAML scan file.
        data_dir: a directory of ntuples (generated or real), or a sample map, holding the
            SM sample and the LIN and QUAD samples of every operator of the grid.
        out_dir: where trials, models and ``results.csv`` go (created if needed). On a
            cluster it must be a directory every node sees (a shared file system).
        address: None starts Ray in this process (CPUs: ``num_cpus``, default all) with
            no dashboard and no network beyond loopback; ``"ray://host:10001"`` connects to
            a cluster through Ray Client, ``"auto"`` to the cluster this machine belongs to.
            An already initialised Ray is used as it is.
        resume: skip the trials whose results are already in ``out_dir``; False runs
            every trial again.
        retry_failed: when resuming, run the failed trials again too.
        metric: the summary's ranking metric (default the grid's).
        num_cpus: CPUs of the local Ray (ignored with ``address``).
        runtime_env: Ray runtime environment; with ``address`` it defaults to shipping
            this ``vaednn`` package to the cluster.
        verbose: log the plan, a line per finished trial and the summary (logger
            ``vaednn``, level INFO) and show a progress bar. Where nobody configured
            logging (a notebook, a script), these lines go to stderr for the scan's
            duration; a configured logger (the ``vaednn`` command, ``--quiet``) is left as
            it is.

    Returns:
        The results of every trial of the grid (finished before or now): one row per trial
        × evaluated operator, columns :data:`COLUMNS` then ``hp_<hyperparameter>``.
    """
    if not isinstance(grid, Grid):
        grid = Grid.from_dict(grid) if isinstance(grid, Mapping) else Grid.load(grid)
    grid = grid.resolve(data_dir)
    from vaednn import compare

    metric = compare.current_column(metric or grid.metric, "metric")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    out_dir = check_folder(Path(out_dir).resolve())
    out_dir.mkdir(parents=True, exist_ok=True)
    data = _prepare(data_dir, grid)
    trials = grid.trials(_data_key(data, grid))
    done = _finished(out_dir, trials, retry_failed) if resume else set()
    pending = [t for t in trials if t["trial_id"] not in done]
    with _progress_shown(verbose):
        return _run(grid, trials, done, pending, data, out_dir, address, metric, num_cpus,
                    runtime_env, verbose)


@contextlib.contextmanager
def _progress_shown(verbose: bool):
    """Show the scan's INFO lines on stderr when ``verbose`` and nobody configured logging."""
    configured = (any(not isinstance(h, logging.NullHandler) for h in log.handlers)
                  or logging.getLogger().handlers)
    if not verbose or configured:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def _run(grid, trials, done, pending, data, out_dir, address, metric, num_cpus, runtime_env,
         verbose):
    say = log.info if verbose else (lambda *args, **kwargs: None)
    say(f"vaednn scan: {len(trials)} trials ({len(done)} already in {out_dir}, "
        f"{len(pending)} to run), evaluated on {', '.join(grid.operators)}; "
        f"{grid.cpus_per_trial:g} CPU per trial on "
        f"{'a local Ray' if address is None else address}")
    if pending:
        _run_pending(pending, grid, data, out_dir, address, metric, num_cpus,
                     runtime_env, verbose)
    results = load_results(out_dir, trial_ids=[t["trial_id"] for t in trials])
    with atomic_path(out_dir / "results.csv") as temporary:
        results.to_csv(temporary, index=False)
    missing = len(trials) - results["trial_id"].nunique() if len(results) else len(trials)
    if verbose:
        with pd.option_context("display.width", 200, "display.max_columns", 30,
                               "display.float_format", "{:.4g}".format):
            say(f"\nTrials ranked by {metric} ({'higher' if METRICS[metric] else 'lower'} is "
                f"better; mean over the evaluated operators):")
            say(summary(results, metric).to_string())
        failed = results.loc[results["status"] != "ok", "trial_id"].nunique() if len(results) else 0
        say(f"\n{len(trials) - missing - failed} ok, {failed} failed or crashed"
            + (f", {missing} not finished (interrupted? run again to resume)" if missing else "")
            + f"; table: {out_dir / 'results.csv'}")
    return results


def _trial_name(trial) -> str:
    return f"{trial.config['trial']['model']}-{trial.config['trial']['trial_id']}"


def _prepare(data_dir, grid: Grid):
    """The train and test splits of every evaluated operator, read once per scan."""
    from vaednn import compare

    options = grid.data_options
    return compare.prepare(data_dir, grid.operators, seed=int(options["split_seed"]),
                           luminosity=float(options["luminosity"]),
                           max_events=options["max_events"])


def _check_resources(grid: Grid, available: Mapping) -> None:
    """Refuse a grid whose trials ask for more than the Ray cluster has.

    Ray would queue such a trial and wait for ever (``gpus_per_trial: 1`` on a machine
    without a GPU), so it is refused before any trial starts.

    Args:
        grid: the scan's grid.
        available: Ray's ``ray.cluster_resources()`` (``{"CPU": 2.0, ...}``).

    Raises:
        ValueError: a trial needs more CPUs or GPUs than the cluster has; the message
            names the resources Ray sees.
    """
    for key, wanted in (("CPU", grid.cpus_per_trial), ("GPU", grid.gpus_per_trial)):
        if wanted > available.get(key, 0.0):
            seen = {k: v for k, v in sorted(available.items()) if k in ("CPU", "GPU")}
            raise ValueError(f"grid: {key.lower()}s_per_trial = {wanted:g}, but the Ray "
                             f"cluster has {available.get(key, 0.0):g} {key}(s) ({seen}); "
                             "no trial could start")


def _run_pending(pending, grid, data, out_dir, address, metric, num_cpus, runtime_env,
                 verbose):
    """Put the data in Ray's object store once and run the pending trials."""
    ray = require("ray", "vaednn scan")
    from ray import tune

    # The classic reporter at verbose=0 prints nothing: our callback reports progress.
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    started = _start_ray(address, num_cpus, runtime_env)
    try:
        _check_resources(grid, ray.cluster_resources())
        resources = {"cpu": grid.cpus_per_trial, "gpu": grid.gpus_per_trial}
        trainable = tune.with_resources(tune.with_parameters(_trainable, data=data), resources)
        callbacks = [_progress_callback(len(pending), metric)] if verbose else []
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(pending), "out_dir": str(out_dir),
                         "threads": max(1, int(grid.cpus_per_trial)), "metric": metric},
            # Reused workers keep TensorFlow imported: a trial then pays no start-up.
            tune_config=tune.TuneConfig(reuse_actors=True, trial_name_creator=_trial_name,
                                        trial_dirname_creator=_trial_name),
            run_config=tune.RunConfig(name=f"scan-{time.strftime('%Y%m%d-%H%M%S')}",
                                      storage_path=str(out_dir / "ray"), verbose=0,
                                      callbacks=callbacks,
                                      failure_config=tune.FailureConfig(max_failures=0)),
        )
        if verbose:
            require("tqdm", "vaednn scan")
            from tqdm.contrib.logging import logging_redirect_tqdm

            # Per-trial lines go through the logger, printed above the bar, not into it.
            with logging_redirect_tqdm(loggers=[log]):
                grid_results = tuner.fit()
        else:
            grid_results = tuner.fit()
        for result in grid_results:
            # A worker that died (killed, out of memory, node lost) wrote nothing: record it
            # as crashed, which a rerun retries, unlike a failure of the trial's own code.
            trial = (result.config or {}).get("trial")
            if result.error is not None and trial is not None and not (
                    out_dir / "trials" / f"{trial['trial_id']}.json").exists():
                rows = [{**_row_template(trial), "operator": op, "status": "crashed",
                         "error": f"Ray: {result.error}", "finished": time.time(),
                         **dict.fromkeys(_METRIC_COLUMNS, math.nan)} for op in grid.operators]
                _write_json(out_dir / "trials" / f"{trial['trial_id']}.json",
                            {"trial": trial, "rows": rows})
    finally:
        if started:
            ray.shutdown()


def load_results(out_dir, trial_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The results table of the scans in ``out_dir``: one row per trial × operator.

    Read from the trial files, so it is complete even if a scan was interrupted.

    Args:
        out_dir: a scan's directory.
        trial_ids: only these trials (default every trial in ``out_dir``).

    Returns:
        DataFrame with :data:`COLUMNS` then ``hp_<name>`` columns, one per hyperparameter
        (NaN where a model does not have it), sorted by model, trial and operator.
    """
    directory = Path(out_dir) / "trials"
    if not directory.is_dir():
        raise FileNotFoundError(f"{out_dir}: no scan results here (no trials/ directory)")
    paths = sorted(directory.glob("*.json"))
    if trial_ids is not None:
        wanted = set(trial_ids)
        paths = [p for p in paths if p.stem in wanted]
    rows = []
    for path in paths:
        try:
            rows += json.loads(path.read_text())["rows"]
        except (ValueError, KeyError) as error:
            raise ValueError(f"{path}: not a readable trial result ({error})") from None
    from vaednn import compare

    # Trials written by an earlier release name the 3 sigma reach c_minus/c_plus.
    table = compare.current_columns(pd.DataFrame(rows), f"{directory}: trial results")
    for column in COLUMNS:
        if column not in table:
            table[column] = pd.Series(dtype=float)
    hp = sorted(c for c in table.columns if c.startswith("hp_"))
    table = table[list(COLUMNS) + hp]
    table["error"] = table["error"].fillna("")
    return table.sort_values(["model", "trial_id", "operator"]).reset_index(drop=True)


def summary(results: pd.DataFrame, metric: str = "min_abs_c") -> pd.DataFrame:
    """One row per trial, ranked best first by ``metric`` averaged over the operators.

    Columns: the model, training operator, seed, the hyperparameters that vary in
    ``results``, ``metric`` on each evaluated operator, their ``mean``, ``status``.
    Failed trials come last.

    >>> table = pd.DataFrame({"trial_id": ["a", "a", "b", "b"], "model": "vae",
    ...     "train_operator": "SM", "seed": 0, "operator": ["cW", "cHbox"] * 2,
    ...     "AUC": [0.5, 0.7, 0.75, 0.25], "status": "ok", "hp_latent_dim": [2, 2, 3, 3]})
    >>> ranked = summary(table, "AUC")
    >>> ranked.index.tolist(), ranked["mean"].tolist(), ranked["hp_latent_dim"].tolist()
    (['a', 'b'], [0.6, 0.5], [2, 3])
    """
    from vaednn import compare

    metric = compare.current_column(metric, "summary: metric")
    results = compare.current_columns(results, "summary: results")
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {metric!r}")
    if results.empty:
        return pd.DataFrame()
    hp = [c for c in results.columns if c.startswith("hp_")
          and results[c].astype(str).nunique() > 1]
    keys = ["model", "train_operator", "seed", *hp]
    per_trial = results.groupby("trial_id", sort=False).first()[keys + ["status"]]
    values = results.pivot(index="trial_id", columns="operator", values=metric)
    values["mean"] = values.mean(axis=1, skipna=False)
    table = per_trial.join(values)
    table["_failed"] = table["status"] != "ok"
    table = table.sort_values(["_failed", "mean"], ascending=[True, not METRICS[metric]],
                              na_position="last")
    return table.drop(columns="_failed")


# --------------------------------------------------------------------------- plots

def _ok(results: pd.DataFrame) -> pd.DataFrame:
    ok = results[results["status"] == "ok"]
    if ok.empty:
        raise ValueError("no successful trial in the results to plot")
    return ok


def _trained_label(model, train_operator) -> str:
    return f"{model} (trained on {train_operator})"


def _configurations(ok: pd.DataFrame) -> pd.Series:
    """A key per hyperparameter configuration: trials that differ only in their seed share it."""
    hp = sorted(c for c in ok.columns if c.startswith("hp_"))
    if not hp:
        return pd.Series("", index=ok.index)
    return ok[hp].apply(lambda row: repr(tuple(row)), axis=1)


@plotting.plot_helper
def plot_min_coefficient(results: pd.DataFrame, ax=None, *, log: bool = True):
    """The smallest |c| reaching 3 sigma, per evaluated operator (groups) and per model and
    training operator (bars): trials trained on different operators are never pooled.

    For each model and training operator, the hyperparameter configuration with the smallest
    ``min_abs_c`` averaged over its seeds is shown: the bar is that mean, the error bar the
    standard deviation over the seeds (ddof = 1; none for a single seed). A configuration
    that never reaches 3 sigma on an operator with some seed (|c| infinite) gets no bar but
    a ``x`` marker at the foot of the axis, labelled in the legend.

    Returns:
        dict ``(model, train_operator)`` -> the BarContainer drawn (and ``"never 3 sigma"``
        -> the markers, if any).
    """
    ok = _ok(results).assign(_config=lambda t: _configurations(t))
    keys = ["model", "train_operator", "_config", "operator"]
    # Sorted: lookups by a partial key on an unsorted MultiIndex are slow, and pandas warns.
    per_config = ok.groupby(keys)["min_abs_c"].agg(["mean", "std", "count"])
    operators = list(dict.fromkeys(ok["operator"]))
    lines = list(dict.fromkeys(zip(ok["model"], ok["train_operator"])))
    _, ax = plotting.new_axes(ax)
    width = 0.8 / len(lines)
    x = np.arange(len(operators))
    drawn, never, seeded = {}, [], False
    for index, (model, trained) in enumerate(lines):
        here = per_config.loc[(model, trained)]
        # the configuration with the best mean over operators, infinite means ranking last
        ranking = here["mean"].replace(np.inf, np.nan).groupby(level="_config").mean()
        best = here.loc[ranking.fillna(np.inf).idxmin()].reindex(operators)
        values = best["mean"].to_numpy(float)
        errors = best["std"].to_numpy(float)
        seeded |= bool((best["count"] > 1).any())
        position = x - 0.4 + width * (index + 0.5)
        finite = np.isfinite(values)
        drawn[(model, trained)] = ax.bar(
            position[finite], values[finite], width, color=plotting.model_color(index),
            yerr=np.where(np.isfinite(errors), errors, 0.0)[finite], capsize=2,
            label=_trained_label(model, trained))
        never += list(position[~finite])
    if log:
        ax.set_yscale("log")
    if never:
        drawn["never 3 sigma"] = ax.plot(never, np.full(len(never), ax.get_ylim()[0]), "x",
                                         color="black", clip_on=False, ls="none",
                                         label=r"never reaches 3$\sigma$")[0]
    ax.set_xticks(x, operators)
    ax.set_xlabel("evaluated operator")
    spread = "\n(best configuration; mean ± std over seeds)" if seeded else " (best trial)"
    ax.set_ylabel(r"min $|c|$ for $\sigma \geq 3$" + spread)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return drawn


@plotting.plot_helper
def plot_auc_vs_latent(results: pd.DataFrame, ax=None, *, operator: str | None = None):
    """AUC versus latent dimension, one line per model and training operator: trials trained
    on different operators are never averaged together.

    A trial's AUC is its mean over the evaluated operators (or that on ``operator`` alone).
    Each point is the mean over the trials with that latent dimension (the seeds, and any
    other hyperparameter that varies), the error bar their standard deviation (ddof = 1;
    none for a single trial), as the axis label says.

    Returns:
        dict ``(model, train_operator)`` -> the ErrorbarContainer drawn.
    """
    ok = _ok(results)
    if "hp_latent_dim" not in ok:
        raise ValueError("results have no hp_latent_dim column")
    if operator is not None:
        if operator not in set(ok["operator"]):
            raise ValueError(f"operator {operator!r} is not in the results "
                             f"({sorted(set(ok['operator']))})")
        ok = ok[ok["operator"] == operator]
    keys = ["model", "train_operator", "trial_id", "hp_latent_dim"]
    per_trial = ok.groupby(keys, as_index=False, sort=False)["AUC"].mean()
    _, ax = plotting.new_axes(ax)
    drawn = {}
    groups = per_trial.groupby(["model", "train_operator"], sort=False)
    for index, ((model, trained), group) in enumerate(groups):
        spread = group.groupby("hp_latent_dim")["AUC"].agg(["mean", "std"])
        drawn[(model, trained)] = ax.errorbar(
            spread.index.to_numpy(float), spread["mean"].to_numpy(float),
            yerr=spread["std"].to_numpy(float), marker="o",
            capsize=3, color=plotting.model_color(index), label=_trained_label(model, trained))
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("AUC" + (f" on {operator}" if operator else ", mean over operators")
                  + "\n(mean ± std over seeds)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return drawn


# --------------------------------------------------------------------------- command line

def main_from_args(config_path, data=None, out_dir=None, address: str | None = None,
                   resume: bool = True, metric: str | None = None,
                   retry_failed: bool = False, num_cpus: int | None = None) -> int:
    """What ``vaednn scan --config FILE`` does.

    ``data`` and ``out_dir`` default to the file's ``data`` and ``out`` keys, then to
    ``$VAEDNN_DATA`` (or ``data/generated``) and ``scans/<file stem>``; relative paths in
    the file are relative to the current directory.

    Returns:
        The exit status: 0 when every trial is ok, 1 when some failed or did not finish.
    """
    content = _read_config(config_path)
    data = data or content.get("data") or vdata.default_data_dir()
    out_dir = out_dir or content.get("out") or Path("scans") / Path(config_path).stem
    grid = _grid(content, config_path)
    results = run(grid, data, out_dir, address=address, resume=resume, metric=metric,
                  retry_failed=retry_failed, num_cpus=num_cpus)
    n_trials = len(grid.resolve(data).trials())
    ok = results.loc[results["status"] == "ok", "trial_id"].nunique()
    return 0 if ok == n_trials else 1
