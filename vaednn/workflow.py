"""The steps the notebooks share: data on disk, training sets, cached training, results.

A notebook's parameters cell names the data source, the output folders, the number of
events and epochs, the operator, ``c`` and the seed; everything below calls these
functions and the modules they wrap, so a chapter re-run with the same parameters reuses
the models an earlier chapter trained (``runs/``) instead of training them again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from vaednn import data as vdata
from vaednn import compare, files, plotting, stats

RESULTS_FILE = "results.csv"

log = logging.getLogger("vaednn")


def quick_mode() -> bool:
    """True when ``VAEDNN_QUICK=1`` (set by ``make test``): small data, few epochs."""
    return os.environ.get("VAEDNN_QUICK", "0") == "1"


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


WEIGHTINGS = ("balanced", "yields", "unit")


def classifier_set(samples: vdata.OperatorSamples, c: float = 1.0, seed: int = 0,
                   luminosity: float = vdata.LUMINOSITY, weighting: str = "balanced"):
    """A shuffled SM (0) vs BSM (1) training set: ``(x, y, w)``.

    ``weighting``:

    * ``"balanced"`` (default): the physical yields (LIN x c, QUAD x c^2, signs kept),
      rescaled per class so that both classes carry the same sum of |w|: the SM yield
      dwarfs a small BSM signal, and unbalanced classes would teach the classifier to call
      everything SM. Where destructive interference makes the net BSM yield negative
      (cHl3, cHbox at c = 1) the BSM class describes a deficit of events; the signs are
      kept, so the classifier learns that deficit rather than a made-up excess.
    * ``"yields"``: the physical yields as they are.
    * ``"unit"``: every event weighs 1.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    x, y, w = vdata.mixture(*samples, c=c, luminosity=luminosity)
    if weighting == "unit":
        w = np.ones_like(w)
    elif weighting == "balanced":
        for label in (0, 1):
            total = np.abs(w[y == label]).sum()
            if total == 0:
                name = "SM" if label == 0 else f"{samples.operator} at c={c:g}"
                raise ValueError(f"{name}: every event weight is zero; cannot balance the classes")
            w[y == label] *= len(y) / 2 / total
    order = np.random.default_rng(seed).permutation(len(y))
    return x[order], y[order], w[order]


def paired_sm(sm_features, n: int, seed: int = 0) -> np.ndarray:
    """SM events to pair with ``n`` mixture events for ``vae_dnn_separate``: the SM training
    sample shuffled and repeated to length ``n``, as the original author's script did."""
    sm = np.asarray(sm_features, dtype=np.float64)
    order = np.random.default_rng(seed).permutation(len(sm))
    return sm[np.resize(order, n)]


@dataclasses.dataclass
class Trained:
    """A trained model with its loss history (a tidy frame, see :mod:`vaednn.curves`)."""

    name: str
    operator: str
    model: object
    history: pd.DataFrame
    path: Path


def fingerprint(samples) -> str:
    """A short hash of the contents of ``samples`` (any iterable of :class:`vaednn.data.Sample`).

    It covers what a result depends on: every feature value and weight, the normalisation
    (``xsec``, ``sumw``, ``fraction``) and the sample names, so regenerated or re-selected
    data in the same folder gets a new fingerprint, and moved data keeps its own.
    """
    digest = hashlib.sha1()
    for sample in samples:
        digest.update(json.dumps([sample.name, sample.xsec, sample.sumw, sample.fraction,
                                  list(sample.features.columns)]).encode())
        digest.update(np.ascontiguousarray(sample.features.to_numpy()).tobytes())
        digest.update(np.ascontiguousarray(sample.weights).tobytes())
    return digest.hexdigest()[:12]


def train(name: str, data: compare.EvaluationData, operator: str, *, epochs: int,
          seed: int = 0, c: float = 1.0, runs="runs", verbose: int = 2,
          **hyperparameters) -> Trained:
    """Build and train one model by name on ``operator``'s training split, or load it.

    Plain VAEs train on the SM training events; VAE+DNN models on :func:`classifier_set`
    (SM vs LIN + QUAD at ``c``); ``vae_dnn_separate`` pairs each mixture event with an SM
    event (the SM sample repeated, as in the original author's script). The validation
    split of ``data`` gives the ``val_`` curves and is what early stopping would watch.

    The trained model and its history are saved under ``runs`` with a key made of every
    argument and a fingerprint of the training events; the same call later (another
    notebook, a re-run) loads them instead of training again.
    """
    from vaednn import curves, models

    samples, held_out = data.train[operator], data.validation[operator]
    key = json.dumps(dict(name=name, operator=operator, epochs=epochs, seed=seed, c=c,
                          data=fingerprint(samples), validation=fingerprint(held_out),
                          hyperparameters=hyperparameters), sort_keys=True, default=str)
    tag = hashlib.sha1(key.encode()).hexdigest()[:10]
    runs = Path(runs)
    path = runs / f"{name}_{operator}_{tag}.keras"
    history_path = path.with_suffix(".csv")
    if path.is_file() and history_path.is_file():
        log.info("%s on %s: loading the trained model %s", name, operator, path)
        model = files.load_model(path)
        return Trained(name, operator, model, curves.history_frame(pd.read_csv(history_path)), path)

    sm_train = samples.sm.features.to_numpy()
    log.info("%s on %s: training %d epochs", name, operator, epochs)
    if not models.is_classifier(name):
        order = np.random.default_rng(seed).permutation(len(sm_train))
        x, y, w = sm_train[order], None, None
        validation = (held_out.sm.features.to_numpy(),)
    else:
        x, y, w = classifier_set(samples, c=c, seed=seed)
        x_val, y_val, w_val = classifier_set(held_out, c=c, seed=seed)
        if name == "vae_dnn_separate":
            sm_val = held_out.sm.features.to_numpy()
            x = (paired_sm(sm_train, len(y), seed), x)
            x_val = (paired_sm(sm_val, len(y_val), seed), x_val)
        validation = (x_val, y_val, w_val)
    model, history = models.train(name, sm_train, x, y, w, seed=seed, epochs=epochs,
                                  save_to=path, verbose=verbose, validation_data=validation,
                                  **hyperparameters)
    curves.save_history(history, history_path)
    return Trained(name, operator, model, curves.history_frame(history), path)


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


def comparison(data: compare.EvaluationData, shared: dict, per_operator: dict,
               c: float = 1.0, seed: int = 0) -> dict[str, pd.DataFrame]:
    """:func:`vaednn.compare.compare` per operator, with models trained on that operator.

    ``shared``: name -> scorer used on every operator (a VAE trained on SM only);
    ``per_operator``: name -> {operator -> scorer} (a VAE+DNN trained on each operator).
    """
    tables = {}
    for operator in data.operators:
        scorers = dict(shared)
        scorers.update({name: by_op[operator] for name, by_op in per_operator.items()})
        tables[operator] = compare.compare(scorers, data, c=c, operators=[operator],
                                           seed=seed)[operator]
    return tables


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


@plotting.plot_helper
def plot_smearing(table: pd.DataFrame, axes=None):
    """AUC and min |c| versus the smearing scale, one line per model; returns the axes."""
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for index, (name, rows) in enumerate(table.groupby("model", sort=False)):
        for ax, metric in zip(axes, ("AUC", "min_abs_c")):
            ax.plot(rows["scale"], rows[metric], marker="o",
                    color=plotting.model_color(index), label=name)
    axes[0].set_ylabel("AUC")
    axes[1].set_ylabel(r"min $|c|$ for $3\sigma$")
    for ax in axes:
        ax.set_xlabel("detector resolution [× nominal]")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    plotting.experiment_label(axes[0], axes[-1])
    return axes


def save_results(tables: dict, figures, trained_on: dict | None = None) -> Path:
    """Upsert :func:`vaednn.compare.results_table` rows into ``<figures>/results.csv``.

    Rows are keyed by ``(operator, model)``: a key already in the file is replaced where it
    stands, a new key is appended, and the other rows stay, so each notebook adds its own
    models to the one table. A file without ``operator``, ``model`` and ``trained_on``
    columns (an older format) is replaced, with a log line.
    The file is written atomically.

    Args:
        tables: operator -> :func:`vaednn.compare.compare` table.
        figures: the folder of ``results.csv``.
        trained_on: model name -> what it was trained on, for models
            :data:`vaednn.compare.TRAINED_ON` does not know.
    """
    new = compare.results_table(tables, trained_on=trained_on)
    path = Path(figures) / RESULTS_FILE
    keys = ["operator", "model"]
    if path.is_file():
        old = pd.read_csv(path)
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
        new.to_csv(temporary, index=False, float_format="%.4g")
    return path


def check_range(value: float, low: float, high: float, what: str) -> float:
    """Raise if a headline number is outside the range a sane run gives (notebook checks)."""
    if not low <= value <= high:
        raise AssertionError(f"{what} = {value:.4g} is outside the expected range [{low}, {high}]")
    return value
