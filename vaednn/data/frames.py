"""Samples from tables: a parquet file of events read into a :class:`Sample`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from vaednn.data.samples import (
    FEATURES, VBS_CUTS, WEIGHT, NtupleError, Sample, check_regular_file)

__all__ = ["read_parquet"]


def read_parquet(path, xsec: float, sumw: float, weights: str = WEIGHT,
                 cuts: str | None = VBS_CUTS, features=FEATURES, name: str | None = None,
                 log_features=None) -> Sample:
    """Read a parquet file of events (one row each) into a :class:`Sample`.

    Parquet holds no normalisation histogram, so the cross section and sum of weights are
    given. Needs pyarrow (``pip install 'vaednn[parquet]'``).

    Args:
        path: the parquet file (or a folder of them, as pandas reads it).
        xsec: cross section of the whole sample, in pb.
        sumw: sum of generator weights of the whole sample (before cuts).
        weights: the event-weight column.
        cuts: a selection on the feature names, as in :func:`read_ntuple`, or None.
        features: the feature columns, in order.
        name: the sample's name (default: the file name without ``.parquet``).
        log_features: the features that must be > 0, as in :meth:`Sample.from_frame`.

    Raises:
        NtupleError: file not found or not parquet, and everything :meth:`Sample.from_frame`
            refuses.
    """
    from vaednn.extras import require

    require("pyarrow", "reading parquet")
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_dir():
        check_regular_file(path)
    try:
        present = pq.ParquetDataset(path).schema.names
    except Exception as error:
        raise NtupleError(f"{path}: not a readable parquet file "
                          f"({type(error).__name__}: {error})") from error
    columns = list(dict.fromkeys([*features, weights]))
    missing = [column for column in columns if column not in present]
    if missing:
        raise NtupleError(f"{path}: no column(s) {missing} (the file has {present})")
    frame = pd.read_parquet(path, columns=columns)
    sample = Sample.from_frame(frame, weights, xsec, sumw,
                               name=name or path.name.removesuffix(".parquet"), cuts=cuts,
                               features=features, log_features=log_features)
    return dataclasses.replace(sample, path=path)

