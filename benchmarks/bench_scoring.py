"""Per-event scoring speed of ``vaednn.models.event_losses``.

``event_losses`` scores raw events (input checks, log10 + min-max scaling, encoder,
``z_mean`` decoder, per-event MSE and KL) in large batches through one compiled graph.
The references compute the same per-event MSE the slow ways the seed's scripts did:
``model.predict`` at Keras' default batch size of 32, and a Python loop over single events
(the "batch_size=1 callback" pattern).

Requirement (issue 3): >= 1 million events/s for the ``vae`` model.

    python benchmarks/bench_scoring.py [--quick]
"""

from __future__ import annotations

import numpy as np

from bench_fit import generated_like
from common import command_line, timed
from vaednn import models

REQUIRED_RATE = 1_000_000


def main(quick=False):
    n, n_predict, n_single = (200_000, 20_000, 300) if quick else (2_000_000, 100_000, 2_000)
    x = generated_like(n)
    model = models.build("vae", x[:100_000])
    models.event_losses(model, x[:1000])  # trace once, as any analysis does

    t_ours, losses = timed(lambda: models.event_losses(model, x))

    scaled = models.scale(model, x[:n_predict])

    def predict_reference():
        reconstructed = model.predict(x[:n_predict], batch_size=32, verbose=0)
        return np.mean((reconstructed - scaled) ** 2, axis=1)

    t_predict, reco_predict = timed(predict_reference)

    def single_reference():
        return np.array([np.mean((model(x[i:i + 1]).numpy() - scaled[i]) ** 2)
                         for i in range(n_single)])

    t_single, reco_single = timed(single_reference)

    # The references must compute the same numbers, or the comparison means nothing.
    np.testing.assert_allclose(reco_predict, losses["reco"][:n_predict], rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(reco_single, losses["reco"][:n_single], rtol=1e-3, atol=1e-7)

    rates = {"event_losses (one pass, batches of 65536)": n / t_ours,
             "model.predict(batch_size=32)": n_predict / t_predict,
             "one event at a time": n_single / t_single}
    for label, rate in rates.items():
        print(f"{label:45s}: {rate:12.0f} events/s")
    ours = rates["event_losses (one pass, batches of 65536)"]
    print(f"ratio to predict(batch_size=32): {ours / rates['model.predict(batch_size=32)']:.1f}, "
          f"to one event at a time: {ours / rates['one event at a time']:.0f}")
    verdict = "PASS" if ours >= REQUIRED_RATE else "FAIL"
    print(f"event_losses {ours:.0f} events/s (requirement >= {REQUIRED_RATE}): {verdict}")
    return ours


if __name__ == "__main__":
    main(command_line(__doc__, "fewer events").quick)
