"""Optuna with batched training: ask K trials, train them as one program, tell each.

The sampler, the pruner, each trial's nested MLflow run and the leaderboard see the same
trials as with one trial at a time; only the training is shared
(:func:`losstune.runners.batched.train_batched`).

Members train together only when they share their structure (model architecture, optimizer
family and its discrete settings, batch size, epochs). So that a batch forms one program, the
first batchable trial of a batch fixes those choices for the rest: they are enqueued as
partial parameters, and the sampler picks every other value (learning rate, weight decay,
dropout, loss, its hyperparameters, temperature, weighting, schedule) per trial. The next
batch samples a new structure.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
import torch

from losstune.data import Dataset
from losstune.recipe import RecipeError
from losstune.runners.batched import (
    STRUCTURE_FIELDS,
    group_recipes,
    train_batched,
    unbatchable_reason,
)
from losstune.runners.models import n_outputs
from losstune.runners.torch_runner import TrainingDiverged, resolve_device
from losstune.search.objective import TrialContext, TrialRun
from losstune.spaces import Fixed, Int, SearchSpace

logger = logging.getLogger("losstune")

MAX_AUTO_GPU = 256
AUTO_CPU = 8
_EXPECTED = (optuna.TrialPruned, TrainingDiverged, RecipeError)

Callback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


def optimize_batched(
    study: optuna.Study,
    context: TrialContext,
    batch_trials: int,
    *,
    n_trials: int | None,
    timeout: float | None,
    callbacks: Sequence[Callback] = (),
    trial_attrs: Mapping[str, Any] | None = None,
    stop: Callable[[optuna.Study], bool] | None = None,
    heartbeat: optuna.storages.BaseStorage | None = None,
) -> None:
    """Run ``n_trials`` trials (or until ``timeout`` seconds), ``batch_trials`` at a time.

    Like ``study.optimize(catch=(TrainingDiverged, RecipeError))``: a pruned or failed trial
    is told as such; any other error fails the trials of its batch and is raised.
    ``trial_attrs`` are set on every trial (which worker ran it, with what seed); ``stop``
    ends the loop before a batch when it returns True (a study-wide budget reached).
    ``heartbeat``: the study's storage when other processes share it; as ``study.optimize``
    does for its one trial, every trial of a running batch then records heartbeats, and
    stale trials of dead workers are failed (and retried) before each batch.
    """
    started = time.perf_counter()
    done = 0
    while n_trials is None or done < n_trials:
        if timeout is not None and time.perf_counter() - started >= timeout:
            break
        if stop is not None and stop(study):
            break
        size = batch_trials if n_trials is None else min(batch_trials, n_trials - done)
        if _beats(heartbeat):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
        _run_batch(study, context, size, callbacks, trial_attrs or {}, heartbeat)
        done += size


def _run_batch(
    study: optuna.Study,
    context: TrialContext,
    size: int,
    callbacks: Sequence[Callback],
    trial_attrs: Mapping[str, Any],
    heartbeat: optuna.storages.BaseStorage | None,
) -> None:
    runs, recipes = _ask(study, context, size, trial_attrs)
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
            run.stop(err)
            study.tell(run.trial, state=optuna.trial.TrialState.FAIL)
        raise
    for i, outcome in zip(ready, trained, strict=True):
        outcomes[i] = outcome
    groups = len(group_recipes([recipes[i] for i in ready])) if ready else 0
    logger.info("batch of %d trials trained as %d program(s)", size, groups)
    unexpected = None
    for run, outcome in zip(runs, outcomes, strict=True):
        frozen = _tell(study, run, outcome)
        if isinstance(outcome, Exception) and not isinstance(outcome, _EXPECTED):
            unexpected = unexpected or outcome
        for callback in callbacks:
            callback(study, frozen)
    if unexpected is not None:
        raise unexpected


def _ask(
    study: optuna.Study, context: TrialContext, size: int, trial_attrs: Mapping[str, Any]
) -> tuple[list[TrialRun], list]:
    """``size`` trials whose structure is the first batchable one's (see the module doc)."""
    runs: list[TrialRun] = []
    recipes: list[Any] = []
    shared: dict[str, Any] | None = None
    for _ in range(size):
        if shared is not None:
            study.enqueue_trial(shared)
        with warnings.catch_warnings():
            # batches record their trials' heartbeats themselves (_Heartbeats)
            warnings.filterwarnings("ignore", "Heartbeat of storage is supposed to be used")
            trial = study.ask()
        for key, value in trial_attrs.items():
            trial.set_user_attr(key, value)
        run = TrialRun(trial, context)
        try:
            recipe = run.recipe()
        except RecipeError as err:
            recipe = err
        if shared is None and not isinstance(recipe, Exception):
            if unbatchable_reason(recipe) is None:
                shared = structure_params(run.config, run.trial.params)
        runs.append(run)
        recipes.append(recipe)
    return runs, recipes


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


def _tell(study: optuna.Study, run: TrialRun, outcome: Any) -> optuna.trial.FrozenTrial:
    if isinstance(outcome, BaseException):
        run.stop(outcome)
        state = (
            optuna.trial.TrialState.PRUNED
            if isinstance(outcome, optuna.TrialPruned)
            else optuna.trial.TrialState.FAIL
        )
        return study.tell(run.trial, state=state)
    value = run.complete(outcome)
    if math.isnan(value):
        return study.tell(run.trial, state=optuna.trial.TrialState.FAIL)
    return study.tell(run.trial, value)


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
    width, depth, batch = (_largest(space, key, default) for key, default in _SIZES)
    outputs = n_outputs(dataset.task, dataset.n_classes)
    params = dataset.n_features * width + max(depth - 1, 0) * width * width + width * outputs
    # parameters, gradients and two optimizer states; activations, masks and gradients
    floats = 4 * params + 4 * batch * width * max(depth, 1) + len(dataset.X_valid) * outputs
    return int(max(1, min(MAX_AUTO_GPU, free // 2 // (4 * floats))))


_SIZES = (("model.mlp.width", 256), ("model.mlp.depth", 2), ("batch_size", 512))


def _largest(space: SearchSpace, path: str, default: int) -> int:
    param = space.paths().get(path)
    if isinstance(param, Fixed):
        return int(param.value)
    if isinstance(param, Int):
        return int(param.high)
    options = getattr(param, "options", None)
    if options:
        return int(max(options))
    return default
