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
import os
from pathlib import Path

import numpy as np
import pandas as pd

from vaednn import data as vdata
from vaednn import evaluate, plotting

RESULTS_FILE = "results.csv"


def quick_mode() -> bool:
    """True when ``VAEDNN_QUICK=1`` (set by ``make test``): small data, few epochs."""
    return os.environ.get("VAEDNN_QUICK", "0") == "1"


def ensure_data(source, events: int, bsm_events: int, seed: int = 0,
                operators=None) -> list[str]:
    """Make sure ``source`` holds ntuples; generate them there if it is an empty directory.

    A sample map (``.toml``/``.yaml``) or a directory that already holds the SM and every
    requested operator's files is used as it is (nothing is regenerated, whatever
    ``events`` says). Returns the operators available.
    """
    from vaednn import simulate

    if vdata.is_sample_map(source):
        available = vdata.operators_in(source)
        print(f"using the samples described by {source}: operators {', '.join(available)}")
        return available
    wanted = list(operators or simulate.DEFAULT_OPERATORS)
    present = vdata.operators_in(source) if Path(source).is_dir() else []
    has_sm = vdata.ntuple_path(source, "SM").is_file()
    if has_sm and set(wanted) <= set(present):
        print(f"using the ntuples in {source}: operators {', '.join(present)}")
        return present
    print(f"generating {events} SM and {bsm_events} events per LIN/QUAD sample "
          f"for {', '.join(wanted)} in {source} (seed {seed})", flush=True)
    simulate.write_ntuples(source, operators=wanted, n_events=events, n_bsm=bsm_events, seed=seed)
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


def _fingerprint(samples: vdata.OperatorSamples) -> str:
    digest = hashlib.sha1()
    for sample in samples:
        digest.update(np.ascontiguousarray(sample.features.to_numpy()).tobytes())
        digest.update(np.ascontiguousarray(sample.weights).tobytes())
    return digest.hexdigest()[:12]


def train(name: str, data: evaluate.EvaluationData, operator: str, *, epochs: int,
          seed: int = 0, c: float = 1.0, runs="runs", validation_fraction: float = 0.2,
          verbose: int = 2, **hyperparameters) -> Trained:
    """Build and train one model by name on ``operator``'s training split, or load it.

    Plain VAEs train on the SM training events; VAE+DNN models on :func:`classifier_set`
    (SM vs LIN + QUAD at ``c``); ``vae_dnn_separate`` pairs each mixture event with an SM
    event (the SM sample repeated, as in the original author's script). The last
    ``validation_fraction`` of the shuffled events gives the ``val_`` curves.

    The trained model and its history are saved under ``runs`` with a key made of every
    argument and a fingerprint of the training events; the same call later (another
    notebook, a re-run) loads them instead of training again.
    """
    import keras

    from vaednn import curves, models

    samples = data.train[operator]
    key = json.dumps(dict(name=name, operator=operator, epochs=epochs, seed=seed, c=c,
                          validation_fraction=validation_fraction, data=_fingerprint(samples),
                          hyperparameters=hyperparameters), sort_keys=True, default=str)
    tag = hashlib.sha1(key.encode()).hexdigest()[:10]
    runs = Path(runs)
    path = runs / f"{name}_{operator}_{tag}.keras"
    history_path = path.with_suffix(".csv")
    if path.is_file() and history_path.is_file():
        print(f"{name} on {operator}: loading the trained model {path}")
        model = keras.models.load_model(path)
        return Trained(name, operator, model, curves.history_frame(pd.read_csv(history_path)), path)

    sm_train = samples.sm.features.to_numpy()
    model = models.build(name, sm_train, seed=seed, **hyperparameters)
    print(f"{name} on {operator}: training {epochs} epochs", flush=True)
    fit = dict(epochs=epochs, verbose=verbose, validation_split=validation_fraction)
    if not models.is_classifier(model):
        order = np.random.default_rng(seed).permutation(len(sm_train))
        history = model.fit(sm_train[order], **fit)
    else:
        x, y, w = classifier_set(samples, c=c, seed=seed)
        if name == "vae_dnn_separate":
            history = model.fit((paired_sm(sm_train, len(y), seed), x), y, sample_weight=w, **fit)
        else:
            history = model.fit(x, y, sample_weight=w, **fit)
    runs.mkdir(parents=True, exist_ok=True)
    model.save(path)
    curves.save_history(history, history_path)
    return Trained(name, operator, model, curves.history_frame(history), path)


@dataclasses.dataclass
class Scored:
    """One model's scores of an operator's SM, LIN and QUAD events, with their yields
    (LIN and QUAD at c = 1), in the argument order of :mod:`vaednn.evaluate`."""

    sm: np.ndarray
    w_sm: np.ndarray
    lin: np.ndarray
    w_lin: np.ndarray
    quad: np.ndarray
    w_quad: np.ndarray

    @property
    def arrays(self) -> tuple:
        """``(sm, w_sm, lin, w_lin, quad, w_quad)``."""
        return self.sm, self.w_sm, self.lin, self.w_lin, self.quad, self.w_quad

    def sm_vs_bsm(self, c: float = 1.0) -> tuple:
        """``(score_sm, w_sm, score_bsm, w_bsm)`` with BSM = LIN x c + QUAD x c^2."""
        return (self.sm, self.w_sm, np.concatenate([self.lin, self.quad]),
                np.concatenate([c * self.w_lin, c**2 * self.w_quad]))


def score_samples(scorer, samples: vdata.OperatorSamples,
                  luminosity: float = vdata.LUMINOSITY) -> Scored:
    """Score an operator's samples (a model or a callable, see :func:`evaluate.score`)."""
    values = [evaluate.score(scorer, sample) for sample in samples]
    weights = [vdata.lumi_weights(sample, luminosity) for sample in samples]
    return Scored(values[0], weights[0], values[1], weights[1], values[2], weights[2])


def significance_scan(scored: Scored, samples: vdata.OperatorSamples, c: float = 1.0,
                      luminosity: float = vdata.LUMINOSITY) -> pd.DataFrame:
    """S, B, sigma and its MC error at every distinct cut on the score (exact, vectorised).

    Returns a DataFrame with columns ``cut``, ``S``, ``B``, ``sigma``, ``error``; the
    first row is the no-cut point (``cut = -inf``).
    """
    cuts = evaluate.all_cuts(scored.sm, scored.lin, scored.quad)
    signal, background, sigma = evaluate.significance(cuts, c, *scored.arrays)
    norms = [evaluate.normalisation(sample, luminosity) for sample in samples]
    _, error = evaluate.significance_error(cuts, c, scored.sm, scored.w_sm, norms[0], scored.lin,
                                           scored.w_lin, norms[1], scored.quad, scored.w_quad,
                                           norms[2])
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


def comparison(data: evaluate.EvaluationData, shared: dict, per_operator: dict,
               c: float = 1.0, seed: int = 0) -> dict[str, pd.DataFrame]:
    """:func:`vaednn.evaluate.compare` per operator, with models trained on that operator.

    ``shared``: name -> scorer used on every operator (a VAE trained on SM only);
    ``per_operator``: name -> {operator -> scorer} (a VAE+DNN trained on each operator).
    """
    tables = {}
    for operator in data.operators:
        scorers = dict(shared)
        scorers.update({name: by_op[operator] for name, by_op in per_operator.items()})
        tables[operator] = evaluate.compare(scorers, data, c=c, operators=[operator],
                                            seed=seed)[operator]
    return tables


def smearing_study(scorers: dict, data: evaluate.EvaluationData, operator: str,
                   scales=(0.0, 0.5, 1.0, 2.0), c: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """AUC and min |c| of trained models on test events smeared as a detector would.

    Every variable of the SM, LIN and QUAD test events gets Gaussian noise of ``scale``
    times a typical LHC detector resolution (:func:`vaednn.data.smear`: absolute in η, φ
    and MET, relative in pT and masses); the models are not retrained, so the table says
    how much a resolution the training never saw degrades them. Returns one row per model
    and scale.
    """
    test = data.test[operator]
    rows = []
    for scale in scales:
        smeared = vdata.OperatorSamples(operator, *(
            dataclasses.replace(sample, features=vdata.smear(sample.features, scale,
                                                               seed=seed + index))
            for index, sample in enumerate(test)))
        for name, scorer in scorers.items():
            scored = score_samples(scorer, smeared, data.luminosity)
            numbers = evaluate.metrics((scored.sm, scored.lin, scored.quad), smeared, c=c,
                                       luminosity=data.luminosity)
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


def save_results(tables: dict, figures) -> Path:
    """Write the headline numbers of :func:`vaednn.evaluate.compare` tables to
    ``<figures>/results.csv``: one row per operator and model, AUC and min |c|."""
    rows = []
    for operator, table in tables.items():
        frame = table.reset_index()
        frame.insert(0, "operator", operator)
        rows.append(frame)
    out = pd.concat(rows, ignore_index=True)
    columns = [c for c in ("operator", "model", "AUC", "best_sigma", "min_abs_c") if c in out]
    path = Path(figures) / RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    out[columns].to_csv(path, index=False, float_format="%.4g")
    return path


def check_range(value: float, low: float, high: float, what: str) -> float:
    """Raise if a headline number is outside the range a sane run gives (notebook checks)."""
    if not low <= value <= high:
        raise AssertionError(f"{what} = {value:.4g} is outside the expected range [{low}, {high}]")
    return value
