"""Running a scan on Ray Tune: the data read once, the pending trials, progress, resuming.

:func:`run` starts Ray in this process (loopback only) or connects to a cluster, skips the
trials whose results are already in ``out_dir``, runs the others and writes
``results.csv``; :func:`main_from_args` is ``vaednn scan --config FILE``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from vaednn import data as vdata
from vaednn.extras import require
from vaednn.files import atomic_path, check_folder
from vaednn.scan.config import METRIC_COLUMNS, METRICS, Grid, grid_from_config, read_config
from vaednn.scan.results import load_results, summary
from vaednn.scan.trial import cell, row_template, tune_trainable, write_json

log = logging.getLogger("vaednn")

__all__ = ["run", "main_from_args"]

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
    hp = " ".join(f"{k}={cell(v)}" for k, v in trial["hyperparameters"].items())
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
    # This file is vaednn/scan/running.py: the folder two levels up holds vaednn.
    package_root = str(Path(__file__).resolve().parents[2])
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
        trainable = tune.with_resources(tune.with_parameters(tune_trainable, data=data), resources)
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
                rows = [{**row_template(trial), "operator": op, "status": "crashed",
                         "error": f"Ray: {result.error}", "finished": time.time(),
                         **dict.fromkeys(METRIC_COLUMNS, math.nan)} for op in grid.operators]
                write_json(out_dir / "trials" / f"{trial['trial_id']}.json",
                            {"trial": trial, "rows": rows})
    finally:
        if started:
            ray.shutdown()




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
    content = read_config(config_path)
    data = data or content.get("data") or vdata.default_data_dir()
    out_dir = out_dir or content.get("out") or Path("scans") / Path(config_path).stem
    grid = grid_from_config(content, config_path)
    results = run(grid, data, out_dir, address=address, resume=resume, metric=metric,
                  retry_failed=retry_failed, num_cpus=num_cpus)
    n_trials = len(grid.resolve(data).trials())
    ok = results.loc[results["status"] == "ok", "trial_id"].nunique()
    return 0 if ok == n_trials else 1
