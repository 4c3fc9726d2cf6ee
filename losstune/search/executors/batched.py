"""Optuna with batched training: ask K trials, train them as one program, tell each.

The sampler, the pruner, each trial's nested MLflow run and the leaderboard see the same
trials as with one trial at a time; only the training is shared
(:func:`losstune.runners.torch.batched.train_batched`).

Members train together only when they share their structure (model architecture, optimizer
family and its discrete settings, batch size, epochs). So that a batch forms one program, the
first batchable trial of a batch fixes those choices for the rest: they are enqueued as
partial parameters (once the queued trials, the default recipe and the warm start's, have
run), and the sampler picks every other value (learning rate, weight decay,
dropout, loss, its hyperparameters, temperature, weighting, schedule) per trial. The next
batch samples a new structure.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import optuna
import torch

from losstune.data import Dataset
from losstune.models import MODELS, n_outputs
from losstune.recipe import Recipe
from losstune.runners.torch.batched import (
    STRUCTURE_FIELDS,
    group_recipes,
    train_batched,
    unbatchable_reason,
)
from losstune.runners.torch.runner import resolve_device
from losstune.search.config import BatchConfig
from losstune.search.executors.base import (
    EXECUTORS,
    Callback,
    FinalReserve,
    InProcessExecutor,
    callbacks,
    largest,
    remaining_trials,
)
from losstune.search.lifecycle import EXPECTED_FAILURES, TrialContext, TrialLifecycle
from losstune.search.session import SearchSession, Stage, StageRun
from losstune.search.storage import storage_url
from losstune.spaces import SearchSpace, offered_models

logger = logging.getLogger("losstune")

MAX_AUTO_GPU = 256
AUTO_CPU = 8
_EXPECTED: tuple[type[Exception], ...] = (optuna.TrialPruned, *EXPECTED_FAILURES)


@EXECUTORS.register("batched")
class BatchedExecutor(InProcessExecutor):
    """K trials at a time as one batched program (see the module doc); pruned and failed
    trials are told as such, any other error fails its batch and stops the search."""

    options: ClassVar[tuple[str, ...]] = ("batch_trials",)

    def __init__(self, config: BatchConfig) -> None:
        self.config = config
        self.batch_trials = 0  # resolved by check(), once the session knows its space

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> BatchedExecutor:
        return cls(BatchConfig(**options))

    def params(self) -> dict[str, Any]:
        return {"batch_trials": self.batch_trials}

    def check(self, session: SearchSession) -> None:
        super().check(session)
        alone = [m for m in offered_models(session.space) if MODELS.get(m).runner != "torch"]
        if alone:
            warnings.warn(
                f"executor='batched' stacks MLP trials only: the {', '.join(map(repr, alone))} "
                "trials of this search train one at a time.",
                stacklevel=4,
            )
        self.batch_trials = resolve_batch_trials(
            self.config.batch_trials, session.dataset, session.space, session.config.device
        )

    def run(self, session: SearchSession, stage: Stage) -> StageRun:
        study = session.study(stage)
        remaining = remaining_trials(study, stage)
        if remaining != 0:
            heartbeat = session.storage if session.shared else None
            optimize_batched(
                study,
                session.context(stage),
                self.batch_trials,
                Limits(remaining, stage.timeout, heartbeat),
                callbacks=callbacks(session, study, budget=False),
                stop=_stop_rule(session),
            )
        return StageRun(study, storage_url(session.storage))


def _stop_rule(session: SearchSession) -> Callable[[optuna.Study], bool] | None:
    """What ends the batched loop early: a study-wide trial budget reached (workers), or
    the final re-training's reserve of a duration budget (:class:`FinalReserve`)."""
    rules: list[Callable[[optuna.Study], bool]] = []
    if session.worker is not None:
        rules.append(session.worker.budget_reached)
    if session.deadline is not None:
        rules.append(FinalReserve(session.deadline, session.final_runs).reached)
    if not rules:
        return None
    return lambda study: any(rule(study) for rule in rules)


@dataclass(frozen=True)
class Limits:
    """When a batched loop stops: after ``n_trials`` trials or ``timeout`` seconds; with a
    ``heartbeat`` storage (shared with other processes) its trials record heartbeats."""

    n_trials: int | None
    timeout: float | None
    heartbeat: optuna.storages.BaseStorage | None = None


def optimize_batched(
    study: optuna.Study,
    context: TrialContext,
    batch_trials: int,
    limits: Limits,
    *,
    callbacks: Sequence[Callback] = (),
    stop: Callable[[optuna.Study], bool] | None = None,
) -> None:
    """Run ``limits.n_trials`` trials (or until ``limits.timeout``), ``batch_trials`` at a
    time.

    Like ``study.optimize(catch=EXPECTED_FAILURES)``: a pruned or failed trial is told as
    such; any other error fails the trials of its batch and is raised. ``stop`` ends the loop
    before a batch when it returns True (a study-wide budget reached). With
    ``limits.heartbeat`` (the study's storage, shared with other processes) every trial of a
    running batch records heartbeats, as ``study.optimize`` does for its one trial, and stale
    trials of dead workers are failed (and retried) before each batch.
    """
    started = time.perf_counter()
    done, n_trials, heartbeat = 0, limits.n_trials, limits.heartbeat
    while n_trials is None or done < n_trials:
        if limits.timeout is not None and time.perf_counter() - started >= limits.timeout:
            break
        if stop is not None and stop(study):
            break
        size = batch_trials if n_trials is None else min(batch_trials, n_trials - done)
        if _beats(heartbeat):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
        _run_batch(study, context, size, callbacks, heartbeat)
        done += size


def _run_batch(
    study: optuna.Study,
    context: TrialContext,
    size: int,
    callbacks: Sequence[Callback],
    heartbeat: optuna.storages.BaseStorage | None,
) -> None:
    runs, recipes = _ask(study, context, size)
    ready = [i for i, recipe in enumerate(recipes) if not isinstance(recipe, Exception)]
    outcomes: list[Any] = list(recipes)
    beating = (
        _Heartbeats(heartbeat, study.study_name, [run.trial.number for run in runs])
        if _beats(heartbeat)
        else contextlib.nullcontext()
    )
    try:
        with beating:
            trained = train_batched(
                [recipes[i] for i in ready],
                context.dataset,
                reporters=[runs[i].reporter for i in ready],
                device=context.device,
            )
    except BaseException as err:
        for run in runs:
            run.tell(study, err)
        raise
    for i, outcome in zip(ready, trained, strict=True):
        outcomes[i] = outcome
    groups = len(group_recipes([recipes[i] for i in ready])) if ready else 0
    logger.info("batch of %d trials trained as %d program(s)", size, groups)
    unexpected = None
    for run, outcome in zip(runs, outcomes, strict=True):
        frozen = run.tell(study, outcome)
        if isinstance(outcome, Exception) and not isinstance(outcome, _EXPECTED):
            unexpected = unexpected or outcome
        for callback in callbacks:
            callback(study, frozen)
    if unexpected is not None:
        raise unexpected


def _ask(
    study: optuna.Study, context: TrialContext, size: int
) -> tuple[list[TrialLifecycle], list]:
    """``size`` trials whose structure is the first batchable one's (see the module doc)."""
    runs: list[TrialLifecycle] = []
    recipes: list[Any] = []
    shared: dict[str, Any] | None = None
    for _ in range(size):
        if shared is not None and not _queued(study):  # queued trials (warm start) go first
            study.enqueue_trial(shared)
        with warnings.catch_warnings():
            # batches record their trials' heartbeats themselves (_Heartbeats)
            warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used")
            trial = study.ask()
        run = TrialLifecycle(trial, context)
        recipe: Recipe | Exception
        try:
            recipe = run.recipe()
        except EXPECTED_FAILURES as err:
            recipe = err
        if shared is None and not isinstance(recipe, Exception):
            if unbatchable_reason(recipe) is None:
                shared = structure_params(run.config, run.trial.params)
        runs.append(run)
        recipes.append(recipe)
    return runs, recipes


def _queued(study: optuna.Study) -> bool:
    """Whether trials wait in the study's queue (the default recipe, the warm start's
    members): ``ask`` takes them first, so a batch's shared structure waits its turn."""
    waiting = (optuna.trial.TrialState.WAITING,)
    return bool(study.get_trials(deepcopy=False, states=waiting))


def structure_params(config: dict[str, Any], searched: dict[str, Any]) -> dict[str, Any]:
    """The searched parameters of ``config`` that decide a program's structure: every
    non-float value under :data:`STRUCTURE_FIELDS` (model and optimizer names and discrete
    settings, wrapper, batch size, epochs)."""
    return {
        path: value
        for path, value in config.items()
        if path in searched
        and path.split(".")[0] in STRUCTURE_FIELDS
        and not isinstance(value, float)
    }


def _beats(storage: optuna.storages.BaseStorage | None) -> bool:
    """Whether ``storage`` takes heartbeats (an RDB storage opened with an interval)."""
    interval = getattr(storage, "get_heartbeat_interval", None)
    return interval is not None and interval() is not None


class _Heartbeats:
    """Records a heartbeat for every trial of a batch every heartbeat interval, from a thread,
    while the batch trains (``study.optimize`` does the same for its one trial)."""

    def __init__(self, storage: Any, study_name: str, numbers: Sequence[int]) -> None:
        study_id = storage.get_study_id_from_name(study_name)
        self.storage = storage
        self.ids = [storage.get_trial_id_from_study_id_trial_number(study_id, n) for n in numbers]
        self.interval = storage.get_heartbeat_interval()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def _beat(self) -> None:
        while True:
            for trial_id in self.ids:
                self.storage.record_heartbeat(trial_id)
            if self.stopped.wait(self.interval):
                return

    def __enter__(self) -> _Heartbeats:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()


def resolve_batch_trials(
    batch_trials: int | str, dataset: Dataset, space: SearchSpace, device: str
) -> int:
    """``batch_trials`` as a count; ``"auto"`` sizes it from free GPU memory (see
    :func:`auto_batch_trials`)."""
    if batch_trials == "auto":
        return auto_batch_trials(dataset, space, device)
    if isinstance(batch_trials, bool) or not isinstance(batch_trials, int) or batch_trials < 1:
        raise ValueError(
            f"batch_trials must be a whole number >= 1 or 'auto'; got {batch_trials!r}."
        )
    return batch_trials


def auto_batch_trials(dataset: Dataset, space: SearchSpace, device: str) -> int:
    """Members per program: on a GPU, as many as fit in half its free memory at the space's
    widest, deepest model and largest batch (at most 256); on a CPU, 8 (a CPU computes the
    members one after another inside each kernel, so more only saves Python overhead)."""
    dev = resolve_device(device)
    if dev.type != "cuda":
        return AUTO_CPU
    free, _ = torch.cuda.mem_get_info(dev)
    width, depth, batch = (largest(space, key, default) for key, default in _SIZES)
    outputs = n_outputs(dataset.task, dataset.n_classes)
    params = dataset.n_features * width + max(depth - 1, 0) * width * width + width * outputs
    # parameters, gradients and two optimizer states; activations, masks and gradients
    floats = 4 * params + 4 * batch * width * max(depth, 1) + len(dataset.X_valid) * outputs
    return int(max(1, min(MAX_AUTO_GPU, free // 2 // (4 * floats))))


_SIZES = (("model.mlp.width", 256), ("model.mlp.depth", 2), ("batch_size", 512))
