"""The shared driver of the contenders that run :func:`losstune.search`.

All go through the same search, pruner, final multi-seed selection and re-training; only
the space (or the model families, ``models=``, of the default space) and the warm start
differ. Their scores are those of the selected candidate in ``result.final``, averaged over
the final re-training seeds (what losstune reports to its user). Every trial is returned too
(:class:`~benchmarks.contenders.base.TrialRecord`, in the order they ran), so the benchmark
can draw the search's anytime curve.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

import optuna

from benchmarks.contenders.base import Budget, ContenderResult, TrialRecord
from losstune.data import Dataset
from losstune.spaces import SearchSpace


def run_search(
    dataset: Dataset,
    space: SearchSpace | None,
    *,
    metric: str,
    budget: Budget,
    seed: int,
    workdir: Path,
    models: Sequence[str] | None = None,
    warm_start: bool = False,
) -> ContenderResult:
    """``losstune.search`` over ``space`` (None: the default space of ``models``, every
    family when None) with ``budget.n_trials`` trials and the median pruner, warm-started
    from ``budget.portfolio`` (None: the shipped portfolio) when ``warm_start``; wall-clock
    covers the whole call (trials, final re-training, MLflow logging)."""
    from losstune.search import search

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    start = time.perf_counter()
    result = search(
        dataset,
        space=space,
        metric=metric,
        n_trials=budget.n_trials,
        sampler="tpe",
        pruner="median",
        seed=seed,
        run_dir=workdir,
        epochs=budget.epochs,
        top_k=budget.top_k,
        n_seeds=budget.final_seeds,
        device=budget.device,
        models=None if models is None else list(models),
        warm_start=warm_start,
        portfolio=budget.portfolio if warm_start else None,
    )
    seconds = time.perf_counter() - start
    selected = result.final[result.final["selected"]]
    recipe = result.recipe
    note = (
        f"model={recipe.model.name} loss={recipe.loss.name} weighting={recipe.weighting.name} "
        f"T={recipe.temperature:.3g}"
    )
    if recipe.torch is not None:
        note += f" optimizer={recipe.torch.optimizer.name} batch={recipe.torch.batch_size}"
    trials = trial_records(optuna.load_study(study_name=result.study_name, storage=result.storage))
    return ContenderResult(
        valid_score=float(selected[f"valid_{metric}"].mean()),
        test_score=float(selected[f"test_{metric}"].mean()),
        seconds=seconds,
        n_trials=len(result.leaderboard()),
        note=note,
        trials=trials,
    )


def trial_records(study: optuna.Study) -> tuple[TrialRecord, ...]:
    """The finished trials of ``study`` in the order they ran (by number): state, validation
    value (complete trials only), origin and configuration."""
    from losstune.search.leaderboard import trial_state
    from losstune.search.lifecycle import CONFIG, trial_origin

    records = []
    for trial in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        state = trial_state(trial)
        if state not in ("complete", "pruned", "failed"):
            continue
        config = dict(trial.user_attrs.get(CONFIG) or trial.params)
        value = trial.value if state == "complete" else None
        records.append(
            TrialRecord(
                number=trial.number,
                state=state,
                value=math.nan if value is None else float(value),
                origin=trial_origin(trial.user_attrs),
                config=json.dumps(config, sort_keys=True, default=str),
            )
        )
    return tuple(records)
