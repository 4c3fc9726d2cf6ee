"""One search per study at a time on a local run folder.

An SQLite study cannot be shared by parallel workers (optuna/optuna#820), and resuming an
interrupted search treats every trial still marked RUNNING as abandoned. Both are safe only
if no other process works on the study, which this lock guarantees. The lock is the
operating system's (``filelock``: ``flock`` on POSIX, ``msvcrt.locking`` on Windows), so it
is released when the holder exits, even when killed: a lock file left behind blocks nothing.

The holder writes its pid next to the lock (``<study>.pid``), so a refused search can say
which process holds the study.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout


class StudyBusyError(RuntimeError):
    """Another process is running a search on the same study in the same run folder."""


@contextlib.contextmanager
def study_lock(run_dir: Path, study_name: str) -> Iterator[None]:
    """Hold the study's lock for the block; raise :class:`StudyBusyError` at once (no
    waiting) if another search holds it."""
    locks = Path(run_dir) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", study_name)
    holder_file = locks / (stem + ".pid")
    lock = FileLock(locks / (stem + ".lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise StudyBusyError(
            f"Another search (pid {_holder(holder_file)}) is running study {study_name!r} in "
            f"{run_dir}; wait for it to finish or pass another study_name."
        ) from None
    try:
        holder_file.write_text(str(os.getpid()))
        yield
    finally:
        with contextlib.suppress(OSError):
            holder_file.unlink()
        lock.release()


def _holder(holder_file: Path) -> str:
    """The pid the holder wrote, or "unknown" (it has not written it yet)."""
    try:
        return holder_file.read_text().strip() or "unknown"
    except OSError:
        return "unknown"
