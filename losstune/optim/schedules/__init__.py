"""The registered learning-rate schedules: importing this package registers every member in
``SCHEDULES``. ``WarmupSchedule`` is the warmup-then-multiplier base that batched runners read."""

from losstune.optim.schedules import (  # noqa: F401
    constant,
    cosine,
    linear,
    onecycle,
    wsd,
)
from losstune.optim.schedules._warmup import WarmupSchedule, check_total_steps

__all__ = ["WarmupSchedule", "check_total_steps"]
