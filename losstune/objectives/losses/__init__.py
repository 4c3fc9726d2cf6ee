"""The registered losses: importing this package registers every member in ``LOSSES``."""

from losstune.objectives.losses import (  # noqa: F401
    cross_entropy,
    focal,
    gce,
    huber,
    label_smoothing,
    log_cosh,
    logit_adjusted,
    mae,
    mae_probs,
    mse,
    poly1,
    symmetric_ce,
)
