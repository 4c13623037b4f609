"""Sample maps: a JSON file naming each sample's ROOT file, tree, weight and branches,
and the readers that take either a map or a folder of ntuples (:func:`read_sample`,
:func:`stream`, :func:`load_operator`)."""

from __future__ import annotations

import dataclasses
import difflib
import re
from pathlib import Path

import numpy as np

from vaednn import expressions
from vaednn.data.samples import (
    COMPONENTS, VBS_CUTS, WEIGHT, OperatorSamples, Sample, check_number, feature_set,
    lumi_weights)
from vaednn.data.ntuples import iterate_ntuple, ntuple_path, read_ntuple
from vaednn.expressions import ExpressionError
from vaednn.files import existing_file

__all__ = ["Derivations", "derived", "SampleSpec", "SampleMap", "is_sample_map", "read_sample", "stream",
           "load_operator", "operators_in"]


class Derivations:
    """Expressions for variables an ntuple may lack, from their ingredients; used through
    its one instance :data:`derived` (``derived.mass(...)``), or by name in a sample map
    (``{derive = "mass", args = [...]}``).

    Each returns a string to use as a value in a ``branches`` map; the arguments are
    branch names (or expressions) of the file. Massless objects, as at generator level.
    Every function they use is in :data:`vaednn.expressions.FUNCTIONS`.

    >>> derived.deltaphi("j1_phi", "j2_phi")
    'arccos(cos((j1_phi) - (j2_phi)))'
    """

    @staticmethod
    def deltaeta(eta1: str, eta2: str) -> str:
        """|eta1 - eta2|."""
        return f"abs(({eta1}) - ({eta2}))"

    @staticmethod
    def deltaphi(phi1: str, phi2: str) -> str:
        """Azimuthal separation folded into [0, pi]."""
        return f"arccos(cos(({phi1}) - ({phi2})))"

    @staticmethod
    def pt_pair(pt1: str, phi1: str, pt2: str, phi2: str) -> str:
        """Transverse momentum of the pair's vector sum (ptll from the two leptons)."""
        return f"sqrt(({pt1})**2 + ({pt2})**2 + 2*({pt1})*({pt2})*cos(({phi1}) - ({phi2})))"

    @staticmethod
    def mass(pt1: str, eta1: str, phi1: str, pt2: str, eta2: str, phi2: str) -> str:
        """Invariant mass of two massless objects: sqrt(2 pt1 pt2 (cosh deta - cos dphi))."""
        return (f"sqrt(2*({pt1})*({pt2})*(cosh(({eta1}) - ({eta2})) "
                f"- cos(({phi1}) - ({phi2}))))")


#: The derivations, as users call them: ``derived.deltaeta("j1_eta", "j2_eta")``.
derived = Derivations()


def _branch_expression(value, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and set(value) == {"derive", "args"}:
        recipes = [n for n in vars(Derivations) if not n.startswith("_")]
        if value["derive"] not in recipes:
            raise ValueError(f"{where}: unknown derivation {value['derive']!r}; "
                             f"choose from {recipes}")
        args = value["args"]
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise ValueError(f"{where}: args of a derivation are a list of branch names, "
                             f"got {args!r}")
        try:
            return getattr(derived, value["derive"])(*args)
        except TypeError as error:
            raise ValueError(f"{where}: {error}") from None
    raise ValueError(f"{where}: a branch is a name, an expression, or "
                     f"{{derive = ..., args = [...]}}, got {value!r}")


@dataclasses.dataclass
class SampleSpec:
    """Where one sample lives and how to read it (one entry of a :class:`SampleMap`)."""

    file: Path
    tree: str | None = None
    branches: dict = dataclasses.field(default_factory=dict)
    weight: str = WEIGHT
    xsec: float | None = None
    sumw: float | None = None
    features: tuple | None = None
    log_features: tuple | None = None
    #: A reweighted sample (see :mod:`vaednn.reweight`): the branch holding each event's
    #: weights at several parameter points, the id of each element, the point
    #: ``{operator: value}`` of each id, and whether the weights are ratios to ``weight``.
    weight_vector: str | None = None
    weight_ids: tuple | None = None
    points: dict | None = None
    relative_weights: bool = False

    def read(self, cuts: str | None = VBS_CUTS, max_events: int | None = None,
             step_size: int | str | None = None) -> Sample:
        return read_ntuple(self.file, self.tree, cuts, max_events, self.branches, self.weight,
                           self.xsec, self.sumw, step_size, self.features, self.log_features)


def _read_map(path: Path) -> dict:
    """The content of a TOML or YAML map (data only: ``tomllib``, ``yaml.safe_load``)."""
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        try:
            content = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML ({error})") from None
    else:
        import yaml

        try:
            content = yaml.safe_load(text)
        except yaml.YAMLError as error:
            reason = " ".join(str(error).split())
            raise ValueError(f"{path}: not valid YAML ({reason})") from None
    if not content:
        raise ValueError(f"{path}: the sample map is empty; it needs an [sm] sample")
    if not isinstance(content, dict):
        raise ValueError(f"{path}: a sample map is a table of keys (defaults, sm, operators), "
                         f"got {type(content).__name__}")
    return content


def _check_reweighting(entry: dict, where: str) -> None:
    """Check (in place: ids to a tuple, values to floats) a map entry's reweighting fields."""
    fields = ("weight_vector", "weight_ids", "points")
    given = [f for f in fields if f in entry]
    if not given and "relative_weights" not in entry:
        return
    missing = [f for f in fields if f not in entry]
    if missing:
        raise ValueError(f"{where}: a reweighted sample needs {list(fields)}; "
                         f"{missing} missing")
    if not isinstance(entry["weight_vector"], str) or not entry["weight_vector"]:
        raise ValueError(f"{where}.weight_vector must be a branch name, "
                         f"got {entry['weight_vector']!r}")
    ids = entry["weight_ids"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValueError(f"{where}.weight_ids must be a list of names, got {ids!r}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"{where}.weight_ids names an id twice: {ids}")
    points = entry["points"]
    if not isinstance(points, dict):
        raise ValueError(f"{where}.points must be a table {{id = {{operator = value}}}}, "
                         f"got {points!r}")
    unknown = sorted(set(points) - set(ids))
    if unknown:
        raise ValueError(f"{where}.points names id(s) {unknown} not in weight_ids {ids}")
    checked = {}
    for wid, point in points.items():
        if not isinstance(point, dict) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in point.values()):
            raise ValueError(f"{where}.points.{wid} must be a table {{operator = number}}, "
                             f"got {point!r}")
        checked[wid] = {op: float(v) for op, v in point.items()}
    if not isinstance(entry.get("relative_weights", False), bool):
        raise ValueError(f"{where}.relative_weights must be true or false, "
                         f"got {entry['relative_weights']!r}")
    entry["weight_ids"], entry["points"] = tuple(ids), checked


@dataclasses.dataclass
class SampleMap:
    """A directory of real samples described by a TOML or YAML file.

    The file names the SM sample and the LIN and QUAD samples of each operator, with
    their tree, branch map, weight, cross section (pb) and sum of weights, and the
    analysis's ``features`` and ``log_features`` (default: the 14 SSWW variables); a
    ``defaults`` table applies to every sample. Paths are relative to the map file.
    A complete example is in the README ("Bring your own ntuples").

    A reweighted sample (one event set with a weight per parameter point, e.g. NanoAOD's
    ``LHEReweightingWeight``) is an ``[sm]`` entry with ``weight_vector`` (the branch),
    ``weight_ids`` (the name of each element), ``points`` (``{id = {operator = value}}``),
    ``xsec`` and optionally ``relative_weights = true`` (ratios to ``weight``); it is read
    with :func:`vaednn.reweight.read_map`. :func:`vaednn.simulate.write_reweighted` writes
    one.
    """

    path: Path
    sm: SampleSpec
    operators: dict[str, dict[str, SampleSpec]]

    KEYS = {"file", "tree", "branches", "weight", "xsec", "sumw", "features", "log_features",
            "weight_vector", "weight_ids", "points", "relative_weights"}
    TOP_KEYS = {"defaults", "sm", "operators"}

    @classmethod
    def load(cls, path) -> SampleMap:
        """Read and check a map; every error names the file and what is wrong in it.

        Raises:
            FileNotFoundError: no such file.
            ValueError: not TOML/YAML, an unknown key anywhere (a typo such as
                ``[default]`` or ``[operator.cW.lin]``), a missing ``sm`` or ``file``,
                or a branch expression outside the allowed language.
        """
        path = existing_file(path, "sample map")
        content = _read_map(path)

        def unknown_keys(found, allowed, where):
            unknown = sorted(set(found) - set(allowed))
            if unknown:
                close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"{path}: {where} has unknown key(s) {unknown}{hint}; "
                                 f"allowed: {sorted(allowed)}")

        def table(value, where) -> dict:
            if not isinstance(value, dict):
                raise ValueError(f"{path}: {where} must be a table of keys, got {value!r}")
            return value

        unknown_keys(content, cls.TOP_KEYS, "the map")
        defaults = table(content.get("defaults", {}), "defaults")
        unknown_keys(defaults, cls.KEYS - {"file"}, "defaults")

        def spec(entry, where: str) -> SampleSpec:
            entry = table(entry, where)
            unknown_keys(entry, cls.KEYS, where)
            merged = {**defaults, **entry}
            if "file" not in merged:
                raise ValueError(f"{path}: {where} needs a 'file'")
            for key in ("file", "tree", "weight"):
                if key in merged and not (isinstance(merged[key], str) and merged[key]):
                    raise ValueError(f"{path}: {where}.{key} = {merged[key]!r}; it must be a "
                                     "non-empty string")
            # Zero, NaN and signs are checked with both values when the sample is read
            # (check_normalisation); a TOML `true` or "abc" is refused here, by key.
            for key in ("xsec", "sumw"):
                if key in merged:
                    check_number(f"{path}: {where}", key, merged[key], "in the map")
            branches = {**table(defaults.get("branches", {}), "defaults.branches"),
                        **table(entry.get("branches", {}), f"{where}.branches")}
            merged["branches"] = {name: _branch_expression(value, f"{path}: {where}.{name}")
                                  for name, value in branches.items()}
            checked = {**merged["branches"], WEIGHT: merged.get("weight", WEIGHT)}
            for name, text in checked.items():
                try:
                    expressions.parse(text)
                except ExpressionError as error:
                    raise ExpressionError(f"{path}: {where}.{name} = {error}") from None
            merged["file"] = path.parent / merged["file"]
            try:
                if "features" in merged or "log_features" in merged:
                    merged["features"], merged["log_features"] = feature_set(
                        merged.get("features"), merged.get("log_features"))
            except ValueError as error:
                raise ValueError(f"{path}: {where}: {error}") from None
            _check_reweighting(merged, f"{path}: {where}")
            return SampleSpec(**merged)

        if "sm" not in content:
            raise ValueError(f"{path}: the map needs an [sm] sample")
        operators = {}
        for operator, parts in table(content.get("operators", {}), "operators").items():
            where = f"operators.{operator}"
            unknown_keys(table(parts, where), {"lin", "quad"}, where)
            missing = {"lin", "quad"} - set(parts)
            if missing:
                raise ValueError(f"{path}: operator {operator!r} lacks {sorted(missing)}")
            operators[operator] = {"LIN": spec(parts["lin"], f"{where}.lin"),
                                   "QUAD": spec(parts["quad"], f"{where}.quad")}
        sm = spec(content["sm"], "sm")
        # One model reads every sample: a feature list in one entry only would read the
        # others with the 14 defaults and fail later, far from its cause.
        chosen = {"sm": (sm.features, sm.log_features)}
        chosen.update({f"operators.{operator}.{part.lower()}": (entry.features,
                                                                  entry.log_features)
                       for operator, parts in operators.items() for part, entry in parts.items()})
        if len(set(chosen.values())) > 1:
            differ = [where for where, value in chosen.items() if value != chosen["sm"]]
            raise ValueError(f"{path}: features/log_features differ between sm and {differ}; "
                             "give them once, in [defaults], so every sample has them")
        return cls(path, sm, operators)

    def spec(self, component: str, operator: str | None = None) -> SampleSpec:
        if component == "SM":
            return self.sm
        if operator not in self.operators:
            raise KeyError(f"{self.path}: no operator {operator!r}; the map has {sorted(self.operators)}")
        return self.operators[operator][component]


def is_sample_map(source) -> bool:
    """True when ``source`` names a sample-map file rather than a directory of ntuples."""
    return Path(source).suffix in {".toml", ".yaml", ".yml"}


def _locate(source, component: str, operator: str | None, process: str,
            features=None, log_features=None) -> dict:
    """read_ntuple's arguments for one sample of a directory or a sample map.

    ``features``/``log_features`` given here take precedence over the map's.
    """
    if is_sample_map(source):
        spec = SampleMap.load(source).spec(component, operator)
        if features is None and log_features is None:
            features, log_features = spec.features, spec.log_features
        return dict(path=spec.file, tree=spec.tree, branches=spec.branches, weight=spec.weight,
                    xsec=spec.xsec, sumw=spec.sumw, features=features,
                    log_features=log_features)
    return dict(path=ntuple_path(source, component, operator, process), features=features,
                log_features=log_features)


def read_sample(source, component: str = "SM", operator: str | None = None,
                process: str = "SSWW", cuts: str | None = VBS_CUTS,
                max_events: int | None = None, step_size: int | str | None = None,
                features=None, log_features=None) -> Sample:
    """One sample from a directory of ntuples or a sample map (features as :func:`read_ntuple`)."""
    return read_ntuple(**_locate(source, component, operator, process, features, log_features),
                       cuts=cuts, max_events=max_events, step_size=step_size)


def stream(source, component: str = "SM", operator: str | None = None, process: str = "SSWW",
           cuts: str | None = VBS_CUTS, batch_events: int = 8192, step_size: int | str = "50 MB",
           seed: int | None = 0, weights: bool = False):
    """A ``tf.data.Dataset`` that reads one sample from disk while a model trains on it.

    Every epoch re-reads the file chunk by chunk (:func:`iterate_ntuple`, cuts applied per
    chunk), so memory stays bounded by ``step_size`` however large the file: pass it to
    ``model.fit`` in place of an array. Events are shuffled within each chunk (seeded,
    differently every epoch); chunks come in file order, so a file sorted by some variable
    should be read with a ``step_size`` that spans many of its regions. Elements are raw
    features (float32, shape ``(batch_events, n_features)``), or ``(features, labels, yields)`` with
    ``weights=True``: labels 0 for the SM, 1 for LIN and QUAD, and the luminosity-normalised
    yields of :func:`lumi_weights`.
    """
    import tensorflow as tf

    location = _locate(source, component, operator, process)
    label = 0.0 if component == "SM" else 1.0
    epoch = [0]

    def batches():
        rng = None if seed is None else np.random.default_rng([seed, epoch[0]])
        epoch[0] += 1
        for chunk in iterate_ntuple(**location, cuts=cuts, step_size=step_size):
            x = chunk.features.to_numpy(np.float32)
            w = lumi_weights(chunk).astype(np.float32)
            order = np.arange(len(x)) if rng is None else rng.permutation(len(x))
            for start in range(0, len(x), batch_events):
                index = order[start:start + batch_events]
                yield (x[index], w[index]) if weights else x[index]

    feature_spec = tf.TensorSpec((None, len(feature_set(location["features"],
                                                         location["log_features"])[0])),
                                 tf.float32)
    if weights:
        signature = (feature_spec, tf.TensorSpec((None,), tf.float32))
        dataset = tf.data.Dataset.from_generator(batches, output_signature=signature)
        dataset = dataset.map(lambda x, w: (x, tf.fill(tf.shape(w), label), w))
    else:
        dataset = tf.data.Dataset.from_generator(batches, output_signature=feature_spec)
    return dataset.prefetch(2)


def load_operator(source, operator: str, process: str = "SSWW", cuts: str | None = VBS_CUTS,
                  max_events: int | None = None, features=None,
                  log_features=None) -> OperatorSamples:
    """The SM, LIN and QUAD samples of one operator.

    ``source`` is a directory laid out as the original ntuples or a sample map
    (``.toml``/``.yaml``, see :class:`SampleMap`); ``features``/``log_features`` as in
    :func:`read_ntuple` (default: the map's, else the 14 :data:`FEATURES`).
    """
    samples = {component: read_sample(source, component, operator, process, cuts, max_events,
                                      features=features, log_features=log_features)
               for component in COMPONENTS}
    return OperatorSamples(operator, samples["SM"], samples["LIN"], samples["QUAD"])


def operators_in(source, process: str = "SSWW") -> list[str]:
    """Operators with both a LIN and a QUAD sample in a directory or a sample map."""
    if is_sample_map(source):
        return sorted(SampleMap.load(source).operators)
    found = {}
    for path in Path(source).glob(f"ntuple_{process}_*_*.root"):
        match = re.fullmatch(rf"ntuple_{process}_(.+)_(LI|QU)\.root", path.name)
        if match:
            found.setdefault(match.group(1), set()).add(match.group(2))
    return sorted(op for op, kinds in found.items() if kinds == {"LI", "QU"})

