"""Bad inputs and faults, as a hostile but fair user would try them (issues 12 and 21).

Each row of :data:`CASES` builds one bad input in a fresh folder and names the error type
and the words its message must contain; the tests after the table check the data that
comes back where the input is fine but easy to misread, and the command line.
"""

import io
import json
import zipfile
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import uproot
import yaml

import vaednn
from vaednn import cli, data, files, reproduce, scan, simulate, stats, workflow
from vaednn.data import FEATURES, NtupleError
from vaednn.expressions import ExpressionError
from vaednn.scan import running as scan_running

N = 40


def columns(n=N, seed=0, **extra):
    """Events that all pass the VBS cuts; weights of mixed signs summing to > 0."""
    rng = np.random.default_rng(seed)
    out = {name: rng.uniform(1.0, 3.0, n) for name in FEATURES}
    out.update(deltaetajj=rng.uniform(2.5, 6.0, n), mjj=rng.uniform(300.0, 2000.0, n),
               ptj1=rng.uniform(60.0, 400.0, n), ptj2=rng.uniform(40.0, 60.0, n))
    out["w"] = np.where(np.arange(n) % 5 == 0, -1.0, 1.0) * rng.uniform(0.5, 1.5, n)
    out.update(extra)
    return out


def write(path, content=None, tree="SSWW_SM", nums=(0.004, 10.0)):
    content = columns() if content is None else content
    with uproot.recreate(path) as file:
        types = {k: ("var * float64" if isinstance(v, ak.Array) else
                     np.dtype((v.dtype, v.shape[1:])) if v.ndim > 1 else v.dtype)
                 for k, v in content.items()}
        file.mktree(tree, types)
        file[tree].extend(content)
        if nums is not None:
            file[f"{tree}_nums"] = (np.array(nums, dtype=float), np.array([0.0, 1.0, 2.0]))
    return path


def ntuple(tmp, **kwargs):
    return write(tmp / "ntuple_SSWW_SM.root", **kwargs)


def jets(n=N):
    """Jet_pt with 2 or 3 jets per event (jagged) and a fixed 3-per-event array."""
    rng = np.random.default_rng(1)
    lists = [list(rng.uniform(40, 400, 2 + i % 2)) for i in range(n)]
    return ak.Array(lists), rng.uniform(40, 400, (n, 3))


def jet_file(tmp):
    jagged, fixed = jets()
    content = columns()
    content["Jet_pt"] = jagged
    content["Jet_fixed"] = fixed
    return write(tmp / "jets.root", content)


def truncated(tmp):
    path = ntuple(tmp, content=columns(n=20_000))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def histogram_as_tree(tmp):
    path = tmp / "ntuple_SSWW_SM.root"
    with uproot.recreate(path) as file:
        file["SSWW_SM"] = (np.array([1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    return path


INJECTION = ("Lep_ptll + 0*(lambda: 0).__globals__['__builtins__']['__import__']('os')"
             ".system('touch {marker}')")


def read(**kwargs):
    return lambda tmp: data.read_ntuple(ntuple(tmp), **kwargs)


def read_jets(**kwargs):
    return lambda tmp: data.read_ntuple(jet_file(tmp), tree="SSWW_SM", cuts=None, **kwargs)


def sample_map(text, suffix=".toml"):
    def make(tmp):
        ntuple(tmp)
        path = tmp / f"map{suffix}"
        path.write_text(text.replace("{marker}", str(tmp / "pwned")))
        return data.SampleMap.load(path)
    return make


GOOD_MAP = '[sm]\nfile = "ntuple_SSWW_SM.root"\n'
OPERATORS = ('[operators.cW.lin]\nfile = "ntuple_SSWW_SM.root"\n'
             '[operators.cW.quad]\nfile = "ntuple_SSWW_SM.root"\n')


def readme(text):
    def make(tmp):
        path = tmp / "README.md"
        path.write_text(text.format(start=reproduce.README_START, end=reproduce.README_END))
        return reproduce.update_readme(pd.DataFrame({"a": [1]}), path)
    return make


def keras_file(make_file):
    def make(tmp):
        path = tmp / "model.keras"
        make_file(path)
        return files.load_model(path)
    return make


def frame_of(content=None):
    return pd.DataFrame(columns() if content is None else content)


def written_scores(tmp, target=None, scores=None):
    """write_scores of a sample read from an ntuple, to ``target`` (default: a new file)."""
    path = ntuple(tmp)
    sample = data.read_ntuple(path)
    scores = np.ones(len(sample)) if scores is None else scores
    return data.write_scores(target or tmp / "scores.root", sample, {"reco": scores},
                             overwrite=True)


def detector_file(threshold=0.5, model=b"not a zip"):
    """A detector archive as Detector.save lays it out, with the given threshold and model."""
    def make(tmp):
        path = tmp / "detector.zip"
        scores = io.BytesIO()
        np.save(scores, np.zeros(3))
        state = {"params": vaednn.Detector().get_params(), "score_config": {},
                 "threshold": threshold, "n_features_in": 14, "feature_names_in": None}
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("model.keras", model)
            archive.writestr("detector.json", json.dumps(state))
            archive.writestr("decision_scores.npy", scores.getvalue())
        return vaednn.Detector.load(path)
    return make


def rntuple_with(tmp, **extra):
    """An RNTuple (uproot writes a dict as one) holding the columns and ``extra`` fields."""
    path = tmp / "ntuple_SSWW_SM.root"
    with uproot.recreate(path) as file:
        file["SSWW_SM"] = {**columns(), **extra}
    return path


def symlink_loop(tmp):
    (tmp / "a.root").symlink_to(tmp / "b.root")
    (tmp / "b.root").symlink_to(tmp / "a.root")
    return data.read_ntuple(tmp / "a.root", tree="SSWW_SM")


def under_a_file(tmp):
    (tmp / "plain").write_text("x")
    return simulate.write_ntuples(tmp / "plain" / "out", operators=(), n_events=5)


def scan_config(text=None, directory=False):
    def make(tmp):
        path = tmp / "scan.yaml"
        if directory:
            path.mkdir()
        elif text is not None:
            path.write_text(text)
        return scan.Grid.load(path)
    return make


# id, what to do in a fresh folder, the error type, words its message must contain
CASES = [
    # files that cannot be read
    ("missing file", lambda t: data.read_ntuple(t / "ntuple_X.root"), NtupleError, ["file not found"]),
    ("directory as file", lambda t: data.read_ntuple(t), NtupleError, ["is a directory"]),
    ("text as ROOT", lambda t: (t / "ntuple_SSWW_SM.root").write_text("x") and
     data.read_ntuple(t / "ntuple_SSWW_SM.root"), NtupleError, ["not a readable ROOT file"]),
    ("truncated ROOT", lambda t: data.read_ntuple(truncated(t)), NtupleError,
     ["truncated or corrupt"]),
    ("missing tree", read(tree="Events"), NtupleError, ["no tree 'Events'"]),
    ("missing branch", read(branches={"met": "MET"}), NtupleError, ["no branch 'MET'", "for 'met'"]),
    ("missing branch in expression", read(branches={"met": "met + x9"}), NtupleError,
     ["no branch 'x9'", "met + x9"]),
    ("no histogram", lambda t: data.read_ntuple(ntuple(t, nums=None)), NtupleError,
     ["no normalisation histogram", "xsec=..."]),
    ("no tree", lambda t: data.read_ntuple(histogram_as_tree(t)), NtupleError,
     ["'SSWW_SM' is a TH1D", "not a TTree or an RNTuple"]),
    # normalisation
    ("xsec zero", read(xsec=0.0, sumw=10.0), NtupleError, ["xsec = 0.0", "non-zero"]),
    ("xsec NaN", read(xsec=float("nan"), sumw=10.0), NtupleError, ["xsec = nan", "finite"]),
    ("xsec negative", read(xsec=-0.004, sumw=10.0), NtupleError, ["opposite signs"]),
    ("xsec zero in histogram", lambda t: data.read_ntuple(ntuple(t, nums=(0.0, 10.0))),
     NtupleError, ["xsec = 0.0", "SSWW_SM_nums"]),
    ("sumw zero", read(xsec=0.004, sumw=0.0), NtupleError, ["sumw = 0.0"]),
    ("sumw zero in histogram", lambda t: data.read_ntuple(ntuple(t, nums=(0.004, 0.0))),
     NtupleError, ["sumw = 0.0"]),
    ("max_events negative", read(max_events=-5), ValueError, ["max_events", "-5"]),
    ("max_events zero", read(max_events=0), ValueError, ["max_events", "positive"]),
    # values
    ("NaN value", lambda t: data.read_ntuple(ntuple(t, content=columns(mll=np.full(N, np.nan)))),
     NtupleError, ["'mll'", "NaN"]),
    ("log feature <= 0", lambda t: data.read_ntuple(ntuple(t, content=columns(met=np.zeros(N)))),
     NtupleError, ["'met'", "non-positive"]),
    ("no event after cuts", read(cuts="mjj > 1e9"), NtupleError, ["no event left"]),
    # lists per event
    ("jagged branch", read_jets(branches={"ptj1": "Jet_pt"}), NtupleError,
     ["'Jet_pt' (for 'ptj1') is jagged", "'Jet_pt[:, 0]'"]),
    ("jagged expression hint", read_jets(branches={"ptj1": "Jet_pt*1"}), NtupleError,
     ["jagged", "'(Jet_pt*1)[:, 0]'"]),
    ("fixed-length list", read_jets(branches={"ptj1": "Jet_fixed"}), NtupleError,
     ["fixed-length list of 3", "'Jet_fixed[:, 0]'"]),
    ("index out of range", read_jets(branches={"ptj1": "Jet_pt[:, 3]"}), NtupleError,
     ["'Jet_pt[:, 3]'", "out of range"]),
    ("indexing a number", read_jets(branches={"ptj1": "Jet_pt*1[:, 0]"}), ExpressionError,
     ["Jet_pt*1[:, 0]", "'(...)[:, 0]'"]),
    # maps
    ("unknown feature", read(branches={"MET": "met"}), ValueError, ["unknown feature", "MET"]),
    ("weight twice", read(branches={"w": "w"}, weight="genWeight"), ValueError,
     ["weight is given twice"]),
    # expressions: nothing outside the allow-list runs
    ("injection", lambda t: data.read_ntuple(ntuple(t), branches={
        "ptll": INJECTION.format(marker=t / "pwned")}), ExpressionError, ["'ptll'", "'__'"]),
    ("lambda", read(branches={"ptll": "ptll + 0*(lambda: 0)()"}), ExpressionError, ["lambda"]),
    ("attribute chain", read(branches={"met": "met.real.imag"}), ExpressionError,
     ["'met.real.imag'", "attribute access"]),
    ("dunder class", read(branches={"met": "met.__class__"}), ExpressionError, ["'__'"]),
    ("call outside the list", read(branches={"met": "open('x')"}), ExpressionError,
     ["calling 'open'", "sqrt"]),
    ("getattr", read(branches={"met": "getattr(met, 'real')"}), ExpressionError,
     ["calling 'getattr'"]),
    ("eval", read(branches={"met": "eval('1')"}), ExpressionError, ["calling 'eval'"]),
    ("string constant", read(weight="'w'"), ExpressionError, ["constant 'w'"]),
    ("comprehension", read(branches={"met": "[x for x in met]"}), ExpressionError,
     ["comprehension"]),
    ("keyword argument", read(branches={"met": "sqrt(x=met)"}), ExpressionError,
     ["keyword argument"]),
    ("private name", read(branches={"met": "_met"}), ExpressionError, ["'_met'"]),
    ("syntax error", read(branches={"met": "met +"}), ExpressionError, ["not a valid expression"]),
    # cuts go through the same check
    ("cut with attribute", read(cuts="ptj1.__class__ > 0"), ExpressionError, ["cuts", "'__'"]),
    ("cut with a call", read(cuts="__import__('os')"), ExpressionError, ["cuts"]),
    ("cut on a non-feature", read(cuts="Jet_pt > 30"), ExpressionError, ["['Jet_pt']", "not features"]),
    ("cut not a condition", read(cuts="ptj1 + 1"), ExpressionError, ["not a condition"]),
    # sample maps
    ("map missing", lambda t: data.SampleMap.load(t / "none.toml"), FileNotFoundError, ["not found"]),
    ("map is a directory", lambda t: (t / "d.toml").mkdir() or data.SampleMap.load(t / "d.toml"),
     IsADirectoryError, ["is a directory"]),
    ("empty YAML map", sample_map("", ".yaml"), ValueError, ["map.yaml", "empty"]),
    ("YAML list map", sample_map("- a\n- b\n", ".yaml"), ValueError, ["table of keys"]),
    ("bad TOML", sample_map("[sm\n"), ValueError, ["map.toml", "not valid TOML"]),
    ("bad YAML", sample_map("sm: [\n", ".yaml"), ValueError, ["not valid YAML"]),
    ("[default] typo", sample_map(GOOD_MAP + '[default]\ntree = "x"\n'), ValueError,
     ["['default']", "did you mean 'defaults'"]),
    ("[operator] typo", sample_map(GOOD_MAP + '[operator.cW.lin]\nfile = "a.root"\n'),
     ValueError, ["['operator']", "did you mean 'operators'"]),
    ("[operators.cW.linear]", sample_map(GOOD_MAP + OPERATORS + '[operators.cW.linear]\n'
                                         'file = "a.root"\n'), ValueError, ["['linear']"]),
    ("unknown sample key", sample_map('[sm]\nfile = "a.root"\nxsex = 1.0\n'), ValueError,
     ["['xsex']", "did you mean 'xsec'"]),
    ("no sm", sample_map(OPERATORS), ValueError, ["needs an [sm]"]),
    ("map injection", sample_map(GOOD_MAP + '[sm.branches]\nptll = "' + INJECTION + '"\n'),
     ExpressionError, ["map.toml", "sm.ptll", "'__'"]),
    ("map derivation unknown", sample_map(GOOD_MAP + '[sm.branches]\n'
                                          'ptll = { derive = "ptt", args = [] }\n'),
     ValueError, ["unknown derivation 'ptt'"]),
    # models
    ("corrupt .keras", keras_file(lambda p: p.write_bytes(b"not a zip")), ValueError,
     ["model.keras", "not a .keras model", "corrupt"]),
    ("directory .keras", keras_file(lambda p: p.mkdir()), IsADirectoryError, ["is a directory"]),
    ("missing .keras", keras_file(lambda p: None), FileNotFoundError, ["not found"]),
    # files the package writes
    ("simulate over existing", lambda t: [simulate.write_ntuples(t, operators=(), n_events=5)
                                          for _ in range(2)], FileExistsError,
     ["ntuple_SSWW_SM.root", "already exist", "--force"]),
    ("README reversed markers", readme("a\n{end}\nb\n{start}\nc\n"), ValueError, ["comes before"]),
    ("README one marker", readme("a\n{start}\nb\n"), ValueError, ["once each"]),
    ("README results without bounds", readme("a\n{start}\nb\n{end}\n"), ValueError,
     ["readme_table", "c_lo_95", "c_hi_95"]),
    # scan configuration
    ("scan config missing", scan_config(), FileNotFoundError, ["scan configuration not found"]),
    ("scan config directory", scan_config(directory=True), IsADirectoryError, ["is a directory"]),
    ("scan config bad YAML", scan_config("models: [\n"), ValueError, ["scan.yaml", "not valid YAML"]),
    ("scan config not a mapping", scan_config("- vae\n"), ValueError, ["mapping of keys"]),
    # samples in memory
    ("split too small", lambda t: data.split(data.Sample(
        "s", pd.DataFrame({"x": [1.0]}), np.ones(1), 1.0, 1.0)), ValueError, ["cannot be split"]),
    ("split fraction", lambda t: data.split(data.Sample(
        "s", pd.DataFrame({"x": [1.0, 2.0]}), np.ones(2), 1.0, 1.0), 1.5), ValueError,
     ["test_fraction"]),
    ("smear negative", lambda t: data.smear(pd.DataFrame({"x": [1.0]}), -0.1), ValueError,
     ["smearing scale must be >= 0"]),
    # issue 21, item 1 and 2: one rule for every writer; an input is never replaced
    ("scores over their own input", lambda t: written_scores(t, target=t / "ntuple_SSWW_SM.root"),
     ValueError, ["ntuple_SSWW_SM.root", "is an input", "even with --force"]),
    ("scores over a link to their input", lambda t: (t / "link.root").symlink_to(
        t / "ntuple_SSWW_SM.root") or written_scores(t, target=t / "link.root"), ValueError,
     ["link.root", "is an input"]),
    ("detector over existing", lambda t: (t / "d.zip").write_text("mine") and
     vaednn.Detector().save(t / "d.zip"), FileExistsError, ["d.zip", "overwrite=True"]),
    # item 3: an index picks an element of each event's list, never an event
    ("index on a flat branch", read(branches={"met": "met[0]"}), ExpressionError,
     ["'met[0]'", "[0] on the event axis", "'met[:, 0]'"]),
    ("index on the weight", read(weight="w[0]"), ExpressionError,
     ["'w' = 'w[0]'", "event axis"]),
    ("list index on a flat branch", read(branches={"met": "met[:, 0]"}), NtupleError,
     ["'met' is one value per event, not a list", "[:, 0]"]),
    ("event index on a jagged branch", read_jets(branches={"ptj1": "Jet_pt[0]"}),
     ExpressionError, ["'Jet_pt[0]'", "'Jet_pt[:, 0]'"]),
    # item 4: frames refuse what files refuse (the same values through all four entry
    # points are in test_one_validation_path_for_files_frames_parquet_and_maps)
    ("frame xsec negative", lambda t: data.Sample.from_frame(frame_of(), "w", -0.004, 10.0),
     NtupleError, ["frame", "opposite signs"]),
    ("frame xsec zero", lambda t: data.Sample.from_frame(frame_of(), "w", 0.0, 10.0),
     NtupleError, ["xsec = 0.0", "non-zero"]),
    ("frame text column", lambda t: data.Sample.from_frame(
        frame_of(columns(met=np.array(["1.5"] * N))), "w", 0.004, 10.0), NtupleError,
     ["frame", "['met'] do not hold numbers"]),
    ("frame cut not a condition", lambda t: data.Sample.from_frame(
        frame_of(), "w", 0.004, 10.0, cuts="ptj1 - 30"), ExpressionError, ["not a condition"]),
    # item 6
    ("background width 1000", lambda t: stats.likelihood_interval(
        [100.0], [10.0], [0.0], background_uncertainty=1000), ValueError,
     ["background_uncertainty = 1000", "unconstrained", "0.1 for 10%"]),
    # issue 23
    ("shape with fewer bins", lambda t: stats.likelihood_interval(
        [100.0, 50.0], [10.0, 5.0], [1.0, 1.0],
        systematics=(stats.Shape("jes", [110.0], [90.0]),)), ValueError,
     ["Shape 'jes': up has 1 bins", "background has 2"]),
    ("luminosity negative", lambda t: stats.Luminosity(-0.02), ValueError,
     ["Luminosity: fraction", "-0.02"]),
    ("normalisation on an unknown sample", lambda t: stats.Normalisation(
        "xsec", 0.1, ("signal",)), ValueError, ["unknown sample 'signal'"]),
    ("histogram edges decreasing", lambda t: stats.histogram([0.5], None, [1.0, 0.0]),
     ValueError, ["histogram: edges", "strictly increasing"]),
    # item 7
    ("TOML xsec = true", sample_map(GOOD_MAP + "xsec = true\nsumw = 1.0\n"), NtupleError,
     ["map.toml", "sm: xsec = True", "not a number"]),
    ("NaN score", lambda t: written_scores(t, scores=np.full(N, np.nan)), ValueError,
     ["score 'reco' has", "NaN", "not scored"]),
    ("detector threshold NaN", detector_file(threshold="nan"), ValueError,
     ["detector.zip", "threshold = 'nan'", "finite number"]),
    # item 8: constant parts are folded in float64 and refused if they overflow
    ("constant overflow", read(branches={"met": "met + 0*9**9**9"}), ExpressionError,
     ["'met + 0*9**9**9'", "overflows"]),
    ("constant division by zero", read(cuts="ptj1 > 1/0"), ExpressionError, ["'1 / 0'"]),
    ("cut indexing a feature", read(cuts="ptj1[:, 0] > 30"), ExpressionError,
     ["cuts", "'ptj1' is one value per event"]),
    ("cut of mixed types", read(cuts="(ptj1 > 30) & 2"), ExpressionError,
     ["cuts '(ptj1 > 30) & 2' cannot be evaluated", "TypeError"]),
    # item 9
    ("scan GPUs Ray lacks", lambda t: scan_running._check_resources(scan.Grid.from_dict(
        {"models": ["vae"], "resources": {"gpus_per_trial": 1}}), {"CPU": 2.0}), ValueError,
     ["gpus_per_trial = 1", "0 GPU(s)", "'CPU': 2.0", "no trial could start"]),
    # unclear errors, each now one line naming the file and the key
    ("deeply nested expression", read(branches={"met": "-" * 100_000 + "met"}),
     ExpressionError, ["'met'", "nested this deeply"]),
    ("map xsec a list", sample_map(GOOD_MAP + "xsec = [1.0]\n"), NtupleError,
     ["map.toml", "sm: xsec = [1.0]", "not a number"]),
    ("map xsec a string", sample_map(GOOD_MAP + 'xsec = "abc"\n'), NtupleError,
     ["map.toml", "sm: xsec = 'abc'", "not a number"]),
    ("map file a number", sample_map("[sm]\nfile = 5\n"), ValueError,
     ["map.toml", "sm.file = 5", "string"]),
    ("map tree a number", sample_map(GOOD_MAP + "tree = 5\n"), ValueError,
     ["map.toml", "sm.tree = 5", "string"]),
    ("features only in [sm]", sample_map(GOOD_MAP + 'features = ["mjj", "met"]\n' + OPERATORS),
     ValueError, ["map.toml", "differ between sm and", "operators.cW.lin", "[defaults]"]),
    ("scan seeds not integers", scan_config("models: [vae]\nseeds: [\"a\"]\n"), ValueError,
     ["scan.yaml", "seeds must be integers", "'a'"]),
    ("output under a file", under_a_file, NotADirectoryError,
     ["plain is a file, not a folder"]),
    ("device as ntuple", lambda t: data.read_ntuple("/dev/zero", tree="SSWW_SM"), NtupleError,
     ["/dev/zero", "not a regular file"]),
    ("symlink loop", symlink_loop, NtupleError, ["a.root", "cannot be opened", "symbolic links"]),
    ("RNTuple record", lambda t: data.read_ntuple(rntuple_with(
        t, Met=ak.zip({"pt": np.ones(N), "phi": np.zeros(N)})), branches={"met": "Met"},
        xsec=0.004, sumw=10.0), NtupleError, ["'met' = 'Met'", "record with fields ['pt', 'phi']"]),
    ("string branch", lambda t: data.read_ntuple(rntuple_with(t, label=ak.Array(["x"] * N)),
                                                 branches={"met": "label"}, xsec=0.004,
                                                 sumw=10.0), NtupleError,
     ["'met' = 'label'", "a string per event, not a number"]),
    ("detector with a truncated model", detector_file(), ValueError,
     ["detector.zip", "model.keras cannot be loaded", "truncated or corrupt"]),
    ("simulate too few LIN events", lambda t: simulate.write_ntuples(
        t / "new", operators=("cW",), n_events=10, n_bsm=10), ValueError,
     ["LIN sample of cW", "--bsm-events"]),
]


@pytest.mark.parametrize(("make", "error", "words"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_gives_a_named_error(tmp_path, make, error, words):
    with pytest.raises(error) as caught:
        make(tmp_path)
    message = str(caught.value)
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert not (tmp_path / "pwned").exists(), "an expression ran code"


def test_the_table_is_large_and_its_names_unique():
    assert len(CASES) >= 40
    assert len({case[0] for case in CASES}) == len(CASES)


# --------------------------------------------------------------------------- right data

def test_a_branch_map_wins_over_a_branch_of_the_same_name(tmp_path):
    content = columns(genWeight=np.linspace(1.0, 2.0, N))
    path = ntuple(tmp_path, content=content)
    sample = data.read_ntuple(path, cuts=None, branches={"met": "met/1000"}, weight="genWeight")
    np.testing.assert_allclose(sample.features["met"], content["met"] / 1000)
    np.testing.assert_array_equal(sample.weights, content["genWeight"])
    mapped = data.read_ntuple(path, cuts=None, branches={"w": "2*w"})
    np.testing.assert_array_equal(mapped.weights, 2 * content["w"])


def test_expressions_evaluate_as_numpy_does(tmp_path):
    content = columns()
    jagged, _ = jets()
    content["Jet_pt"] = jagged
    path = write(tmp_path / "jets.root", content)
    sample = data.read_ntuple(path, tree="SSWW_SM", cuts="(ptj1 > 100) & ~(mjj >= 1500)",
                              branches={"ptj1": "Jet_pt[:, 1]",
                                        "met": "where(met > 2, hypot(met, 1), -(-met))"})
    first, second = np.array([row[0] for row in jagged]), np.array([row[1] for row in jagged])
    keep = (second > 100) & ~(content["mjj"] >= 1500)
    np.testing.assert_allclose(sample.features["ptj1"], second[keep])
    met = content["met"]
    np.testing.assert_allclose(sample.features["met"],
                               np.where(met > 2, np.hypot(met, 1), met)[keep])
    np.testing.assert_array_equal(sample.entries, np.flatnonzero(keep))
    assert not np.allclose(first[keep], second[keep])


def test_entries_follow_cuts_chunks_concatenate_and_split(tmp_path):
    content = columns(n=1000)
    content["mjj"][::3] = 100.0  # fails the VBS cuts
    path = ntuple(tmp_path, content=content)
    whole = data.read_ntuple(path)
    chunked = data.read_ntuple(path, step_size=128)
    expected = np.flatnonzero(content["mjj"] > 200)
    assert whole.entries.dtype == np.int64
    np.testing.assert_array_equal(whole.entries, expected)
    np.testing.assert_array_equal(chunked.entries, expected)
    np.testing.assert_array_equal(whole.features["mjj"], content["mjj"][whole.entries])
    train, test = data.split(whole, seed=3)
    for part in (train, test):
        np.testing.assert_array_equal(part.features["ptj1"], content["ptj1"][part.entries])
    assert sorted(np.concatenate([train.entries, test.entries])) == list(expected)
    limited = data.read_ntuple(path, max_events=10)
    np.testing.assert_array_equal(limited.entries, expected[expected < 10])
    assert data.Sample("s", pd.DataFrame({"x": [1.0]}), np.ones(1), 1.0, 1.0).entries is None


def test_a_lin_sample_may_have_negative_xsec_and_sumw(tmp_path):
    content = columns()
    content["w"] = -np.abs(content["w"])
    sample = data.read_ntuple(ntuple(tmp_path, content=content, nums=(-0.002, -5.0)))
    assert (data.lumi_weights(sample) < 0).all()


# --------------------------------------------------------------------------- files written

def test_ensure_data_writes_only_the_missing_files(tmp_path, caplog):
    kwargs = dict(events=300, bsm_events=300, seed=2, operators=("cW",))
    workflow.ensure_data(tmp_path, **kwargs)
    sm, lin = data.ntuple_path(tmp_path, "SM"), data.ntuple_path(tmp_path, "LIN", "cW")
    before = data.read_ntuple(lin, cuts=None)
    sm.write_bytes(sm.read_bytes())  # the user's own copy: must stay as it is
    stamp = sm.stat().st_mtime_ns
    lin.unlink()
    with caplog.at_level("INFO", logger="vaednn"):
        workflow.ensure_data(tmp_path, **kwargs)
    assert sm.stat().st_mtime_ns == stamp
    assert "generated ntuple_SSWW_cW_LI.root" in caplog.text
    assert "ntuple_SSWW_SM.root" not in caplog.text.split("generated", 1)[1]
    again = data.read_ntuple(lin, cuts=None)
    np.testing.assert_array_equal(again.weights, before.weights)


def test_simulate_overwrites_only_when_asked(tmp_path):
    first = simulate.write_ntuples(tmp_path, operators=(), n_events=5, seed=1)
    with pytest.raises(FileExistsError):
        simulate.write_ntuples(tmp_path, operators=(), n_events=7, seed=1)
    assert data.read_ntuple(first[0], cuts=None).n_read == 5
    simulate.write_ntuples(tmp_path, operators=(), n_events=7, seed=1, overwrite=True)
    assert data.read_ntuple(first[0], cuts=None).n_read == 7
    assert [p.name for p in tmp_path.iterdir()] == [first[0].name]


def test_a_failed_results_write_keeps_the_old_file(tmp_path, monkeypatch):
    table = {"cW": pd.DataFrame({"AUC": [0.7]}, index=pd.Index(["vae"], name="model"))}
    path = workflow.save_results(table, tmp_path, trained_on={"vae": "SM"})
    old = path.read_text()

    def half_then_fail(self, target, **kwargs):
        Path(target).write_text("operator,mod")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        workflow.save_results(table, tmp_path, trained_on={"vae": "SM"})
    assert path.read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, "results.provenance.json"]


def test_a_failed_readme_refresh_keeps_the_readme(tmp_path, monkeypatch):
    path = tmp_path / "README.md"
    path.write_text(f"a\n{reproduce.README_START}\nold\n{reproduce.README_END}\nb\n")
    old = path.read_text()

    def half_then_fail(self, text, *args, **kwargs):
        with open(self, "w") as handle:
            handle.write(text[:5])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        reproduce.update_readme(pd.DataFrame({"operator": ["cW"], "model": ["counting"],
                                              "c_lo_95": [-0.3], "c_hi_95": [0.3]}), path)
    assert path.read_text() == old


# --------------------------------------------------------------------------- scan ids

def test_scan_trial_ids_follow_the_data_contents_not_its_path(tmp_path):
    grid = scan.Grid.from_dict({"models": ["vae"], "operators": ["cW"]})
    kwargs = dict(operators=("cW",), n_events=400, n_bsm=400)

    def ids(directory):
        resolved = grid.resolve(directory)
        key = scan_running._data_key(scan_running._prepare(directory, resolved), resolved)
        return [t["trial_id"] for t in resolved.trials(key)], key

    simulate.write_ntuples(tmp_path / "a", seed=1, **kwargs)
    first, key = ids(tmp_path / "a")
    simulate.write_ntuples(tmp_path / "b", seed=1, **kwargs)
    assert ids(tmp_path / "b")[0] == first, "the same contents elsewhere is the same data"
    simulate.write_ntuples(tmp_path / "a", seed=2, overwrite=True, **kwargs)
    assert ids(tmp_path / "a")[0] != first, "regenerated data must not reuse old trials"
    assert key["vaednn"] == __import__("vaednn").__version__


# --------------------------------------------------------------------------- command line

def test_cli_refuses_a_sample_map_injection_in_one_line(tmp_path, capsys):
    ntuple(tmp_path)
    marker = tmp_path / "pwned"
    path = tmp_path / "map.toml"
    path.write_text(GOOD_MAP + OPERATORS + "[sm.branches]\nptll = \"" +
                    INJECTION.format(marker=marker) + "\"\n")
    assert cli.main(["summary", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and "'__' is not allowed" in err
    assert not marker.exists()


@pytest.mark.parametrize(("argv", "words"), [
    (["summary", "--data", "{tmp}/missing"], ["missing", "not found"]),
    (["summary", "--data", "{tmp}/map.yaml"], ["map.yaml", "empty"]),
    (["scan", "--config", "{tmp}/none.yaml"], ["none.yaml", "not found"]),
    (["scan", "--config", "{tmp}"], ["is a directory"]),
    (["simulate", "--out", "{tmp}", "--events", "5", "--operators", "cW", "--bsm-events", "5"],
     ["already exist", "--force"]),
    (["export", "--records", "{tmp}/none.json", "--out", "{tmp}/pub"],
     ["none.json", "no such records file"]),
    (["export", "--records", "{tmp}/map.yaml", "--out", "{tmp}/pub"],
     ["map.yaml", "not a JSON file"]),
], ids=["missing data", "empty map", "missing config", "config directory", "simulate existing",
        "export missing records", "export records not JSON"])
def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, words):
    (tmp_path / "map.yaml").write_text("")
    simulate.write_ntuples(tmp_path, operators=(), n_events=5)
    argv = [part.format(tmp=tmp_path) for part in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    # Progress messages may precede it; the error itself is the one last line.
    *progress, error = err.splitlines()
    assert "Traceback" not in err and all(line.startswith("vaednn ") for line in progress)
    assert error.startswith(f"vaednn {argv[0]}: ")
    for word in words:
        assert word in error


def test_cli_debug_shows_the_traceback(tmp_path):
    with pytest.raises(FileNotFoundError):
        cli.main(["--debug", "summary", "--data", str(tmp_path / "missing")])


def test_cli_simulate_force_replaces(tmp_path, capsys):
    simulate.write_ntuples(tmp_path, operators=(), n_events=5)
    assert cli.main(["simulate", "--out", str(tmp_path), "--events", "7", "--operators",
                     "cW", "--bsm-events", "500", "--force"]) == 0
    assert data.read_ntuple(data.ntuple_path(tmp_path, "SM"), cuts=None).n_read == 7



# --------------------------------------------------------------------------- issue 21

def _through(entry, tmp, xsec, sumw, cuts):
    """Read the same events with the same normalisation and cuts through one entry point."""
    content = columns()
    if entry == "file":
        return data.read_ntuple(ntuple(tmp, content=content), xsec=xsec, sumw=sumw, cuts=cuts)
    if entry == "frame":
        return data.Sample.from_frame(pd.DataFrame(content), "w", xsec, sumw, cuts=cuts)
    if entry == "parquet":
        path = tmp / "events.parquet"
        pd.DataFrame(content).to_parquet(path)
        return data.read_parquet(path, xsec=xsec, sumw=sumw, cuts=cuts)
    ntuple(tmp, content=content)
    path = tmp / "map.yaml"
    path.write_text(yaml.safe_dump({"sm": {"file": "ntuple_SSWW_SM.root", "xsec": xsec,
                                           "sumw": sumw}}))
    return data.SampleMap.load(path).sm.read(cuts=cuts)


ENTRIES = ["file", "frame", "parquet", "map"]


@pytest.mark.parametrize(("xsec", "sumw", "cuts", "error", "words"), [
    (-0.004, 10.0, None, NtupleError, ["xsec = -0.004 pb and sumw = 10", "opposite signs"]),
    (0.0, 10.0, None, NtupleError, ["xsec = 0.0", "finite and non-zero"]),
    (0.004, float("nan"), None, NtupleError, ["sumw = nan", "finite and non-zero"]),
    (0.004, 10.0, "ptj1 - 30", ExpressionError, ["'ptj1 - 30'", "not a condition"]),
    (0.004, 10.0, "ptj1.real > 30", ExpressionError, ["attribute access"]),
    (0.004, 10.0, "mjj > 1e9", NtupleError, ["no event left after the cuts 'mjj > 1e9'"]),
], ids=["xsec negative", "xsec zero", "sumw NaN", "cut not a condition", "cut attribute",
        "nothing selected"])
def test_one_validation_path_for_files_frames_parquet_and_maps(tmp_path, xsec, sumw, cuts,
                                                               error, words):
    messages = {}
    for entry in ENTRIES:
        (tmp_path / entry).mkdir()
        with pytest.raises(error) as caught:
            _through(entry, tmp_path / entry, xsec, sumw, cuts)
        messages[entry] = str(caught.value)
    for entry, message in messages.items():
        for word in words:
            assert word in message, f"{entry}: {word!r} not in {message!r}"


def test_the_four_entry_points_give_the_same_events_with_allowed_functions(tmp_path):
    cuts = "(where(mjj > 1000, ptj1, 2 * ptj1) > 150) & (hypot(ptj1, ptj2) > 0)"
    samples = {}
    for entry in ENTRIES:
        (tmp_path / entry).mkdir()
        samples[entry] = _through(entry, tmp_path / entry, 0.004, 10.0, cuts)
    content = columns()
    keep = np.where(content["mjj"] > 1000, content["ptj1"], 2 * content["ptj1"]) > 150
    assert 0 < keep.sum() < N
    for entry, sample in samples.items():
        np.testing.assert_array_equal(sample.weights, content["w"][keep], err_msg=entry)
        np.testing.assert_array_equal(sample.features["mjj"], content["mjj"][keep])
        assert (sample.xsec, sample.sumw) == (0.004, 10.0)


def test_an_allowed_index_still_reads_the_list_axis(tmp_path):
    jagged, fixed = jets()
    sample = data.read_ntuple(jet_file(tmp_path), tree="SSWW_SM", cuts=None,
                              branches={"ptj1": "Jet_fixed[:, 2]", "ptj2": "Jet_pt[:, -1]"})
    np.testing.assert_array_equal(sample.features["ptj1"], fixed[:, 2])
    np.testing.assert_array_equal(sample.features["ptj2"], [row[-1] for row in jagged])


def test_no_input_gives_an_auc_outside_0_1_or_an_efficiency_outside_minus1_2():
    rng = np.random.default_rng(5)
    for trial in range(200):
        n = int(rng.integers(2, 30))
        sm, bsm = rng.normal(0, 1, n), rng.normal(0.5, 1, n)
        w_sm = rng.uniform(0.1, 1.0, n)
        w_bsm = rng.uniform(-1.0, 1.0, n)
        w_bsm[-1] -= w_bsm.sum() - 10.0 ** -rng.uniform(3, 12)  # BSM weights nearly cancel
        try:
            value = stats.auc(sm, w_sm, bsm, w_bsm)
            eff_sm, eff_bsm = stats.roc(sm, w_sm, bsm, w_bsm)[:2]
        except ValueError:
            continue
        assert 0 <= value <= 1, f"trial {trial}: AUC {value}"
        assert np.all((-1 <= eff_bsm) & (eff_bsm <= 2)), f"trial {trial}: efficiency"


def _pyhf_q(spec, background, c):
    """q(c) from pyhf's own fits: twice the NLL at fixed c minus that at c = 0."""
    import pyhf

    pyhf.set_backend("numpy")
    model = pyhf.Model(spec, validate=False, poi_name=None,
                       modifier_settings={"normsys": {"interpcode": "code1"},
                                          "histosys": {"interpcode": "code0"}})
    data_ = np.concatenate([background, model.config.auxdata])
    twice = []
    for value in (0.0, c):
        init, bounds = model.config.suggested_init(), model.config.suggested_bounds()
        fixed = model.config.suggested_fixed()
        for name, v in (("c_lin", value), ("c_quad", value**2)):
            index = model.config.par_slice(name).start
            init[index], fixed[index], bounds[index] = v, True, (v - 1, v + 1)
        if "mc_stat" in model.config.par_order:
            for index in range(*model.config.par_slice("mc_stat").indices(len(init))):
                bounds[index] = (1e-6, 1e3)
        fit = pyhf.infer.mle.fit(data_, model, init_pars=init, par_bounds=bounds,
                                 fixed_params=fixed, return_fitted_val=True)
        twice.append(float(fit[1]))
    return twice[1] - twice[0]


@pytest.mark.parametrize(("mc_errors", "delta"), [
    ([1e9, 1e9], 0.0), ([300.0, 100.0], 0.0), ([1e4, 2.0], 0.0), ([5.0, 3.0], 0.5),
    (None, 3.0)], ids=["huge MC errors", "large MC errors", "mixed", "with normsys",
                       "widest background"])
def test_profile_likelihood_matches_pyhf_fits(mc_errors, delta):
    background, lin, quad = np.array([100.0, 50.0]), np.array([10.0, -3.0]), np.array([2.0, 1.0])
    errors = None if mc_errors is None else np.array(mc_errors)
    model = stats.likelihood._Likelihood(background, lin, quad, delta, errors)
    for c in (-3.0, 2.0, 5.0):
        ours = float(model.q(np.array([c]))[0])
        assert ours == pytest.approx(_pyhf_q(model.spec, background, c), rel=1e-5, abs=1e-6)


def test_huge_mc_errors_leave_the_coefficient_unconstrained():
    # With a free per-bin background every c fits the SM data: no bound, on either side.
    assert stats.likelihood_interval([100.0], [10.0], [0.0], mc_errors=[1e9]) == (
        -np.inf, np.inf)


def test_a_failed_simulate_leaves_no_folder_and_no_file(tmp_path):
    with pytest.raises(ValueError, match="LIN sample of cW"):
        simulate.write_ntuples(tmp_path / "new", operators=("cW",), n_events=10, n_bsm=10)
    assert not (tmp_path / "new").exists()
    simulate.write_ntuples(tmp_path, operators=(), n_events=5)
    before = sorted(tmp_path.iterdir())
    with pytest.raises(ValueError, match="LIN sample of cW"):
        simulate.write_ntuples(tmp_path, operators=("cW",), n_events=10, n_bsm=10,
                               overwrite=True)
    assert sorted(tmp_path.iterdir()) == before
    assert data.read_ntuple(before[0], cuts=None).n_read == 5


def test_a_detector_file_is_written_only_when_asked(tmp_path):
    path = tmp_path / "d.zip"
    path.write_text("mine")
    with pytest.raises(FileExistsError):
        vaednn.Detector().save(path)
    assert path.read_text() == "mine"


@pytest.fixture(scope="module")
def scored_data(tmp_path_factory):
    """Generated ntuples and a VAE trained for one epoch, saved beside them."""
    from vaednn import models

    folder = tmp_path_factory.mktemp("score")
    simulate.write_ntuples(folder, operators=("cW",), n_events=300, n_bsm=300, seed=1)
    features = data.read_sample(folder, "SM").features
    model = models.build("vae", features)
    model.fit(features, epochs=1, batch_size=256, verbose=0)
    model.save(folder / "vae.keras")
    return folder


def test_score_never_replaces_its_input(scored_data, capsys):
    inputs = sorted(scored_data.glob("ntuple_*.root"))
    before = {path: path.read_bytes() for path in inputs}
    for force in ([], ["--force"]):
        assert cli.main(["score", "--model", str(scored_data / "vae.keras"), "--data",
                         str(scored_data), "--out", str(scored_data / "ntuple.root"),
                         *force]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "is an input of this run" in err
    assert {path: path.read_bytes() for path in inputs} == before
    assert sorted(scored_data.glob("*.root")) == inputs


@pytest.mark.parametrize(("argv", "words"), [
    (["summary", "--data", "{tmp}", "--luminosity", "-1"], ["--luminosity", "'-1'", "> 0"]),
    (["summary", "--data", "{tmp}", "--luminosity", "nan"], ["--luminosity", "'nan'"]),
], ids=["luminosity negative", "luminosity NaN"])
def test_cli_refuses_a_luminosity_that_is_not_positive(tmp_path, capsys, argv, words):
    with pytest.raises(SystemExit) as caught:
        cli.main([part.format(tmp=tmp_path) for part in argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err


@pytest.mark.parametrize(("argv", "words"), [
    (["simulate", "--out", "{tmp}/new", "--events", "10", "--bsm-events", "10",
      "--operators", "cW"], ["LIN sample of cW", "--bsm-events"]),
    (["simulate", "--out", "{tmp}/plain/out", "--events", "5"], ["plain is a file"]),
    (["summary", "--data", "{tmp}/xsec.toml"], ["xsec.toml", "xsec = True", "not a number"]),
    (["summary", "--data", "{tmp}/nested.toml"], ["nested.toml", "nested this deeply"]),
    (["scan", "--config", "{tmp}/seeds.yaml"], ["seeds.yaml", "seeds must be integers"]),
], ids=["simulate too few events", "out under a file", "map xsec true", "deep expression",
        "scan seeds"])
def test_cli_issue_21_errors_are_one_line(tmp_path, capsys, argv, words):
    (tmp_path / "plain").write_text("x")
    (tmp_path / "xsec.toml").write_text(GOOD_MAP + "xsec = true\nsumw = 1.0\n")
    (tmp_path / "nested.toml").write_text(GOOD_MAP + '[sm.branches]\nmet = "' + "-" * 5000
                                          + 'met"\n')
    (tmp_path / "seeds.yaml").write_text('models: [vae]\nseeds: ["a"]\n')
    argv = [part.format(tmp=tmp_path) for part in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    *progress, error = err.splitlines()
    assert "Traceback" not in err and all(line.startswith("vaednn ") for line in progress)
    for word in words:
        assert word in error
    assert not (tmp_path / "new").exists()


def test_cli_scan_out_under_a_file_is_one_line(scored_data, tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    (tmp_path / "grid.yaml").write_text("models: [vae]\n")
    assert cli.main(["scan", "--config", str(tmp_path / "grid.yaml"), "--data",
                     str(scored_data), "--out", str(tmp_path / "plain" / "out")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "plain is a file, not a folder" in err
