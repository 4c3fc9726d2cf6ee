"""The ``sequential`` executor: trials one after another in this process."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from losstune.search.executors.base import (
    EXECUTORS,
    InProcessExecutor,
    callbacks,
    remaining_trials,
)
from losstune.search.lifecycle import EXPECTED_FAILURES, run_trial
from losstune.search.session import SearchSession, Stage, StageRun
from losstune.search.storage import storage_url


@EXECUTORS.register("sequential")
class SequentialExecutor(InProcessExecutor):
    """Optuna's ``study.optimize`` with the search's trial lifecycle: a pruned or failed
    trial is told as such and the search goes on; any other error stops it. On a shared
    storage, ``losstune worker`` processes run trials of the same study meanwhile."""

    options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SequentialExecutor:
        return cls()

    def params(self) -> dict[str, Any]:
        return {"batch_trials": 1}

    def run(self, session: SearchSession, stage: Stage) -> StageRun:
        study = session.study(stage)
        remaining = remaining_trials(study, stage)
        if remaining != 0:
            context = session.context(stage)
            study.optimize(
                lambda trial: run_trial(trial, context),
                n_trials=remaining,
                timeout=stage.timeout,
                catch=EXPECTED_FAILURES,
                callbacks=callbacks(session, study),
            )
        return StageRun(study, storage_url(session.storage))
