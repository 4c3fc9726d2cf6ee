"""Ctrl-C and SIGTERM during a search: stop cleanly, keep everything, say how to resume.

While a search runs, SIGTERM is raised in the main thread like Ctrl-C (a
:class:`Terminated`, a ``KeyboardInterrupt``), so both take one path: the running trial ends
``interrupted`` (its MLflow run KILLED, retried on resume), the parent run ends KILLED, and the
search raises :class:`SearchInterrupted`, which names the study to resume.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so a search cleans up the same way."""


class SearchInterrupted(KeyboardInterrupt):
    """A search stopped by Ctrl-C or SIGTERM; everything it finished is kept.

    Attributes:
        study_name: the study that resumes it (run the same search again).
        signal_name: ``SIGINT`` or ``SIGTERM``.
    """

    def __init__(self, study_name: str, signal_name: str) -> None:
        self.study_name, self.signal_name = study_name, signal_name
        super().__init__(
            f"Search interrupted ({signal_name}); finished trials are kept. Run the same "
            f"search again to resume study {study_name!r}."
        )

    @property
    def exit_code(self) -> int:
        """The shell's code for a process ended by the signal: 128 + its number."""
        return 128 + int(signal.Signals[self.signal_name])


def signal_name(err: KeyboardInterrupt) -> str:
    """``SIGTERM`` for a :class:`Terminated`, else ``SIGINT``."""
    return "SIGTERM" if isinstance(err, Terminated) else "SIGINT"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (where a
    default handler would end the process with nothing cleaned up). A handler someone else
    installed is left alone, and the previous one is restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):
        yield
        return

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated("SIGTERM")

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _HideInterruptedTrials(logging.Filter):
    """Drops Optuna's two "trial failed" records (the first with a traceback) for a trial
    that was interrupted: the search reports the interruption in one line."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        trial = message.split(" failed with ", 1)[0]
        if record.exc_info and isinstance(record.exc_info[1], KeyboardInterrupt):
            self.hidden.add(trial)
            return False
        if trial in self.hidden and " failed with value " in message:
            self.hidden.discard(trial)
            return False
        return True


@contextlib.contextmanager
def quiet_interrupts() -> Iterator[None]:
    """Within the block, Optuna does not log an interrupted trial as a failure."""
    optuna_logger = logging.getLogger("optuna.study._optimize")
    hide = _HideInterruptedTrials()
    optuna_logger.addFilter(hide)
    try:
        yield
    finally:
        optuna_logger.removeFilter(hide)
