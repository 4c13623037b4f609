"""Training speed of ``vaednn.models`` ``vae`` on each Keras backend against plain Keras-TF.

Every model has the seed's ``vae`` shape (20-10-10-10-7, latent 3, mirror decoder,
LeakyReLU), the same loss (MSE + 1e-6 KL on log10 + min-max scaled features), Adam at
5e-4, batch size 32, the same data and the same number of epochs. The reference is a
functional Keras VAE compiled with Keras defaults and trained with ``model.fit`` on the
TensorFlow backend, one Python round trip per mini-batch; ``vaednn`` runs a chunk of
mini-batches per compiled call (a jitted ``lax.scan`` on JAX, a ``tf.while_loop`` on
TensorFlow). The first epoch (compilation) is excluded from every timing.

A Keras backend is fixed per process, so each measurement runs in its own subprocess,
one after the other in this one run, on the same data. Also measured: ``models.ensemble``
of K = 1, 4, 16 seeds (vmapped on JAX), in model-events/s (K x events / s).

Requirements (issue 13): JAX ``fit`` >= 8 x the reference, TensorFlow ``fit`` >= 2.5 x.

    python benchmarks/bench_fit.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import keras
import numpy as np

from common import command_line
from vaednn import models
from vaednn.data import FEATURES, LOG_FEATURES

REQUIRED = {"tensorflow": 2.5, "jax": 8.0}
ENSEMBLE_SIZES = (1, 4, 16)
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


def sizes(quick):
    """(events, epochs) of a run."""
    return (20_000, 3) if quick else (100_000, 4)


def measure_reference(quick):
    """Plain Keras functional VAE, this process's backend: events/s and final MSE."""
    n, epochs = sizes(quick)
    x = generated_like(n)
    keras.utils.set_random_seed(0)
    reference, timer = plain_vae(), EpochTimer()
    xs = scaled(x, x)
    reference.fit(xs, xs, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    out = reference.predict(xs, batch_size=65536, verbose=0)
    return {"rate": rate(timer, n), "mse": float(np.mean((out[:, :len(FEATURES)] - xs) ** 2))}


def measure_package(quick):
    """``models.build("vae")`` + ``fit``, this process's backend: events/s and final MSE."""
    n, epochs = sizes(quick)
    x = generated_like(n)
    model, timer = models.build("vae", x), EpochTimer()
    model.fit(x, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return {"rate": rate(timer, n), "mse": float(models.event_losses(model, x)["reco"].mean())}


def measure_ensemble(quick, k):
    """``models.ensemble`` of k seeds, one epoch after a compiling one: model-events/s."""
    n, _ = sizes(quick)
    x = generated_like(n)
    group = models.ensemble("vae", x, list(range(k)))
    group.fit(x, epochs=1, verbose=0)
    start = time.perf_counter()
    group.fit(x, epochs=1, verbose=0)
    return {"rate": k * n / (time.perf_counter() - start)}


def device():
    """What this process computes on, in words."""
    if keras.backend.backend() == "jax":
        import jax

        return ", ".join(sorted({str(d.device_kind) for d in jax.devices()}))
    import tensorflow as tf

    return ", ".join(d.name for d in tf.config.list_logical_devices()) or "cpu"


def worker(what, quick):
    """Run one measurement in this process and print it as JSON."""
    if what == "reference":
        result = measure_reference(quick)
    elif what == "package":
        result = measure_package(quick)
    else:
        result = measure_ensemble(quick, int(what.removeprefix("ensemble")))
    result["device"] = device()
    print("RESULT " + json.dumps(result))


def run(backend, what, quick):
    """One measurement in a fresh process with ``KERAS_BACKEND=backend``."""
    command = [sys.executable, __file__, "--worker", what] + (["--quick"] if quick else [])
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"{backend} {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(lines[-1].removeprefix("RESULT "))


def main(quick=False):
    n, epochs = sizes(quick)
    reference = run("tensorflow", "reference", quick)
    print(f"{n} events, {epochs} epochs, batch size {BATCH}; device: {reference['device']}")
    print(f"plain Keras functional VAE, TensorFlow : {reference['rate']:10.0f} events/s, "
          f"final z_mean reconstruction MSE {reference['mse']:.5f}")
    ratios = {}
    for backend in ("jax", "tensorflow"):
        ours = run(backend, "package", quick)
        ratios[backend] = ours["rate"] / reference["rate"]
        verdict = "PASS" if ratios[backend] >= REQUIRED[backend] else "FAIL"
        print(f"vaednn.models 'vae', {backend:<10} : {ours['rate']:10.0f} events/s, final "
              f"z_mean reconstruction MSE {ours['mse']:.5f}; ratio {ratios[backend]:.1f} "
              f"(requirement >= {REQUIRED[backend]}): {verdict}  [{ours['device']}]")
    for backend in ("jax", "tensorflow"):
        for k in ENSEMBLE_SIZES if backend == "jax" else (1, 4):
            ours = run(backend, f"ensemble{k}", quick)
            print(f"models.ensemble K={k:<2}, {backend:<10}: {ours['rate']:10.0f} "
                  f"model-events/s")
    return ratios


if __name__ == "__main__":
    arguments = command_line(__doc__, "small data, few epochs",
                             options={"--worker": dict(help=argparse.SUPPRESS)})
    if arguments.worker:
        worker(arguments.worker, arguments.quick)
    else:
        main(arguments.quick)
