"""A scan's results: the table read back from its trial files, and the trials ranked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from vaednn.scan.config import COLUMNS, METRICS

__all__ = ["load_results", "summary"]

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
