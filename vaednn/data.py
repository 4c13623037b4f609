"""Reading SSWW ntuples (real or generated) into weighted samples.

The on-disk format is the original analysis's: one ROOT file per sample,
``ntuple_SSWW_SM.root`` holding the TTree ``SSWW_SM``, and per EFT operator
``ntuple_SSWW_<op>_LI.root`` (interference, ``SSWW_<op>_LI``) and
``ntuple_SSWW_<op>_QU.root`` (squared term, ``SSWW_<op>_QU``). Each file also holds a
histogram ``<tree>_nums`` whose bin 1 is the cross section in pb and bin 2 the sum of
the generator weights of every event in the file. Branches: the 14 :data:`FEATURES`,
the event weight ``w``, and others that are ignored.

A :class:`Sample` keeps raw features and generator weights; expected yields at a
luminosity come from :func:`lumi_weights`, and the EFT prediction at a Wilson
coefficient ``c`` is ``SM + c * LIN + c**2 * QUAD`` (:func:`wilson_weights`).

>>> FEATURES[:3]
('deltaetajj', 'deltaphijj', 'etaj1')
>>> len(FEATURES), len(LOG_FEATURES)
(14, 8)
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd
import uproot

FEATURES = (
    "deltaetajj", "deltaphijj", "etaj1", "etaj2", "etal1", "etal2", "met",
    "mjj", "mll", "ptj1", "ptj2", "ptl1", "ptl2", "ptll",
)
#: Energy-like features that the models see as log10 (heavy tails span decades).
LOG_FEATURES = ("met", "mjj", "mll", "ptj1", "ptj2", "ptl1", "ptl2", "ptll")
#: The VBS selection of the original analysis, in terms of the feature names (GeV).
VBS_CUTS = "(ptj1 > 30) & (ptj2 > 30) & (deltaetajj > 2) & (mjj > 200)"
#: The seed's integrated luminosity, in fb^-1.
LUMINOSITY = 350.0
WEIGHT = "w"
#: Names of the three components of one operator, as they appear in file and tree names.
COMPONENTS = {"SM": "SM", "LIN": "LI", "QUAD": "QU"}

PB_TO_FB = 1000.0


class NtupleError(ValueError):
    """An ntuple that cannot be used as it is; the message names the file and the problem."""


@dataclasses.dataclass
class Sample:
    """Events of one ntuple after the cuts.

    Attributes:
        name: the tree name, e.g. ``SSWW_cW_QU``.
        features: the 14 raw :data:`FEATURES` (float64 columns, in order).
        weights: generator weights, float64, signs kept (LIN samples have negative ones).
        xsec: cross section of the whole file, in pb.
        sumw: sum of generator weights of the whole file (before cuts).
        fraction: share of the file's events this sample stands for: 1 for a whole
            file, less after :func:`split` or ``max_events``, so that
            :func:`lumi_weights` always predicts full-rate yields.
        n_read: events read from the file before the cuts (the cut flow's first row).
        path: the file it came from.
    """

    name: str
    features: pd.DataFrame
    weights: np.ndarray
    xsec: float
    sumw: float
    fraction: float = 1.0
    n_read: int = 0
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.weights)

    def select(self, index, fraction: float) -> Sample:
        """The events at ``index`` (positions), standing for ``fraction`` of the file."""
        return dataclasses.replace(
            self,
            features=self.features.iloc[index].reset_index(drop=True),
            weights=self.weights[index],
            fraction=fraction,
        )


@dataclasses.dataclass
class OperatorSamples:
    """The SM sample and the LIN and QUAD samples of one EFT operator."""

    operator: str
    sm: Sample
    lin: Sample
    quad: Sample

    def __iter__(self):
        return iter((self.sm, self.lin, self.quad))


def ntuple_path(directory, component: str = "SM", operator: str | None = None,
                process: str = "SSWW") -> Path:
    """Path of one sample's file in a directory laid out as the original ntuples.

    >>> ntuple_path("data", "QUAD", "cW").as_posix()
    'data/ntuple_SSWW_cW_QU.root'
    """
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {sorted(COMPONENTS)}, got {component!r}")
    if component == "SM":
        tree = f"{process}_SM"
    elif operator is None:
        raise ValueError(f"the {component} sample needs an operator name")
    else:
        tree = f"{process}_{operator}_{COMPONENTS[component]}"
    return Path(directory) / f"ntuple_{tree}.root"


def _default_tree(path: Path) -> str:
    stem = path.name.removesuffix(".root")
    if not stem.startswith("ntuple_"):
        raise NtupleError(
            f"{path}: cannot infer the tree name (file is not named ntuple_<tree>.root); "
            "pass tree=..."
        )
    return stem.removeprefix("ntuple_")


def _open(path: Path):
    if not path.is_file():
        raise NtupleError(f"{path}: file not found")
    try:
        return uproot.open(path)
    except Exception as error:
        raise NtupleError(f"{path}: not a readable ROOT file ({error})") from error


def _normalisation(file, path: Path, tree: str, xsec, sumw) -> tuple[float, float]:
    if xsec is not None and sumw is not None:
        return float(xsec), float(sumw)
    hist_name = f"{tree.rsplit('/', 1)[-1]}_nums"
    try:
        values = file[hist_name].values()
    except KeyError:
        raise NtupleError(
            f"{path}: no normalisation histogram {hist_name!r} (bin 1 = xsec in pb, bin 2 = "
            "sum of weights); pass xsec=... and sumw=... instead"
        ) from None
    if len(values) < 2:
        raise NtupleError(f"{path}: histogram {hist_name!r} has {len(values)} bins, needs 2")
    xsec = float(values[0]) if xsec is None else float(xsec)
    sumw = float(values[1]) if sumw is None else float(sumw)
    if sumw == 0:
        raise NtupleError(f"{path}: sum of weights in {hist_name!r} is zero")
    return xsec, sumw


def _check_branches(ttree, path: Path, tree: str, names) -> None:
    present = set(ttree.keys())
    missing = [name for name in names if name not in present]
    if missing:
        raise NtupleError(f"{path}: tree {tree!r} has no branch {', '.join(map(repr, missing))}")
    for name in names:
        if isinstance(ttree[name].interpretation, uproot.AsJagged):
            raise NtupleError(
                f"{path}: branch {name!r} is jagged (a variable-length list per event); "
                f"map the feature to one element, e.g. '{name}[:, 0]'"
            )


def _check_finite(columns: dict, path: Path) -> None:
    for name, values in columns.items():
        bad = ~np.isfinite(values)
        if bad.any():
            raise NtupleError(
                f"{path}: branch {name!r} has {int(bad.sum())} NaN or infinite value(s)"
            )


def check_log_features(features: pd.DataFrame, where: str) -> None:
    """Raise if a :data:`LOG_FEATURES` column has a value log10 cannot take.

    >>> check_log_features(pd.DataFrame({"met": [1.0, 0.0]}), "demo")
    Traceback (most recent call last):
    ...
    ValueError: demo: 'met' has 1 non-positive value(s), log10 needs > 0
    """
    for name in LOG_FEATURES:
        if name in features:
            bad = int((features[name].to_numpy() <= 0).sum())
            if bad:
                raise ValueError(f"{where}: {name!r} has {bad} non-positive value(s), log10 needs > 0")


def read_ntuple(path, tree: str | None = None, cuts: str | None = VBS_CUTS,
                max_events: int | None = None, xsec: float | None = None,
                sumw: float | None = None) -> Sample:
    """Read one ntuple into a :class:`Sample`, applying ``cuts``.

    Args:
        path: the ROOT file.
        tree: the TTree; defaults to ``<tree>`` of a file named ``ntuple_<tree>.root``.
        cuts: a selection on the feature names (pandas ``eval`` syntax), or None.
        max_events: read at most this many entries (before cuts); ``fraction`` then
            records the share read so yields stay right.
        xsec, sumw: override the ``<tree>_nums`` histogram (pb, sum of weights).

    Raises:
        NtupleError: missing file, tree, branch or histogram; NaN or infinite values;
            non-positive values in a log10 feature; no event left after the cuts.
    """
    path = Path(path)
    tree = tree or _default_tree(path)
    file = _open(path)
    try:
        ttree = file[tree]
    except KeyError:
        keys = sorted({key.split(";")[0] for key in file.keys()})
        raise NtupleError(f"{path}: no tree {tree!r} (the file holds {keys})") from None
    if not isinstance(ttree, uproot.TTree):
        raise NtupleError(
            f"{path}: {tree!r} is a {file.classname_of(tree)}, not a TTree "
            "(uproot >= 5.7 writes RNTuples from `file[name] = dict`; use file.mktree)"
        )
    xsec, sumw = _normalisation(file, path, tree, xsec, sumw)
    branches = [*FEATURES, WEIGHT]
    _check_branches(ttree, path, tree, branches)
    columns = ttree.arrays(branches, library="np", entry_stop=max_events)
    columns = {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}
    _check_finite(columns, path)
    n_read = len(columns[WEIGHT])
    features = pd.DataFrame({name: columns[name] for name in FEATURES})
    weights = columns[WEIGHT]
    if cuts:
        keep = features.eval(cuts).to_numpy(dtype=bool)
        features = features[keep].reset_index(drop=True)
        weights = weights[keep]
    if len(weights) == 0:
        raise NtupleError(f"{path}: no event left after the cuts {cuts!r} ({n_read} read)")
    try:
        check_log_features(features, str(path))
    except ValueError as error:
        raise NtupleError(str(error)) from None
    return Sample(
        name=tree, features=features, weights=weights, xsec=xsec, sumw=sumw,
        fraction=n_read / ttree.num_entries, n_read=n_read, path=path,
    )


def load_operator(directory, operator: str, process: str = "SSWW", cuts: str | None = VBS_CUTS,
                  max_events: int | None = None) -> OperatorSamples:
    """The SM, LIN and QUAD samples of one operator from a directory of ntuples."""
    samples = {
        component: read_ntuple(ntuple_path(directory, component, operator, process),
                               cuts=cuts, max_events=max_events)
        for component in COMPONENTS
    }
    return OperatorSamples(operator, samples["SM"], samples["LIN"], samples["QUAD"])


def split(sample: Sample, test_fraction: float = 0.2, seed: int = 0) -> tuple[Sample, Sample]:
    """Seeded random train/test split (80/20 by default, as in the seed).

    Each part keeps full-rate normalisation through ``fraction``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(sample))
    n_test = int(round(test_fraction * len(sample)))
    if n_test == 0 or n_test == len(sample):
        raise ValueError(f"{sample.name}: {len(sample)} events cannot be split {1 - test_fraction:.0%}/"
                         f"{test_fraction:.0%} with both parts non-empty")
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return (sample.select(train, sample.fraction * (1 - test_fraction)),
            sample.select(test, sample.fraction * test_fraction))


def lumi_weights(sample: Sample, luminosity: float = LUMINOSITY) -> np.ndarray:
    """Expected yield of each event at ``luminosity`` (fb^-1): w * xsec * L / sumw / fraction.

    >>> s = Sample("t", pd.DataFrame({"x": [1.0, 2.0]}), np.array([1.0, 3.0]), xsec=0.002, sumw=4.0)
    >>> lumi_weights(s, 100.0)  # 2 fb * 100 fb^-1 = 200 events, shared 1:3
    array([ 50., 150.])
    """
    return sample.weights * (sample.xsec * PB_TO_FB * luminosity / sample.sumw / sample.fraction)


def wilson_weights(lin: Sample, quad: Sample, c: float = 1.0,
                   luminosity: float = LUMINOSITY) -> tuple[np.ndarray, np.ndarray]:
    """Yields of the LIN and QUAD events at Wilson coefficient ``c``: LIN x c, QUAD x c^2."""
    return c * lumi_weights(lin, luminosity), c**2 * lumi_weights(quad, luminosity)


def mixture(sm: Sample, lin: Sample, quad: Sample, c: float = 1.0,
            luminosity: float = LUMINOSITY) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A labelled SM + BSM set for the classifier: ``(X, y, w)``.

    SM events get label 0, LIN and QUAD events label 1; ``w`` are the yields at
    ``luminosity`` with LIN x c and QUAD x c^2 (LIN weights may be negative).
    """
    for sample in (sm, lin, quad):
        if len(sample) == 0:
            raise ValueError(f"{sample.name}: empty sample, cannot build a mixture")
    w_lin, w_quad = wilson_weights(lin, quad, c, luminosity)
    x = np.concatenate([s.features.to_numpy(np.float64) for s in (sm, lin, quad)])
    y = np.concatenate([np.zeros(len(sm)), np.ones(len(lin) + len(quad))])
    w = np.concatenate([lumi_weights(sm, luminosity), w_lin, w_quad])
    return x, y, w


def smear(features: pd.DataFrame, fraction: float, seed: int = 0) -> pd.DataFrame:
    """Gaussian detector smearing, as in the seed: each value x gets noise N(0, fraction * |x|).

    A resolution cannot flip the sign of a positive-definite quantity, so for the
    log10 features the noise is a Gaussian truncated at -x (draws that would make the value
    non-positive are drawn again); with fraction 0.2 that is a 5-sigma tail. Weights are
    not touched: pass the sample's weights along unchanged.
    """
    if fraction < 0:
        raise ValueError(f"smearing fraction must be >= 0, got {fraction}")
    rng = np.random.default_rng(seed)
    out = features.copy()
    for name in features.columns:
        values = features[name].to_numpy(np.float64)
        noise = rng.standard_normal(len(values))
        if name in LOG_FEATURES:
            bad = 1 + fraction * noise <= 0
            while bad.any():
                noise[bad] = rng.standard_normal(int(bad.sum()))
                bad = 1 + fraction * noise <= 0
        out[name] = values + fraction * np.abs(values) * noise
    return out


def default_data_dir() -> Path:
    """Where the generated data set lives: ``$VAEDNN_DATA`` or ``data/generated``."""
    return Path(os.environ.get("VAEDNN_DATA", "data/generated"))


def sample_table(samples, luminosity: float = LUMINOSITY) -> pd.DataFrame:
    """One row per sample: events read and after cuts, cross sections and yields.

    ``xsec_fb`` is the file's cross section; ``selected_fb`` the part of it that passes
    the cuts (signed: a LIN sample's is negative when its interference is destructive);
    ``yield`` the expected events at ``luminosity``; ``neg_weight_fraction`` the share of
    selected events with a negative weight.
    """
    rows = []
    for sample in samples:
        yields = lumi_weights(sample, luminosity)
        rows.append({
            "sample": sample.name,
            "events_read": sample.n_read,
            "events_selected": len(sample),
            "xsec_fb": sample.xsec * PB_TO_FB,
            "selected_fb": yields.sum() / luminosity,
            "yield": yields.sum(),
            "neg_weight_fraction": float(np.mean(sample.weights < 0)),
        })
    return pd.DataFrame(rows).set_index("sample")
