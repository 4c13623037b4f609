"""The classifier's training sets; the code lives in :mod:`vaednn.data.training_sets`."""

from vaednn.data.training_sets import WEIGHTINGS, classifier_set, paired_sm

__all__ = ["WEIGHTINGS", "classifier_set", "paired_sm"]
