"""The generator's ntuples: written in the original analysis's on-disk format, stamped with
the generator version, and found stale when another version wrote them.

Weights and cross sections
    ``n_events`` / ``n_bsm`` count the events *written*, all of which pass the generator
    cuts; the VBS cuts are left to the reader. Weights are in pb per event, like MadGraph's
    LHE weights: SM and QUAD events all carry ``+xsec / N``; LIN events carry
    ``±|w|`` with one magnitude, the sign of the interference. The ``_nums`` cross section is
    the *signed* σ_LIN, and the weights are scaled so that their sum equals it, so
    ``sum(w * xsec / sumw)`` is σ (signed) for every sample and ``xsec / sumw`` is 1.
"""

from __future__ import annotations

import contextlib
import uuid
import zlib
from pathlib import Path

import numpy as np

import uproot

from vaednn.data import ntuple_path
from vaednn.files import atomic_path, check_folder
from vaednn.simulate.model import (
    BASKET_EVENTS, BRANCHES, DEFAULT_BSM_EVENTS, DEFAULT_EVENTS, DEFAULT_OPERATORS,
    GENERATOR_VERSION, OPERATORS, SM_XSEC_PB, VERSION_KEY, Operator, generate)

__all__ = ["child_seed", "write_ntuples", "generator_version", "stale_files"]

def child_seed(seed: int, name: str) -> np.random.SeedSequence:
    """A seed for one sample, keyed by its name: adding or reordering samples changes no other.

    This is what ``SeedSequence.spawn`` does with the child's index as ``spawn_key``; the
    name's CRC-32 replaces the index so the key does not depend on the operator list.
    """
    return np.random.SeedSequence(seed, spawn_key=(zlib.crc32(name.encode()),))


def _sample(kind: str, op: Operator | None, n: int, seed: np.random.SeedSequence):
    """Events and weights (pb, summing to the sample's cross section) of one sample."""
    if kind == "SM":
        return generate(n, seed), np.full(n, SM_XSEC_PB / n), SM_XSEC_PB
    ratio = op.lin_ratio if kind == "LI" else op.quad_ratio
    xsec = ratio * SM_XSEC_PB
    if op.kind == "rate only":
        events = generate(n, seed)
        return events, np.full(n, xsec / n), xsec
    order = 1 if kind == "LI" else 2  # E^2 for LIN, E^4 = (E^2)^2 for QUAD
    events = generate(n, seed, shift_jets=order * op.growth_jets, shift_ww=order * op.growth_ww,
                      deta_shift=order * op.deta_shift,
                      lin_sign=op.lin_sign if kind == "LI" else None,
                      parameters=op.decay_parameters)
    if kind == "QU":
        return events, np.full(n, xsec / n), xsec
    sign = events.pop("sign").to_numpy()
    net = sign.sum()
    if net * xsec <= 0:
        raise ValueError(
            f"LIN sample of {op.name}: the interference signs of {n} events sum to {net:+.0f}, "
            f"not to the sign of sigma_LIN = {xsec:+.3g} pb; generate more events "
            "(n_bsm, vaednn simulate --bsm-events)")
    return events, sign * (xsec / net), xsec


def write_ntuples(outdir, operators=DEFAULT_OPERATORS, n_events: int = DEFAULT_EVENTS,
                  n_bsm: int = DEFAULT_BSM_EVENTS, seed: int = 0, process: str = "SSWW", *,
                  overwrite: bool = False, missing_only: bool = False) -> list[Path]:
    """Write the SM ntuple and a LIN and a QUAD ntuple per operator.

    Every event written passes ``GENERATOR_CUTS``; the VBS cuts are left to the reader
    (about 69% of SM events pass them). Kinematic branches are float32, as in ROOT
    ntuples (``Float_t``); ``w`` is float64, in pb, summing to the file's cross section.
    The same arguments write the same events, weights, histograms and file UUIDs; the
    files still differ byte-wise in the creation times uproot stamps into them.

    Args:
        outdir: directory for the files (created if missing).
        operators: names from ``OPERATORS``.
        n_events: SM events to write.
        n_bsm: events per LIN and per QUAD sample.
        seed: master seed; each sample's seed derives from it and the sample's name.
        process: the process tag in file and tree names.
        overwrite: replace files that already exist (otherwise they are an error).
        missing_only: write only the files that do not exist yet, leave the others as
            they are. Each sample's events depend only on ``seed`` and its own name, so
            the files written are the ones a complete run would have written.

    Returns:
        The paths written: the SM file, then LIN and QUAD per operator.

    Raises:
        ValueError: an unknown operator or a non-positive number of events.
        FileExistsError: a file to write exists, and neither ``overwrite`` nor
            ``missing_only`` is set; nothing is written then.
        ValueError: too few LIN events for the interference signs to sum to the sign
            of the cross section. Nothing is written then either: the files appear
            together, after every sample is generated, and a folder this call created is
            removed again.
        NotADirectoryError: a file stands where ``outdir`` or one of its parents would be.
    """
    unknown = [op for op in operators if op not in OPERATORS]
    if unknown:
        raise ValueError(f"unknown operator(s) {unknown}; known: {sorted(OPERATORS)}")
    for name, value in (("n_events", n_events), ("n_bsm", n_bsm)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    outdir = check_folder(outdir)
    created = not outdir.exists()
    outdir.mkdir(parents=True, exist_ok=True)
    jobs = [("SM", None, ntuple_path(outdir, "SM", process=process), n_events)]
    for name in operators:
        for component, kind in (("LIN", "LI"), ("QUAD", "QU")):
            jobs.append((kind, OPERATORS[name],
                         ntuple_path(outdir, component, name, process=process), n_bsm))
    existing = [path.name for _, _, path, _ in jobs if path.exists()]
    if missing_only:
        jobs = [job for job in jobs if not job[2].exists()]
    elif existing and not overwrite:
        raise FileExistsError(
            f"{outdir}: {', '.join(existing)} already exist; pass overwrite=True "
            "(vaednn simulate --force) to replace them")
    written = []
    try:
        # Every file goes to a temporary first; they are renamed into place together when
        # the last one is written, so a failure leaves none of them.
        with contextlib.ExitStack() as renames:
            for kind, op, path, n in jobs:
                temporary = renames.enter_context(atomic_path(path))
                _write_sample(temporary, path, kind, op, int(n), seed)
                written.append(path)
    except BaseException:
        if created and not any(outdir.iterdir()):
            outdir.rmdir()
        raise
    return written


def _write_sample(temporary: Path, path: Path, kind: str, op: Operator | None, n: int,
                  seed: int) -> None:
    """Generate one sample and write it, as the ntuple ``path``, to ``temporary``."""
    tree = path.name.removeprefix("ntuple_").removesuffix(".root")
    events, weights, xsec = _sample(kind, op, n, child_seed(seed, tree))
    branches = {b: events[b].to_numpy(np.float32) for b in BRANCHES}
    branches["w"] = weights
    # uncompressed: zlib saves only ~17% on these float32 branches but doubles the run time
    file_id = uuid.uuid5(uuid.NAMESPACE_URL, f"vaednn.simulate/{seed}/{tree}")
    with uproot.recreate(temporary, compression=None,
                         uuid_function=lambda: file_id) as file:
        # mktree, not assignment: uproot >= 5.7 writes a dict as an RNTuple. Baskets of
        # BASKET_EVENTS, as a real ntuple has, so a chunked reader never has to load
        # a whole branch at once.
        ttree = file.mktree(tree, {b: a.dtype for b, a in branches.items()})
        for start in range(0, len(weights), BASKET_EVENTS):
            ttree.extend({b: a[start:start + BASKET_EVENTS] for b, a in branches.items()})
        file[f"{tree}_nums"] = (np.array([xsec, weights.sum()]), np.array([0.0, 1.0, 2.0]))
        file[VERSION_KEY] = str(GENERATOR_VERSION)


def generator_version(path) -> int | None:
    """The generator version stamped into a file by :func:`write_ntuples`.

    Returns:
        The version, or None for a file without a stamp (real ntuples, or data written
        before the stamp existed).

    Raises:
        FileNotFoundError: no such file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ntuple")
    with uproot.open(path) as file:
        if VERSION_KEY not in file:
            return None
        return int(str(file[VERSION_KEY]))


def stale_files(directory, operators=DEFAULT_OPERATORS, process: str = "SSWW") -> list[Path]:
    """The ntuples :func:`write_ntuples` would write into ``directory`` that are missing or
    were written by another generator version (an empty list: the data are current)."""
    directory = Path(directory)
    paths = [ntuple_path(directory, "SM", process=process)] + [
        ntuple_path(directory, component, name, process=process)
        for name in operators for component in ("LIN", "QUAD")]
    return [p for p in paths if not p.is_file() or generator_version(p) != GENERATOR_VERSION]
