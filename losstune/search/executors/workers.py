"""The ``workers`` executor: this process and ``n_workers - 1`` worker processes on this
machine run the trials of one study that lives on a database server (PostgreSQL).

Each worker is :func:`losstune.search.worker.join_search` in a process of its own (spawned,
so it shares nothing with this one but the study and the MLflow store): it rebuilds the
search from the spec the search recorded in its study, samples with its own seed, and stops
when the study has the search's trials. Workers on other machines join the same way with
``losstune worker``. A Ctrl-C here interrupts every worker's running trial too.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Mapping
from typing import Any, ClassVar

from losstune.data import Dataset
from losstune.search.executors.base import EXECUTORS, InProcessExecutor
from losstune.search.executors.sequential import SequentialExecutor
from losstune.search.session import SearchSession, Stage, StageRun
from losstune.search.storage import is_sqlite

logger = logging.getLogger("losstune")

JOIN_TIMEOUT_S = 600  # how long the search waits for a worker's last trial


@EXECUTORS.register("workers")
class WorkersExecutor(InProcessExecutor):
    """``n_workers`` processes (this one included) running trials of the same study; needs
    ``storage`` on a database server."""

    options: ClassVar[tuple[str, ...]] = ("n_workers",)

    def __init__(self, n_workers: int = 2) -> None:
        if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
            raise ValueError(f"n_workers must be a whole number >= 1; got {n_workers!r}.")
        self.n_workers = n_workers

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> WorkersExecutor:
        return cls(**options)

    def params(self) -> dict[str, Any]:
        return {"batch_trials": 1, "n_workers": self.n_workers}

    def check(self, session: SearchSession) -> None:
        super().check(session)
        storage = session.run.storage
        if not isinstance(storage, str) or is_sqlite(storage):
            raise ValueError(
                "executor 'workers' shares the study between processes, which needs a "
                "database server: pass storage='postgresql://USER@HOST:5432/DB' (SQLite locks "
                "the whole file, optuna/optuna#820)."
            )

    def run(self, session: SearchSession, stage: Stage) -> StageRun:
        if stage.name:
            raise ValueError(
                "executor 'workers' runs direct searches: its workers rebuild the search from "
                "the spec a direct search records; use strategy='direct'."
            )
        spawn = multiprocessing.get_context("spawn")
        workers = [
            spawn.Process(
                target=_work,
                args=(
                    session.study_name,
                    session.run.storage,
                    stage.dataset,
                    session.config.device,
                ),
                name=f"losstune-worker-{i}",
            )
            for i in range(1, self.n_workers)
        ]
        for process in workers:
            process.start()
        try:
            ran = SequentialExecutor().run(session, stage)
        except BaseException:
            for process in workers:  # end their running trials too: resumable as one search
                if process.pid is not None and process.is_alive():
                    os.kill(process.pid, signal.SIGINT)
            raise
        finally:
            for process in workers:
                process.join(JOIN_TIMEOUT_S)
                if process.is_alive():
                    logger.warning("worker %s did not stop; terminating it", process.name)
                    process.terminate()
                    process.join()
        return ran


def _work(study_name: str, storage: str, dataset: Dataset, device: str) -> None:
    """A worker process: run trials of the search until its budget is spent."""
    try:
        from losstune.search.worker import join_search

        join_search(study_name, storage, dataset, device=device)
    except KeyboardInterrupt:
        pass  # the search was interrupted; its trial is ended, as the search's own
