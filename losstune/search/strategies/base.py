"""Strategies: what stages a search runs and how one stage leads to the next.

``direct`` searches the whole space at full size in one stage; ``transfer`` searches cheap
proxies, fits a step law and confirms at full size. Either runs its stages on any executor
(:mod:`losstune.search.executors`) and ends with the same final selection
(:func:`losstune.search.finish.finish`). Registering a class in :data:`STRATEGIES` makes it
reachable from ``search(strategy=...)`` and the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from losstune._registry import Registry
from losstune.search.executors.base import TrialExecutor
from losstune.search.result import Result
from losstune.search.session import SearchSession


class Strategy(Protocol):
    """Runs a search's stages on an executor and returns its result."""

    options: ClassVar[tuple[str, ...]]

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Strategy:
        """The strategy for the ``search()`` keywords in ``options`` (its own only)."""
        ...

    def study_suffix(self) -> str:
        """What ends the derived study name of a search with this strategy."""
        ...

    def run(self, session: SearchSession, executor: TrialExecutor) -> Result:
        """Open ``session``, run the stages on ``executor``, finish; the result."""
        ...


STRATEGIES: Registry[Any] = Registry("strategy")
"""Strategy classes by name, built with ``cls.from_options(options)``."""


def search_params(session: SearchSession, executor: TrialExecutor) -> dict[str, Any]:
    """What every search's MLflow parent run records: the judging, the budget, the task and
    the executor's own settings."""
    config = session.config
    return {
        "metric": session.metric,
        "sampler": name_of(config.sampler),
        "pruner": name_of(session.pruner),
        "seed": config.seed,
        "n_trials": config.budget.n_trials,
        "timeout_s": config.budget.timeout,
        "top_k": config.top_k,
        "n_seeds": config.n_seeds,
        "task": session.dataset.task.value,
        "warm_start": config.warm_start,
        **executor.params(),
        **data_params(session),
    }


def data_params(session: SearchSession) -> dict[str, Any]:
    """The data's diagnosis as parent-run params (``data.rows``, ``data.regime``,
    ``data.label_noise``, ...): what describes the data, so runs can be compared by it;
    measurements that do not apply (None) and the time it took are left out."""
    if session.diagnosis is None:
        return {}
    flat = session.diagnosis.to_dict()
    return {
        f"data.{key}": value for key, value in flat.items() if _scalar(value) and key != "seconds"
    }


def _scalar(value: Any) -> bool:
    return value is not None and isinstance(value, str | int | float | bool)


def name_of(thing: Any) -> str:
    """A registry name as is, ``"none"`` for None, else the instance's class name."""
    if thing is None:
        return "none"
    return thing if isinstance(thing, str) else type(thing).__name__
