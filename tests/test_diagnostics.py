"""Fit diagnostics (vaednn.publish.diagnostics) against closed forms: the workspace's
expected data, the signal strength's error of a one-bin Poisson fit, the constraint of a
background normalisation that the data measure, and the impact of a normalisation on mu."""

import math

import numpy as np
import pytest

from vaednn import publish, stats

pytest.importorskip("cabinetry")


def test_the_workspace_is_the_package_model_at_c_with_mu_eft_scaling_the_eft_sample():
    import pyhf

    b, lin, quad, c = np.array([100.0, 40.0]), np.array([-5.0, 3.0]), np.array([1.0, 2.0]), 1.5
    ws = pyhf.Workspace(publish.diagnostic_workspace(b, lin, quad, c,
                                                     systematics=(stats.Luminosity(0.02),)))
    model = ws.model(modifier_settings=stats.MODIFIER_SETTINGS)
    assert ws.data(model, include_auxdata=False) == b.tolist()  # SM-only Asimov data
    pars = np.asarray(model.config.suggested_init(), dtype=float)  # mu_eft = 1, lumi = 1
    expected = b + c * lin + c**2 * quad
    assert np.asarray(model.expected_actualdata(pars)) == pytest.approx(expected, rel=1e-12)
    pars[model.config.par_slice(publish.POI)] = 0.0
    assert np.asarray(model.expected_actualdata(pars)) == pytest.approx(b, rel=1e-12)


def test_one_bin_without_systematics_gives_the_poisson_error_of_mu():
    """n = b, nu = b + mu s: the Hessian error of mu at mu_hat = 0 is sqrt(b) / s."""
    b, s = 400.0, 30.0
    diagnostics = publish.diagnose(publish.diagnostic_workspace(
        [b], [s], [0.0], 1.0, systematics=(stats.Normalisation("bkg_norm", 1e-6),)))
    poi = diagnostics.fit.labels.index(publish.POI)
    # MIGRAD stops within its EDM tolerance: mu_hat within 2 % of its error from 0
    assert abs(diagnostics.fit.bestfit[poi]) < 0.02 * math.sqrt(b) / s
    assert diagnostics.fit.uncertainty[poi] == pytest.approx(math.sqrt(b) / s, rel=1e-3)


def test_a_normalisation_the_data_measure_is_constrained_and_ranked_by_its_impact():
    """Two bins, the EFT only in the second: the first bin measures the background scale.

    Linearised (Gaussian) closed form: a background scale theta of prior width d, bins with
    b1 (no signal) and b2 (signal s); the information on theta is 1/d^2 + b1 + b2 (in units of
    the relative scale), on mu s^2/b2, and their cross term s. The post-fit width of theta is
    sqrt of the (theta, theta) element of the inverse, and the post-fit impact of theta on mu
    is its correlation times mu's error times one post-fit sigma of theta... here checked as
    the covariance over theta's error."""
    b1, b2, s, d = 900.0, 100.0, 20.0, 0.2
    diagnostics = publish.diagnose(publish.diagnostic_workspace(
        [b1, b2], [0.0, s], [0.0, 0.0], 1.0, systematics=(stats.Normalisation("bkg_norm", d),)))
    # information matrix in (relative scale r = d theta, mu) at the Asimov point
    info = np.array([[1 / d**2 + b1 + b2, s], [s, s**2 / b2]])
    cov = np.linalg.inv(info)
    pulls = diagnostics.pulls()
    assert pulls.loc["bkg_norm", "pull"] == pytest.approx(0.0, abs=1e-3)
    assert pulls.loc["bkg_norm", "constraint"] == pytest.approx(math.sqrt(cov[0, 0]) / d,
                                                                rel=0.02)
    yields = diagnostics.yields()
    assert yields["prefit"].to_numpy() == pytest.approx([b1, b2 + s], rel=1e-12)  # mu = 1
    assert yields["data"].to_numpy() == pytest.approx([b1, b2], rel=1e-12)
    assert yields["postfit"].to_numpy() == pytest.approx([b1, b2], rel=1e-3)
    # the total's error: the gradient of (b1 (1 + r), b2 (1 + r) + mu s) through cov
    gradients = np.array([[b1, 0.0], [b2, s]])
    expected = np.sqrt(np.einsum("bi,ij,bj->b", gradients, cov, gradients))
    assert yields["postfit_error"].to_numpy() == pytest.approx(expected, rel=0.02)
    impacts = diagnostics.impacts()
    assert list(impacts.index) == ["bkg_norm"]
    expected = cov[0, 1] / math.sqrt(cov[0, 0])  # mu's shift when r moves by its post-fit sigma
    assert impacts.loc["bkg_norm", "postfit_up"] == pytest.approx(expected, rel=0.05)
    assert impacts.loc["bkg_norm", "postfit_down"] == pytest.approx(-expected, rel=0.05)


def test_the_plots_draw_the_fit():
    diagnostics = publish.diagnose(publish.diagnostic_workspace(
        [100.0, 50.0], [3.0, 6.0], [1.0, 1.0], 1.0,
        systematics=(stats.Normalisation("bkg_norm", 0.1), stats.Luminosity(0.02))))
    pulls = publish.plot_pulls(diagnostics)
    labels = [t.get_text() for t in pulls.axes[0].get_yticklabels()]
    assert {"bkg_norm", "lumi"} <= set(labels)
    prefit, postfit = publish.plot_prefit_postfit(diagnostics, "score")
    assert "bin of score" in prefit.axes[-1].get_xlabel()
    ranking = publish.plot_ranking(diagnostics)
    assert ranking.axes


def test_minuit_messages_go_to_the_debug_log_not_to_the_output(capfd, caplog):
    # c = 2 puts the eft sample at 22 events over a background of 10 in the last bin: mu_eft
    # below -0.45 gives a negative expectation there, and MINUIT says so while it searches.
    with caplog.at_level("DEBUG", logger="vaednn.publish.diagnostics"):
        publish.diagnose(publish.diagnostic_workspace(
            [100.0, 50.0, 10.0], [1.0, 2.0, 3.0], [0.5, 1.0, 4.0], 2.0,
            systematics=(stats.Normalisation("bkg_norm", 0.1),)))
    assert "FCN result is NaN" not in capfd.readouterr().out
    assert any("MINUIT" in record.getMessage() for record in caplog.records)
