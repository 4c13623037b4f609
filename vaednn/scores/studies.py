"""Seed studies of the SM-only scores: train every score once per seed (:func:`fit_seeds`),
their figures of merit per seed (:func:`seed_study`, :func:`seed_tables`) and their 95 %
interval widths relative to counting (:func:`width_ratios`, :func:`plot_width_ratios`)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from vaednn import models, plotting
from vaednn.models.inputs import feature_names, features_array
from vaednn.scores.base import AnomalyScore, checked_weights
from vaednn.scores.registry import make
from vaednn.scores.vae import VAEScore

__all__ = ["fit_seeds", "seed_study", "seed_tables", "width_ratios", "plot_width_ratios"]


def fit_seeds(scores: Mapping[str, dict], x_sm, seeds, *, sample_weight=None, x_val=None,
              w_val=None, features=None, log_features=None) -> dict[str, list[AnomalyScore]]:
    """Train every score once per seed on the same SM events.

    The ``vae_*`` scores of one VAE configuration (the same ``model``, epochs and
    hyperparameters) share their VAEs: the seeds train together as one
    :func:`vaednn.models.ensemble` (vmapped on JAX), and reco, KL, sum and the feature
    errors are read off the same members.

    Args:
        scores: score name (:data:`SCORES`) -> its hyperparameters (as for :func:`make`).
        x_sm, sample_weight, x_val, w_val, features, log_features: as
            :meth:`AnomalyScore.fit`.
        seeds: distinct seeds; member ``i`` of every score has ``seeds[i]``.

    Returns:
        score name -> one fitted score per seed.
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds}")
    out = {name: [make(name, seed=s, **dict(hp)) for s in seeds] for name, hp in scores.items()}
    variables = dict(zip(("features", "log_features"),
                         feature_names(x_sm, features, log_features)))
    x = features_array(x_sm, "x_sm", *variables.values())
    w = checked_weights(sample_weight, len(x))
    val = None if x_val is None else (features_array(x_val, "x_val", *variables.values()),
                                      checked_weights(w_val, len(x_val), "w_val"))
    shared = {}
    for name, members in out.items():
        if isinstance(members[0], VAEScore):
            first = members[0]
            key = json.dumps([first.model_name, first.epochs, first.patience,
                              first.hyperparameters], sort_keys=True, default=str)
            shared.setdefault(key, []).append(name)
        else:
            for member in members:
                member.fit(x, w, *(val or (None, None)), **variables)
    for names in shared.values():
        first = out[names[0]][0]
        group = models.ensemble(first.model_name, x, seeds, **variables,
                                **first.hyperparameters)
        group.fit(x, **first.fit_options(w, val))
        for name in names:
            for member, model in zip(out[name], group.models):
                member.adopt(model, x)
    return out


def seed_study(scorers: Mapping, data, *, operators=None, c: float = 1.0) -> pd.DataFrame:
    """Figures of merit of every seed of every score, on held-out events.

    Args:
        scorers: row name -> a list of fitted scores (one per seed, from :func:`fit_seeds`)
            or one fixed scorer (a callable of the raw features, e.g. :func:`log_energy_sum`).
        data: :class:`vaednn.compare.EvaluationData`; choices on validation, numbers from
            test.
        operators: which operators (default all of ``data``).
        c: Wilson coefficient of the BSM mixture (AUC, cuts).

    Returns:
        A tidy frame: one row per model, seed (NaN for a fixed scorer) and operator, with
        the columns of :func:`vaednn.compare.metrics`.
    """
    from vaednn import compare

    rows = []
    for label, members in scorers.items():
        members = list(members) if isinstance(members, (list, tuple)) else [members]
        for member in members:
            tables = compare.compare({label: member}, data, c=c, operators=operators,
                                     references=False)
            for op, table in tables.items():
                rows.append({"operator": op, "model": label,
                             "seed": getattr(member, "seed", np.nan),
                             **table.loc[label].to_dict()})
    return pd.DataFrame(rows)


def seed_tables(study: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """:func:`seed_study` rows averaged over seeds, one :func:`vaednn.compare.compare`-like
    table per operator (index ``model``): the mean of every number, ``AUC_std``
    (:func:`vaednn.compare.seed_spread`: NaN for one seed) and ``n_seeds``; flags are true
    if any seed's is."""
    from vaednn import compare

    tables = {}
    for op, rows in study.groupby("operator", sort=False):
        out = {}
        for label, group in rows.groupby("model", sort=False):
            numbers = group.select_dtypes("number").drop(columns="seed")
            row = numbers.mean().to_dict()
            for flag in ("falls_back", "falls_back_syst"):
                if flag in group:
                    row[flag] = bool(group[flag].astype(bool).any())
            row.update(score=group["score"].iloc[0], binning="; ".join(
                sorted(set(group.get("binning", pd.Series([""])).astype(str)) - {""})),
                AUC_std=compare.seed_spread(group["AUC"]),
                n_seeds=len(group))
            out[label] = row
        tables[op] = pd.DataFrame.from_dict(out, orient="index").rename_axis("model")
    return tables


def width_ratios(study: pd.DataFrame, references: Mapping[str, pd.DataFrame],
                 baseline: str = "counting") -> pd.DataFrame:
    """95 % interval widths relative to ``baseline``, mean and spread over seeds.

    Args:
        study: from :func:`seed_study`.
        references: operator -> :func:`vaednn.compare.compare` table holding ``baseline``
            and any reference rows (mjj fit, supervised models); they enter with one seed.
        baseline: the row every width is divided by.

    Returns:
        One row per operator and model: ``ratio`` and ``ratio_syst`` (without and with the
        background uncertainty, seed means), ``ratio_std`` and ``ratio_syst_std`` (seed
        spreads, :func:`vaednn.compare.seed_spread`: NaN for one seed), ``AUC``,
        ``AUC_std``, ``n_seeds``.
    """
    from vaednn import compare

    rows = []
    for op, table in references.items():
        if baseline not in table.index:
            raise ValueError(f"references[{op!r}] has no {baseline!r} row")
        base = table.loc[baseline]
        width = {"": base["c_hi_95"] - base["c_lo_95"],
                 "_syst": base["c_hi_95_syst"] - base["c_lo_95_syst"]}
        per_seed = [study[study["operator"] == op]]
        per_seed.append(table.reset_index().assign(operator=op, seed=np.nan))
        for label, group in pd.concat(per_seed, ignore_index=True).groupby("model", sort=False):
            row = {"operator": op, "model": label, "n_seeds": len(group),
                   "AUC": group["AUC"].mean(),
                   "AUC_std": compare.seed_spread(group["AUC"])}
            for suffix, w in width.items():
                ratio = (group[f"c_hi_95{suffix}"] - group[f"c_lo_95{suffix}"]) / w
                row[f"ratio{suffix}"] = ratio.mean()
                row[f"ratio{suffix}_std"] = compare.seed_spread(ratio)
            rows.append(row)
    return pd.DataFrame(rows)


@plotting.plot_helper
def plot_width_ratios(ratios: pd.DataFrame, column: str = "ratio", ax=None):
    """Interval width relative to counting per model and operator, with seed error bars.

    One marker per model, the operators side by side on the x axis; returns the axes.
    """
    fig, ax = plotting.new_axes(ax, figsize=(11, 4.8))
    operators = list(dict.fromkeys(ratios["operator"]))
    labels = list(dict.fromkeys(ratios["model"]))
    step = 0.8 / max(len(labels), 1)
    for index, label in enumerate(labels):
        rows = ratios[ratios["model"] == label].set_index("operator").reindex(operators)
        x = np.arange(len(operators)) - 0.4 + step * (index + 0.5)
        # Colours repeat after a while; the marker tells those models apart.
        marker = "osD^vPX"[index // len(plotting.MODEL_COLORS) % 7]
        ax.errorbar(x, rows[column], yerr=rows[f"{column}_std"], fmt=marker, capsize=2,
                    color=plotting.model_color(index), label=label)
    ax.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(operators)), operators)
    ax.set_ylabel("95% CL interval width / counting")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    plotting.experiment_label(ax)
    return ax
