"""The end of every search, whatever its strategy and executor: the final multi-seed
selection over the best trials, the search's artifacts on the MLflow parent run, and the
:class:`~losstune.search.result.Result`."""

from __future__ import annotations

import json
import logging
import math
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from losstune.recipe import Provenance
from losstune.search.evaluation import evaluation_seeds
from losstune.search.final import FinalSelection, StudyScores, select_final
from losstune.search.leaderboard import leaderboard, trial_state
from losstune.search.lifecycle import CONFIG, DEFAULT_RECIPE, FAIL_REASON
from losstune.search.result import Result
from losstune.search.session import SearchSession, StageRun
from losstune.spaces import config_to_recipe

logger = logging.getLogger("losstune")

FINISHED_STATES = ("complete", "pruned", "failed")


def finish(session: SearchSession, ran: StageRun, device: str | None = None) -> Result:
    """Re-train the ``top_k`` best distinct configurations of ``ran.study`` and the default
    recipe on ``n_seeds`` fresh seeds (on ``device``, default the search's), pick the best by
    mean validation score, log everything to the parent run and finish it."""
    config, dataset, study = session.config, session.dataset, ran.study
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    board = leaderboard(list(trials.values()), session.scorer.greater_is_better)
    candidates = [
        config_to_recipe(c, task=dataset.task, metric=session.metric, seed=config.seed)
        for c in top_configs(board, trials, config.top_k)
    ]
    if not candidates:
        raise RuntimeError(
            f"No trial of study {study.study_name!r} completed; see the failures in its "
            "leaderboard (MLflow parent run) and widen the space or lower the learning rates."
        )
    progress = session.progress
    if progress is not None:
        progress.start_phase(
            f"re-training top {len(candidates)} + default on {config.n_seeds} seeds",
            (len(candidates) + 1) * config.n_seeds,
        )
    device = device or config.device
    selection = select_final(
        candidates,
        session.default,
        dataset,
        evaluation_seeds(config.seed, config.n_seeds),
        session.scorer,
        device=device,
        on_done=progress.advance if progress is not None else None,
        cache=StudyScores(session.anchor or study, dataset, device),
    )
    importances = importances_of(study, config.seed)
    return _result(session, ran, board, selection, importances)


def _result(
    session: SearchSession,
    ran: StageRun,
    board: pd.DataFrame,
    selection: FinalSelection,
    importances: dict[str, float],
) -> Result:
    tracker = session.tracker
    if tracker is None:
        raise RuntimeError("The session is not open: finish() runs inside session.open().")
    score, default_score = selection.best.test_score(), selection.default.test_score()
    failure = default_failure(ran.study.get_trials(deepcopy=False), default_score.mean)
    if failure is not None:
        logger.warning("THE DEFAULT RECIPE FAILED: %s", failure)
    recipe = selection.best.recipe.replace(
        provenance=Provenance(
            dataset_fingerprint=session.dataset.fingerprint,
            search_id=ran.study.study_name,
            mlflow_run_id=tracker.parent_run_id,
            score=score,
            default_score=default_score,
            data=session.diagnosis,
        )
    )
    tracker.log_pruning_summary(**pruning_summary(board, session.default.max_epochs))
    result = Result(
        recipe=recipe,
        score=score,
        default_score=default_score,
        margin=math.nan if math.isnan(default_score.mean) else selection.margin,
        importances=importances,
        final=selection.frame(),
        study_name=ran.study.study_name,
        storage=ran.storage,
        tracking_uri=tracker.tracking_uri,
        mlflow_run_id=tracker.parent_run_id or "",
        run_dir=session.run.run_dir,
        model=selection.model.model,
        default_failure=failure,
        _leaderboard=board,
    )
    result.model_uri = log_outcome(session, result, selection, ran.study)
    return result


def default_failure(trials: Iterable[Any], default_test_mean: float) -> str | None:
    """Why the default recipe failed, or None: its final re-training scored NaN (no margin
    can be measured), or its last trial failed (the search compared against a broken
    baseline). An interrupted default trial is retried, not failed."""
    if math.isnan(default_test_mean):
        return "its re-training on the evaluation seeds failed, so no margin is reported"
    defaults = [
        t for t in trials if t.user_attrs.get(DEFAULT_RECIPE) and trial_state(t) != "interrupted"
    ]
    last = max(defaults, key=lambda t: t.number, default=None)
    if last is not None and trial_state(last) == "failed":
        reason = last.user_attrs.get(FAIL_REASON, "see its trial in the leaderboard")
        return f"its trial {last.number} failed ({reason})"
    return None


def log_outcome(
    session: SearchSession, result: Result, selection: FinalSelection, study: optuna.Study
) -> str:
    """Recipe, leaderboard, final evaluation, plots and the best model on the parent run,
    which is then finished; the model's URI."""
    from losstune.mlflow import plots

    tracker, metric, board = session.tracker, session.metric, result.leaderboard()
    if tracker is None:
        raise RuntimeError("The session is not open: log_outcome() runs inside session.open().")
    log_recipe(tracker, result)
    log_recipe_params(tracker, result)
    tracker.log_dataframe(board, "leaderboard.csv")
    tracker.log_dataframe(selection.frame(), "final_evaluation.csv")
    tracker.log_metrics(
        {
            f"test_{metric}_mean": result.score.mean,
            f"test_{metric}_low": result.score.low,
            f"test_{metric}_high": result.score.high,
            f"default_test_{metric}_mean": result.default_score.mean,
            "margin": result.margin,
            **{f"importance.{k}": v for k, v in result.importances.items()},
        }
    )
    # a shared study may hold trials other processes still run, or retries left waiting
    by_number = board[board["state"].isin(FINISHED_STATES)].sort_values("trial")
    values = [None if v != v else float(v) for v in by_number["value"]]
    direction = session.scorer.direction
    tracker.log_figure(
        plots.optimization_history(values, list(by_number["state"]), direction, metric),
        "plots/history.png",
    )
    tracker.log_figure(plots.param_importances(result.importances), "plots/importances.png")
    curves, default_label = learning_curves(board, study)
    tracker.log_figure(
        plots.learning_curves(curves, f"valid_{metric}", default=default_label),
        "plots/learning_curves.png",
    )
    model_uri = selection.model.model.log_to(tracker, session.dataset.raw_example)
    tracker.set_tags({"best_model_uri": model_uri})
    tracker.finish_search("FINISHED")
    return model_uri


def log_recipe(tracker: Any, result: Result) -> None:
    """``result.recipe`` as ``recipe.yaml`` on the parent run (replacing an earlier one)."""
    with tempfile.TemporaryDirectory() as tmp:
        tracker.log_artifact(result.recipe.save(Path(tmp) / "recipe.yaml"))


def log_recipe_params(tracker: Any, result: Result) -> None:
    """The selected recipe's values as the parent run's ``recipe.*`` params; a resumed
    search that selects another recipe keeps the first one's (MLflow never changes a
    param) and says so: ``recipe.yaml`` holds the new one."""
    from losstune.mlflow.naming import recipe_params

    kept = tracker.log_new_params(recipe_params(result.recipe))
    if kept:
        logger.warning(
            "the search's MLflow run keeps the earlier recipe's %s (MLflow params cannot "
            "change); its recipe.yaml artifact is the recipe selected now",
            ", ".join(kept),
        )


def learning_curves(
    board: pd.DataFrame, study: optuna.Study, shown: int = 5
) -> tuple[dict[str, list[float]], str | None]:
    """The validation curves of the ``shown`` best unfailed trials and the default's."""
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    rows = board[board["state"] != "failed"].head(shown)
    rows = pd.concat([rows, board[board["default"] & ~board["trial"].isin(rows["trial"])]])
    curves, default_label = {}, None
    for _, row in rows.iterrows():
        trial = trials[int(row["trial"])]
        label = f"trial {trial.number}"
        if row["default"]:
            label = default_label = f"{label} (default)"
        curves[label] = [trial.intermediate_values[k] for k in sorted(trial.intermediate_values)]
    return curves, default_label


def pruning_summary(board: pd.DataFrame, epochs: int) -> dict[str, int]:
    """Epochs the finished trials ran, and would have run unpruned: a pruned trial would have
    run all its epochs (its recipe's ``max_epochs``: a booster's most reports; ``epochs``
    where a trial does not say); a complete or failed one costs the same either way."""
    finished = board[board["state"].isin(FINISHED_STATES)]
    pruned = finished["state"] == "pruned"
    full = pd.Series(epochs, index=finished.index, dtype=float)
    for column in ("epochs", "max_epochs"):  # the recipe's own count wins
        if column in finished:
            full = finished[column].astype(float).fillna(full)
    without = finished["epochs_run"].where(~pruned, full)
    return {
        "epochs_spent": int(finished["epochs_run"].sum()),
        "epochs_without_pruning": int(without.sum()),
        "n_trials": len(finished),
        "n_pruned": int(pruned.sum()),
    }


def top_configs(board: pd.DataFrame, trials: Mapping[int, Any], top_k: int) -> list[dict[str, Any]]:
    """The configurations of the ``top_k`` best distinct complete trials."""
    configs, seen = [], set()
    for number in board.loc[board["state"] == "complete", "trial"]:
        trial = trials[int(number)]
        config = dict(trial.user_attrs.get(CONFIG) or trial.params)
        key = json.dumps(config, sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            configs.append(config)
        if len(configs) == top_k:
            break
    return configs


def importances_of(study: optuna.Study, seed: int) -> dict[str, float]:
    """fANOVA parameter importances over the complete trials ({} with fewer than two)."""
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
