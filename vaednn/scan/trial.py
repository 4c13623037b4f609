"""One trial of a scan: train a model, evaluate it on every operator, write its rows.

:func:`run_trial` is what each Ray trial runs (through :func:`tune_trainable`, which Ray's
workers import by this module's path); it can also be called directly, without Ray.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import traceback
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from vaednn import training_sets
from vaednn.files import atomic_path, atomic_write_text
from vaednn.scan.config import METRIC_COLUMNS, jsonable

__all__ = ["run_trial", "tune_trainable", "row_template", "write_json", "cell"]

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


def row_template(trial: Mapping) -> dict:
    return {"trial_id": trial["trial_id"], "model": trial["model"],
            "train_operator": trial["train_operator"], "seed": trial["seed"]}


def write_json(path: Path, content) -> None:
    atomic_write_text(path, json.dumps(jsonable(content), indent=1))


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
    base = {**row_template(trial), "status": "ok", "error": "", "epochs": 0,
            "train_seconds": math.nan, "eval_seconds": math.nan, "started": started,
            "host": socket.gethostname(), "pid": os.getpid(), "model_path": ""}
    options = trial["data_options"]
    hyperparameters = dict(trial["hyperparameters"])
    metrics = {op: dict.fromkeys(METRIC_COLUMNS, math.nan) for op in data.operators}
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
        metrics = {op: {k: float(table.iloc[0][k]) for k in METRIC_COLUMNS}
                   for op, table in tables.items()}
    except Exception as error:  # noqa: BLE001 - a trial's failure is a result, not a crash
        base["status"] = "failed"
        base["error"] = f"{type(error).__name__}: {error}"
        base["traceback"] = traceback.format_exc()
    base["finished"] = time.time()
    rows = [{**base, "operator": op, **metrics[op],
             **{f"hp_{k}": cell(v) for k, v in hyperparameters.items()}}
            for op in data.operators]
    write_json(out_dir / "trials" / f"{trial['trial_id']}.json",
                {"trial": trial, "rows": rows})
    return rows


def cell(value):
    """Layer sizes as "20-10-7", so the table stays one scalar per cell."""
    if isinstance(value, tuple | list):
        return "-".join(str(int(v)) for v in value)
    return value


def tune_trainable(config, data=None):
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
