"""Fit diagnostics of a score's binned fit, with cabinetry: the pulls and constraints of the
nuisance parameters, their impacts on the signal strength (ranking), a yield table, and the
pre-fit and post-fit distributions.

The diagnosed model is the package's (:func:`vaednn.stats.model_spec` with declared
uncertainties) at one Wilson coefficient ``c``: the background, plus the sample ``eft`` =
``c LIN + c^2 QUAD`` of the published patchsets (:func:`~vaednn.publish.eft_sample`) scaled
by the signal strength :data:`~vaednn.publish.POI`, fitted to the SM-only Asimov data. At
``c`` on the expected 95 % bound the fit returns ``mu_eft = 0 +- ~0.5`` (the bound is
where ``mu_eft = 1`` is excluded at 95 %), so the ranking says which uncertainty widens the
interval, and the constraints which nuisance the score's bins measure better than declared.

cabinetry fits with iminuit (``[publish]`` extra); every model here is built with the
package's interpolation codes (:data:`vaednn.stats.MODIFIER_SETTINGS`), which a
cabinetry-built model would not use, and under pyhf's numpy backend, restored after each
call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging

import numpy as np
import pandas as pd

from vaednn import stats
from vaednn.extras import require
from vaednn.publish.workspaces import POI, eft_sample

__all__ = ["POI_BOUNDS", "diagnostic_workspace", "FitDiagnostics", "diagnose", "plot_pulls",
           "plot_ranking", "plot_prefit_postfit"]

#: Range of the signal strength in the fits. Below 0 the ``eft`` sample is subtracted, so
#: ``mu_eft = 0`` of the SM-only Asimov data is an interior minimum; and wide, since MINUIT's
#: errors of a bounded parameter are computed through a transform that distorts them when the
#: bounds are within a few errors (-2..5 gave 0.662 for the exact 0.667 of a one-bin fit).
POI_BOUNDS = (-10.0, 10.0)

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _minuit_messages_logged():
    """Keep MINUIT's messages out of the user's output and log them at debug level.

    cabinetry fits with ``minuit_optimizer(verbose=1)``, fixed in its code, and iminuit
    writes Minuit2's messages to ``sys.stdout``: hundreds of "VariableMetricBuilder" and
    "FCN result is NaN" lines per ranking, which the fit results (status, errors) already
    summarise.
    """
    kept = io.StringIO()
    try:
        with contextlib.redirect_stdout(kept):
            yield
    finally:
        lines = kept.getvalue().splitlines()
        if lines:
            log.debug("MINUIT: %d message lines, e.g. %s", len(lines), lines[0])


@contextlib.contextmanager
def _numpy_pyhf():
    import pyhf

    saved = pyhf.get_backend()
    pyhf.set_backend("numpy", precision="64b")
    try:
        yield pyhf
    finally:
        pyhf.set_backend(*saved)


def diagnostic_workspace(background, lin, quad, c: float, *, systematics=(),
                         name: str = "score") -> dict:
    """The pyhf workspace of the package's model at coefficient ``c``: ``background`` (with
    its declared uncertainties) and ``eft`` = ``c LIN + c^2 QUAD`` (LIN's and QUAD's
    uncertainties translated as in the patchsets) scaled by :data:`~vaednn.publish.POI`;
    observations: the SM-only Asimov data (the nominal background).

    Args:
        background, lin, quad: per-bin yields at ``c = 1``, as :func:`vaednn.stats.model_spec`.
        c: the Wilson coefficient of the ``eft`` sample (e.g. the expected upper bound).
        systematics: :class:`vaednn.stats.Normalisation`, ``Luminosity``, ``Shape``, ``MCStat``.
        name: the measurement's name.
    """
    spec = stats.model_spec(background, lin, quad, systematics=systematics)
    channel = spec["channels"][0]
    samples = {sample["name"]: sample for sample in channel["samples"]}
    eft = eft_sample(samples["lin"], samples["quad"], c)
    parameters = [*spec.get("parameters", []),
                  {"name": POI, "bounds": [list(POI_BOUNDS)], "inits": [1.0]}]
    return {"channels": [{"name": channel["name"], "samples": [samples["background"], eft]}],
            "observations": [{"name": channel["name"],
                              "data": np.asarray(samples["background"]["data"]).tolist()}],
            "measurements": [{"name": name, "config": {"poi": POI, "parameters": parameters}}],
            "version": "1.0.0"}


@dataclasses.dataclass(frozen=True)
class FitDiagnostics:
    """cabinetry's results of one model: ``fit`` (``FitResults``: best-fit values, errors,
    correlations), ``ranking`` (``RankingResults``: pre- and post-fit impacts on the POI),
    ``prefit`` and ``postfit`` (``ModelPrediction``), the pyhf ``model`` and its ``data``."""

    model: object
    data: list
    fit: object
    ranking: object
    prefit: object
    postfit: object

    def pulls(self) -> pd.DataFrame:
        """Every constrained nuisance parameter after the fit, in units of its pre-fit width:
        ``pull = (theta_hat - theta_0) / sigma`` (away from 0: the data move it) and
        ``constraint = sigma_hat / sigma`` (below 1: the score's bins measure it better than
        declared)."""
        config = self.model.config
        nominal = config.suggested_init()
        kinds = dict(config.modifiers)
        rows = []
        for index, label in enumerate(self.fit.labels):
            name = label.split("[")[0]
            parameters = config.param_set(name)
            if not parameters.constrained:
                continue
            sigma = parameters.width()[index - config.par_slice(name).start]
            rows.append({"parameter": label, "modifier": kinds[name],
                         "pull": (self.fit.bestfit[index] - nominal[index]) / sigma,
                         "constraint": self.fit.uncertainty[index] / sigma})
        return pd.DataFrame(rows).set_index("parameter")

    def impacts(self) -> pd.DataFrame:
        """The ranking as a table, largest post-fit impact on the POI first: the POI's shift
        when each nuisance is moved by its pre-fit (``prefit_up``/``prefit_down``) and
        post-fit (``postfit_up``/``postfit_down``) error and refitted."""
        r = self.ranking
        table = pd.DataFrame({"parameter": r.labels, "prefit_up": r.prefit_up,
                              "prefit_down": r.prefit_down, "postfit_up": r.postfit_up,
                              "postfit_down": r.postfit_down})
        size = np.maximum(np.abs(table["postfit_up"]), np.abs(table["postfit_down"]))
        return table.assign(size=size).sort_values("size", ascending=False, kind="stable") \
            .drop(columns="size").set_index("parameter")

    @property
    def bins(self) -> int:
        """The number of bins of the model's one channel."""
        config = self.model.config
        return config.channel_nbins[config.channels[0]]

    def yields(self) -> pd.DataFrame:
        """Per bin of the fit: the total predicted yield before (``prefit``) and after
        (``postfit``) the fit, the observed ``data``, and the post-fit uncertainty of the
        total (``postfit_error``, correlations of the nuisances included).

        Read from cabinetry's predictions rather than ``cabinetry.tabulate.yields``, which
        formats each entry as text ("128.5 ± 7.3"): the notebook checks these numbers."""
        bins = self.bins
        # cabinetry lists the uncertainty per sample and, last, of the sum of the samples.
        return pd.DataFrame({"prefit": np.sum(self.prefit.model_yields[0], axis=0),
                             "postfit": np.sum(self.postfit.model_yields[0], axis=0),
                             "data": np.asarray(self.data[:bins], dtype=float),
                             "postfit_error": self.postfit.total_stdev_model_bins[0][-1]}
                            ).rename_axis("bin")


def diagnose(workspace: dict) -> FitDiagnostics:
    """Fit ``workspace`` (:func:`diagnostic_workspace`) to its observations with cabinetry:
    the maximum-likelihood fit, the impact ranking on the POI, and the pre- and post-fit
    predictions."""
    cabinetry = require("cabinetry", "publish")
    with _numpy_pyhf() as pyhf, _minuit_messages_logged():
        ws = pyhf.Workspace(workspace, validate=False)
        model = ws.model(modifier_settings=stats.MODIFIER_SETTINGS)
        data = ws.data(model)
        # Strategy 2: the errors from a full Hessian, not MIGRAD's running estimate (off by
        # about 1 % on a one-bin Poisson fit).
        fit = cabinetry.fit.fit(model, data, strategy=2)
        ranking = cabinetry.fit.ranking(model, data, fit_results=fit, strategy=2)
        prefit = cabinetry.model_utils.prediction(model)
        postfit = cabinetry.model_utils.prediction(model, fit_results=fit)
    return FitDiagnostics(model, data, fit, ranking, prefit, postfit)


def plot_pulls(diagnostics: FitDiagnostics):
    """cabinetry's pull plot of the fit: each nuisance's best-fit value and error in units of
    its pre-fit width (the signal strength and unconstrained parameters left out)."""
    cabinetry = require("cabinetry", "publish")
    return cabinetry.visualize.pulls(diagnostics.fit, save_figure=False, close_figure=False)


def plot_ranking(diagnostics: FitDiagnostics, max_pars: int = 10):
    """cabinetry's impact plot: the ``max_pars`` nuisances that move the signal strength most
    (post-fit impacts, pre-fit as open bars), with their pulls."""
    cabinetry = require("cabinetry", "publish")
    return cabinetry.visualize.ranking(diagnostics.ranking, max_pars=max_pars,
                                       save_figure=False, close_figure=False)


def plot_prefit_postfit(diagnostics: FitDiagnostics, variable: str) -> list:
    """cabinetry's data/model figures before and after the fit: ``[prefit, postfit]``.

    The fit's bins hold equal SM yields and its outer bins are open, so the x axis is the bin
    number of ``variable`` (from low to high score).
    """
    cabinetry = require("cabinetry", "publish")
    config = {"Regions": [{"Name": diagnostics.model.config.channels[0],
                           "Variable": f"bin of {variable}",
                           "Binning": list(range(diagnostics.bins + 1))}]}
    figures = []
    for prediction in (diagnostics.prefit, diagnostics.postfit):
        drawn = cabinetry.visualize.data_mc(prediction, diagnostics.data, config=config,
                                            save_figure=False, close_figure=False)
        figures.append(drawn[0]["figure"])
    return figures
