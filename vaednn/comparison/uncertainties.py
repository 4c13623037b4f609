"""Declared uncertainties of a score's binned fit, built from its events: the luminosity, the
background normalisation, the detector resolution (a shape from smeared events) and the
Monte Carlo statistics of SM, LIN and QUAD (:mod:`vaednn.stats.systematics`).

The resolution is a shape uncertainty of every sample under one nuisance parameter: the
generator-level test events smeared with ``scale`` times a typical LHC resolution
(:func:`vaednn.data.smear`) are its ``+1 sigma`` yields, their mirror image about the nominal
its ``-1 sigma`` (the package has no second, narrower detector to compare with, so the shift
is taken as symmetric).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from vaednn import data as vdata
from vaednn import stats
from vaednn.comparison.merit import SYSTEMATIC
from vaednn.comparison.scoring import score_samples

__all__ = ["LUMINOSITY_UNCERTAINTY", "RESOLUTION", "smeared", "resolution_shapes",
           "mc_statistics", "declared_uncertainties"]

#: Relative luminosity uncertainty of the declared set (a typical LHC Run 2 value; the
#: published analysis quotes none).
LUMINOSITY_UNCERTAINTY = 0.02
#: The resolution shape's nuisance parameter.
RESOLUTION = "resolution"


def smeared(samples: vdata.OperatorSamples, scale: float, seed: int = 0) -> vdata.OperatorSamples:
    """``samples`` with every variable smeared by ``scale`` times the nominal resolution
    (:func:`vaednn.data.smear`); one event set (``same_events``) is smeared once, so its
    three weight columns still describe the same events."""
    if samples.same_events:
        sm = dataclasses.replace(samples.sm, features=vdata.smear(samples.sm.features, scale,
                                                                   seed=seed))
        return vdata.OperatorSamples(samples.operator, sm,
                                     dataclasses.replace(samples.lin, features=sm.features),
                                     dataclasses.replace(samples.quad, features=sm.features),
                                     same_events=True)
    return vdata.OperatorSamples(samples.operator, *(
        dataclasses.replace(sample, features=vdata.smear(sample.features, scale,
                                                         seed=seed + index))
        for index, sample in enumerate(samples)))


def resolution_shapes(scorer, samples: vdata.OperatorSamples, edges, luminosity: float, *,
                      scale: float = 1.0, seed: int = 0) -> tuple[stats.Shape, ...]:
    """The detector-resolution shape of SM, LIN and QUAD in the fit's bins: one
    :class:`vaednn.stats.Shape` per sample, all named :data:`RESOLUTION` (one nuisance).

    Args:
        scorer: what the fit's score is (as :func:`vaednn.compare.score_samples` takes it).
        samples: the events whose yields the fit uses (the test split).
        edges: the fit's bin edges (:attr:`vaednn.compare.FitInputs.edges`).
        luminosity: in fb^-1, as the fit's yields.
        scale: the ``+1 sigma`` smearing, in multiples of the nominal resolution.
        seed: seed of the smearing.

    Raises:
        ValueError: a mirrored background bin would be ``<= 0`` (the smearing moves more than
            the whole bin); the message names the bin.
    """
    nominal = score_samples(scorer, samples, luminosity).histogram(edges)[:3]
    shifted = score_samples(scorer, smeared(samples, scale, seed), luminosity).histogram(edges)[:3]
    shapes = []
    for sample, base, up in zip(stats.SAMPLES, nominal, shifted):
        down = 2 * base - up
        if sample == "background" and (down <= 0).any():
            i = int(np.flatnonzero(down <= 0)[0])
            raise ValueError(f"resolution shape: smearing by {scale:g} x the resolution moves "
                             f"background bin {i} from {base[i]:.4g} to {up[i]:.4g}; its mirror "
                             "is not a yield: use a smaller scale or wider bins")
        shapes.append(stats.Shape(RESOLUTION, up, down, sample=sample))
    return tuple(shapes)


def mc_statistics(report: stats.ComponentScores, edges) -> stats.MCStat:
    """Each sample's per-bin Monte Carlo error ``sqrt(sum w^2)`` in the fit's bins, as a
    :class:`vaednn.stats.MCStat`.

    The three terms are independent; for one event set with three weight columns
    (``same_events``) they are in truth correlated, which this does not model.
    """
    errors = {}
    for sample, (values, weights) in zip(stats.SAMPLES, ((report.sm, report.w_sm),
                                                         (report.lin, report.w_lin),
                                                         (report.quad, report.w_quad))):
        errors[sample] = np.sqrt(stats.histogram(values, weights, edges).variances(flow=False))
    return stats.MCStat(**errors)


def declared_uncertainties(scorer, samples: vdata.OperatorSamples, edges, luminosity: float, *,
                           luminosity_uncertainty: float = LUMINOSITY_UNCERTAINTY,
                           normalisation: float = SYSTEMATIC, resolution: float = 1.0,
                           seed: int = 0) -> dict[str, tuple]:
    """Four groups of uncertainties of a score's fit, by name: ``"luminosity"``
    (:class:`vaednn.stats.Luminosity`), ``"background normalisation"`` (log-normal,
    ``normalisation``), ``"resolution"`` (:func:`resolution_shapes` at ``resolution``) and
    ``"MC statistics"`` (:func:`mc_statistics`); pass ``sum(groups.values(), ())`` as the
    ``systematics`` of :func:`vaednn.stats.likelihood_interval` for all of them.
    """
    report = score_samples(scorer, samples, luminosity)
    return {"luminosity": (stats.Luminosity(luminosity_uncertainty),),
            "background normalisation": (stats.Normalisation("bkg_norm", normalisation),),
            "resolution": resolution_shapes(scorer, samples, edges, luminosity,
                                            scale=resolution, seed=seed),
            "MC statistics": (mc_statistics(report, edges),)}
