"""What a runner calls once per epoch. Runners never import Optuna or Ray: the search backend
passes a reporter that forwards to ``trial.report`` / ``tune.report`` and raises to stop."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol, runtime_checkable


@runtime_checkable
class Reporter(Protocol):
    """Receives ``metrics`` after each ``epoch`` (1-based); may raise to stop the trial."""

    def report(self, epoch: int, metrics: Mapping[str, float]) -> None: ...


class CallbackReporter:
    """A reporter calling ``callback(epoch, metrics)``: the simplest way to watch a run."""

    def __init__(self, callback: Callable[[int, Mapping[str, float]], None]) -> None:
        self.callback = callback

    def report(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.callback(epoch, metrics)


EpochCallback = Callable[[int, Mapping[str, float]], None]


def as_callback(reporter: Reporter | EpochCallback | None) -> EpochCallback | None:
    """``reporter.report`` for a :class:`Reporter`, a plain callable as is, None as None."""
    if reporter is None:
        return None
    if isinstance(reporter, Reporter):
        return reporter.report
    if callable(reporter):
        return reporter
    raise TypeError(f"reporter must have a report(epoch, metrics) method; got {reporter!r}.")
