"""The registered weighting schemes: importing this package registers every member in
``WEIGHTINGS``."""

from losstune.objectives.weighting import (  # noqa: F401
    deferred,
    dynamic,
    effective_number,
    inverse_frequency,
    none,
)
