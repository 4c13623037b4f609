"""A grid of trials through the Ray scan against the same trials one after another.

Reference (slow): one process trains and evaluates every trial in turn
(:func:`vaednn.scan.run_trial`, TensorFlow with its default thread pools over every core),
as a script looping over the grid would. Scan: :func:`vaednn.scan.run` on a Ray started
in-process, one CPU per trial, trials in parallel. Both include reading the data; the scan
also pays Ray's start and its workers' TensorFlow import. TensorFlow is imported before
either is timed.

Requirement (issue 8): >= 1.6x for 8 quick trials on a 2-core machine.

Run: ``python benchmarks/bench_scan.py [--quick]``.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

from common import command_line

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REQUIRED = 1.6


def main() -> None:
    args = command_line(__doc__, "4 one-epoch trials on less data", options={
        "--epochs": dict(type=int, help="epochs per trial (default 30, quick 1)")})

    from vaednn import compare, models, scan, simulate  # noqa: F401 - TensorFlow now, untimed
    from vaednn.scan import running

    n_events, n_bsm = (10_000, 5_000) if args.quick else (40_000, 10_000)
    epochs = args.epochs or (1 if args.quick else 30)
    latent = [2, 3] if args.quick else [2, 3, 4, 5]
    grid = scan.Grid.from_dict({
        "models": {"vae": {"latent_dim": latent}}, "seeds": [0, 1],
        "operators": ["cW", "cHbox"], "training": {"epochs": epochs},
        "resources": {"cpus_per_trial": 1}})
    cpus = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        simulate.write_ntuples(tmp / "data", operators=("cW", "cHbox"), n_events=n_events,
                               n_bsm=n_bsm, seed=0)
        resolved = grid.resolve(tmp / "data")
        trials = resolved.trials()
        print(f"{len(trials)} trials: vae, latent {latent} x seeds [0, 1], {epochs} epoch(s), "
              f"{n_events} SM events generated; {cpus} CPUs")

        start = time.perf_counter()
        data = compare.prepare(tmp / "data", resolved.operators)
        reference_rows = [scan.run_trial(t, data, tmp / "reference")[0] for t in trials]
        reference = time.perf_counter() - start
        assert all(row["status"] == "ok" for row in reference_rows), reference_rows

        import ray

        wall_start, start = time.time(), time.perf_counter()
        # What run() does when Ray is not running, timed on its own to show its share.
        running._start_ray(None, cpus, None)
        ray_start = time.perf_counter() - start
        results = scan.run(grid, tmp / "data", tmp / "scan", verbose=False)
        scanned = time.perf_counter() - start
        ray.shutdown()
        assert (results["status"] == "ok").all(), results["error"].unique()

    per_trial = results.drop_duplicates("trial_id")
    overhead = per_trial["started"].min() - wall_start
    trial_sequential = reference / len(trials)
    trial_parallel = float((per_trial["finished"] - per_trial["started"]).mean())
    slots = cpus  # one CPU per trial
    ratio = reference / scanned
    print(f"one after another, one process: {reference:7.1f} s  ({trial_sequential:.1f} s per trial)")
    print(f"Ray scan, {slots} trials at once:  {scanned:7.1f} s  (start-up before the first "
          f"trial {overhead:.1f} s, of which Ray itself {ray_start:.1f} s; then "
          f"{trial_parallel:.1f} s per trial, {slots} at a time)")
    print(f"model: T(n) = {overhead:.0f} s + ceil(n / {slots}) x {trial_parallel:.1f} s; "
          f"for 100 trials ~{overhead + math.ceil(100 / slots) * trial_parallel:.0f} s vs "
          f"{100 * trial_sequential:.0f} s one after another")
    print(f"speed-up: {ratio:.2f}x (requirement: >= {REQUIRED}x for 8 quick trials on 2 cores"
          f"{'; --quick runs 4 shorter trials, for a check only' if args.quick else ''})")


if __name__ == "__main__":
    main()
