"""The registered optimizers: importing this package registers every member in ``OPTIMIZERS``."""

from losstune.optim.optimizers import (  # noqa: F401
    adafactor,
    adamw,
    lion,
    muon,
    nadam,
    radam,
    sgd,
)
