"""Training speed of ``vaednn.models`` ``vae`` against a plain Keras functional VAE.

Both models have the seed's ``vae`` shape (20-10-10-10-7, latent 3, mirror decoder,
LeakyReLU), the same loss (MSE + 1e-6 KL on log10 + min-max scaled features), Adam at
5e-4, batch size 32, the same data and the same number of epochs. The reference is
compiled with Keras defaults and trained with ``model.fit``, one Python round trip per
mini-batch; ``vaednn`` runs a chunk of mini-batches per graph call. The first epoch
(tracing) is excluded from the timing of both.

Requirement (issue 3): events/s of ``vaednn`` >= 2.5 x the reference, at a comparable loss.

    python benchmarks/bench_fit.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import keras
import numpy as np

from vaednn import models
from vaednn.data import FEATURES, LOG_FEATURES

REQUIRED_RATIO = 2.5
BATCH = 32
KL_WEIGHT = 1e-6


def generated_like(n, seed=0):
    """Raw SM-like events: angles, pseudorapidities and log-normal momenta and masses."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, len(FEATURES)))
    x[:, 0] = 2.0 + rng.exponential(1.5, n)  # deltaetajj above the VBS cut
    x[:, 1] = rng.uniform(0.0, np.pi, n)
    x[:, 2:6] = rng.normal(0.0, 1.8, (n, 4))
    scales = {"met": 3.9, "mjj": 6.6, "mll": 4.9, "ptj1": 5.0, "ptj2": 4.0, "ptl1": 4.4,
              "ptl2": 3.7, "ptll": 4.3}
    for f, mu in scales.items():
        x[:, FEATURES.index(f)] = rng.lognormal(mu, 0.5, n)
    return x


class _Sampling(keras.layers.Layer):
    def __init__(self, seed, **kwargs):
        super().__init__(**kwargs)
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(keras.ops.shape(mean), seed=self.generator)
        return mean + keras.ops.exp(0.5 * log_var) * eps


def plain_vae(seed=0, hp=models.DEFAULTS["vae"]):
    """The reference: a functional Keras VAE whose loss unpacks (reco, mean, log_var)."""
    inputs = keras.Input((len(FEATURES),))
    h = inputs
    for u in hp["encoder_units"]:
        h = keras.layers.LeakyReLU()(keras.layers.Dense(u)(h))
    mean = keras.layers.Dense(hp["latent_dim"])(h)
    log_var = keras.layers.Dense(hp["latent_dim"])(h)
    h = _Sampling(seed)([mean, log_var])
    for u in hp["decoder_units"]:
        h = keras.layers.LeakyReLU()(keras.layers.Dense(u)(h))
    reco = keras.layers.LeakyReLU()(keras.layers.Dense(len(FEATURES))(h))
    model = keras.Model(inputs, keras.layers.Concatenate()([reco, mean, log_var]))
    n = len(FEATURES)

    def loss(y_true, y_pred):
        reco, mean, log_var = y_pred[:, :n], y_pred[:, n:n + hp["latent_dim"]], \
            y_pred[:, n + hp["latent_dim"]:]
        mse = keras.ops.mean(keras.ops.square(reco - y_true), axis=-1)
        kl = keras.ops.mean(-0.5 * (1 + log_var - keras.ops.square(mean)
                                    - keras.ops.exp(log_var)), axis=-1)
        return mse + KL_WEIGHT * kl

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp["learning_rate"]), loss=loss)
    return model


def scaled(x, sm):
    """The reference's preprocessing: the same log10 + min-max, done in numpy."""
    logs = [FEATURES.index(f) for f in LOG_FEATURES]
    t, s = x.copy(), sm.copy()
    t[:, logs], s[:, logs] = np.log10(t[:, logs]), np.log10(s[:, logs])
    return ((t - s.min(0)) / (s.max(0) - s.min(0))).astype(np.float32)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times = getattr(self, "times", []) + [time.perf_counter() - self.start]


def rate(timer, n):
    """Events/s over every epoch but the first (which traces the graph)."""
    return n * (len(timer.times) - 1) / sum(timer.times[1:])


def main(quick=False):
    n, epochs = (20_000, 3) if quick else (200_000, 5)
    x = generated_like(n)
    keras.utils.set_random_seed(0)

    reference, timer_ref = plain_vae(), EpochTimer()
    xs = scaled(x, x)
    reference.fit(xs, xs, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer_ref])
    out = reference.predict(xs, batch_size=65536, verbose=0)
    ref_reco = float(np.mean((out[:, :len(FEATURES)] - xs) ** 2))

    model, timer = models.build("vae", x), EpochTimer()
    history = model.fit(x, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    ours_reco = float(models.event_losses(model, x)["reco"].mean())

    r_ref, r_ours = rate(timer_ref, n), rate(timer, n)
    print(f"{n} events, {epochs} epochs, batch size {BATCH}")
    print(f"plain Keras functional VAE  : {r_ref:10.0f} events/s, "
          f"final z_mean reconstruction MSE {ref_reco:.5f}")
    print(f"vaednn.models 'vae'         : {r_ours:10.0f} events/s, "
          f"final z_mean reconstruction MSE {ours_reco:.5f} "
          f"(last epoch loss {history.history['loss'][-1]:.5f})")
    ratio = r_ours / r_ref
    verdict = "PASS" if ratio >= REQUIRED_RATIO else "FAIL"
    print(f"ratio {ratio:.2f} (requirement >= {REQUIRED_RATIO}): {verdict}")
    return ratio


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, few epochs")
    main(parser.parse_args().quick)
