"""Executors: where and how the trials of one stage of a search run.

An executor takes a :class:`~losstune.search.session.Stage` of an open
:class:`~losstune.search.session.SearchSession` and runs its trials (in this process one at a
time, K at a time as one batched program, on Ray Tune, or in worker processes), ending each
through :mod:`losstune.search.lifecycle`; it returns the stage's study. Registering a class in
:data:`EXECUTORS` makes it reachable from ``search(executor=...)`` and the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

import optuna

from losstune._registry import Registry
from losstune.search.interrupts import stop_point
from losstune.search.session import SearchSession, Stage, StageRun


class TrialExecutor(Protocol):
    """Runs the trials of one stage.

    Attributes:
        default_pruner: what ``pruner="auto"`` means on this executor.
        optuna_pruning: whether its pruner is an Optuna pruner (else its own, e.g. Ray's).
        shares_storage: whether it runs on a storage other processes share (a database
            server); executors that keep their own study refuse a ``storage``.
        options: the ``search()`` keywords it takes (e.g. ``batch_trials``).
    """

    default_pruner: ClassVar[str]
    optuna_pruning: ClassVar[bool]
    shares_storage: ClassVar[bool]
    options: ClassVar[tuple[str, ...]]

    def params(self) -> dict[str, Any]:
        """What the MLflow parent run records about this executor."""
        ...

    def check(self, session: SearchSession) -> None:
        """Refuse, before anything starts, what this executor cannot do for ``session``."""
        ...

    def run(self, session: SearchSession, stage: Stage) -> StageRun:
        """Run ``stage.n_trials`` counted trials of ``stage`` (or until its timeout)."""
        ...

    def final_device(self, device: str) -> str:
        """Where the final re-training runs (this process), given the search's device."""
        ...

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TrialExecutor:
        """The executor for the ``search()`` keywords in ``options`` (its own only)."""
        ...


Callback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]
"""A ``study.optimize`` callback."""


class InProcessExecutor:
    """What the executors that run trials through Optuna in this process share: Optuna's
    median pruner by default, any storage (other processes may join a shared one), the final
    re-training on the search's device. Subclasses add ``options``, ``from_options``,
    ``params`` and ``run``."""

    default_pruner: ClassVar[str] = "median"
    optuna_pruning: ClassVar[bool] = True
    shares_storage: ClassVar[bool] = True

    def check(self, session: SearchSession) -> None:
        """The trials run in this process: its device must be here (checked before the
        first trial, which would otherwise fail on it and never be retried)."""
        from losstune.runners import runner_for

        runner_for(session.default).check_device(session.config.device)

    def final_device(self, device: str) -> str:
        return device


EXECUTORS: Registry[Any] = Registry("executor")
"""Executor classes by name. Each has ``options``, the ``search()`` keywords it takes, and is
built with ``cls.from_options(options)``; its module registers it."""


def remaining_trials(study: Any, stage: Stage) -> int | None:
    """How many trials ``stage`` still runs: its ``n_trials`` less the study's counted ones
    (None: no trial limit)."""
    from losstune.search.storage import counted_trials

    if stage.n_trials is None:
        return None
    return max(0, stage.n_trials - counted_trials(study))


def callbacks(session: SearchSession, study: Any, budget: bool = True) -> list[Any]:
    """The ``study.optimize`` callbacks of a stage: the progress bar (advanced past the
    trials an earlier run finished), with ``budget`` the worker's and the final
    re-training's reserve (they stop the study: only inside ``study.optimize``), and a
    :func:`~losstune.search.interrupts.stop_point` after each trial."""
    from losstune.search.storage import counted_trials

    out: list[Any] = []
    if session.progress is not None:
        for _ in range(counted_trials(study)):
            session.progress.advance()
        out.append(session.progress)
    if budget and session.worker is not None:
        out.extend(session.worker.callbacks)
    if budget and session.deadline is not None:
        out.append(FinalReserve(session.deadline, session.final_runs))
    out.append(lambda study, trial: stop_point())  # a Ctrl-C between two trials
    return out


class FinalReserve:
    """Stops the trials while the time left still holds the final re-training, so that a
    duration budget covers the whole search: the reserve is the final selection's runs times
    the median duration of the complete trials (none complete yet: no reserve). A trial
    running when the reserve is reached finishes."""

    def __init__(self, deadline: float, runs: int) -> None:
        self.deadline, self.runs = deadline, runs

    def reached(self, study: Any) -> bool:
        """Whether no further trial fits before the final re-training must start."""
        import statistics
        import time

        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        durations = [t.duration.total_seconds() for t in complete if t.duration is not None]
        if not durations:
            return False
        reserve = self.runs * statistics.median(durations)
        return time.monotonic() + reserve >= self.deadline

    def __call__(self, study: Any, trial: Any) -> None:
        if self.reached(study):
            study.stop()


def largest(space: Any, path: str, default: int) -> int:
    """The largest value ``space`` allows at ``path`` (a fixed value, an integer range's
    top, the largest option), or ``default`` when the space has no such path."""
    from losstune.spaces import Choice, Fixed, Int

    param = space.paths().get(path)
    if isinstance(param, Fixed):
        return int(param.value)
    if isinstance(param, Int):
        return int(param.high)
    if isinstance(param, Choice) and param.options:
        return int(max(param.options))
    return default


def most_reports(space: Any, epochs: int) -> int:
    """The most reports a trial of ``space`` can send (a pruner's or Ray scheduler's
    horizon): the largest ``epochs`` of a torch-trained family (``epochs`` when the space does
    not say), or a family's own count at the largest values the space allows its integer
    hyperparameters (LightGBM: its most rounds over its reporting interval)."""
    from losstune.models import MODELS
    from losstune.spaces import offered_models

    most = 0
    for name in offered_models(space):
        family = MODELS.get(name)
        if family.runner == "torch":
            most = max(most, largest(space, "epochs", epochs))
            continue
        prefix = f"model.{name}."
        sized = {
            path[len(prefix) :]: largest(space, path, 0)
            for path, param in space.paths().items()
            if path.startswith(prefix) and _whole_param(param)
        }
        most = max(most, family.from_params(sized).max_reports())
    return most or epochs


def _whole_param(param: Any) -> bool:
    from losstune.spaces import Fixed, Int

    if isinstance(param, Fixed):
        return isinstance(param.value, int) and not isinstance(param.value, bool)
    return isinstance(param, Int)
