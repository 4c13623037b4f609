"""The references every model is compared with: counting, the best single variable, the mjj
fit, a supervised BDT and, where per-event LIN weights are known, a ratio regression."""

from __future__ import annotations

import numpy as np

from vaednn import data as vdata
from vaednn import stats
from vaednn.comparison.scoring import component_scores, counting_scorer, feature_scorer
from vaednn.comparison.splits import EvaluationData

__all__ = [
    "REFERENCES",
    "train_bdt",
    "train_ratio_regression",
    "best_variable",
    "reference_scorers",
]


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
            area = stats.auc(*component_scores(values, samples, luminosity).sm_vs_bsm(c))
        except stats.SignedWeightsError as error:
            undefined[feature] = str(error)
            continue
        for direction, value in ((1, area), (-1, 1 - area)):
            if best is None or value > best[0]:
                best = (value, feature, direction)
    if best is None:
        raise ValueError(f"{samples.operator}: no variable has a defined AUC: {undefined}")
    return best[1], best[2]


#: The reference rows :func:`compare` adds.
REFERENCES = frozenset({"counting", "single variable", "mjj fit", "BDT (supervised)",
                        "ratio regression (SALLY)"})


def reference_scorers(data: EvaluationData, op: str, c: float, choose_on: str, seed: int) -> dict:
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
