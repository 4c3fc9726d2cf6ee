"""The registered learning-rate schedules: importing this package registers every member in
``SCHEDULES``."""

from losstune.optim.schedules import (  # noqa: F401
    constant,
    cosine,
    linear,
    onecycle,
    wsd,
)
