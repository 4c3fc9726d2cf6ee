"""The ``direct`` strategy: one stage searching the whole space at full size."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, ClassVar

from losstune.search.executors.base import TrialExecutor
from losstune.search.finish import finish
from losstune.search.result import Result
from losstune.search.session import SearchSession, Stage
from losstune.search.strategies.base import STRATEGIES, search_params
from losstune.search.worker import register_search


@STRATEGIES.register("direct")
class DirectStrategy:
    """The default recipe is the first trial (when the space holds it), then the warm-start
    portfolio's members for the data (:meth:`SearchSession.warm_start`), then the sampler's;
    on a shared storage ``losstune worker`` processes can join (:mod:`losstune.search.worker`)."""

    options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DirectStrategy:
        return cls()

    def study_suffix(self) -> str:
        return ""

    def run(self, session: SearchSession, executor: TrialExecutor) -> Result:
        budget = session.config.budget
        default = session.default_config()
        stage = Stage(
            "",
            session.dataset,
            session.space,
            budget.n_trials,
            budget.timeout,
            default=default,
            warm=session.warm_start(default),
        )
        with session.open(search_params(session, executor), {}):
            if executor.shares_storage:
                session.worker = register_search(session)
            progress = session.start_progress(budget.n_trials, 0)
            with progress or contextlib.nullcontext():
                ran = executor.run(session, stage)
                return finish(session, ran, executor.final_device(session.config.device))
