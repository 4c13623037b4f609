"""Real generator samples (issue 20): one row per defect a real reweighted MadGraph sample
showed (``test_each_defect_of_issue_20_is_fixed``), then signed weights and real operators in
detail: AUC of a signed mixture, MC errors of one event set with three weight columns,
perfect-square bins, the ratio-regression reference. The reader and the decomposition are
tested in ``test_reweight.py``, every score on any variables in ``test_any_features.py``. The samples are built from one frame with three weight columns, as a reweighted
generator sample gives them (``OperatorSamples.same_events``)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.special import lambertw
from scipy.stats import chi2

import vaednn

from vaednn import anomaly, compare, data, reproduce, reweight, stats

FEATURES = ["x1", "x2", "x3", "x4"]
#: The expected SM yield of the toys at data.LUMINOSITY (each split keeps full-rate yields).
YIELD = 2000.0


def reweighted_toy(n, seed, interference, extra_quad=0.0):
    """One event set with SM, LIN and QUAD weight columns: ``w(c) = w_SM (1 + c g)^2 + c^2
    h w_SM`` per event, ``g = interference(frame)``, so LIN = 2 g w_SM, QUAD = (g^2 + h)
    w_SM and every event keeps LIN^2 <= 4 SM QUAD. Returns ``(EvaluationData, frame)``."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.uniform(-1, 1, n), "x2": rng.uniform(-1, 1, n),
                          "x3": rng.normal(size=n)})
    frame["x4"] = frame["x1"] + rng.normal(scale=0.5, size=n)
    g = interference(frame)
    columns = {"SM": np.ones(n), "LI": 2 * g, "QU": g**2 + extra_quad}
    xsec = YIELD / (data.PB_TO_FB * data.LUMINOSITY)
    samples = {name: data.Sample.from_frame(frame, weights, xsec=xsec, sumw=float(n),
                                            name=f"toy_{name}", features=FEATURES,
                                            log_features=[])
               for name, weights in columns.items()}
    # One seed for the three columns of the same events: the same permutation, so an event
    # and its three weights land in one split.
    parts = [compare.split_three(samples[name], seed=seed) for name in ("SM", "LI", "QU")]
    splits = {split: {"cT": data.OperatorSamples("cT", *(p[i] for p in parts),
                                                 same_events=True)}
              for i, split in enumerate(("train", "validation", "test"))}
    return compare.EvaluationData(**splits), frame


def net_negative(frame):
    """Interference that changes sign across x1 + x2 and is net negative at c = 1."""
    return 0.6 * (frame["x1"] + frame["x2"]) - 0.14


def sign_changing(frame):
    """Interference that changes sign across x1 + x2, net zero: counting sees only QUAD."""
    return 0.3 * (frame["x1"] + frame["x2"])


def signed_mixture_auc(score_sm, w_sm, score_bsm, w_bsm):
    """The Mann-Whitney AUC with signed BSM weights: the definition before issue 20."""
    greater = (score_bsm[:, None] > score_sm[None, :]) + 0.5 * (
        score_bsm[:, None] == score_sm[None, :])
    return float(w_bsm @ greater @ w_sm / (w_sm.sum() * w_bsm.sum()))


def perfect_square_interval(background, k, cl=0.95):
    """Closed form of the Asimov interval of ``nu = b (1 + k c)^2`` (any binning): with
    ``y = (1 + k c)^2``, q = 2 b (y - 1 - ln y) = t gives ``y = -W(-e^(-1 - t / 2b))`` on
    the two real branches of Lambert's W."""
    t = chi2.ppf(cl, 1)
    y = [-lambertw(-np.exp(-1 - t / (2 * background)), branch).real for branch in (0, -1)]
    return tuple(sorted((np.sqrt(v) - 1) / k for v in y))


def perfect_square_scores(k=0.5, seed=2, exact=True):
    """Every event ``w(c) = w_SM (1 + k c)^2``, 1000 SM events in all: LIN^2 = 4 SM QUAD in
    every bin, exactly (weights 1/2, k = 1/2: every sum is exact in binary floating point)
    or up to round-off (``exact=False``: random weights)."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=2000)
    w = np.full(2000, 0.5) if exact else rng.uniform(0.25, 0.75, 2000)
    w *= 1000.0 / w.sum()
    return stats.ComponentScores(score, w, score, 2 * k * w, score, k**2 * w), k


# ------------------------------------------------------------------ one row per defect

def defect_auc_outside_unit_interval():
    """Issue 20 defect 1: on a net-negative mixture the AUC of SM against c LIN + c^2 QUAD
    left [0, 1] (-0.106 for the VAE, 9.53 for the chosen single variable) and the largest
    such number was *chosen*. Here the LIN and QUAD columns are passed as two samples of the
    same events, as the user did before ``same_events`` existed."""
    evaluation, _ = reweighted_toy(3000, 5, net_negative)
    samples = evaluation.validation["cT"]
    assert sum(data.lumi_weights(s).sum() for s in (samples.lin, samples.quad)) < 0  # net < 0
    old = {}
    for feature in FEATURES:
        values = [s.features[feature].to_numpy() for s in samples]
        w = [data.lumi_weights(s) for s in samples]
        old[feature] = signed_mixture_auc(values[0], w[0], np.r_[values[1], values[2]],
                                          np.r_[w[1], w[2]])
    # the toy reproduces the defect: the signed-mixture AUC of some variable is impossible
    assert not all(0 <= a <= 1 for a in old.values()), old
    independent = data.OperatorSamples("cT", *samples)
    feature, direction = compare.best_variable(independent)
    scores = compare.score_samples(compare.feature_scorer(feature, direction), independent)
    return stats.auc(*scores.sm_vs_bsm(1.0))


def defect_nan_bounds_perfect_square():
    """Issue 20 defect 2: a coupling-rescaling operator, w(c) = w_SM (1 + k c)^2, has
    LIN^2 = 4 SM QUAD in every bin; the strict LIN^2 < 4 SM QUAD refused every binning and
    every row got NaN bounds."""
    scores, k = perfect_square_scores()
    fit = compare.sensitivity(scores, scores)
    return (fit["lo"], fit["hi"]), perfect_square_interval(float(scores.w_sm.sum()), k)


def defect_independent_errors():
    """Issue 20 defect 4: SM, LIN and QUAD of one event set got the independent-sample MC
    error. Two events, all selected, c = 1: s = LIN + QUAD = (3, 0), b = (3, 1), S = 3, B = 4;
    var(S) = 9, var(B) = 10, cov(S, B) = 9 ->
    err^2 = 9/4 + 9 * 10 / (4 * 64) - 3 * 9 / 16 = 0.9140625
    (independent: var(S) = sum LIN^2 + sum QUAD^2 = 7 -> 7/4 + 90/256 = 2.1015625)."""
    events = ([0.0, 1.0], [3.0, 1.0], [0.0, 1.0], [2.0, -1.0], [0.0, 1.0], [1.0, 1.0])
    same = stats.ComponentScores(*events, same_events=True)
    independent = stats.ComponentScores(*events)
    return (float(stats.significance_error([-np.inf], 1.0, same)[1][0]) ** 2,
            float(stats.significance_error([-np.inf], 1.0, independent)[1][0]) ** 2)


def defect_feature_set_refused():
    """Issue 20 defect 3: the package's best SM-only score and the default Detector refused a
    9-variable frame ("DataFrame lacks feature column(s) ['etal1', ...]"), while
    models.build took it."""
    rng = np.random.default_rng(3)
    names = ["ptl1", "ptl2", "etal1", "etal2", "mll", "ptll", "deltaphill", "ptj1", "etaj1"]
    events = pd.DataFrame({name: rng.normal(0, 1, 400) if name.startswith(("eta", "delta"))
                           else rng.lognormal(4, 0.5, 400) for name in names})
    score = anomaly.make("gaussian_vae", epochs=1, encoder_units=(8,), decoder_units=(8,),
                         latent_dim=2, batch_size=128).fit(events)
    detector = vaednn.Detector(epochs=1, hyperparameters={
        "encoder_units": [8], "decoder_units": [8], "latent_dim": 2}).fit(events)
    return [score(events), anomaly.log_energy_sum(events), detector.decision_function(events)]


def defect_split_by_sample():
    """Issue 20 defect 4: SM, LIN and QUAD of one event set, passed as three samples, were split
    one by one; when the samples hold different rows (here the LIN sample without its
    zero-weight events, as a user's skim drops them) an event's SM copy lands in training and
    its LIN copy in test. Returns the events so misplaced by that route and by the reweighted
    sample's (one split of events)."""
    rng = np.random.default_rng(4)
    n = 2000
    events = pd.DataFrame({"x": rng.normal(size=n), "event": np.arange(n, dtype=float)})
    lin = np.where(rng.uniform(size=n) < 0.2, 0.0, rng.normal(size=n))
    columns = {"SM": np.ones(n), "P": 1 + lin + 1.0, "M": 1 - lin + 1.0}
    common = dict(xsec=1.0, sumw=float(n))
    by_sample = {name: data.Sample.from_frame(events[keep], w[keep], name=name,
                                              features=list(events), **common)
                 for name, w, keep in (("SM", columns["SM"], np.ones(n, bool)),
                                       ("LIN", lin, lin != 0), ("QUAD", np.ones(n), np.ones(n, bool)))}
    old = compare.prepare({"cT": data.OperatorSamples("cT", *by_sample.values())})
    sample = reweight.ReweightedSample(
        "events", events, np.column_stack(list(columns.values())), tuple(columns),
        {"SM": {}, "P": {"cT": 1.0}, "M": {"cT": -1.0}}, nominal=np.ones(n), **common, n_read=n)
    new = compare.prepare(sample, ["cT"])

    def misplaced(split):
        parts = [split.train["cT"], split.validation["cT"], split.test["cT"]]
        where = {}
        for index, part in enumerate(parts):
            for component in ("sm", "lin"):
                for event in getattr(part, component).features["event"]:
                    where.setdefault(event, set()).add(index)
        return sum(len(places) > 1 for places in where.values())

    return misplaced(old), misplaced(new)


DEFECTS = {
    "AUC outside [0, 1] on a net-negative mixture": (
        defect_auc_outside_unit_interval, lambda area: 0.0 <= area <= 1.0),
    "NaN bounds for b (1 + k c)^2": (
        defect_nan_bounds_perfect_square,
        lambda got: np.allclose(got[0], got[1], rtol=1e-3)),
    "independent MC errors for one event set": (
        defect_independent_errors,
        lambda got: np.allclose(got, (0.9140625, 2.1015625), rtol=1e-12)),
    "9-variable frame refused by the SM-only scores": (
        defect_feature_set_refused,
        lambda got: all(len(values) == 400 and np.isfinite(values).all() for values in got)),
    "an event's weights split across training and test": (
        defect_split_by_sample, lambda got: got[0] > 0 and got[1] == 0),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_each_defect_of_issue_20_is_fixed(defect):
    compute, fixed = DEFECTS[defect]
    result = compute()
    assert fixed(result), f"{defect}: {result}"


# ------------------------------------------------------------------ AUC with signed weights

def test_auc_of_random_signed_weights_is_a_probability_or_a_named_error():
    rng = np.random.default_rng(20)
    refused = defined = 0
    for _ in range(300):
        n = int(rng.integers(2, 40))
        score = rng.integers(0, 8, n).astype(float)  # ties included
        negative_share = rng.choice([0.0, 0.1, 0.4])
        w_sm = rng.uniform(0.1, 2, n) * np.where(rng.random(n) < negative_share, -1, 1)
        w_lin, w_quad = rng.normal(size=n), rng.uniform(0, 1, n)
        scores = stats.ComponentScores(score, w_sm, score, w_lin, score, w_quad,
                                       same_events=True)
        c = rng.normal(scale=2)
        try:
            area = stats.auc(*scores.sm_vs_bsm(c))
            eff_sm, eff_bsm, _ = stats.roc(*scores.sm_vs_bsm(c))
        except stats.SignedWeightsError as error:
            assert str(error).startswith(("SM:", "BSM:"))
            refused += 1
            continue
        defined += 1
        assert 0.0 <= area <= 1.0
        assert (eff_sm >= -1).all() and (eff_sm <= 2).all()
        assert (eff_bsm >= 0).all() and (eff_bsm <= 1 + 1e-12).all()
        bsm = c * w_lin + c**2 * w_quad
        if (bsm >= 0).all():  # the magnitude is the mixture itself: today's value
            assert area == pytest.approx(
                signed_mixture_auc(score, w_sm, np.r_[score, score],
                                   np.r_[c * w_lin, c**2 * w_quad]), rel=1e-10)
    assert refused > 10 and defined > 100


@pytest.mark.parametrize("w_sm, w_bsm, message", [
    ([1.0, 1.0], [1.0, -0.5], "BSM: 1 negative weights"),
    ([1.0, -1.0], [1.0, 1.0], "SM: weights sum to 0"),
    ([3.0, -2.0], [1.0, 1.0], "SM: negative weights sum to -2, more than the net SM yield 1"),
    ([1.0, 1.0], [0.0, 0.0], "BSM: weights sum to zero"),
    ([2.0, -1.0], [1.0, 0.0], "SM: negative weights make the AUC 2"),
])
def test_roc_and_auc_refuse_weights_without_meaning(w_sm, w_bsm, message):
    with pytest.raises(stats.SignedWeightsError, match=message):
        stats.auc([0.0, 1.0], w_sm, [0.5, 2.0], w_bsm)


def test_sm_vs_bsm_of_same_events_nets_each_event():
    scores = stats.ComponentScores([0.0, 1.0, 2.0], [1.0, 1.0, 1.0], [0.0, 1.0, 2.0],
                                   [-2.0, 1.0, 0.5], [0.0, 1.0, 2.0], [1.0, 1.0, 1.0],
                                   same_events=True)
    sm, w_sm, bsm, w_bsm = scores.sm_vs_bsm(2.0)
    assert bsm.tolist() == [0.0, 1.0, 2.0] and w_bsm.tolist() == [0.0, 6.0, 5.0]
    with pytest.raises(ValueError, match="same_events: SM, LIN and QUAD must be the scores"):
        stats.ComponentScores([0.0, 1.0], [1, 1], [1.0, 0.0], [1, 1], [0.0, 1.0], [1, 1],
                              same_events=True)


def test_operator_matrix_and_best_variable_choose_defined_aucs():
    evaluation, _ = reweighted_toy(3000, 5, net_negative)
    feature, direction = compare.best_variable(evaluation.validation["cT"])
    assert feature in ("x1", "x2", "x4")  # where the deviation lives, not noise x3
    matrix = compare.operator_matrix({"cT": compare.feature_scorer(feature, direction)},
                                     evaluation)
    assert 0.5 < matrix.loc[0, "AUC"] <= 1.0 and matrix.loc[0, "no_AUC_because"] == ""


# ------------------------------------------------------------------ correlated MC errors

def test_correlated_error_matches_the_per_event_propagation():
    rng = np.random.default_rng(4)
    n = 500
    score = rng.normal(size=n)
    w_sm, w_lin, w_quad = rng.uniform(0.5, 1.5, n), rng.normal(size=n), rng.uniform(0, 1, n)
    scores = stats.ComponentScores(score, w_sm, score, w_lin, score, w_quad, same_events=True)
    cuts, c = np.array([-np.inf, 0.0, 1.0]), -0.7
    sigma, error = stats.significance_error(cuts, c, scores)
    for k, sig, err in zip(cuts, sigma, error):
        kept = score > k
        s_i, b_i = (c * w_lin + c**2 * w_quad)[kept], w_sm[kept]
        big_s, big_b = s_i.sum(), b_i.sum()
        # sigma = |S| / sqrt(B): the gradient applied to each event's (s_i, b_i)
        gradient = np.sign(big_s) / np.sqrt(big_b) * s_i - abs(big_s) / (2 * big_b**1.5) * b_i
        assert sig == pytest.approx(abs(big_s) / np.sqrt(big_b), rel=1e-12)
        assert err == pytest.approx(np.sqrt(np.sum(gradient**2)), rel=1e-9)
    with pytest.raises(ValueError, match="same_events scores need variance='sumw2'"):
        stats.significance_error(cuts, c, dataclasses.replace(scores, norms=(1.0, 1.0, 1.0)),
                                 variance="poisson")


# ------------------------------------------------------------------ perfect squares

def test_perfect_square_bins_within_round_off_are_kept():
    scores, k = perfect_square_scores(k=0.05, exact=False)
    b, lin, quad, _ = scores.histogram(stats.fit_binning(scores))
    assert len(b) == stats.MAX_BINS  # nothing merged: round-off is not a fluctuation
    assert (lin**2 > 4 * b * quad).any()  # ... though some bins exceed by round-off
    fit = compare.sensitivity(scores, scores)
    np.testing.assert_allclose((fit["lo"], fit["hi"]), perfect_square_interval(1000.0, k),
                               rtol=1e-3)


@pytest.mark.parametrize("n_bins", [1, 10])
def test_perfect_square_interval_in_one_and_ten_bins(n_bins):
    b, k = 1000.0, 0.05
    shares = np.linspace(1.0, 3.0, n_bins)
    background = b * shares / shares.sum()
    got = stats.likelihood_interval(background, 2 * k * background, k**2 * background)
    np.testing.assert_allclose(got, perfect_square_interval(b, k), rtol=1e-3)


def test_fluctuated_bin_is_merged_or_named():
    rng = np.random.default_rng(7)
    n = 2000
    score = rng.normal(size=n)
    w = np.full(n, 0.5)
    lin, quad = 0.1 * w, 1.2 * 0.0025 * w  # a square and a non-interfering part ...
    lin[score > 1.5] *= 1.5  # ... except where an MC fluctuation gives LIN^2 > 4 SM QUAD
    scores = stats.ComponentScores(score, w, score, lin, score, quad)
    edges = stats.fit_binning(scores)
    b, l, q, _ = scores.histogram(edges)
    assert (l**2 <= 4 * b * q * (1 + stats.PERFECT_SQUARE_RTOL)).all()
    assert len(edges) - 1 < stats.MAX_BINS  # the top bins were merged
    fit = compare.sensitivity(scores, scores)
    assert np.isfinite([fit["lo"], fit["hi"]]).all() and fit["binning"] == ""
    impossible = stats.ComponentScores(score, w, score, 3 * lin, score, quad)
    with pytest.raises(stats.BinningError, match=r"\(every event\).*need LIN\^2 <= 4 SM QUAD"):
        stats.fit_binning(impossible)
    fit = compare.sensitivity(impossible, impossible)
    assert np.isnan(fit["lo"]) and "LIN^2" in fit["binning"]


def test_interval_table_says_why_a_fit_has_no_bounds():
    # Interference without any square term: LIN^2 > 4 SM QUAD = 0 in every binning.
    evaluation, _ = reweighted_toy(2000, 9, sign_changing)
    for split in ("train", "validation", "test"):
        sm, lin, quad = getattr(evaluation, split)["cT"]
        getattr(evaluation, split)["cT"] = data.OperatorSamples(
            "cT", sm, lin, dataclasses.replace(quad, weights=np.zeros(len(quad))),
            same_events=True)
    table = compare.interval_table({"x1": compare.feature_scorer("x1")}, evaluation)
    assert table[["lo", "hi"]].isna().all().all()
    assert table["no_fit_because"].str.contains("need LIN\\^2 <= 4 SM QUAD").all()


def test_missing_bounds_carry_their_reason_to_the_readme():
    table = pd.DataFrame({"operator": ["cT", "cT"], "model": ["counting", "VAE"],
                          "AUC": [0.5, 0.7], "score": ["none", "reco loss"],
                          **{column: [-0.1, np.nan] for column in
                             ("c_lo_3sigma", "c_lo_95", "c_lo_95_syst")},
                          **{column: [0.1, np.nan] for column in
                             ("c_hi_3sigma", "c_hi_95", "c_hi_95_syst")},
                          "binning": ["", "bin (1, inf]: LIN^2 > 4 SM QUAD"]})
    pivot = reproduce.readme_table(table)
    assert pivot.table.set_index("model").loc["VAE", "cT"] == "—¹"
    assert pivot.notes == ["¹ no fit: bin (1, inf]: LIN^2 > 4 SM QUAD"]
    unexplained = reproduce.readme_table(table.assign(binning=""))
    assert unexplained.notes == ["¹ no fit: the results table records no reason"]


# ------------------------------------------------------------------ ratio regression

@pytest.fixture(scope="module")
def sally_toy():
    evaluation, _ = reweighted_toy(12000, 3, sign_changing, extra_quad=0.01)
    tables = compare.compare({}, evaluation, seed=0)
    widths = {}
    for feature in FEATURES:
        choose, report = (compare.score_samples(compare.feature_scorer(feature),
                                                getattr(evaluation, split)["cT"])
                          for split in ("validation", "test"))
        fit = compare.sensitivity(choose, report)
        widths[feature] = fit["hi"] - fit["lo"]
    return tables["cT"], widths


def test_ratio_regression_is_at_least_as_narrow_as_every_variable_and_the_bdt(sally_toy):
    table, widths = sally_toy
    width = (table["c_hi_95"] - table["c_lo_95"]).to_dict()
    sally = width["ratio regression (SALLY)"]
    assert np.isfinite(sally)
    assert sally <= min(widths.values())
    assert sally < width["BDT (supervised)"]
    assert sally < width["counting"]
    assert compare.TRAINED_ON["ratio regression (SALLY)"] == compare.EACH_OPERATOR


def test_ratio_regression_needs_the_same_events():
    evaluation, _ = reweighted_toy(300, 1, sign_changing)
    samples = evaluation.train["cT"]
    with pytest.raises(ValueError, match="needs per-event LIN and SM weights"):
        compare.train_ratio_regression(data.OperatorSamples("cT", *samples))
