"""Training, validation and test splits of several operators, sharing one SM sample.

Every choice (the cut, the fit binning, the best single variable) is made on the
**validation** split and every reported number comes from the **test** split
(``choose_on="validation"``, the default). ``choose_on="test"`` is the seed's own procedure,
the cut chosen on the very events it is judged on: optimistic, most of all in sparse tails,
and kept only to reproduce the original numbers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from vaednn import data as vdata

__all__ = [
    "SPLIT",
    "CHOICES",
    "EvaluationData",
    "split_three",
    "prepare",
]

#: Default train / validation / test shares of every sample.
SPLIT = (0.6, 0.2, 0.2)
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
