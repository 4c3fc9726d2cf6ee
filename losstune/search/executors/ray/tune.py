"""Run one stage of a search as a Ray Tune experiment, resumable, and hand its study back."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import ray
from mlflow.tracking import MlflowClient
from ray import tune

from losstune.mlflow import TrialRun, artifact_uri
from losstune.search.executors.base import most_reports
from losstune.search.executors.ray.schedulers import SchedulerSettings, make_scheduler
from losstune.search.executors.ray.searcher import TRIAL_KEY, StudySearch
from losstune.search.executors.ray.trials import (
    DRIVER_HOOKS,
    DRIVER_TRACKING,
    TrialJob,
    TrialRuns,
    run_trial,
)
from losstune.search.lifecycle import OnEpoch, TrialEnd
from losstune.search.samplers import make_sampler
from losstune.search.session import SearchSession, Stage, StageRun

if TYPE_CHECKING:
    from losstune.search.executors.ray import RayExecutor

logger = logging.getLogger("losstune")

BUDGET_ATTR = "ray_budget"  # the anchor study's record of a Ray stage's budget, by stage


def run_stage(executor: RayExecutor, session: SearchSession, stage: Stage) -> StageRun:
    """Run (or resume) ``stage`` on Ray Tune; its searcher's study, exported to SQLite in
    ``<run_dir>/ray``. Raises KeyboardInterrupt when Tune stopped before the budget."""
    name = f"{session.study_name}-{stage.name}" if stage.name else session.study_name
    experiment = session.run.run_dir / "ray" / name
    experiment.mkdir(parents=True, exist_ok=True)
    _check_budget(session, stage, experiment)
    if session.tracker is not None:
        key = f"ray.experiment_path.{stage.name}" if stage.name else "ray.experiment_path"
        session.tracker.set_tags({key: str(experiment)})
    config = executor.config
    with _ray_session(config.address):
        if session.run.tracking_on_this_machine:
            _check_single_node(session)
        if executor.max_concurrent_trials is None:
            executor.max_concurrent_trials = _trials_that_fit(
                config.cpus_per_trial, config.gpus_per_trial
            )
        with _driver_hooks(experiment, session):
            seconds = _fit(executor, session, stage, experiment)
        study = StudySearch.from_experiment(experiment).study
        _check_finished(study, stage, seconds, experiment, session)
        return StageRun(study, _export_study(study, experiment.parent))


def _fit(executor: RayExecutor, session: SearchSession, stage: Stage, experiment: Path) -> float:
    """Run (or resume) the Tune experiment in ``experiment``; the seconds it ran.

    Tune ends the run early, with its state saved, on SIGINT (Ctrl-C) or SIGUSR1."""
    config, tracker = executor.config, session.tracker
    if tracker is None or tracker.parent_run_id is None:
        raise RuntimeError("The session is not open.")
    job = TrialJob(
        dataset=stage.dataset,
        metric=session.metric,
        seed=session.config.seed,
        device=session.config.device,
        tracking_uri=tracker.tracking_uri,
        artifact_location=None
        if session.run.tracking_server
        else artifact_uri(session.run.run_dir),
        parent_run_id=tracker.parent_run_id,
        stage=stage.name,
        trial_offset=stage.trial_offset,
    )
    resources = {"cpu": config.cpus_per_trial, "gpu": config.gpus_per_trial}
    trainable = tune.with_resources(tune.with_parameters(run_trial, job=job), resources)
    started = time.monotonic()
    if tune.Tuner.can_restore(experiment):
        logger.warning("resuming the Ray Tune experiment in %s", experiment)
        tune.Tuner.restore(str(experiment), trainable=trainable).fit()
        return time.monotonic() - started
    key, searcher = f"valid_{session.metric}", _new_searcher(session, stage, experiment.name)
    settings = SchedulerSettings(
        most_reports(stage.space, session.epochs), config.grace_period, session.config.seed
    )
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            metric=key,
            mode=searcher.mode,
            search_alg=searcher,
            scheduler=make_scheduler(session.pruner, settings),
            num_samples=stage.n_trials if stage.n_trials is not None else -1,
            time_budget_s=stage.timeout,
            max_concurrent_trials=executor.max_concurrent_trials,
            reuse_actors=True,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=experiment.name,
            storage_path=str(experiment.parent),
            failure_config=tune.FailureConfig(max_failures=config.max_failures),
            callbacks=[TrialRuns(job.tracking_uri, key, str(experiment))],
            verbose=0 if session.progress is not None else 1,
        ),
    )
    tuner.fit()
    return time.monotonic() - started


def _new_searcher(session: SearchSession, stage: Stage, study_name: str) -> StudySearch:
    """A fresh searcher whose first trials are the stage's enqueued ones."""
    searcher = StudySearch(
        stage.space,
        make_sampler(session.config.sampler, session.config.seed + stage.seed_offset),
        metric=f"valid_{session.metric}",
        mode="max" if session.scorer.direction == "maximize" else "min",
        study_name=study_name,
        enqueue=tuple(stage.queue()),
    )
    session.mark(searcher.study, retries=False)
    return searcher


def _check_budget(session: SearchSession, stage: Stage, experiment: Path) -> None:
    """A Tune experiment resumes with its own budget: refuse another one."""
    anchor = session.anchor
    if anchor is None:
        raise RuntimeError("The session is not open.")
    budgets = dict(anchor.user_attrs.get(BUDGET_ATTR, {}))
    asked = [stage.n_trials, stage.timeout]
    if tune.Tuner.can_restore(experiment) and budgets.get(stage.name, asked) != asked:
        n_trials, timeout = budgets[stage.name]
        raise ValueError(
            f"Ray search {experiment.name!r} was started with n_trials={n_trials}, "
            f"timeout={timeout}; a Tune experiment resumes with its own budget, so pass the "
            "same budget to resume it, or another study_name."
        )
    anchor.set_user_attr(BUDGET_ATTR, {**budgets, stage.name: asked})


def _check_finished(
    study: optuna.Study, stage: Stage, seconds: float, experiment: Path, session: SearchSession
) -> None:
    """After Tune returns: interrupted (resumable) unless the budget was spent; trials the
    time budget cut short are ended pruned or failed."""
    tracker = session.tracker
    if tracker is None:
        raise RuntimeError("The session is not open.")
    cut = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    out_of_time = stage.timeout is not None and seconds >= stage.timeout
    if not out_of_time and (cut or len(study.trials) < (stage.n_trials or 0)):
        tracker.kill_stale_trials()  # Tune stopped the trials in flight
        raise KeyboardInterrupt(
            f"The Ray Tune search {experiment.name!r} was interrupted; run the same search "
            f"again to resume it from {experiment}."
        )
    _end_cut_trials(study, cut, tracker.client)
    tracker.kill_stale_trials()  # attempts whose worker died before the trial ended


def _end_cut_trials(study: optuna.Study, trials: list, client: MlflowClient) -> None:
    """End the trials the time budget cut short: pruned if they reported an epoch, else
    failed; in the study and in MLflow (Tune stops them without telling the searcher)."""
    for trial in trials:
        values = trial.intermediate_values
        last = values.get(max(values, default=0))
        end = TrialEnd("pruned", last) if values else TrialEnd("failed", None, "cut by the timeout")
        study.tell(trial.number, state=end.optuna_state)
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id is not None and client.get_run(run_id).info.status == "RUNNING":
            end.end_run(TrialRun(client, run_id, trial.number))


def _trial_name(trial: Any) -> str:
    number = trial.config.get(TRIAL_KEY)
    return f"trial-{number:04d}" if isinstance(number, int) else f"trial-{trial.trial_id}"


def _export_study(study: optuna.Study, folder: Path) -> str:
    """Copy the searcher's study into SQLite in ``folder`` (for :meth:`Result.study` and the
    Optuna dashboard); return the storage URL. A copy from an earlier run is replaced."""
    url = f"sqlite:///{folder / 'optuna.db'}"
    with contextlib.suppress(KeyError):
        optuna.delete_study(study_name=study.study_name, storage=url)
    copy = optuna.create_study(study_name=study.study_name, storage=url, direction=study.direction)
    for key, value in study.user_attrs.items():
        copy.set_user_attr(key, value)
    copy.add_trials(study.get_trials(deepcopy=False))
    return url


def _trials_that_fit(cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials the cluster runs at once. Tune would start one at a time otherwise:
    with a searcher and no concurrency limit it keeps a single trial pending."""
    resources = ray.cluster_resources()
    fits = [resources.get("CPU", 0.0) / cpus_per_trial]
    if gpus_per_trial > 0:
        fits.append(resources.get("GPU", 0.0) / gpus_per_trial)
    return max(1, int(min(fits) + 1e-9))


def _check_single_node(session: SearchSession) -> None:
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    if len(nodes) > 1:
        tracker = session.tracker
        uri = tracker.tracking_uri if tracker is not None else session.run.tracking_uri
        raise ValueError(
            f"The Ray cluster has {len(nodes)} nodes but MLflow tracks to {uri}, a "
            "store on this machine that trials on other nodes cannot write to; start an "
            "MLflow server (mlflow server --backend-store-uri postgresql://...) and pass "
            "tracking_uri='http://<host>:5000'."
        )


@contextlib.contextmanager
def _ray_session(address: str | None) -> Iterator[None]:
    """Use the Ray this process is connected to; else join ``address`` or start a local Ray,
    and shut down at the end only what was started here."""
    if ray.is_initialized():
        if address is not None:
            logger.warning("Ray is already initialised here; ray_address=%r is not used", address)
        yield
        return
    ray.init(address=address)
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _driver_hooks(experiment: Path, session: SearchSession) -> Iterator[None]:
    """Make the search's ``on_epoch`` and progress bar reachable from the Tune callback."""
    on_epoch: OnEpoch | None = session.run.on_epoch
    progress = session.progress
    on_done: Callable[[], None] | None = progress.advance if progress is not None else None
    if on_epoch is not None and ray.util.client.ray.is_connected():
        logger.warning(
            "Ray Client (ray://): Tune runs on the head node, where on_epoch is not called; "
            "connect with ray_address='auto' or 'host:6379' to get it"
        )
    DRIVER_HOOKS[str(experiment)] = (on_epoch, on_done)
    if session.tracker is not None:  # with its password, which the experiment's files lack
        DRIVER_TRACKING[str(experiment)] = session.tracker.tracking_uri
    try:
        yield
    finally:
        DRIVER_HOOKS.pop(str(experiment), None)
        DRIVER_TRACKING.pop(str(experiment), None)
