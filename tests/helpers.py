"""Test data several test files share, importable as ``import helpers`` (``tests/conftest.py``
puts this folder on the path: under pytest's ``importlib`` mode test files cannot import
each other)."""

import numpy as np
import pandas as pd

from vaednn.data import FEATURES, LOG_FEATURES


def raw_events(n, seed, hard=0.0):
    """SM-like raw features; ``hard`` shifts the momenta and masses up, like EFT events."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, len(FEATURES)))
    x[:, 0] = 2.0 + rng.exponential(1.5, n)
    x[:, 1] = rng.uniform(0.0, np.pi, n)
    x[:, 2:6] = rng.normal(0.0, 1.8, (n, 4))
    for f in LOG_FEATURES:
        x[:, FEATURES.index(f)] = rng.lognormal(4.5 + hard, 0.5, n)
    return pd.DataFrame(x, columns=list(FEATURES))


def sample_tables(operator="cW", **samples):
    """The ``[sm]`` and ``[operators.<operator>.<part>]`` tables of a TOML sample map, each
    sample given as ``part=(file, xsec, sumw)``.

    >>> print(sample_tables(sm=("sm.root", 0.004, 2.0)))
    [sm]
    file = "sm.root"
    xsec = 0.004
    sumw = 2.0
    <BLANKLINE>
    """
    lines = []
    for part, (file, xsec, sumw) in samples.items():
        header = "sm" if part == "sm" else f"operators.{operator}.{part}"
        lines += [f"[{header}]", f'file = "{file}"', f"xsec = {xsec}", f"sumw = {sumw}", ""]
    return "\n".join(lines)


def fast_scores(epochs, vae_epochs, units, latent_dim, n_estimators):
    """Small, quick settings of every score of the registry (``anomaly.make(name,
    **settings[name])``): ``epochs`` of the density models with one hidden layer of ``units``,
    ``vae_epochs`` of the plain VAE's scores, ``n_estimators`` trees. A score the registry
    gains and this lacks fails its test by name."""
    return {"flow": dict(epochs=epochs, coupling_layers=2, hidden_units=(units,),
                         batch_size=128),
            "gaussian_vae": dict(epochs=epochs, encoder_units=(units,), decoder_units=(units,),
                                 latent_dim=latent_dim, batch_size=128),
            "isolation_forest": dict(n_estimators=n_estimators),
            "gmm": dict(n_components=2),
            **{name: dict(epochs=vae_epochs)
               for name in ("vae_reco", "vae_kl", "vae_sum", "vae_feature_errors")}}
