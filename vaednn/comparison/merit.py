"""Figures of merit of scores on held-out events: one table per operator, with the
references, and the operator matrix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from vaednn import stats
from vaednn.comparison.references import REFERENCES, reference_scorers
from vaednn.comparison.scoring import component_scores, is_keras_model, score, score_components
from vaednn.comparison.splits import CHOICES, EvaluationData

__all__ = [
    "SYSTEMATIC",
    "INTERVAL_CL",
    "MIN_BACKGROUND",
    "FitInputs",
    "fit_inputs",
    "sensitivity",
    "metrics",
    "compare",
    "operator_matrix",
]

#: Relative background normalisation uncertainty of the ``*_syst`` intervals.
SYSTEMATIC = 0.1
#: Confidence level of the binned-fit intervals of :func:`metrics` (``c_lo_95``, ...).
INTERVAL_CL = 0.95
#: The smallest SM yield a chosen cut may keep (the seed's convention, B >= 1 event): a cut
#: that keeps a fraction of an expected event selects a fluctuation of a few weighted MC
#: events, and the same cut on the test split can keep no background at all.
MIN_BACKGROUND = 1.0


class FitInputs(NamedTuple):
    """What the binned fit of a score reads: its bins and per-bin yields.

    Attributes:
        edges: the bin edges chosen on the validation scores (``[-inf, ..., +inf]``, bins
            ``(low, high]``); empty where no binning exists.
        background, lin, quad: per-bin SM, LIN and QUAD yields of the reported scores
            (LIN and QUAD at ``c = 1``); empty where ``edges`` is.
        mc_errors: the background's per-bin Monte Carlo error ``sqrt(sum w_SM^2)``.
        reason: why there is no fit (empty when there is one).
    """

    edges: np.ndarray
    background: np.ndarray
    lin: np.ndarray
    quad: np.ndarray
    mc_errors: np.ndarray
    reason: str

    @property
    def bins(self) -> int:
        """Number of bins (0 where no binning exists)."""
        return max(len(self.edges) - 1, 0)


def fit_inputs(choose: stats.ComponentScores, report: stats.ComponentScores) -> FitInputs:
    """The inputs of the binned fit of a score: binning chosen on ``choose``, yields of
    ``report``.

    Returns:
        :class:`FitInputs`; its ``reason`` says why there is no fit: no binning satisfies
        :func:`vaednn.stats.fit_binning` on ``choose`` (then ``edges`` is empty), or a bin
        of ``report`` has no SM yield (no Asimov data; the yields are given).
    """
    try:
        edges = stats.fit_binning(choose)
    except stats.BinningError as error:
        empty = np.empty(0)
        return FitInputs(empty, empty, empty, empty, empty, str(error))
    background, lin, quad, mc_errors = report.histogram(edges)
    reason = ""
    missing = np.flatnonzero(background <= 0)
    if len(missing):
        i = int(missing[0])
        reason = (f"bin ({edges[i]:.4g}, {edges[i + 1]:.4g}] chosen on validation has SM yield "
                  f"{background[i]:.4g} <= 0 on the reported events")
    return FitInputs(edges, background, lin, quad, mc_errors, reason)


def sensitivity(choose: stats.ComponentScores, report: stats.ComponentScores, *,
                background_uncertainty: float = 0.0, cl: float = INTERVAL_CL) -> dict:
    """The binned-fit interval of a score: binning chosen on ``choose``, yields of ``report``
    (:func:`fit_inputs`).

    Returns:
        ``{"lo", "hi", "falls_back", "bins", "binning"}``; the bounds are NaN only with the
        reason in ``binning``: no binning satisfies :func:`vaednn.stats.fit_binning` on
        ``choose``, or a bin of ``report`` has no SM yield (no Asimov data); ``binning`` is
        empty otherwise.
    """
    inputs = fit_inputs(choose, report)
    if inputs.reason:
        return {"lo": np.nan, "hi": np.nan, "falls_back": False, "bins": inputs.bins,
                "binning": inputs.reason}
    scan = stats.profile_scan(inputs.background, inputs.lin, inputs.quad,
                              background_uncertainty=background_uncertainty, cl=cl)
    return {"lo": scan.interval.lo, "hi": scan.interval.hi, "falls_back": scan.falls_back,
            "bins": inputs.bins, "binning": ""}


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
    if is_keras_model(scorer):
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
                values = score_components(scorer, samples, sm)
            out.append(component_scores(values, samples, data.luminosity))
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
            for name, (scorer, kind) in reference_scorers(data, op, c, choose_on, seed).items():
                choose, report = scored(scorer, op)
                rows[name] = {"score": kind, **metrics(choose, report, c=c, intervals=intervals)}
        tables[op] = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    return tables


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
