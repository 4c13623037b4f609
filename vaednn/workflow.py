"""The steps the notebooks share: data on disk, training sets, cached training, results.

A notebook's first cell unpacks :func:`parameters` (the data source, the output folders,
the number of events and epochs, the seeds) and names its own choices (the operator,
``c``); everything below calls these functions and the modules they wrap, so a chapter re-run with the same parameters reuses
the models an earlier chapter trained (``runs/``) instead of training them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from vaednn import data as vdata
from vaednn import compare, files, publish, stats
from vaednn.comparison import INTERVAL_CL
from vaednn.data import fingerprint
from vaednn.plots import plot_seed_curves, plot_smearing
from vaednn.training_sets import WEIGHTINGS, classifier_set, paired_sm

# classifier_set, paired_sm, WEIGHTINGS, fingerprint and the two plots live in the layers
# below; they are re-exported so that notebooks and scripts written against workflow.<name>
# keep working.
__all__ = [
    "RESULTS_FILE", "Parameters", "SEEDS", "QUICK_SEEDS", "EPOCHS", "parameters", "ensure_data",
    "ensure_reweighted", "effective_events", "weight_summary", "WEIGHTINGS", "classifier_set",
    "paired_sm", "TrainedModel", "fingerprint", "CLASSIFIER_FIT", "train", "train_ensemble",
    "significance_scan", "by_component", "sample_table", "reconstruction",
    "reconstruction_width", "comparison", "SPREADS", "seed_average", "smearing_study",
    "plot_smearing", "seed_curves", "plot_seed_curves", "save_results", "check_range",
    "check_claim"]

RESULTS_FILE = "results.csv"

log = logging.getLogger("vaednn")


class Parameters(NamedTuple):
    """What every chapter shares, from the environment (:func:`parameters`)."""

    quick: bool
    data: str
    figures: str
    runs: str
    events: int
    bsm_events: int
    epochs: int
    seeds: tuple[int, ...]


#: Seeds of the ensembles behind every AUC and interval: a spread needs several trainings.
SEEDS = (0, 1, 2, 3, 4)
QUICK_SEEDS = (0, 1)
#: Training epochs of the full run, sized with the default data set so that ``make
#: figures`` ends within 12 minutes on 2 cores: at 12 epochs the VAE's validation loss is
#: within about 3% of its value at 20, and the VAE+DNN's validation AUC within 0.01 of its
#: best (early stopping keeps the best epoch).
EPOCHS = 12


def parameters() -> Parameters:
    """The notebooks' shared parameters, unpacked in one line at the top of a chapter.

    ``VAEDNN_QUICK=1`` (set by ``make test``) gives small data, 3 epochs and 2 seeds;
    otherwise the generator's default data set (:data:`vaednn.simulate.DEFAULT_EVENTS` SM and
    :data:`~vaednn.simulate.DEFAULT_BSM_EVENTS` per LIN/QUAD sample), :data:`EPOCHS` epochs
    (early stopping ends the VAE+DNN sooner) and the 5 :data:`SEEDS`. ``VAEDNN_DATA``, ``VAEDNN_FIGURES`` and
    ``VAEDNN_RUNS`` move the data, the figures and the trained models (paths are relative
    to the notebooks' folder, where ``make figures`` runs them).

    Returns:
        ``Parameters(quick, data, figures, runs, events, bsm_events, epochs, seeds)``.
    """
    flag = os.environ.get("VAEDNN_QUICK", "0")
    if flag not in ("0", "1"):
        raise ValueError(f"VAEDNN_QUICK must be 0 or 1, got {flag!r}")
    quick = flag == "1"
    from vaednn import simulate

    return Parameters(
        quick=quick,
        data=os.environ.get("VAEDNN_DATA", "../data/quick" if quick else "../data/generated"),
        figures=os.environ.get("VAEDNN_FIGURES", "../figures"),
        runs=os.environ.get("VAEDNN_RUNS", "../runs"),
        events=20_000 if quick else simulate.DEFAULT_EVENTS,
        bsm_events=10_000 if quick else simulate.DEFAULT_BSM_EVENTS,
        epochs=3 if quick else EPOCHS,
        seeds=QUICK_SEEDS if quick else SEEDS)


def ensure_data(source, events: int, bsm_events: int, seed: int = 0,
                operators=None) -> list[str]:
    """Make sure ``source`` holds the SM ntuple and every requested operator's; generate
    the missing files there, and only those.

    A sample map (``.toml``/``.yaml``) is used as it is. Files already in the directory
    are never rewritten, whatever ``events`` says. Returns the operators available.
    """
    from vaednn import simulate

    if vdata.is_sample_map(source):
        available = vdata.operators_in(source)
        log.info("using the samples described by %s: operators %s", source, ", ".join(available))
        return available
    wanted = list(operators or simulate.DEFAULT_OPERATORS)
    present = vdata.operators_in(source) if Path(source).is_dir() else []
    has_sm = vdata.ntuple_path(source, "SM").is_file()
    if has_sm and set(wanted) <= set(present):
        log.info("using the ntuples in %s: operators %s", source, ", ".join(present))
        return present
    log.info("generating %d SM and %d events per LIN/QUAD sample for %s in %s (seed %d)",
             events, bsm_events, ", ".join(wanted), source, seed)
    written = simulate.write_ntuples(source, operators=wanted, n_events=events,
                                     n_bsm=bsm_events, seed=seed, missing_only=True)
    log.info("generated %s", ", ".join(p.name for p in written))
    return vdata.operators_in(source)


def ensure_reweighted(folder, n_events: int, seed: int = 0,
                      operators=("cW", "cqq3", "cHq3")) -> dict[str, Path]:
    """The generator's reweighted stand-ins (:func:`vaednn.simulate.write_reweighted`) in
    ``folder``: written when none of the three files is there, used as they are otherwise.

    Returns:
        ``{"lhe": path, "root": path, "map": path}``.

    Raises:
        FileNotFoundError: some of the three files are there and others are missing (a
            folder another run left half-written, or edited by hand).
    """
    from vaednn import simulate

    folder = Path(folder)
    paths = simulate.reweighted_paths(folder)
    present = [path.name for path in paths.values() if path.is_file()]
    if len(present) == len(paths):
        log.info("using the reweighted samples in %s", folder)
        return paths
    if present:
        missing = [path.name for path in paths.values() if not path.is_file()]
        raise FileNotFoundError(f"{folder}: {', '.join(present)} there but {', '.join(missing)} "
                                "missing; remove the folder to write all three again")
    log.info("writing %d reweighted SM events for %s in %s (seed %d)", n_events,
             ", ".join(operators), folder, seed)
    return simulate.write_reweighted(folder, operators=operators, n_events=n_events, seed=seed)


def effective_events(weights) -> float:
    """Kish's effective number of events, (Σw)² / Σw²: how many unit-weight events carry the
    same relative statistical error as these weighted ones.

    >>> effective_events([1.0, 1.0, 1.0, 1.0]), effective_events([3.0, 1.0])
    (4.0, 1.6)
    >>> effective_events([1.0, -1.0])  # cancelling weights carry no information on the total
    0.0
    """
    weights = np.asarray(weights, dtype=np.float64)
    squares = float(np.sum(weights ** 2))
    if squares == 0.0:
        raise ValueError("effective_events: every weight is zero")
    return float(np.sum(weights)) ** 2 / squares


def weight_summary(samples: vdata.OperatorSamples, c: float = 1.0,
                   luminosity: float = vdata.LUMINOSITY) -> pd.DataFrame:
    """What a physicist checks in reweighted weights before trusting a result, per component
    (SM, LIN × c, QUAD × c², and their BSM sum per event when the three are the same events):

    - ``events``: the net yield at ``luminosity`` (fb^-1), Σw;
    - ``|events|``: Σ|w|, what the yield would be without cancellations;
    - ``negative share``: the part of Σ|w| carried by negative weights;
    - ``effective events``: :func:`effective_events`, which falls towards zero when
      positive and negative weights cancel or a few events dominate;
    - ``largest event share``: max|w| / Σ|w|, the weight tail.
    """
    sm, lin, quad = (vdata.lumi_weights(sample, luminosity) for sample in samples)
    components = {"SM": sm, f"LIN × {c:g}": c * lin, f"QUAD × {c:g}²": c * c * quad}
    if samples.same_events:
        components[f"BSM: {c:g}·LIN + {c:g}²·QUAD per event"] = c * lin + c * c * quad
    rows = {}
    for name, w in components.items():
        magnitude = float(np.abs(w).sum())
        rows[name] = {
            "events": float(w.sum()), "|events|": magnitude,
            "negative share": float(np.abs(w[w < 0]).sum()) / magnitude if magnitude else np.nan,
            "effective events": effective_events(w) if magnitude else np.nan,
            "largest event share": float(np.abs(w).max()) / magnitude if magnitude else np.nan}
    return pd.DataFrame(rows).T


@dataclasses.dataclass
class TrainedModel:
    """A trained model with its loss history (a tidy frame, see :mod:`vaednn.curves`)."""

    name: str
    operator: str
    model: object
    history: pd.DataFrame
    path: Path


#: Early stopping of the VAE+DNN models, as the original scripts: the validation AUC, best
#: weights restored. Without it the classifier's AUC can collapse to 0.5 for epochs after a
#: jump of the KL term, and the last epoch is then what gets reported.
CLASSIFIER_FIT = {"early_stopping": "val_auc", "patience": 5}


def _training_arrays(name: str, samples, held_out, c: float, seed: int):
    """``(x, y, w, validation)`` of model ``name`` on one operator's training split."""
    from vaednn import models

    sm_train = samples.sm.features.to_numpy()
    if not models.is_classifier(name):
        order = np.random.default_rng(seed).permutation(len(sm_train))
        return sm_train[order], None, None, (held_out.sm.features.to_numpy(),)
    x, y, w = classifier_set(samples, c=c, seed=seed)
    x_val, y_val, w_val = classifier_set(held_out, c=c, seed=seed)
    if name == "vae_dnn_separate":
        sm_val = held_out.sm.features.to_numpy()
        x = (paired_sm(sm_train, len(y), seed), x)
        x_val = (paired_sm(sm_val, len(y_val), seed), x_val)
    return x, y, w, (x_val, y_val, w_val)


def _fit_options(name: str, hyperparameters: dict) -> dict:
    from vaednn import models

    defaults = CLASSIFIER_FIT if models.is_classifier(name) else {}
    return {**defaults, **hyperparameters}


def _run_path(runs, name, operator, samples, held_out, **settings) -> Path:
    key = json.dumps(dict(name=name, operator=operator, data=fingerprint(samples),
                          validation=fingerprint(held_out), **settings),
                     sort_keys=True, default=str)
    tag = hashlib.sha1(key.encode()).hexdigest()[:10]
    return Path(runs) / f"{name}_{operator}_{tag}.keras"


def _load(name, operator, path) -> TrainedModel | None:
    from vaednn import curves

    history_path = path.with_suffix(".csv")
    if not (path.is_file() and history_path.is_file()):
        return None
    log.info("%s on %s: loading the trained model %s", name, operator, path)
    return TrainedModel(name, operator, files.load_model(path),
                        curves.history_frame(pd.read_csv(history_path)), path)


def train(name: str, data: compare.EvaluationData, operator: str, *, epochs: int,
          seed: int = 0, c: float = 1.0, runs="runs", verbose: int = 2,
          **hyperparameters) -> TrainedModel:
    """Build and train one model by name on ``operator``'s training split, or load it.

    Plain VAEs train on the SM training events; VAE+DNN models on :func:`classifier_set`
    (SM vs LIN + QUAD at ``c``); ``vae_dnn_separate`` pairs each mixture event with an SM
    event (the SM sample repeated, as in the original author's script). The validation
    split of ``data`` gives the ``val_`` curves and drives early stopping: VAE+DNN models
    stop on the validation AUC with the best weights restored (:data:`CLASSIFIER_FIT`,
    overridden by passing ``early_stopping``/``patience``).

    The trained model and its history are saved under ``runs`` with a key made of every
    argument and a fingerprint of the training events; the same call later (another
    notebook, a re-run) loads them instead of training again.
    """
    from vaednn import curves, models

    samples, held_out = data.train[operator], data.validation[operator]
    hyperparameters = _fit_options(name, hyperparameters)
    path = _run_path(runs, name, operator, samples, held_out, epochs=epochs, seed=seed, c=c,
                     hyperparameters=hyperparameters)
    loaded = _load(name, operator, path)
    if loaded is not None:
        return loaded
    log.info("%s on %s: training %d epochs", name, operator, epochs)
    x, y, w, validation = _training_arrays(name, samples, held_out, c, seed)
    model, history = models.train(name, samples.sm.features.to_numpy(), x, y, w, seed=seed,
                                  epochs=epochs, save_to=path, verbose=verbose,
                                  validation_data=validation, **hyperparameters)
    curves.save_history(history, path.with_suffix(".csv"))
    return TrainedModel(name, operator, model, curves.history_frame(history), path)


def train_ensemble(name: str, data: compare.EvaluationData, operator: str, seeds, *,
                   epochs: int, c: float = 1.0, runs="runs", verbose: int = 0,
                   **hyperparameters) -> list[TrainedModel]:
    """:func:`train` for several seeds at once (:func:`vaednn.models.ensemble`, vmapped on
    JAX): one :class:`TrainedModel` per seed, in the order of ``seeds``.

    Every member is cached under ``runs`` as its own ``.keras`` file with its history; the
    key holds the whole seed list (the members share one training-set order, drawn with
    ``seeds[0]``, and differ in initial weights, sampling noise and epoch shuffling), so
    the same call from another notebook loads them. Missing members are trained together.
    """
    from vaednn import curves, models

    seeds = [int(s) for s in seeds]
    samples, held_out = data.train[operator], data.validation[operator]
    hyperparameters = _fit_options(name, hyperparameters)
    paths = {s: _run_path(runs, name, operator, samples, held_out, epochs=epochs, seed=s, c=c,
                          ensemble=seeds, hyperparameters=hyperparameters) for s in seeds}
    done = {s: _load(name, operator, path) for s, path in paths.items()}
    missing = [s for s in seeds if done[s] is None]
    if missing:
        log.info("%s on %s: training %d seeds together, %d epochs", name, operator,
                 len(missing), epochs)
        x, y, w, validation = _training_arrays(name, samples, held_out, c, seeds[0])
        build = {k: v for k, v in hyperparameters.items() if k in models.DEFAULTS[name]
                 or k in models.OPTIMIZER_OPTIONS}
        fit = {k: v for k, v in hyperparameters.items() if k not in build}
        members = models.ensemble(name, samples.sm.features.to_numpy(), missing, **build)
        histories = members.fit(x, y, sample_weight=w, epochs=epochs, verbose=verbose,
                                validation_data=validation, **fit)
        for seed, model, history in zip(missing, members.models, histories):
            model.save(paths[seed])
            curves.save_history(history, paths[seed].with_suffix(".csv"))
            done[seed] = TrainedModel(name, operator, model, curves.history_frame(history),
                                      paths[seed])
    return [done[s] for s in seeds]


def significance_scan(scored: stats.ComponentScores, c: float = 1.0) -> pd.DataFrame:
    """S, B, sigma and its MC error at every distinct cut on the score (exact, vectorised).

    Returns a DataFrame with columns ``cut``, ``S``, ``B``, ``sigma``, ``error``; the
    first row is the no-cut point (``cut = -inf``).
    """
    cuts = stats.all_cuts(scored.sm, scored.lin, scored.quad)
    signal, background, sigma = stats.significance(cuts, c, scored)
    _, error = stats.significance_error(cuts, c, scored)
    return pd.DataFrame({"cut": cuts, "S": signal, "B": background, "sigma": sigma,
                         "error": error})


def by_component(samples: vdata.OperatorSamples, c: float = 1.0,
                 luminosity: float = vdata.LUMINOSITY) -> dict:
    """``{"SM": (features, yields), "LIN": ..., "QUAD": ...}`` at Wilson coefficient ``c``,
    the input of :func:`vaednn.plotting.plot_features`."""
    w_lin, w_quad = vdata.wilson_weights(samples.lin, samples.quad, c, luminosity)
    return {"SM": (samples.sm.features, vdata.lumi_weights(samples.sm, luminosity)),
            "LIN": (samples.lin.features, w_lin), "QUAD": (samples.quad.features, w_quad)}


def sample_table(source, operators, luminosity: float = vdata.LUMINOSITY,
                 cuts: str | None = vdata.VBS_CUTS) -> pd.DataFrame:
    """:func:`vaednn.data.sample_table` of the SM and every operator's LIN and QUAD."""
    samples = [vdata.read_sample(source, "SM", cuts=cuts)]
    for operator in operators:
        samples += [vdata.read_sample(source, part, operator, cuts=cuts) for part in ("LIN", "QUAD")]
    return vdata.sample_table(samples, luminosity)


def reconstruction(model, features) -> tuple[np.ndarray, np.ndarray]:
    """``(scaled inputs, reconstructions)`` of raw ``features``, as the VAE sees them."""
    from vaednn import models

    x = np.asarray(features, dtype=np.float64)
    return models.scale(model, x), np.asarray(model.predict(x, batch_size=1 << 16, verbose=0))


def _members(scorer) -> list:
    """A scorer or an ensemble's list of :class:`TrainedModel`/scorers, as a list of scorers."""
    if isinstance(scorer, (list, tuple)):
        return [m.model if isinstance(m, TrainedModel) else m for m in scorer]
    return [scorer.model if isinstance(scorer, TrainedModel) else scorer]


def reconstruction_width(inputs, outputs, names) -> pd.Series:
    """Standard deviation of each reconstructed variable over that of the input, narrowest
    first: near 0 the VAE outputs one value whatever the event (a spike), at 1 it follows
    the input's spread. ``inputs``/``outputs`` as :func:`reconstruction` returns them."""
    inputs, outputs = np.asarray(inputs), np.asarray(outputs)
    if inputs.shape != outputs.shape or inputs.shape[1] != len(names):
        raise ValueError(f"inputs {inputs.shape}, outputs {outputs.shape} and {len(names)} "
                         f"names do not match")
    ratio = outputs.std(axis=0) / inputs.std(axis=0)
    return pd.Series(ratio, index=list(names), name="reconstructed / input spread").sort_values()


def comparison(data: compare.EvaluationData, shared: dict, per_operator: dict,
               c: float = 1.0, seed: int = 0, operators=None,
               references: bool = True) -> dict[str, pd.DataFrame]:
    """:func:`vaednn.compare.compare` per operator, averaged over the seeds of ensembles.

    ``shared``: name -> scorer used on every operator (a VAE trained on SM only);
    ``per_operator``: name -> {operator -> scorer} (a VAE+DNN trained on each operator). A
    scorer may be a list (an ensemble from :func:`train_ensemble`): member ``i`` of every
    list is evaluated together, and :func:`seed_average` makes one row per model with
    ``n_seeds`` and the spread. The reference rows (``references``) are computed once
    (``n_seeds`` 1). ``operators``: which of ``data.operators`` (default all).
    """
    tables = {}
    for operator in data.operators if operators is None else operators:
        scorers = {name: _members(s) for name, s in shared.items()}
        scorers.update({name: _members(by_op[operator]) for name, by_op in per_operator.items()})
        rounds = max(len(members) for members in scorers.values())
        per_seed = [compare.compare({name: members[i] for name, members in scorers.items()
                                     if i < len(members)},
                                    data, c=c, operators=[operator], seed=seed,
                                    references=references and i == 0)[operator]
                    for i in range(rounds)]
        tables[operator] = seed_average(per_seed)
    return tables


#: Column of a :func:`vaednn.compare.compare` table -> the name of its spread over seeds in
#: ``results.csv``.
SPREADS = {"AUC": "AUC_std", "c_lo_3sigma": "c_lo_3sigma_std", "c_hi_3sigma": "c_hi_3sigma_std",
           "c_lo_95": "c_lo_95_std", "c_hi_95": "c_hi_95_std",
           "c_lo_95_syst": "c_lo_95_syst_std", "c_hi_95_syst": "c_hi_95_syst_std"}


def seed_average(tables) -> pd.DataFrame:
    """One row per model from per-seed :func:`vaednn.compare.compare` tables (index ``model``).

    A model found in k tables gets the mean of each numeric column over its k rows and
    ``n_seeds`` = k; the :data:`SPREADS` columns (``AUC_std`` and ``<bound>_std`` for
    every interval bound) are :func:`vaednn.compare.seed_spread` over seeds, so a
    deterministic row (one table: counting, single variable, mjj fit, BDT) has ``n_seeds`` 1
    and NaN spreads. Boolean columns are
    true if any seed's is; text columns (``score``, ``binning``) come from the first seed.
    Rows keep the order of first appearance.
    """
    tables = list(tables)
    if not tables:
        raise ValueError("seed_average: give at least one table")
    stacked = pd.concat(tables)
    order = list(dict.fromkeys(stacked.index))
    groups = stacked.groupby(level=0, sort=False)
    columns = {}
    for column in stacked.columns:
        values = stacked[column]
        if pd.api.types.is_bool_dtype(values):
            columns[column] = groups[column].any()
        elif pd.api.types.is_numeric_dtype(values):
            columns[column] = groups[column].mean()
        else:
            columns[column] = groups[column].first()
    out = pd.DataFrame(columns).loc[order]
    for column, name in SPREADS.items():
        if column in stacked.columns:
            out[name] = groups[column].agg(compare.seed_spread).loc[order]
    out["n_seeds"] = groups.size().loc[order].astype(int)
    out.index.name = stacked.index.name
    return out


def smearing_study(scorers: dict, data: compare.EvaluationData, operator: str,
                   scales=(0.0, 0.5, 1.0, 2.0), c: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """AUC and min |c| of trained models on test events smeared as a detector would.

    Every variable of the SM, LIN and QUAD test events gets Gaussian noise of ``scale``
    times a typical LHC detector resolution (:func:`vaednn.data.smear`: absolute in η, φ
    and MET, relative in pT and masses); the models are not retrained, so the table says
    how much a resolution the training never saw degrades them. The cuts are chosen on the
    unsmeared validation events. Returns one row per model and scale.
    """
    test = data.test[operator]
    rows = []
    for scale in scales:
        smeared = vdata.OperatorSamples(operator, *(
            dataclasses.replace(sample, features=vdata.smear(sample.features, scale,
                                                               seed=seed + index))
            for index, sample in enumerate(test)))
        for name, scorer in scorers.items():
            choose = compare.score_samples(scorer, data.validation[operator], data.luminosity)
            scored = compare.score_samples(scorer, smeared, data.luminosity)
            numbers = compare.metrics(choose, scored, c=c, intervals=False)
            rows.append({"model": name, "scale": scale, "AUC": numbers["AUC"],
                         "min_abs_c": numbers["min_abs_c"]})
    return pd.DataFrame(rows)


def seed_curves(ensembles: dict, term: str, split: str = "val") -> pd.DataFrame:
    """One training curve per model and seed: ``term`` (e.g. ``"auc"``, ``"kl_loss"``) of
    ``split`` at every epoch, from ``name -> [TrainedModel, ...]`` (:func:`train_ensemble`).

    Returns:
        A tidy frame with columns ``model``, ``seed`` (position in the ensemble), ``epoch``,
        ``value``.
    """
    frames = []
    for name, members in ensembles.items():
        for index, member in enumerate(members):
            h = member.history
            rows = h[(h["term"] == term) & (h["split"] == split)]
            if rows.empty:
                raise ValueError(f"{name}: no {split} {term!r} in the history; terms: "
                                 f"{sorted(set(h['term']))}")
            frames.append(rows[["epoch", "value"]].assign(model=name, seed=index))
    return pd.concat(frames, ignore_index=True)[["model", "seed", "epoch", "value"]]


def save_results(tables: dict, figures, trained_on: dict | None = None, *,
                 luminosity: float | None = None, seeds=None, data: str | None = None) -> Path:
    """Upsert :func:`vaednn.compare.results_table` rows into ``<figures>/results.csv``, and
    their provenance into ``results.provenance.json`` beside it.

    Rows are keyed by ``(operator, model)``: a key already in the file is replaced where it
    stands, a new key is appended, and the other rows stay, so each notebook adds its own
    models to the one table. A file without ``operator``, ``model`` and ``trained_on``
    columns (an older format) is replaced, with a log line. Floats are written with every
    digit (a file of 4 significant digits, as written before, still reads). Both files are
    written atomically; the provenance entry of each written row holds the vaednn version,
    the intervals' CL (:data:`vaednn.comparison.INTERVAL_CL`) and the arguments below
    (:mod:`vaednn.publish.provenance`).

    Args:
        tables: operator -> :func:`vaednn.compare.compare` table.
        figures: the folder of ``results.csv``.
        trained_on: model name -> what it was trained on, for models
            :data:`vaednn.compare.TRAINED_ON` does not know.
        luminosity: fb^-1 of the numbers (``data.luminosity`` of the comparison).
        seeds: the training seeds.
        data: the data fingerprint, :func:`vaednn.publish.data_digest` of the data source.
    """
    new = compare.results_table(tables, trained_on=trained_on)
    path = Path(figures) / RESULTS_FILE
    keys = ["operator", "model"]
    written = list(map(tuple, new[keys].to_numpy()))
    if path.is_file():
        old = compare.current_columns(pd.read_csv(path), str(path))
        if {*keys, "trained_on"} <= set(old.columns):
            order = list(dict.fromkeys([*map(tuple, old[keys].to_numpy()),
                                        *map(tuple, new[keys].to_numpy())]))
            merged = pd.concat([old.set_index(keys), new.set_index(keys)])
            merged = merged[~merged.index.duplicated(keep="last")].loc[order].reset_index()
            first = [c for c in compare.RESULT_COLUMNS if c in merged]
            new = merged[first + [c for c in merged.columns if c not in first]]
        else:
            log.warning("%s: an older results table (no trained_on column); replacing it", path)
    with files.atomic_path(path) as temporary:
        new.to_csv(temporary, index=False)
    publish.update_provenance(path, map(tuple, new[keys].to_numpy()), written,
                              cl=INTERVAL_CL, luminosity=luminosity, seeds=seeds,
                              data=data)
    return path


def check_range(value: float, low: float, high: float, what: str) -> float:
    """Raise if a headline number is outside the range a sane run gives (notebook checks)."""
    if not low <= value <= high:
        raise AssertionError(f"{what} = {value:.4g} is outside the expected range [{low}, {high}]")
    return value


def check_claim(value: float, what: str, *, full: tuple[float, float],
                quick: tuple[float, float] | None) -> float:
    """:func:`check_range` of a number a notebook's text states, with the range of the run.

    ``full`` is the range of ``make figures``; ``quick`` that of the small quick run
    (``VAEDNN_QUICK=1``), or None for a claim only the full run can support: then the
    quick run checks nothing and says so in the log.
    """
    quick_run = parameters().quick
    if quick_run and quick is None:
        log.info("%s = %.4g: a full-run claim, not checked in quick mode", what, value)
        return value
    return check_range(value, *(quick if quick_run else full), what)
