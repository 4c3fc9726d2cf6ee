"""Ctrl-C and SIGTERM during a search: stop cleanly, keep everything, say how to resume.

While a search runs, Ctrl-C and SIGTERM are recorded and raised at the search's next stop
point (an epoch's report, the end of a trial, a final re-training run) as a
``KeyboardInterrupt`` (SIGTERM: a :class:`Terminated`), so both take one path: the running
trial ends ``interrupted`` (its MLflow run KILLED, retried on resume), the parent run ends
KILLED, and the search raises :class:`SearchInterrupted`, which names the study to resume.
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


_pending: KeyboardInterrupt | None = None


def stop_point() -> None:
    """Raise the Ctrl-C or SIGTERM received since the search began, if any. Called where
    stopping leaves the stores consistent: at each epoch's report, after each trial and
    before each final re-training run (see :func:`stop_at_stop_points`)."""
    if _pending is not None:
        raise type(_pending)(*_pending.args)


def requested_signal() -> str | None:
    """``SIGINT`` or ``SIGTERM`` when a stop was asked for in the running search, else None."""
    return None if _pending is None else signal_name(_pending)


@contextlib.contextmanager
def stop_at_stop_points() -> Iterator[None]:
    """Within the block, Ctrl-C and SIGTERM stop the search at its next :func:`stop_point`.

    Raising from the signal handler itself could land inside a database write of Optuna or
    MLflow (SQLAlchemy between its write and its commit) and leave the file locked, so the
    trial could not even be ended ("database is locked"). The handler only records the
    request; a second signal raises at once, for a user who will not wait. Where another
    library runs its own Ctrl-C handling inside the block (Ray Tune), SIGTERM is passed on
    to it as Ctrl-C. Handlers someone else installed before the block are left alone; the
    previous ones are restored after. A request no stop point met is dropped with the block:
    the search had nothing left but to hand back its result.
    """
    global _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults = {
        signal.SIGINT: (signal.default_int_handler,),
        signal.SIGTERM: (signal.SIG_DFL, None),
    }
    taken = {sig: signal.getsignal(sig) for sig, ok in defaults.items()}
    taken = {sig: handler for sig, handler in taken.items() if handler in defaults[sig]}
    if not taken:
        yield
        return

    def request(signum: int, frame: FrameType | None) -> None:
        global _pending
        if _pending is not None:
            raise type(_pending)(*_pending.args)
        _pending = Terminated("SIGTERM") if signum == signal.SIGTERM else KeyboardInterrupt()
        ctrl_c = signal.getsignal(signal.SIGINT)
        if signum == signal.SIGTERM and callable(ctrl_c):
            if ctrl_c not in (request, signal.default_int_handler):
                ctrl_c(signal.SIGINT, frame)

    outer, _pending = _pending, None
    for sig in taken:
        signal.signal(sig, request)
    try:
        yield
    finally:
        for sig, handler in taken.items():
            signal.signal(sig, handler)
        _pending = outer


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
