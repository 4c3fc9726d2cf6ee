"""``search()``: dataset in, tuned recipe out, every trial in Optuna and MLflow.

The embedded default needs nothing running: one run folder (``./losstune-runs``) holds the
Optuna study (SQLite) and the MLflow store (SQLite + artifacts). Running the same search
again (same study name) resumes it: finished trials are kept and the trial that was running
when the process died is retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch

from losstune.data import Dataset
from losstune.metrics import default_metric, get_metric
from losstune.recipe import Provenance, Recipe, RecipeError
from losstune.runners.torch_runner import TrainingDiverged
from losstune.search.batched import optimize_batched, resolve_batch_trials
from losstune.search.budget import make_budget
from losstune.search.evaluation import evaluation_seeds
from losstune.search.final import select_final
from losstune.search.leaderboard import leaderboard
from losstune.search.lock import study_lock
from losstune.search.objective import EpochCallback, TrialContext
from losstune.search.progress import SearchProgress
from losstune.search.result import Result
from losstune.search.samplers import make_pruner, make_sampler
from losstune.search.storage import counted_trials, shared_storage, storage_url
from losstune.search.worker import register_search
from losstune.spaces import (
    Fixed,
    SearchSpace,
    config_to_recipe,
    default_space,
    recipe_in_space,
    recipe_to_config,
)

logger = logging.getLogger("losstune")

DEFAULT_RUN_DIR = Path("losstune-runs")
STRATEGIES = ("direct", "transfer")
BACKENDS = ("optuna", "ray")


def search(
    dataset: Dataset,
    space: SearchSpace | None = None,
    metric: str | None = None,
    budget: int | str | None = None,
    n_trials: int | None = None,
    timeout: float | str | None = None,
    sampler: str | optuna.samplers.BaseSampler = "tpe",
    pruner: str | optuna.pruners.BasePruner | None = "auto",
    storage: str | optuna.storages.BaseStorage | None = None,
    study_name: str | None = None,
    seed: int = 0,
    tracking_uri: str | None = None,
    *,
    run_dir: str | Path | None = None,
    epochs: int = 30,
    top_k: int = 3,
    n_seeds: int = 3,
    device: str = "auto",
    show_progress: bool = False,
    on_epoch: EpochCallback | None = None,
    strategy: str = "direct",
    batch_trials: int | str = 1,
    data_source: Mapping[str, Any] | None = None,
    backend: str = "optuna",
    ray_address: str | None = None,
    cpus_per_trial: float | None = None,
    gpus_per_trial: float | None = None,
    max_concurrent_trials: int | None = None,
) -> Result:
    """Search recipes for ``dataset``; return the best with evidence.

    Args:
        dataset: from :func:`losstune.load_dataset`.
        space: what to search (default: :func:`losstune.spaces.default_space` of the task,
            with ``epochs`` fixed).
        metric: the validation metric to optimise (default: by task, see
            :func:`losstune.metrics.default_metric`).
        budget: a trial count (``40``) or a duration (``"10m"``). ``n_trials`` counts the
            study's finished trials, so a resumed search only runs what is left.
        sampler, pruner: names (``"tpe"``/``"random"``; ``"median"``/``"curve"``/``"none"``)
            or Optuna instances. ``pruner="auto"`` is ``"median"``, and ``"asha"`` on
            ``backend="ray"`` (whose pruners are Ray Tune schedulers).
        storage: an Optuna storage URL (default: SQLite in the run folder). On a database
            server (``postgresql://...``, or a storage from
            :func:`losstune.search.storage.open_storage`) other processes can run trials of
            the search: ``losstune worker`` (:mod:`losstune.search.worker`).
        study_name: resume this study if it exists (default: derived from the data, metric,
            space and seed, so re-running the same search resumes it).
        seed: seeds the sampler and every trial's training.
        tracking_uri: an MLflow tracking URI (default: SQLite in the run folder).
        run_dir: the local run folder (default ``./losstune-runs``).
        top_k, n_seeds: the final selection re-trains the ``top_k`` best configurations on
            ``n_seeds`` fresh seeds, picks by mean validation score and reports test scores.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        show_progress: show a live progress bar (the CLI does).
        on_epoch: called as ``on_epoch(trial_number, epoch, metrics)`` after every epoch.
        strategy: ``"direct"`` searches at full size; ``"transfer"`` searches narrow μP
            MLPs on data subsets, fits a step law and confirms its prediction at full size
            (:mod:`losstune.search.transfer`; ``n_trials`` is split between the stages).
        batch_trials: train this many trials at once as one batched program
            (:mod:`losstune.search.batched`): stacked weights, per-trial hyperparameters as
            tensors; ``"auto"`` sizes it from free GPU memory. 1 trains one at a time.
        data_source: how workers reload the data, when it came from a file
            (:func:`losstune.search.worker.file_source`; the CLI passes it).
        backend: ``"optuna"`` runs trials in this process; ``"ray"`` runs them on Ray Tune,
            locally or on the cluster at ``ray_address``, each reserving ``cpus_per_trial``
            CPUs and ``gpus_per_trial`` GPUs (a fraction shares a GPU), at most
            ``max_concurrent_trials`` at once (:mod:`losstune.search.ray_backend`).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}.")
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    ray_options = {
        name: value
        for name, value in [
            ("ray_address", ray_address),
            ("cpus_per_trial", cpus_per_trial),
            ("gpus_per_trial", gpus_per_trial),
            ("max_concurrent_trials", max_concurrent_trials),
        ]
        if value is not None
    }
    if backend == "ray":
        optuna_only = [
            name
            for name, used in [
                ("strategy='transfer'", strategy == "transfer"),
                (f"batch_trials={batch_trials!r}", batch_trials != 1),
                ("storage", storage is not None),
            ]
            if used
        ]
        if optuna_only:
            raise ValueError(
                f"backend='ray' runs one trial per Ray worker, in its own Tune experiment; "
                f"{', '.join(optuna_only)} only work with backend='optuna'."
            )
        from losstune.search.ray_backend import search_ray

        return search_ray(
            dataset, space, metric, budget, n_trials, timeout, sampler, pruner, study_name,
            seed, tracking_uri, run_dir=run_dir, epochs=epochs, top_k=top_k, n_seeds=n_seeds,
            device=device, show_progress=show_progress, on_epoch=on_epoch, **ray_options,
        )  # fmt: skip
    if ray_options:
        raise ValueError(
            f"{', '.join(ray_options)} only apply to backend='ray'; pass backend='ray' or "
            "leave them out."
        )
    if pruner == "auto":
        pruner = "median"
    if strategy == "transfer":
        if batch_trials != 1:
            raise ValueError(
                f"strategy='transfer' trains one trial at a time; got batch_trials="
                f"{batch_trials!r}. Use batch_trials=1 with it, or strategy='direct'."
            )
        from losstune.search.transfer import search_transfer

        return search_transfer(
            dataset, space, metric, budget, n_trials, timeout, sampler, pruner, storage,
            study_name, seed, tracking_uri, run_dir=run_dir, epochs=epochs, top_k=top_k,
            n_seeds=n_seeds, device=device, show_progress=show_progress, on_epoch=on_epoch,
        )  # fmt: skip
    from losstune.mlflow import SearchTracker, artifact_uri, local_tracking_uri

    metric = metric or _announce_default_metric(dataset)
    scorer = get_metric(metric, dataset.task)
    space = space or default_space(dataset.task, epochs=epochs)
    plan = make_budget(budget, n_trials, timeout)
    batch_trials = resolve_batch_trials(batch_trials, dataset, space, device)
    if top_k < 1 or n_seeds < 1:
        raise ValueError(f"top_k and n_seeds must be >= 1; got top_k={top_k}, n_seeds={n_seeds}.")
    run_path = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    run_path.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{run_path / 'optuna.db'}"
    study_name = study_name or _default_study_name(dataset, metric, space, seed)
    fixed_epochs = space.paths().get("epochs")
    if isinstance(fixed_epochs, Fixed):
        epochs = int(fixed_epochs.value)
    default = Recipe.default(dataset.task, metric).replace(epochs=epochs, seed=seed)

    optuna_storage, shared = shared_storage(storage)
    local = not shared
    with (
        study_lock(run_path, study_name) if local else contextlib.nullcontext(),
        _quiet_optuna(show_progress),
    ):
        study = optuna.create_study(
            study_name=study_name,
            storage=optuna_storage,
            sampler=make_sampler(sampler, seed),
            pruner=make_pruner(pruner),
            direction=scorer.direction,
            load_if_exists=True,
        )
        _check_same_search(study, dataset, metric)
        remote = (tracking_uri or "").startswith(("http://", "https://", "databricks"))
        tracker = SearchTracker(
            tracking_uri or local_tracking_uri(run_path),
            artifact_location=None if remote else artifact_uri(run_path),
        )
        parent = study.user_attrs.get("mlflow_parent_run_id")
        if parent is None:
            parent = tracker.start_search(
                run_name=study_name,
                params={
                    "metric": metric,
                    "sampler": _name(sampler),
                    "pruner": _name(pruner),
                    "seed": seed,
                    "n_trials": plan.n_trials,
                    "timeout_s": plan.timeout,
                    "top_k": top_k,
                    "n_seeds": n_seeds,
                    "task": dataset.task.value,
                    "batch_trials": batch_trials,
                },
                tags={"dataset_fingerprint": dataset.fingerprint, "optuna.study_name": study_name},
            )
            _start_study(study, dataset, metric, parent, default, space)
        else:
            tracker.resume_search(parent)
            if local:  # the lock makes every RUNNING trial an abandoned one
                tracker.kill_stale_trials()
                _retry_interrupted(study)
        worker = register_search(
            study, tracker, space=space, metric=metric, seed=seed, epochs=epochs,
            sampler=sampler, pruner=pruner, budget=plan, data_source=data_source,
            storage=optuna_storage, shared=shared,
        )  # fmt: skip

        context = TrialContext(dataset, space, metric, seed, device, tracker, on_epoch)
        remaining = None if plan.n_trials is None else plan.n_trials - _counted(study)
        progress = SearchProgress(plan.n_trials, _counted(study), metric) if show_progress else None
        try:
            with progress or contextlib.nullcontext():
                if batch_trials > 1 and (remaining is None or remaining > 0):
                    optimize_batched(
                        study,
                        context,
                        batch_trials,
                        n_trials=remaining,
                        timeout=plan.timeout,
                        callbacks=[progress] if progress else (),
                        trial_attrs=worker.trial_attrs,
                        stop=worker.budget_reached,
                        heartbeat=optuna_storage if shared else None,
                    )
                elif remaining is None or remaining > 0:
                    study.optimize(
                        worker.objective(context),
                        n_trials=remaining,
                        timeout=plan.timeout,
                        catch=(TrainingDiverged, RecipeError),
                        callbacks=[*([progress] if progress else []), *worker.callbacks],
                    )
                result = _finish(study, context, default, scorer, top_k, n_seeds, progress)
        except BaseException as err:
            # KILLED: interrupted, resumable by running the search again; FAILED: a bug
            tracker.finish_search("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
            raise
        result.storage, result.run_dir = storage_url(storage), run_path
        return result


def _finish(study, context: TrialContext, default: Recipe, scorer, top_k, n_seeds, progress):
    """Final multi-seed selection, the search's artifacts in MLflow, and the Result."""
    tracker, dataset, metric = context.tracker, context.dataset, context.metric
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    board = leaderboard(list(trials.values()), scorer.greater_is_better)
    candidates = [
        config_to_recipe(config, task=dataset.task, metric=metric, seed=context.seed)
        for config in _top_configs(board, trials, top_k)
    ]
    if not candidates:
        raise RuntimeError(
            f"No trial of study {study.study_name!r} completed; see the failures in its "
            "leaderboard (MLflow parent run) and widen the space or lower the learning rates."
        )
    if progress is not None:
        progress.start_phase(
            f"re-training top {len(candidates)} + default on {n_seeds} seeds",
            (len(candidates) + 1) * n_seeds,
        )
    selection = select_final(
        candidates,
        default,
        dataset,
        evaluation_seeds(context.seed, n_seeds),
        scorer,
        device=context.device,
        on_done=progress.advance if progress is not None else None,
    )
    score, default_score = selection.best.test_score(), selection.default.test_score()
    recipe = selection.best.recipe.replace(
        provenance=Provenance(
            dataset_fingerprint=dataset.fingerprint,
            search_id=study.study_name,
            mlflow_run_id=tracker.parent_run_id,
            score=score,
            default_score=default_score,
        )
    )
    importances = _importances(study, context.seed)
    tracker.log_pruning_summary(**_pruning_summary(board, default.epochs))
    model = selection.best.first.model
    model_uri = _log_outcome(
        tracker,
        recipe,
        board,
        selection,
        importances,
        trials,
        scorer,
        torch.as_tensor(dataset.X_valid[:8]),
    )
    return Result(
        recipe=recipe,
        score=score,
        default_score=default_score,
        margin=selection.margin,
        importances=importances,
        final=selection.frame(),
        study_name=study.study_name,
        storage="",
        tracking_uri=tracker.tracking_uri,
        mlflow_run_id=tracker.parent_run_id,
        model=model,
        model_uri=model_uri,
        _leaderboard=board,
    )


def _log_outcome(tracker, recipe, board, selection, importances, trials, scorer, example) -> str:
    """Recipe, leaderboard, final evaluation, plots and the best model on the parent run."""
    from losstune.mlflow import plots

    metric = recipe.metric
    score, default_score = recipe.provenance.score, recipe.provenance.default_score
    with tempfile.TemporaryDirectory() as tmp:
        tracker.log_artifact(recipe.save(Path(tmp) / "recipe.yaml"))
    tracker.log_dataframe(board, "leaderboard.csv")
    tracker.log_dataframe(selection.frame(), "final_evaluation.csv")
    tracker.log_metrics(
        {
            f"test_{metric}_mean": score.mean,
            f"test_{metric}_low": score.low,
            f"test_{metric}_high": score.high,
            f"default_test_{metric}_mean": default_score.mean,
            "margin": selection.margin,
            **{f"importance.{k}": v for k, v in importances.items()},
        }
    )
    # a shared study may hold trials other processes still run, or retries left waiting
    by_number = board[board["state"].isin(["complete", "pruned", "failed"])].sort_values("trial")
    values = [None if v != v else float(v) for v in by_number["value"]]
    tracker.log_figure(
        plots.optimization_history(values, list(by_number["state"]), scorer.direction, metric),
        "plots/history.png",
    )
    tracker.log_figure(plots.param_importances(importances), "plots/importances.png")
    curves, default_label = {}, None
    shown = board[board["state"] != "failed"].head(5)
    shown = pd.concat([shown, board[board["default"] & ~board["trial"].isin(shown["trial"])]])
    for _, row in shown.iterrows():
        trial = trials[int(row["trial"])]
        label = f"trial {trial.number}"
        if row["default"]:
            label = default_label = f"{label} (default)"
        curves[label] = [trial.intermediate_values[k] for k in sorted(trial.intermediate_values)]
    tracker.log_figure(
        plots.learning_curves(curves, f"valid_{metric}", default=default_label),
        "plots/learning_curves.png",
    )
    model_uri = tracker.log_model(selection.best.first.model.module, input_example=example)
    tracker.set_tags({"best_model_uri": model_uri})
    tracker.finish_search("FINISHED")
    return model_uri


def _announce_default_metric(dataset: Dataset) -> str:
    name, reason = default_metric(dataset.task, dataset.class_counts)
    logger.warning("metric: %s (%s)", name, reason)
    return name


def _default_study_name(dataset: Dataset, metric: str, space: SearchSpace, seed: int) -> str:
    spec = json.dumps(
        {"space": space.to_dict(), "metric": metric, "seed": seed}, sort_keys=True, default=str
    )
    digest = hashlib.blake2b(spec.encode(), digest_size=4).hexdigest()
    return f"losstune-{dataset.fingerprint[:10]}-{metric}-{digest}"


def _start_study(study, dataset, metric, parent, default, space) -> None:
    study.set_user_attr("mlflow_parent_run_id", parent)
    study.set_user_attr("dataset_fingerprint", dataset.fingerprint)
    study.set_user_attr("metric", metric)
    study.set_user_attr("interrupted_trials", [])
    if recipe_in_space(default, space):
        study.enqueue_trial(recipe_to_config(default, space), user_attrs={"default_recipe": True})
    else:
        warnings.warn(
            "The default recipe lies outside the search space, so it is not a trial; it is "
            "still re-trained at the end to measure the margin.",
            stacklevel=3,
        )


def _check_same_search(study, dataset: Dataset, metric: str) -> None:
    attrs = study.user_attrs
    if attrs.get("dataset_fingerprint") not in (None, dataset.fingerprint):
        raise ValueError(
            f"Study {study.study_name!r} was run on another dataset (fingerprint "
            f"{attrs['dataset_fingerprint'][:12]}, this one {dataset.fingerprint[:12]}); "
            "pass another study_name."
        )
    if attrs.get("metric") not in (None, metric):
        raise ValueError(
            f"Study {study.study_name!r} optimises {attrs['metric']!r}, not {metric!r}; "
            "pass another study_name."
        )


def _retry_interrupted(study) -> None:
    """Trials left RUNNING by a killed process are failed and enqueued again (once)."""
    interrupted = list(study.user_attrs.get("interrupted_trials", []))
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        interrupted.append(trial.number)
        attrs = {"retry_of": trial.number}
        if trial.user_attrs.get("default_recipe"):
            attrs["default_recipe"] = True
        study.enqueue_trial(trial.params, user_attrs=attrs)
        logger.warning("trial %d was interrupted; it is retried", trial.number)
    study.set_user_attr("interrupted_trials", interrupted)


def _counted(study) -> int:
    """Finished trials that count against the budget (interrupted ones do not)."""
    return counted_trials(study)


def _pruning_summary(board: pd.DataFrame, epochs: int) -> dict[str, int]:
    """Epochs the finished trials ran, and would have run unpruned: a pruned trial would have
    run all its epochs; a complete or failed one costs the same either way."""
    finished = board[board["state"].isin(["complete", "pruned", "failed"])]
    pruned = finished["state"] == "pruned"
    full = finished["epochs"].fillna(epochs) if "epochs" in finished else epochs
    without = finished["epochs_run"].where(~pruned, full)
    return {
        "epochs_spent": int(finished["epochs_run"].sum()),
        "epochs_without_pruning": int(without.sum()),
        "n_trials": len(finished),
        "n_pruned": int(pruned.sum()),
    }


def _top_configs(board, trials: Mapping[int, Any], top_k: int) -> list[dict[str, Any]]:
    """The configurations of the ``top_k`` best distinct complete trials."""
    configs, seen = [], set()
    for number in board.loc[board["state"] == "complete", "trial"]:
        trial = trials[int(number)]
        config = dict(trial.user_attrs.get("config") or trial.params)
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            configs.append(config)
        if len(configs) == top_k:
            break
    return configs


def _importances(study, seed: int) -> dict[str, float]:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        return {
            k: float(v)
            for k, v in optuna.importance.get_param_importances(study, evaluator=evaluator).items()
        }
    except (RuntimeError, ValueError) as err:
        logger.warning("parameter importances unavailable: %s", err)
        return {}


def _name(thing: Any) -> str:
    return thing if isinstance(thing, str) else type(thing).__name__


@contextlib.contextmanager
def _quiet_optuna(quiet: bool):
    """Optuna's per-trial log lines would tear the progress bar; hush them meanwhile."""
    if not quiet:
        yield
        return
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)
