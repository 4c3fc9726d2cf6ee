"""One search per study at a time on a local run folder.

An SQLite study cannot be shared by parallel workers (optuna/optuna#820), and resuming an
interrupted search treats every trial still marked RUNNING as abandoned. Both are safe only
if no other process works on the study, which this lock guarantees. The operating system
releases it when the holder exits, even when killed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from pathlib import Path


class StudyBusyError(RuntimeError):
    """Another process is running a search on the same study in the same run folder."""


@contextlib.contextmanager
def study_lock(run_dir: Path, study_name: str) -> Iterator[None]:
    locks = Path(run_dir) / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    path = locks / (re.sub(r"[^A-Za-z0-9_.-]", "_", study_name) + ".lock")
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise StudyBusyError(
                f"Another search (pid {holder}) is running study {study_name!r} in {run_dir}; "
                "wait for it to finish or pass another study_name."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
