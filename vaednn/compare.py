"""Models against references on held-out events: splits, scoring, the comparison table.

Every choice (the cut, the fit binning, the best single variable) is made on the
**validation** split and every reported number comes from the **test** split
(``choose_on="validation"``, the default). ``choose_on="test"`` is the seed's own procedure,
the cut chosen on the very events it is judged on: optimistic, most of all in sparse tails,
and kept only to reproduce the original numbers.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from vaednn import data as vdata
from vaednn import stats

__all__ = [
    "SPLIT", "SYSTEMATIC", "CHOICES", "EvaluationData", "split_three", "prepare",
    "normalisation", "score", "score_samples", "feature_scorer", "counting_scorer",
    "REFERENCES", "train_bdt", "train_ratio_regression", "best_variable", "sensitivity",
    "metrics", "compare",
    "operator_matrix",
    "SEED_DDOF", "seed_spread", "RENAMED_COLUMNS", "current_column", "current_columns",
    "RESULT_COLUMNS", "TRAINED_ON", "EACH_OPERATOR", "results_table", "PUBLISHED_INTERVALS", "PUBLISHED_LUMINOSITY",
    "PUBLISHED_CL", "interval_table",
]

#: Default train / validation / test shares of every sample.
SPLIT = (0.6, 0.2, 0.2)
#: Relative background normalisation uncertainty of the ``*_syst`` intervals.
SYSTEMATIC = 0.1
#: The smallest SM yield a chosen cut may keep (the seed's convention, B >= 1 event): a cut
#: that keeps a fraction of an expected event selects a fluctuation of a few weighted MC
#: events, and the same cut on the test split can keep no background at all.
MIN_BACKGROUND = 1.0
#: Where choices are made: the held-out procedure, or the seed's (same events as reported).
CHOICES = ("validation", "test")


@dataclasses.dataclass
class EvaluationData:
    """Training, validation and test splits of several operators, sharing one SM sample.

    Attributes:
        train, validation, test: operator -> :class:`vaednn.data.OperatorSamples`; the SM
            split is the same object for every operator. Each part keeps full-rate yields.
        luminosity: fb^-1 at which yields, significances and coefficients are reported.
    """

    train: dict
    validation: dict
    test: dict
    luminosity: float = vdata.LUMINOSITY

    @property
    def operators(self) -> tuple[str, ...]:
        return tuple(self.test)

    def at_luminosity(self, luminosity: float) -> EvaluationData:
        """The same events, reported at another luminosity (fb^-1)."""
        return dataclasses.replace(self, luminosity=luminosity)


def split_three(sample, fractions=SPLIT, seed: int = 0):
    """``(train, validation, test)`` parts of ``sample``, seeded, each with full-rate yields.

    ``sample`` is a :class:`vaednn.data.Sample`, or an :class:`vaednn.data.OperatorSamples`
    with ``same_events`` (three weight columns of one event set): that is split by ONE
    event index, so an event's SM, LIN and QUAD weights land in the same part, and each part
    is again an ``OperatorSamples`` with ``same_events``.

    >>> s = vdata.Sample("x", pd.DataFrame({"a": np.arange(10.0)}), np.ones(10), 1.0, 10.0)
    >>> [(len(p), round(p.fraction, 2)) for p in split_three(s)]
    [(6, 0.6), (2, 0.2), (2, 0.2)]
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) <= 0 or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three positive shares summing to 1, got {fractions}")
    if isinstance(sample, vdata.OperatorSamples):
        return _split_events(sample, fractions, seed)
    rest, test = vdata.split(sample, fractions[2], seed)
    train, validation = vdata.split(rest, fractions[1] / (fractions[0] + fractions[1]), seed + 1)
    return train, validation, test


def _event_index(n: int, fractions, seed: int):
    """``[(positions, fraction)]`` of the three parts of ``n`` events, as :func:`split_three`
    splits a sample of ``n`` events (the positions ride along as ``entries``)."""
    positions = vdata.Sample("events", pd.DataFrame(index=range(n)), np.ones(n), 1.0, float(n),
                             entries=np.arange(n, dtype=np.int64))
    return [(part.entries, part.fraction) for part in split_three(positions, fractions, seed)]


def _split_events(samples: vdata.OperatorSamples, fractions, seed: int, sm_parts=None):
    """:func:`split_three` of a same-events ``OperatorSamples``; ``sm_parts`` reuses an SM
    split already made with the same index (operators sharing one SM sample)."""
    if not samples.same_events:
        raise ValueError(f"{samples.operator}: split_three splits an OperatorSamples only when "
                         "same_events is set (one event set); split independent samples one "
                         "by one")
    index = _event_index(len(samples.sm), fractions, seed)

    def part(sample, k):
        positions, fraction = index[k]
        return sample.select(positions, sample.fraction * fraction)

    return tuple(vdata.OperatorSamples(
        samples.operator, sm_parts[k] if sm_parts else part(samples.sm, k),
        part(samples.lin, k), part(samples.quad, k), same_events=True) for k in range(3))


def prepare(source, operators=None, *, fractions=SPLIT, seed: int = 0,
            luminosity: float = vdata.LUMINOSITY, process: str = "SSWW",
            cuts: str | None = vdata.VBS_CUTS, max_events: int | None = None,
            features=None, log_features=None, linear_only: bool = False) -> EvaluationData:
    """Read and split (:func:`split_three`) the SM sample and each operator's LIN and QUAD.

    The SM sample is read and split once, so models trained on ``data.train[op].sm`` for any
    ``op`` never see the SM validation or test events.

    Args:
        source: a directory of ntuples, a sample map (see :class:`vaednn.data.SampleMap`),
            or samples already in memory: a mapping ``{operator: OperatorSamples}`` (e.g.
            built with :meth:`vaednn.data.Sample.from_frame`) whose operators share one SM
            sample. In-memory samples are split as they are: ``cuts``, ``max_events``,
            ``process``, ``features`` and ``log_features`` are for reading files only.
            A :class:`vaednn.reweight.ReweightedSample` (one event set with a weight per
            reweighting point; apply its ``cut``/``max_events`` first) is decomposed into
            SM/LIN/QUAD per operator (:meth:`~vaednn.reweight.ReweightedSample.operator_samples`)
            and split by event; so is the ``[sm]`` of a sample map that names a
            ``weight_vector`` (read with ``cuts`` and ``max_events``).
        operators: the operators to use; default (and required to be given for a
            directory or a map) every operator of an in-memory mapping.
        fractions, seed: the train / validation / test shares and the split's seed.
        luminosity: fb^-1 of the reported yields.
        process, cuts, max_events, features, log_features: as :func:`vaednn.data.read_sample`.
        linear_only: for a reweighted sample, fit SM and LIN only (QUAD samples get zero
            weights); needed when each operator has a single reweighting point.

    Raises:
        ValueError: no operators, an operator missing from a mapping, operators of a mapping
            with different SM samples, or anything the reader refuses.
    """
    from vaednn import reweight

    if not isinstance(source, Mapping | reweight.ReweightedSample) \
            and vdata.is_sample_map(source) and vdata.SampleMap.load(source).sm.weight_vector:
        source = reweight.read_map(source, cuts=cuts, max_events=max_events)
    if isinstance(source, reweight.ReweightedSample):
        if not operators:
            raise ValueError("operators is empty; name the operators to decompose")
        source = source.operator_samples(operators, linear_only=linear_only)
    elif linear_only:
        raise ValueError("linear_only is for reweighted samples; these have LIN and QUAD "
                         "samples of their own")
    if isinstance(source, Mapping):
        return _prepare_samples(source, operators, fractions, seed, luminosity)
    operators = list(operators or [])
    if not operators:
        raise ValueError("operators is empty")
    read = dict(cuts=cuts, max_events=max_events, features=features, log_features=log_features)
    sm = split_three(vdata.read_sample(source, "SM", process=process, **read), fractions, seed)
    parts = {"train": {}, "validation": {}, "test": {}}
    for op in operators:
        lin, quad = (split_three(vdata.read_sample(source, component, op, process, **read),
                                 fractions, seed) for component in ("LIN", "QUAD"))
        for index, name in enumerate(parts):
            parts[name][op] = vdata.OperatorSamples(op, sm[index], lin[index], quad[index])
    return EvaluationData(**parts, luminosity=luminosity)


def _prepare_samples(samples: Mapping, operators, fractions, seed: int,
                     luminosity: float) -> EvaluationData:
    """:func:`prepare` for ``{operator: OperatorSamples}`` already in memory."""
    operators = list(samples) if operators is None else list(operators)
    if not operators:
        raise ValueError("operators is empty")
    missing = [op for op in operators if op not in samples]
    if missing:
        raise ValueError(f"no samples for operator(s) {missing}; the mapping has {list(samples)}")
    for op in operators:
        if not isinstance(samples[op], vdata.OperatorSamples):
            raise ValueError(f"samples[{op!r}] must be vaednn.data.OperatorSamples, got "
                             f"{type(samples[op]).__name__}")
    sm_sample = samples[operators[0]].sm
    other = [op for op in operators if samples[op].sm is not sm_sample]
    if other:
        raise ValueError(f"operators {other} have another SM sample than {operators[0]!r}; "
                         "the operators of one comparison share one SM sample")
    columns = list(sm_sample.features.columns)
    for op in operators:
        for sample in samples[op]:
            if list(sample.features.columns) != columns:
                raise ValueError(f"{op}: {sample.name} has the variables "
                                 f"{list(sample.features.columns)}, the SM sample {columns}")
    sm = split_three(sm_sample, fractions, seed)
    parts = {"train": {}, "validation": {}, "test": {}}
    for op in operators:
        if samples[op].same_events:
            split = _split_events(samples[op], fractions, seed, sm_parts=sm)
        else:
            lin, quad = (split_three(part, fractions, seed)
                         for part in (samples[op].lin, samples[op].quad))
            split = [vdata.OperatorSamples(op, sm[k], lin[k], quad[k]) for k in range(3)]
        for index, name in enumerate(parts):
            parts[name][op] = split[index]
    return EvaluationData(**parts, luminosity=luminosity)


def normalisation(sample: vdata.Sample, luminosity: float = vdata.LUMINOSITY) -> float:
    """Yield per unit generator weight of ``sample`` at ``luminosity`` (the seed's ``norm``).

    ``xsec[pb] * 1000 * L[fb^-1] / sumw / fraction``, the factor
    :func:`vaednn.data.lumi_weights` multiplies the generator weights by.
    """
    return sample.xsec * vdata.PB_TO_FB * luminosity / sample.sumw / sample.fraction


# --------------------------------------------------------------------------- scoring

def _is_keras_model(scorer) -> bool:
    # An object can only be a Keras model if keras has been imported; checking
    # sys.modules keeps `compare` with plain callables free of the TensorFlow import.
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(scorer, keras.Model)


def score(scorer, sample: vdata.Sample) -> np.ndarray:
    """Per-event scores of ``sample``, larger meaning more BSM-like.

    Args:
        scorer: a Keras model from :mod:`vaednn.models` (a VAE+DNN gives its classifier
            output, a VAE its reconstruction loss; its variables are taken from the
            features by name), or a callable taking the raw features DataFrame (the
            sample's variables as columns) and returning one score per event.
        sample: the events.

    Raises:
        ValueError: the callable returned the wrong number of scores or NaN.
    """
    if _is_keras_model(scorer):
        from vaednn import models

        x = sample.features
        if models.is_classifier(scorer):
            values = models.classifier_output(scorer, x)
        else:
            values = models.event_losses(scorer, x)["reco"].to_numpy()
    elif callable(scorer):
        values = scorer(sample.features)
    else:
        raise ValueError("a scorer must be a Keras model or a callable, got "
                         f"{type(scorer).__name__}")
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) != len(sample):
        raise ValueError(f"{sample.name}: scorer returned {len(values)} scores for "
                         f"{len(sample)} events")
    if not np.isfinite(values).all():
        raise ValueError(f"{sample.name}: scorer returned NaN or infinite scores")
    return values


def _components(values, samples, luminosity: float) -> stats.ComponentScores:
    weights = [vdata.lumi_weights(s, luminosity) for s in samples]
    norms = tuple(normalisation(s, luminosity) for s in samples)
    return stats.ComponentScores(values[0], weights[0], values[1], weights[1], values[2],
                                 weights[2], norms, same_events=samples.same_events)


def _score_components(scorer, samples: vdata.OperatorSamples, sm=None) -> list[np.ndarray]:
    """Scores of SM, LIN and QUAD; the events of ``same_events`` samples are scored once."""
    sm = score(scorer, samples.sm) if sm is None else sm
    if samples.same_events:
        return [sm, sm, sm]
    return [sm, score(scorer, samples.lin), score(scorer, samples.quad)]


def score_samples(scorer, samples: vdata.OperatorSamples,
                  luminosity: float = vdata.LUMINOSITY) -> stats.ComponentScores:
    """Score an operator's SM, LIN and QUAD samples (see :func:`score`), with their yields."""
    return _components(_score_components(scorer, samples), samples, luminosity)


def feature_scorer(feature: str, direction: int = 1) -> Callable[[pd.DataFrame], np.ndarray]:
    """A scorer cutting on one raw variable: ``direction * features[feature]``.

    >>> feature_scorer("mjj")(pd.DataFrame({"mjj": [500.0, 900.0]}))
    array([500., 900.])
    """
    if not isinstance(feature, str):
        raise ValueError(f"feature must be a variable name, got {feature!r}")
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1, got {direction}")

    def scorer(features: pd.DataFrame) -> np.ndarray:
        if feature not in features.columns:
            raise ValueError(f"unknown feature {feature!r}; the events have "
                             f"{list(features.columns)}")
        return direction * features[feature].to_numpy(np.float64)

    return scorer


def counting_scorer(features: pd.DataFrame) -> np.ndarray:
    """The same score for every event: no selection, a one-bin fit (counting)."""
    return np.zeros(len(features))


def train_bdt(samples, *, c: float = 1.0, luminosity: float = vdata.LUMINOSITY, seed: int = 0):
    """The supervised reference: a gradient-boosted SM-vs-BSM classifier.

    scikit-learn's ``HistGradientBoostingClassifier`` on the raw features of the training
    split, on :func:`vaednn.training_sets.classifier_set` (SM 0 vs LIN + QUAD at ``c`` 1, the
    classes balanced as for the VAE+DNN) with the magnitudes of those weights: a classifier
    cannot take negative sample weights meaningfully, and |w| teaches it where the BSM
    samples populate phase space whatever the sign of the interference. Its score is
    then evaluated with the signed weights like every other.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    from vaednn.training_sets import classifier_set

    x, y, w = classifier_set(samples, c=c, seed=seed, luminosity=luminosity)
    model = HistGradientBoostingClassifier(random_state=seed)
    model.fit(x, y, sample_weight=np.abs(w))
    return model


def train_ratio_regression(samples: vdata.OperatorSamples, *,
                           luminosity: float = vdata.LUMINOSITY, seed: int = 0):
    """The supervised reference where per-event LIN weights are known: a regression of the
    ratio ``LIN / SM`` (the likelihood-ratio trick; MadMiner's SALLY near c = 0).

    For ``same_events`` samples (a reweighted sample) every event carries its SM and LIN
    weights, so ``r_i = w_LIN,i / w_SM,i`` is known per event, and the regression of ``r`` on
    the raw features, weighted by ``|w_SM|``, estimates ``LIN(x) / SM(x)``: the score
    ``d ln p(x | c) / dc`` at ``c = 0``, sufficient for small ``c``. Unlike the classifier
    of :func:`train_bdt` it keeps the sign of the interference, so where interference
    changes sign across phase space its binned fit separates the two regions. (With
    negative SM weights, NLO, the ``|w_SM|`` weighting estimates ``E[sign(w_SM) LIN] /
    E[|w_SM|]`` instead, close to the ratio where negative weights are few.) scikit-learn's
    ``HistGradientBoostingRegressor``, seeded.

    Raises:
        ValueError: the samples are not ``same_events``, or an SM weight is zero (no ratio).
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    if not samples.same_events:
        raise ValueError(f"{samples.operator}: the ratio regression needs per-event LIN and SM "
                         "weights of the same events (OperatorSamples.same_events)")
    w_sm = vdata.lumi_weights(samples.sm, luminosity)
    zero = w_sm == 0
    if zero.any():
        raise ValueError(f"{samples.operator}: {int(zero.sum())} events with SM weight 0 have "
                         "no LIN/SM ratio")
    ratio = vdata.lumi_weights(samples.lin, luminosity) / w_sm
    model = HistGradientBoostingRegressor(random_state=seed)
    model.fit(samples.sm.features.to_numpy(np.float64), ratio, sample_weight=np.abs(w_sm))
    return model


def best_variable(samples, *, c: float = 1.0, luminosity: float = vdata.LUMINOSITY):
    """The analysis without ML: the single raw variable and direction of largest AUC.

    Every variable of the samples is tried as a score in both directions (``x`` and
    ``-x``, i.e. keep events above or below a cut), on ``samples`` (pass the validation
    split, so the choice is not tuned on the test events). The AUC is that of the
    comparison tables (:meth:`vaednn.stats.ComponentScores.sm_vs_bsm`); a variable whose
    AUC is undefined (:class:`vaednn.stats.SignedWeightsError`) is not a candidate.

    Returns:
        ``(feature, direction)`` with direction +1 (cut ``x > k``) or -1 (``x < k``).

    Raises:
        ValueError: no variable has a defined AUC; the message gives each one's reason.
    """
    best, undefined = None, {}
    for feature in samples.sm.features.columns:
        values = [sample.features[feature].to_numpy(np.float64) for sample in samples]
        try:
            area = stats.auc(*_components(values, samples, luminosity).sm_vs_bsm(c))
        except stats.SignedWeightsError as error:
            undefined[feature] = str(error)
            continue
        for direction, value in ((1, area), (-1, 1 - area)):
            if best is None or value > best[0]:
                best = (value, feature, direction)
    if best is None:
        raise ValueError(f"{samples.operator}: no variable has a defined AUC: {undefined}")
    return best[1], best[2]


# --------------------------------------------------------------------------- figures of merit

def sensitivity(choose: stats.ComponentScores, report: stats.ComponentScores, *,
                background_uncertainty: float = 0.0, cl: float = 0.95) -> dict:
    """The binned-fit interval of a score: binning chosen on ``choose``, yields of ``report``.

    Returns:
        ``{"lo", "hi", "falls_back", "bins", "binning"}``; the bounds are NaN only with the
        reason in ``binning``: no binning satisfies :func:`vaednn.stats.fit_binning` on
        ``choose``, or a bin of ``report`` has no SM yield (no Asimov data); ``binning`` is
        empty otherwise.
    """
    try:
        edges = stats.fit_binning(choose)
    except stats.BinningError as error:
        return {"lo": np.nan, "hi": np.nan, "falls_back": False, "bins": 0,
                "binning": str(error)}
    background, lin, quad, _ = report.histogram(edges)
    empty = np.flatnonzero(background <= 0)
    if len(empty):
        i = int(empty[0])
        return {"lo": np.nan, "hi": np.nan, "falls_back": False, "bins": len(edges) - 1,
                "binning": f"bin ({edges[i]:.4g}, {edges[i + 1]:.4g}] chosen on validation has "
                           f"SM yield {background[i]:.4g} <= 0 on the reported events"}
    scan = stats.profile_scan(background, lin, quad,
                              background_uncertainty=background_uncertainty, cl=cl)
    return {"lo": scan.interval.lo, "hi": scan.interval.hi, "falls_back": scan.falls_back,
            "bins": len(edges) - 1, "binning": ""}


def metrics(choose: stats.ComponentScores, report: stats.ComponentScores, *, c: float = 1.0,
            intervals: bool = True, systematic: float = SYSTEMATIC) -> dict:
    """Every figure of merit of one score on one operator.

    Args:
        choose: the scores the choices are made on (validation split).
        report: the scores the numbers come from (test split); pass the same object
            for the seed's procedure.
        c: Wilson coefficient of the BSM mixture for AUC, best sigma and its error.
        intervals: also fit the binned likelihood intervals (95 % CL, with and without a
            ``systematic`` background normalisation uncertainty).

    Returns:
        A dict: ``AUC`` (SM against ``|c LIN + c^2 QUAD|`` per event,
        :meth:`vaednn.stats.ComponentScores.sm_vs_bsm`; NaN with the reason in
        ``no_AUC_because`` where negative SM weights leave it undefined); ``best_cut`` (the cut of largest S/sqrt(B) on ``choose`` among
        those keeping at least :data:`MIN_BACKGROUND` SM events),
        ``best_sigma`` and ``sigma_error`` (at that cut on ``report``); ``c_lo_3sigma``,
        ``c_hi_3sigma`` (the 3 sigma reach below and above 0,
        :func:`vaednn.stats.held_out_coefficient` of each sign) and
        ``min_abs_c``; with ``intervals``, ``c_lo_95``, ``c_hi_95``, ``c_lo_95_syst``,
        ``c_hi_95_syst``, ``falls_back`` and ``falls_back_syst`` (q drops below the
        threshold again outside the interval), ``bins`` and ``binning`` (why a fit failed).
    """
    try:
        area, no_auc = stats.auc(*report.sm_vs_bsm(c)), ""
    except stats.SignedWeightsError as error:
        area, no_auc = np.nan, str(error)
    best = stats.best_cut(c, choose, min_background=MIN_BACKGROUND)
    sigma, error = stats.significance_error([best.cut], c, report)
    c_hi, _ = stats.held_out_coefficient(choose, report, sign=1, min_background=MIN_BACKGROUND)
    c_lo, _ = stats.held_out_coefficient(choose, report, sign=-1, min_background=MIN_BACKGROUND)
    row = {"AUC": area, "no_AUC_because": no_auc, "best_sigma": float(sigma[0]),
           "best_cut": best.cut,
           "sigma_error": float(error[0]), "c_lo_3sigma": c_lo, "c_hi_3sigma": c_hi,
           "min_abs_c": min(-c_lo, c_hi)}
    if intervals:
        plain = sensitivity(choose, report)
        syst = sensitivity(choose, report, background_uncertainty=systematic)
        row.update({"c_lo_95": plain["lo"], "c_hi_95": plain["hi"],
                    "c_lo_95_syst": syst["lo"], "c_hi_95_syst": syst["hi"],
                    "falls_back": plain["falls_back"], "falls_back_syst": syst["falls_back"],
                    "bins": plain["bins"], "binning": plain["binning"]})
    return row


def _score_kind(scorer) -> str:
    if isinstance(scorer, Mapping):
        return "precomputed"
    if _is_keras_model(scorer):
        from vaednn import models

        return "classifier output" if models.is_classifier(scorer) else "reco loss"
    return "callable"


def _precomputed(given, samples, operator: str, split: str) -> list[np.ndarray]:
    if operator not in given:
        raise ValueError(f"precomputed scores have no entry for operator {operator!r}")
    if split not in given[operator]:
        raise ValueError(f"precomputed scores of {operator!r} lack the {split!r} split")
    entry = given[operator][split]
    out = []
    for key, sample in zip(("sm", "lin", "quad"), samples):
        if key not in entry:
            raise ValueError(f"precomputed {split} scores of {operator!r} lack {key!r}")
        values = np.asarray(entry[key], dtype=np.float64).reshape(-1)
        if len(values) != len(sample):
            raise ValueError(f"precomputed {operator!r} {split} {key!r}: {len(values)} scores "
                             f"for {len(sample)} events")
        out.append(values)
    return out


def compare(scorers: Mapping, data: EvaluationData, *, c: float = 1.0, operators=None,
            references: bool = True, intervals: bool = True, choose_on: str = "validation",
            seed: int = 0) -> dict[str, pd.DataFrame]:
    """Figures of merit of several models, one table per operator, with the references.

    Args:
        scorers: name -> scorer. A scorer is a Keras model (VAE: reconstruction loss;
            VAE+DNN: classifier output), a callable on the raw features DataFrame (see
            :func:`score`), or precomputed scores ``{operator: {"validation": {"sm": ...,
            "lin": ..., "quad": ...}, "test": {...}}}`` in the order of the splits' events.
        data: from :func:`prepare`.
        c: Wilson coefficient of the BSM mixture for AUC and best sigma.
        operators: which of ``data.operators`` to evaluate (default all).
        references: add the rows ``"counting"`` (no selection), ``"single variable"`` (the
            raw variable of largest AUC on validation, :func:`best_variable`), ``"mjj fit"``
            (the published analysis' variable) and ``"BDT (supervised)"`` (:func:`train_bdt`
            on the training split: the upper bound of a supervised search); for
            ``same_events`` samples also ``"ratio regression (SALLY)"``
            (:func:`train_ratio_regression`), the upper bound that keeps the sign of the
            interference.
        intervals: compute the binned-fit intervals (see :func:`metrics`).
        choose_on: ``"validation"``: choices on validation, numbers from test;
            ``"test"``: the seed's procedure, both on test (optimistic).
        seed: seed of the BDT.

    Returns:
        operator -> DataFrame, one row per model (index ``model``), columns ``score`` (what
        was cut or fitted on) and those of :func:`metrics`, at ``data.luminosity``.
    """
    if choose_on not in CHOICES:
        raise ValueError(f"choose_on must be one of {CHOICES}, got {choose_on!r}")
    operators = data.operators if operators is None else tuple(operators)
    unknown = [op for op in operators if op not in data.test]
    if unknown:
        raise ValueError(f"operators {unknown} are not in the data ({data.operators})")
    clash = REFERENCES & set(scorers) if references else set()
    if clash:
        raise ValueError(f"model names {sorted(clash)} are the names of reference rows")
    cache: dict[tuple[str, int], np.ndarray] = {}

    def scored(scorer, op, cache_as=None):
        out = []
        for split in ("validation", "test"):
            samples = getattr(data, split)[op]
            if isinstance(scorer, Mapping):
                values = _precomputed(scorer, samples, op, split)
            else:
                # prepare() shares one SM split between operators: a model given for every
                # operator scores it once.
                key = (cache_as, id(samples.sm))
                if cache_as is None:
                    sm = score(scorer, samples.sm)
                elif key not in cache:
                    sm = cache[key] = score(scorer, samples.sm)
                else:
                    sm = cache[key]
                values = _score_components(scorer, samples, sm)
            out.append(_components(values, samples, data.luminosity))
        validation, test = out
        return (test if choose_on == "test" else validation), test

    tables = {}
    for op in operators:
        rows = {}
        for name, scorer in scorers.items():
            choose, report = scored(scorer, op, cache_as=name)
            rows[name] = {"score": _score_kind(scorer),
                          **metrics(choose, report, c=c, intervals=intervals)}
        if references:
            for name, (scorer, kind) in _references(data, op, c, choose_on, seed).items():
                choose, report = scored(scorer, op)
                rows[name] = {"score": kind, **metrics(choose, report, c=c, intervals=intervals)}
        tables[op] = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    return tables


#: The reference rows :func:`compare` adds.
REFERENCES = frozenset({"counting", "single variable", "mjj fit", "BDT (supervised)",
                        "ratio regression (SALLY)"})


def _references(data: EvaluationData, op: str, c: float, choose_on: str, seed: int) -> dict:
    """Reference row name -> ``(scorer, what it scores)`` for one operator."""
    feature, direction = best_variable(getattr(data, choose_on)[op], c=c,
                                       luminosity=data.luminosity)
    bdt = train_bdt(data.train[op], c=c, luminosity=data.luminosity, seed=seed)

    def bdt_scorer(features):
        return bdt.predict_proba(features.to_numpy(np.float64))[:, 1]

    references = {"counting": (counting_scorer, "none"),
                  "single variable": (feature_scorer(feature, direction),
                                      f"{feature} {'>' if direction > 0 else '<'}")}
    # The published mjj fit, where the analysis has mjj among its variables.
    if "mjj" in data.test[op].sm.features.columns:
        references["mjj fit"] = (feature_scorer("mjj"), "mjj")
    references["BDT (supervised)"] = (bdt_scorer, "P(BSM)")
    if data.train[op].same_events:
        regression = train_ratio_regression(data.train[op], luminosity=data.luminosity,
                                            seed=seed)

        def ratio_scorer(features):
            return regression.predict(features.to_numpy(np.float64))

        references["ratio regression (SALLY)"] = (ratio_scorer, "LIN/SM")
    return references


def operator_matrix(scorers: Mapping, data: EvaluationData, *, c: float = 1.0) -> pd.DataFrame:
    """A model trained on each operator X evaluated on every operator Y.

    Args:
        scorers: trained operator X -> scorer (as in :func:`compare`; precomputed scores
            must then cover every operator of ``data``).
        data: from :func:`prepare`; every operator in it is evaluated.
        c: as in :func:`compare`.

    Returns:
        A tidy DataFrame, one row per (trained, evaluated) pair, with the columns of
        :func:`metrics` (3 sigma reach only, no fits);
        ``table.pivot(index="trained", columns="evaluated", values="AUC")`` is the matrix.
    """
    rows = []
    for trained, scorer in scorers.items():
        table = compare({trained: scorer}, data, c=c, references=False, intervals=False)
        for evaluated, frame in table.items():
            rows.append({"trained": trained, "evaluated": evaluated,
                         **frame.iloc[0].drop("score").to_dict()})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- results table

#: Columns renamed since an earlier release -> today's name: the 3 sigma reach was
#: ``c_minus``/``c_plus`` in :func:`metrics` and ``c_lo_3sigma``/``c_hi_3sigma`` in the results
#: table; it is ``c_lo_3sigma``/``c_hi_3sigma`` everywhere now.
RENAMED_COLUMNS = {"c_minus": "c_lo_3sigma", "c_plus": "c_hi_3sigma"}


def current_column(name: str, where: str) -> str:
    """Today's name of the column (or metric) ``name``: a name of :data:`RENAMED_COLUMNS`
    is still read, with a DeprecationWarning that names ``where`` it came from.

    >>> current_column("AUC", "metric")
    'AUC'
    """
    if name not in RENAMED_COLUMNS:
        return name
    warnings.warn(f"{where}: {name!r} is now called {RENAMED_COLUMNS[name]!r}; the old name "
                  "will stop working in a later release", DeprecationWarning, stacklevel=2)
    return RENAMED_COLUMNS[name]


def current_columns(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """``frame`` with the columns of :data:`RENAMED_COLUMNS` under today's names (a
    DeprecationWarning names ``where`` the frame came from, e.g. a saved file).

    Raises:
        ValueError: ``frame`` has a column under both its old and its new name.
    """
    old = [column for column in frame.columns if column in RENAMED_COLUMNS]
    if not old:
        return frame
    both = [column for column in old if RENAMED_COLUMNS[column] in frame.columns]
    if both:
        raise ValueError(f"{where}: has both {both} and their new names "
                         f"{[RENAMED_COLUMNS[c] for c in both]}; keep one of each")
    warnings.warn(f"{where}: columns {old} are now called {[RENAMED_COLUMNS[c] for c in old]}; "
                  "the old names will stop working in a later release", DeprecationWarning,
                  stacklevel=2)
    return frame.rename(columns=RENAMED_COLUMNS)


#: Delta degrees of freedom of :func:`seed_spread`: the sample standard deviation.
SEED_DDOF = 1


def seed_spread(values) -> float:
    """The spread of one result over training seeds: the sample standard deviation
    (ddof = :data:`SEED_DDOF`) of the seeds' values.

    The one rule for every seed average (:func:`vaednn.workflow.seed_average`,
    :func:`vaednn.anomaly.seed_tables`, :func:`vaednn.anomaly.width_ratios`). A NaN value (a
    seed without that number, e.g. a fit that gave no bound) is left out, as the mean over
    seeds leaves it out. Fewer than two values give NaN, not 0: one value (a deterministic
    reference, or a single training) has no measured spread, and 0 would claim a result
    that does not move with the seed; ``results.csv`` keeps the NaN, the README shows "—".

    >>> round(seed_spread([0.6, 0.8]), 6)  # sqrt((0.1**2 + 0.1**2) / (2 - 1))
    0.141421
    >>> seed_spread([0.7])
    nan

    Raises:
        ValueError: no values at all.
    """
    values = pd.Series(np.asarray(values, dtype=float).ravel())
    if values.empty:
        raise ValueError("seed_spread: no values (give one value per seed)")
    return float(values.std(ddof=SEED_DDOF))


#: The results table's columns (``figures/results.csv``), in order; extra columns follow.
RESULT_COLUMNS = ("operator", "model", "trained_on", "AUC", "score", "c_lo_3sigma", "c_hi_3sigma",
                  "c_lo_95", "c_hi_95", "c_lo_95_syst", "c_hi_95_syst", "extrapolated",
                  "falls_back", "falls_back_syst", "binning")

#: A ``trained_on`` value meaning "the operator of the row": a model trained per operator.
EACH_OPERATOR = "each operator"

#: Model name -> what it was trained on, for the rows every results table can have:
#: ``"SM"`` (SM events alone), ``"none"`` (nothing trained), or :data:`EACH_OPERATOR`.
TRAINED_ON = {
    "counting": "none", "single variable": "none", "mjj fit": "none",
    "BDT (supervised)": EACH_OPERATOR, "ratio regression (SALLY)": EACH_OPERATOR,
    "VAE": "SM", "VAE+DNN": EACH_OPERATOR,
    "IsolationForest (unsupervised)": "SM",
}

_BOUNDS = ("c_lo_3sigma", "c_hi_3sigma", "c_lo_95", "c_hi_95", "c_lo_95_syst", "c_hi_95_syst")


def results_table(tables: Mapping[str, pd.DataFrame], generated_at: float = 1.0,
                  trained_on: Mapping[str, str] | None = None) -> pd.DataFrame:
    """One row per operator × model from :func:`compare` tables, the columns of
    :data:`RESULT_COLUMNS` first (any further columns of the tables follow, so later rows
    and columns pass through).

    ``extrapolated`` is True where any bound has ``|c| > generated_at``, the coefficient the
    samples were generated at: such a bound extrapolates the LIN and QUAD yields.

    ``trained_on`` says what each model learnt from: ``SM`` for SM-only scores, the row's
    operator for supervised ones, ``none`` for counting and the single-variable fits. It
    comes from :data:`TRAINED_ON`, updated by the ``trained_on`` argument (model name ->
    ``"SM"``, ``"none"``, an operator name, or :data:`EACH_OPERATOR`).

    Raises:
        ValueError: a model has no ``trained_on`` entry.
    """
    known = {**TRAINED_ON, **(trained_on or {})}
    frames = []
    for operator, table in tables.items():
        frame = current_columns(table.reset_index(), f"results_table: tables[{operator!r}]")
        missing = sorted(set(frame["model"]) - set(known))
        if missing:
            raise ValueError(f"results_table: no trained_on entry for model(s) {missing}; pass "
                             f"trained_on={{name: 'SM' | 'none' | operator | EACH_OPERATOR}}")
        frame.insert(0, "operator", operator)
        frame["trained_on"] = [operator if known[m] == EACH_OPERATOR else known[m]
                               for m in frame["model"]]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    for column in _BOUNDS:
        if column not in out:
            out[column] = np.nan
    out["extrapolated"] = (out[list(_BOUNDS)].abs() > generated_at).any(axis=1)
    first = [c for c in RESULT_COLUMNS if c in out]
    return out[first + [c for c in out.columns if c not in first]]


# --------------------------------------------------------------------------- published limits

#: Expected 1 sigma intervals (Delta(-2 ln lambda) = 1, 100 fb^-1, LIN + QUAD) of the SSWW
#: analysis of arXiv:2108.03199 (see PHYSICS.md): each from a binned fit of one variable.
PUBLISHED_INTERVALS = {
    "cqq3": (-0.039, 0.044), "cqq31": (-0.044, 0.061), "cqq11": (-0.146, 0.276),
    "cqq1": (-0.151, 0.267), "cHl3": (-0.153, 0.151), "cll1": (-0.201, 0.204),
    "cW": (-0.202, 0.202), "cHq3": (-0.218, 0.206), "cHq1": (-1.28, 1.18),
    "cHW": (-2.07, 1.76), "cHWB": (-5.26, 6.60), "cHbox": (-5.41, 6.64), "cHDD": (-5.42, 9.08),
}
#: Luminosity (fb^-1) and confidence level of :data:`PUBLISHED_INTERVALS`.
PUBLISHED_LUMINOSITY = 100.0
PUBLISHED_CL = 0.6827


def interval_table(scorers: Mapping, data: EvaluationData, *, cl: float = PUBLISHED_CL,
                   luminosity: float = PUBLISHED_LUMINOSITY, systematic: float = SYSTEMATIC,
                   operators=None) -> pd.DataFrame:
    """Binned-fit intervals of several scores, with and without the systematic, next to the
    published ones: the like-for-like comparison of PHYSICS.md (``cl`` 0.6827, 100 fb^-1).

    Args:
        scorers: name -> scorer (as in :func:`compare`); a ``{operator: scorer}`` mapping of
            callables/models gives each operator its own model (a VAE+DNN per operator).
            The ``counting`` and ``mjj fit`` rows are always added.
        data: from :func:`prepare`; binning chosen on validation, yields from test, both
            rescaled to ``luminosity``.

    Returns:
        One row per operator, model and ``systematic`` (0 or the given value): ``lo``,
        ``hi``, ``falls_back``, ``no_fit_because`` (why the bounds are NaN; empty where
        they are not), and the published ``published_lo``, ``published_hi`` (NaN
        for an operator without a published interval).
    """
    operators = data.operators if operators is None else tuple(operators)
    rescaled = data.at_luminosity(luminosity)
    rows = []
    for op in operators:
        here = {"counting": counting_scorer}
        if "mjj" in data.test[op].sm.features.columns:
            here["mjj fit"] = feature_scorer("mjj")
        for name, scorer in scorers.items():
            per_operator = isinstance(scorer, Mapping) and op in scorer and not isinstance(
                scorer[op], Mapping)
            here[name] = scorer[op] if per_operator else scorer
        published = PUBLISHED_INTERVALS.get(op, (np.nan, np.nan))
        for name, scorer in here.items():
            choose, report = (score_samples(scorer, getattr(rescaled, split)[op], luminosity)
                              for split in ("validation", "test"))
            for delta in (0.0, systematic):
                fit = sensitivity(choose, report, background_uncertainty=delta, cl=cl)
                rows.append({"operator": op, "model": name, "systematic": delta,
                             "lo": fit["lo"], "hi": fit["hi"], "falls_back": fit["falls_back"],
                             "no_fit_because": fit["binning"],
                             "published_lo": published[0], "published_hi": published[1]})
    return pd.DataFrame(rows)
