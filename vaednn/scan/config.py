"""A scan's grid and what identifies its trials.

:class:`Grid` reads a YAML file (:func:`read_config`) or a dict and checks it: the models and
their hyperparameters, the operators, the training and data options, the resources and the
ranking metric. :meth:`Grid.trials` expands it, and a trial's id is a hash of everything
that determines its result. :data:`COLUMNS` and :data:`METRICS` name the results table's
columns and the metrics a scan is ranked by.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from vaednn import data as vdata
from vaednn import training_sets
from vaednn.files import existing_file

__all__ = ["Grid", "COLUMNS", "METRICS", "METRIC_COLUMNS", "read_config", "grid_from_config",
           "jsonable"]

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
METRIC_COLUMNS = ("AUC", "best_sigma", "best_cut", "sigma_error", "c_lo_3sigma",
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
        return grid_from_config(read_config(path), path)

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


def grid_from_config(content: Mapping, path) -> Grid:
    """:meth:`Grid.from_dict` of a configuration file, with errors that name the file."""
    try:
        return Grid.from_dict(content)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def read_config(path) -> dict:
    import yaml

    path = existing_file(path, "scan configuration")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise ValueError(f"{path}: not valid YAML ({reason})") from None
    if not isinstance(content, dict):
        raise ValueError(f"{path}: a scan configuration is a mapping of keys "
                         "(models, hyperparameters, seeds, ...)")
    return content


def jsonable(value):
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _trial_id(trial: Mapping, data_key: Mapping | None) -> str:
    content = json.dumps(jsonable({**trial, "data": data_key}), sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:12]
