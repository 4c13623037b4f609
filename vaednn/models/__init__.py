"""Every VAE and VAE+DNN variant of the seed analysis, in Keras 3 (JAX or TensorFlow backend).

Build a model by name with :func:`build`; it comes back compiled, with its input scaling
(log10 of the momenta and masses, then min-max on the SM training split) as its first
layer, so it consumes raw ntuple features and carries its preprocessing into the ``.keras``
file. Its variables (``model.features``, default the 14 :data:`vaednn.data.FEATURES`) are
the columns of the DataFrame it was built on, and scoring takes them by name.

=====================  =====================================================================
name                   seed model
=====================  =====================================================================
``vae``                ``VAE_model_extended.py``: encoder and decoder as separate layers
``vae_model2``         ``VAE_model2.py``: other layer sizes
``vae_model3``         ``VAE_model3.py``: 128-64-32, he_normal initialiser, linear output
``vae_flat``           ``VAE_new_model.py``: every layer a named attribute (``get_layer``)
``vae_dnn_latent``     ``VAE_DNN_model.py`` option A: classifier on the latent vector
``vae_dnn_reco``       option B: classifier on the per-event reconstruction loss
``vae_dnn_reco_kl``    option C: classifier on the per-event (reconstruction, KL) pair
``vae_dnn_separate``   ``VAE_separate.py``: VAE terms on SM only, classifier on SM+BSM
=====================  =====================================================================

Losses, per event ``i`` (``x̂`` the scaled input, ``d`` features, ``k`` latent dimensions):

* ``reco_i = mean_d (decoder(z)_i - x̂_i)²`` — MSE in the scaled space, as in the seed;
* ``kl_i = mean_k -½ (1 + log σ² - μ² - σ²)`` — the seed's KL, averaged over latent
  dimensions;
* ``bce_i`` — binary cross-entropy of the classifier output (VAE+DNN only).

The training loss is ``reco_weight·reco + kl_weight·kl (+ classifier_weight·bce)``, each
term a weighted mean over the mini-batch. With event weights ``w`` (``sample_weight``, signs
kept) a term is ``Σ w_i l_i / Σ |w_i|``: doubling every weight changes nothing, negative
(LIN interference) weights pull the loss the physical way, and unlike ``Σ w_i`` the
denominator cannot vanish in a mini-batch dominated by LIN events of both signs.
``history.history`` records the unweighted-by-coefficient terms ``reconstruction_loss``,
``kl_loss`` (and ``classifier_loss``, ``binary_accuracy``, ``auc``) next to the total ``loss``.

Training samples ``z`` with the reparameterisation trick; everything else (``call``,
validation, :func:`event_losses`, :func:`classifier_output`) uses ``z_mean``, so scores and
validation curves are deterministic.

``fit`` keeps Keras' ``model.fit`` (callbacks, history, validation) but runs the shuffled
epoch in chunks of ``chunk_steps`` mini-batches, each one compiled call: a jitted
``lax.scan`` on JAX, a ``tf.while_loop`` on TensorFlow (:mod:`vaednn.models.fitting`). True
mini-batch SGD at the seed's batch size, many times faster than one Python round trip per
mini-batch (``benchmarks/bench_fit.py``). :func:`ensemble` trains K seeds of one model
together (``jax.vmap`` on JAX).

The density models :class:`GaussianVAE` and :class:`RealNVP` (:mod:`~vaednn.models.density`,
trained by :func:`train_density`; their scores are :mod:`vaednn.scores`') train through the
same loop, :func:`fit`: every Keras model of the package has one training loop.

The package is made of: :mod:`~vaednn.models.inputs` (input checks),
:mod:`~vaednn.models.layers`, :mod:`~vaednn.models.losses`, :mod:`~vaednn.models.loop` (what
the trainers share, and the methods a model offers them), :mod:`~vaednn.models.fitting`
(:func:`fit`) with :mod:`~vaednn.models.fit_jax` and :mod:`~vaednn.models.fit_tensorflow`,
:mod:`~vaednn.models.variants` (the VAE and VAE+DNN classes),
:mod:`~vaednn.models.building` (:func:`build`, :func:`train`),
:mod:`~vaednn.models.density`, :mod:`~vaednn.models.scoring` and
:mod:`~vaednn.models.ensemble`.
"""


from vaednn.models.building import build, train
from vaednn.models.density import (
    AffineCoupling,
    DensityModel,
    GaussianVAE,
    RealNVP,
    scaling_log_jacobian,
    train_density,
)
from vaednn.models.ensemble import Ensemble, ensemble
from vaednn.models.fitting import BestCheckpoint, StopOnNaN, fit
from vaednn.models.layers import Classifier, Decoder, Encoder, LogMinMaxScaling, Sampling
from vaednn.models.scoring import (
    classifier_output,
    encode,
    event_losses,
    feature_errors,
    is_classifier,
    scale,
)
from vaednn.models.variants import (
    DEFAULTS,
    MODEL_NAMES,
    OPTIMIZER_OPTIONS,
    VAE,
    VAEDNN,
    FlatVAE,
    SeparateVAEDNN,
)

__all__ = [
    "MODEL_NAMES",
    "DEFAULTS",
    "OPTIMIZER_OPTIONS",
    "build",
    "train",
    "ensemble",
    "Ensemble",
    "event_losses",
    "encode",
    "feature_errors",
    "classifier_output",
    "is_classifier",
    "scale",
    "LogMinMaxScaling",
    "Sampling",
    "Encoder",
    "Decoder",
    "Classifier",
    "VAE",
    "FlatVAE",
    "VAEDNN",
    "SeparateVAEDNN",
    "StopOnNaN",
    "BestCheckpoint",
    "fit",
    "DensityModel",
    "GaussianVAE",
    "RealNVP",
    "AffineCoupling",
    "train_density",
    "scaling_log_jacobian",
]
