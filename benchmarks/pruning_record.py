"""Record full-length learning curves of the default search space, once, for the replay.

Configurations come from Optuna's ``RandomSampler(seed)`` over
:func:`losstune.spaces.default_space` of the MLP family (``models=["mlp"]``: a curve is one
value per epoch, ``epochs`` long; a LightGBM run reports every 10 rounds for as long as early
stopping lets it), so the recorded order is a plain sample of the space (TPE's order would
depend on the values it saw). Each one is trained the way a search trains
a trial (:func:`losstune.search.lifecycle.run_trial`: ``suggest`` -> ``config_to_recipe`` ->
``losstune.runners.train`` with a per-epoch reporter, the search seed for every trial), with no
pruning. A diverged trial is recorded as failed in the epoch it stopped.

The file is rewritten after every trial; recording again with the same settings resumes:
the sampler re-draws the recorded configurations (no training) and checks they match.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.pruning_curves import CurveFileError, CurveSet, DatasetCurves, RecordedTrial

logger = logging.getLogger("losstune.benchmarks")


@dataclass(frozen=True)
class RecordPlan:
    """What to record: datasets, trials per dataset, epochs, seed (sampler, split and
    training), torch device and threads."""

    datasets: tuple[str, ...]
    trials: int
    epochs: int
    seed: int = 0
    device: str = "cpu"
    threads: int = 1

    def __post_init__(self) -> None:
        for name in ("trials", "epochs", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}.")
        if not self.datasets:
            raise ValueError("datasets is empty; name at least one from losstune.datasets.")


def record(
    plan: RecordPlan,
    path: Path,
    provenance: Mapping[str, Any] | None = None,
    load: Callable[[str, int], Any] | None = None,
) -> CurveSet:
    """Train ``plan``'s trials and write them to ``path`` after each one; return the set.

    ``load(name, seed)`` returns the dataset (default :func:`losstune.datasets.load`); the
    metric is the registered dataset's (:func:`losstune.datasets.info`) or, for a dataset
    that is not registered, the task's default (:func:`losstune.metrics.default_metric`).
    """
    import torch

    torch.set_num_threads(plan.threads)
    previous = _previous(path, plan)
    datasets: dict[str, DatasetCurves] = {}

    def save(partial: DatasetCurves) -> None:
        current = {**datasets, partial.dataset: partial}
        CurveSet(current, _provenance(plan, provenance)).save(path)

    for name in plan.datasets:
        datasets[name] = _record_dataset(name, plan, load, previous.get(name), save, path)
    save(datasets[plan.datasets[-1]])
    return CurveSet(datasets, _provenance(plan, provenance))


def _record_dataset(name, plan, load, done, save, path) -> DatasetCurves:
    import optuna

    import losstune.datasets
    from losstune.metrics import get_metric
    from losstune.spaces import default_space
    from losstune.spaces.optuna_adapter import suggest

    dataset = load(name, plan.seed) if load else losstune.datasets.load(name, seed=plan.seed)
    metric = _metric_of(name, dataset)
    scorer = get_metric(metric, dataset.task)
    space = default_space(dataset.task, epochs=plan.epochs, models=["mlp"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction=scorer.direction, sampler=optuna.samplers.RandomSampler(seed=plan.seed)
    )
    kept = list(done.trials) if done is not None else []
    trials: list[RecordedTrial] = []
    for number in range(plan.trials):
        trial = study.ask()
        config = suggest(trial, space)
        if number < len(kept):
            if _normal(kept[number].config) != _normal(config):
                raise CurveFileError(
                    f"{path}: trial {number} of {name} was recorded with another configuration "
                    "than the sampler draws now (another space or seed); delete the file or "
                    "record into another one."
                )
            trials.append(kept[number])
        else:
            trials.append(_train_one(config, dataset, metric, plan))
            logger.info(
                "%s trial %d/%d: %s, %s = %.4f, %.3f s/epoch",
                name,
                number + 1,
                plan.trials,
                trials[-1].state,
                metric,
                trials[-1].valid,
                trials[-1].seconds_per_epoch,
            )
        study.tell(trial, state=optuna.trial.TrialState.FAIL)  # the sampler ignores values
        current = DatasetCurves(
            name,
            dataset.task.value,
            metric,
            scorer.greater_is_better,
            plan.epochs,
            tuple(trials),
            {"n_train": len(dataset.y_train), "n_valid": len(dataset.y_valid)},
        )
        if number >= len(kept):
            save(current)
    return current


def _train_one(config: Mapping[str, Any], dataset, metric: str, plan: RecordPlan) -> RecordedTrial:
    """Train ``config`` as a search trial would, recording every epoch's validation value."""
    from losstune.recipe import RecipeError
    from losstune.runners import TrainingDiverged, train
    from losstune.spaces import config_to_recipe

    key = f"valid_{metric}"
    curve: list[float] = []
    last = [time.perf_counter()]

    def report(epoch: int, metrics: Mapping[str, float]) -> None:
        curve.append(float(metrics[key]))
        last[0] = time.perf_counter()

    started = time.perf_counter()
    try:
        recipe = config_to_recipe(config, task=dataset.task, metric=metric, seed=plan.seed)
        result = train(recipe, dataset, reporter=report, device=plan.device)
    except (TrainingDiverged, RecipeError) as err:
        stopped = min(len(curve) + 1, plan.epochs)
        seconds = (time.perf_counter() - started) / stopped
        return RecordedTrial(
            dict(config), tuple(curve), "failed", stopped, math.nan, math.nan, seconds, str(err)
        )
    seconds = (last[0] - started) / plan.epochs
    valid, test = result.valid_score, result.test_score
    if math.isnan(valid):
        error = f"validation {metric} is NaN"
        return RecordedTrial(
            dict(config), tuple(curve), "failed", plan.epochs, valid, test, seconds, error
        )
    return RecordedTrial(dict(config), tuple(curve), "complete", plan.epochs, valid, test, seconds)


def _metric_of(name: str, dataset) -> str:
    import losstune.datasets
    from losstune.metrics import default_metric

    if name in losstune.datasets.names():
        return losstune.datasets.info(name).metric
    return default_metric(dataset.task, dataset.class_counts)[0]


def _previous(path: Path, plan: RecordPlan) -> dict[str, DatasetCurves]:
    """The datasets already recorded in ``path`` with ``plan``'s epochs and seed."""
    from benchmarks.pruning_curves import load_curves

    if not path.exists():
        return {}
    curves = load_curves(path)
    recorded = curves.provenance.get("plan", {})
    if recorded.get("epochs") != plan.epochs or recorded.get("seed") != plan.seed:
        raise CurveFileError(
            f"{path} was recorded with epochs={recorded.get('epochs')}, "
            f"seed={recorded.get('seed')}, not epochs={plan.epochs}, seed={plan.seed}; "
            "delete it or record into another file (--out)."
        )
    return {name: d for name, d in curves.datasets.items() if name in plan.datasets}


def _provenance(plan: RecordPlan, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "plan": {
            "datasets": list(plan.datasets),
            "trials": plan.trials,
            "epochs": plan.epochs,
            "seed": plan.seed,
            "device": plan.device,
            "threads": plan.threads,
        },
        **(extra or {}),
    }


def _normal(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config as JSON gives it back (tuples become lists), to compare a re-drawn one."""
    import json

    return json.loads(json.dumps(dict(config), default=str))


def summarize_record(curves: CurveSet) -> Sequence[str]:
    """One line per dataset: trials, failures, best value, mean seconds per epoch."""
    lines = []
    for d in curves.datasets.values():
        failed = sum(not t.complete for t in d.trials)
        seconds = sum(t.seconds_per_epoch * t.stopped_epoch for t in d.trials)
        lines.append(
            f"{d.dataset}: {len(d.trials)} trials ({failed} failed), best {d.metric} "
            f"{d.best_value:.4f}, {seconds:.0f} s of training"
        )
    return lines
