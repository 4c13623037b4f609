"""Speed of the SHAP methods of ``vaednn.explain`` next to shap's KernelExplainer.

Requirements (issue 5): ``gradient`` explains 1,000 events against 100 background events in
seconds (here: under 10 s); ``exact`` explains 100 events against 20 background events in
under a minute. The reference is shap's model-agnostic ``KernelExplainer`` on the same score
and the same events, with ``nsamples = 2·14 + 2048`` coalitions per event (shap's "auto");
for the exact method also shap's own ``ExactExplainer``, the same ground truth computed
coalition block by coalition block. References that would run for minutes are timed on the
first events only and extrapolated linearly (their cost per event is constant); the output
says so.

The score is the per-event reconstruction loss of a ``vae_flat`` model trained for one epoch
on generated SM events.

Usage: ``python benchmarks/bench_explain.py [--quick]``
"""

from __future__ import annotations

import shap

from common import command_line, timed
from vaednn import explain, models, simulate
from vaednn.data import FEATURES

KERNEL_NSAMPLES = 2 * len(FEATURES) + 2048
N_COALITIONS = 2 ** len(FEATURES)


def reference_time(label, function, events, n_timed):
    """Time ``function`` on the first ``n_timed`` events and extrapolate to all of them."""
    n_timed = min(n_timed, len(events))
    seconds, _ = timed(lambda: function(events[:n_timed]))
    total = seconds * len(events) / n_timed
    note = "" if n_timed == len(events) else f" (timed on {n_timed}, extrapolated)"
    print(f"  {label:<42s} {total:8.2f} s{note}")
    return total


def against_kernel(method, score, events, background, n_kernel_timed):
    """Seconds of ``method`` on ``events`` and of shap's KernelExplainer on the same ones
    (extrapolated from the first ``n_kernel_timed``), printed."""
    seconds, _ = timed(lambda: explain.shap_values(score, events, background, method=method))
    print(f"  {'vaednn.explain ' + method:<42s} {seconds:8.2f} s")
    kernel = reference_time(
        f"shap KernelExplainer (nsamples={KERNEL_NSAMPLES})",
        lambda x: explain.shap_values(score, x, background, "kernel", nsamples=KERNEL_NSAMPLES),
        events, n_kernel_timed)
    return seconds, kernel


def main(argv=None):
    args = command_line(__doc__, "small sizes, for CI", argv)

    n_grad, n_grad_bg = (200, 50) if args.quick else (1000, 100)
    n_exact, n_exact_bg = (10, 20) if args.quick else (100, 20)
    n_kernel_timed = 3 if args.quick else 50
    n_shap_exact_timed = 1 if args.quick else 5

    sm = simulate.generate(5000, seed=1)[list(FEATURES)].to_numpy()
    bsm = simulate.generate(max(n_grad, n_exact), seed=2, shift_jets=0.5, shift_ww=0.5)
    bsm = bsm[list(FEATURES)].to_numpy()
    model = models.build("vae_flat", sm, seed=0)
    model.fit(sm, epochs=1, verbose=0)
    score = explain.reco_loss_score(model)

    # Warm-up: graph tracing and XLA compilation are one-off costs, not per-explanation ones.
    explain.shap_values(score, bsm[:2], sm[:n_grad_bg], method="gradient", nsamples=20)
    explain.shap_values(score, bsm[:1], sm[:n_exact_bg], method="exact")
    explain.shap_values(score, bsm[:1], sm[:n_exact_bg], method="kernel", nsamples=100)

    print(f"gradient: {n_grad} events vs {n_grad_bg} background (nsamples=200 per event)")
    t_grad, t_kernel_grad = against_kernel("gradient", score, bsm[:n_grad], sm[:n_grad_bg],
                                           n_kernel_timed)
    print(f"  ratio kernel / gradient: {t_kernel_grad / t_grad:.1f}x")
    print(f"  requirement: gradient in seconds (< 10 s) -> {'PASS' if t_grad < 10 else 'FAIL'}")

    print(f"exact: {n_exact} events vs {n_exact_bg} background (2^14 coalitions each)")
    exact_bg = sm[:n_exact_bg]
    t_exact, t_kernel_exact = against_kernel("exact", score, bsm[:n_exact], exact_bg,
                                             n_kernel_timed)
    masker = shap.maskers.Independent(exact_bg, max_samples=len(exact_bg))
    t_shap_exact = reference_time(
        "shap ExactExplainer",
        lambda x: shap.ExactExplainer(score, masker)(x, max_evals=N_COALITIONS + 1, silent=True),
        bsm[:n_exact], n_shap_exact_timed)
    print(f"  ratio kernel / exact: {t_kernel_exact / t_exact:.2f}x; "
          f"shap ExactExplainer / exact: {t_shap_exact / t_exact:.1f}x")
    print(f"  requirement: exact under a minute -> {'PASS' if t_exact < 60 else 'FAIL'}")


if __name__ == "__main__":
    main()
