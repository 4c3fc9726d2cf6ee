"""Run a search on Ray Tune: the space, runner, MLflow lineage and :class:`Result` of the
Optuna backend, with trials placed on the CPUs and GPUs of a Ray cluster.

- *What to try*: :class:`~ray.tune.search.optuna.OptunaSearch` over losstune's define-by-run
  :func:`~losstune.spaces.optuna_adapter.suggest` (the conditional space stays a tree), with
  the seeded sampler of :func:`~losstune.search.samplers.make_sampler`. Its Optuna study is
  kept as faithful as the Optuna backend's: a trial the scheduler stopped early is PRUNED
  there, not COMPLETE with its early value (what OptunaSearch records by default), so TPE
  learns what trials really reached, and the leaderboard is built from that study.
- *When to stop*: ASHA on the per-epoch reports by default (``pruner``).
- *Where*: each trial asks for ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs (a fraction
  packs several trials on one GPU); a trial whose worker dies is retried (``max_failures``).
- *Tracking*: the driver opens the parent MLflow run; each trial, in its Ray worker, attaches
  to it and opens its nested run with ``mlflow.parentRunId`` (Ray's own MLflow callback does
  not nest, ray-project/ray#19978) and writes every epoch before reporting it to Ray. A trial
  the scheduler stops cannot end its own run, so the driver ends every run when Ray ends the
  trial: complete, pruned or failed, as in the Optuna backend.
- *Resume*: the Tune experiment lives in ``<run_dir>/ray/<study_name>``; running the same search
  again restores it with :meth:`ray.tune.Tuner.restore`, searcher state included
  (ray-project/ray#30861), so the trial count still adds up to ``n_trials``.

This module imports Ray (its classes subclass Ray Tune's); :func:`losstune.search` imports it
only for ``backend="ray"``, so ``import losstune`` stays free of Ray.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna
import ray
from mlflow.entities import RunTag
from mlflow.tracking import MlflowClient
from ray import tune
from ray.tune.schedulers import (
    ASHAScheduler,
    FIFOScheduler,
    MedianStoppingRule,
    TrialScheduler,
)
from ray.tune.search.optuna import OptunaSearch

from losstune.data import Dataset
from losstune.metrics import get_metric
from losstune.mlflow import SearchTracker, TrialRun, artifact_uri, local_tracking_uri
from losstune.recipe import Recipe, RecipeError
from losstune.runners.torch_runner import TrainingDiverged, resolve_device, train_torch
from losstune.search.budget import Budget, make_budget
from losstune.search.lock import study_lock
from losstune.search.objective import EpochCallback, TrialContext
from losstune.search.progress import SearchProgress
from losstune.search.result import Result
from losstune.search.run import (
    DEFAULT_RUN_DIR,
    _announce_default_metric,
    _default_study_name,
    _finish,
    _name,
    _quiet_optuna,
)
from losstune.search.samplers import make_sampler
from losstune.spaces import (
    Choice,
    Fixed,
    Int,
    SearchSpace,
    config_to_recipe,
    default_space,
    recipe_in_space,
    recipe_to_config,
)
from losstune.spaces.optuna_adapter import suggest

logger = logging.getLogger("losstune")

SCHEDULERS = ("asha", "median", "curve", "none")
TRIAL_KEY = "losstune.trial"  # the Optuna trial number, carried in each Ray trial's config
RECORD_FILE = "losstune-search.json"
_DEVICES = ("auto", "cpu", "cuda")
_OPTUNA_STATES = {
    "complete": optuna.trial.TrialState.COMPLETE,
    "pruned": optuna.trial.TrialState.PRUNED,
    "failed": optuna.trial.TrialState.FAIL,
}
# on_epoch callbacks of the searches running in this process, by experiment path: a Tune
# callback is pickled into the experiment (and restored from it), a user's callable may not be
_EPOCH_HOOKS: dict[str, EpochCallback] = {}


def search_ray(
    dataset: Dataset,
    space: SearchSpace | None = None,
    metric: str | None = None,
    budget: int | str | None = None,
    n_trials: int | None = None,
    timeout: float | str | None = None,
    sampler: str | optuna.samplers.BaseSampler = "tpe",
    pruner: str | TrialScheduler | None = "asha",
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
    ray_address: str | None = None,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    max_concurrent_trials: int | None = None,
    grace_period: int = 2,
    max_failures: int = 2,
) -> Result:
    """Search recipes for ``dataset`` on Ray Tune; return the best with evidence.

    ``losstune.search(..., backend="ray")`` calls this; the arguments shared with
    :func:`losstune.search` mean the same, except:

    Args:
        pruner: the Ray Tune scheduler: ``"asha"`` or ``"auto"``
            (:class:`~ray.tune.schedulers.ASHAScheduler`
            on the epochs, ``grace_period`` epochs before a first stop, reduction factor 3),
            ``"median"`` (:class:`~ray.tune.schedulers.MedianStoppingRule`, like Optuna's
            median pruner), ``"curve"`` (:class:`~losstune.scaling.CurveStoppingScheduler`),
            ``"none"`` (run every trial to its end), or a scheduler instance.
        ray_address: the Ray cluster to join (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``);
            by default the Ray this process is connected to, else a local one (started here
            and shut down at the end).
        cpus_per_trial, gpus_per_trial: what each trial reserves; a GPU fraction (``0.25``)
            runs that many trials side by side on one GPU.
        max_concurrent_trials: at most this many trials at once (default: as many as the
            cluster's CPUs and GPUs fit when the search starts; give it on an autoscaling
            cluster).
        device: ``"auto"`` trains on the GPU Ray gave the trial, on CPU when it gave none;
            ``"cuda"`` requires ``gpus_per_trial > 0``; ``"cpu"``. The final multi-seed
            re-training runs in this process, on its GPU if it has one (unless ``"cpu"``).
        grace_period: epochs every trial runs before ASHA may stop it.
        max_failures: how often a trial whose worker died (or raised) is retried.

    The search resumes: running it again with the same study name and run folder restores
    the Tune experiment in ``<run_dir>/ray/<study_name>`` (unfinished trials are re-run from
    their start) and continues the same MLflow parent run.

    Example::

        result = losstune.search(ds, n_trials=40, backend="ray", gpus_per_trial=0.25)
    """
    _check_resources(cpus_per_trial, gpus_per_trial, max_concurrent_trials, device)
    if pruner == "auto":
        pruner = "asha"
    if not isinstance(max_failures, int) or max_failures < 0:
        raise ValueError(f"max_failures must be a whole number >= 0; got {max_failures!r}.")
    metric = metric or _announce_default_metric(dataset)
    scorer = get_metric(metric, dataset.task)
    space = space or default_space(dataset.task, epochs=epochs)
    plan = make_budget(budget, n_trials, timeout)
    if top_k < 1 or n_seeds < 1:
        raise ValueError(f"top_k and n_seeds must be >= 1; got top_k={top_k}, n_seeds={n_seeds}.")
    fixed_epochs = space.paths().get("epochs")
    if isinstance(fixed_epochs, Fixed):
        epochs = int(fixed_epochs.value)
    scheduler = make_scheduler(pruner, _max_epochs(space, epochs), grace_period, seed)
    run_path = Path(run_dir or DEFAULT_RUN_DIR).resolve()
    study_name = study_name or _default_study_name(dataset, metric, space, seed)
    experiment = run_path / "ray" / study_name
    experiment.mkdir(parents=True, exist_ok=True)
    default = Recipe.default(dataset.task, metric).replace(epochs=epochs, seed=seed)
    remote = not _is_local_store(tracking_uri)

    with study_lock(experiment.parent, study_name), _ray_session(ray_address):
        if not remote:
            _check_single_node(tracking_uri or local_tracking_uri(run_path))
        if max_concurrent_trials is None:
            max_concurrent_trials = _trials_that_fit(cpus_per_trial, gpus_per_trial)
        tracker = SearchTracker(
            tracking_uri or local_tracking_uri(run_path),
            artifact_location=None if remote else artifact_uri(run_path),
        )
        record = _SearchRecord.load(experiment)
        if record is None:
            parent = tracker.start_search(
                run_name=study_name,
                params={
                    "metric": metric,
                    "sampler": _name(sampler),
                    "pruner": _name(pruner if pruner is not None else "none"),
                    "seed": seed,
                    "n_trials": plan.n_trials,
                    "timeout_s": plan.timeout,
                    "top_k": top_k,
                    "n_seeds": n_seeds,
                    "task": dataset.task.value,
                    "backend": "ray",
                    "cpus_per_trial": cpus_per_trial,
                    "gpus_per_trial": gpus_per_trial,
                    "max_concurrent_trials": max_concurrent_trials,
                    "max_failures": max_failures,
                },
                tags={
                    "dataset_fingerprint": dataset.fingerprint,
                    "optuna.study_name": study_name,
                    "ray.experiment_path": str(experiment),
                },
            )
            record = _SearchRecord(parent, dataset.fingerprint, metric, plan.n_trials, plan.timeout)
            record.save(experiment)
        else:
            record.check(study_name, dataset, metric, plan)
            tracker.resume_search(record.parent_run_id)
            tracker.kill_stale_trials()  # the lock makes every RUNNING trial an abandoned one
        job = _TrialJob(
            dataset=dataset,
            metric=metric,
            seed=seed,
            device=device,
            tracking_uri=tracker.tracking_uri,
            artifact_location=None if remote else artifact_uri(run_path),
            parent_run_id=record.parent_run_id,
        )
        try:
            with _quiet_optuna(show_progress), _epoch_hook(experiment, on_epoch):
                seconds = _fit(
                    experiment,
                    job,
                    functools.partial(
                        _new_searcher, space, sampler, seed, scorer.direction, default, record
                    ),
                    scheduler,
                    plan,
                    {"cpu": cpus_per_trial, "gpu": gpus_per_trial},
                    max_concurrent_trials,
                    max_failures,
                    verbose=1 if show_progress else 0,
                )
            study = StudySearch.from_experiment(experiment).study
            cut = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            out_of_time = plan.timeout is not None and seconds >= plan.timeout
            if not out_of_time and (cut or len(study.trials) < (plan.n_trials or 0)):
                tracker.kill_stale_trials()  # Tune stopped the trials in flight
                raise KeyboardInterrupt(
                    f"The Ray Tune search {study_name!r} was interrupted; run the same search "
                    f"again to resume it from {experiment}."
                )
            _end_cut_trials(study, cut, tracker.client)
            tracker.kill_stale_trials()  # attempts whose worker died before the trial ended
            storage = _export_study(study, experiment.parent)
            # the final re-training runs here, on the driver: its own GPU if it has one
            final_device = "cpu" if device == "cpu" else "auto"
            context = TrialContext(dataset, space, metric, seed, final_device, tracker, on_epoch)
            done = len(study.trials)
            progress = SearchProgress(done, done, metric) if show_progress else None
            with progress or contextlib.nullcontext():
                result = _finish(study, context, default, scorer, top_k, n_seeds, progress)
        except BaseException as err:
            # KILLED: interrupted, resumable by running the search again; FAILED: a bug
            tracker.finish_search("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
            raise
    result.storage, result.run_dir = storage, run_path
    return result


def make_scheduler(
    pruner: str | TrialScheduler | None, max_t: int, grace_period: int = 2, seed: int = 0
) -> TrialScheduler:
    """The Ray Tune scheduler named ``pruner`` (see :data:`SCHEDULERS`) over ``max_t`` epochs,
    or the given instance; metric and mode come from the ``TuneConfig``."""
    if isinstance(pruner, TrialScheduler):
        return pruner
    if isinstance(pruner, optuna.pruners.BasePruner):
        raise ValueError(
            f"backend='ray' stops trials with a Ray Tune scheduler, not the Optuna pruner "
            f"{type(pruner).__name__}; pass one of {', '.join(SCHEDULERS)} or a "
            "ray.tune.schedulers.TrialScheduler."
        )
    if pruner == "auto":
        pruner = "asha"
    if pruner is None or pruner == "none":
        return FIFOScheduler()
    if isinstance(grace_period, bool) or not isinstance(grace_period, int) or grace_period < 1:
        raise ValueError(f"grace_period must be a whole number >= 1; got {grace_period!r}.")
    if pruner == "asha":
        return ASHAScheduler(
            time_attr="training_iteration",
            max_t=max_t,
            grace_period=min(grace_period, max_t),
            reduction_factor=3,
        )
    if pruner == "median":
        return MedianStoppingRule(
            time_attr="training_iteration", grace_period=5, min_samples_required=5
        )
    if pruner == "curve":
        from losstune.scaling import CurveStoppingScheduler

        return CurveStoppingScheduler(max_t=max_t, seed=seed)
    raise ValueError(
        f"Unknown pruner {pruner!r} for backend='ray'; use one of {', '.join(SCHEDULERS)} or a "
        "ray.tune.schedulers.TrialScheduler instance."
    )


def trial_end(result: Mapping[str, Any] | None, key: str) -> tuple[str, float | None]:
    """A Ray trial's end state (``complete``, ``pruned`` or ``failed``) and value, from its
    last result: complete when it reported all its epochs, pruned when stopped before."""
    if not result or "fail_reason" in result or "epoch" not in result:
        return "failed", None
    value = float(result.get(key, math.nan))
    if math.isnan(value):
        return "failed", None
    if int(result["epoch"]) >= int(result["max_epochs"]):
        return "complete", value
    return "pruned", value


class StudySearch(OptunaSearch):
    """:class:`~ray.tune.search.optuna.OptunaSearch` over a losstune space whose Optuna study
    records each trial as the Optuna backend does.

    OptunaSearch tells a trial stopped by the scheduler as COMPLETE with its last (early)
    value; here it is PRUNED, reported at its epochs (not Tune's iterations), and a trial that
    diverged is FAIL. Each trial carries the user attributes the leaderboard reads: ``config``,
    ``mlflow_run_id``, ``max_epochs``, ``fail_reason`` and ``default_recipe`` (the default
    recipe is enqueued as the first trial). Built without a space it is blank, ready for
    :meth:`restore_from_dir`.
    """

    def __init__(
        self,
        space: SearchSpace | None = None,
        sampler: optuna.samplers.BaseSampler | None = None,
        metric: str | None = None,
        mode: str | None = None,
        study_name: str | None = None,
        default_config: Mapping[str, Any] | None = None,
    ) -> None:
        self._epochs_seen: dict[str, set[int]] = {}
        if space is None:
            super().__init__()
            return
        super().__init__(
            space=_Suggest(space), metric=metric, mode=mode, sampler=sampler, study_name=study_name
        )
        if default_config is not None:
            self._ot_study.enqueue_trial(dict(default_config), user_attrs={"default_recipe": True})

    @classmethod
    def from_experiment(cls, path: str | Path) -> StudySearch:
        """The searcher as Ray Tune last saved it in the experiment folder ``path``."""
        searcher = cls()
        searcher.restore_from_dir(str(path))
        return searcher

    @property
    def study(self) -> optuna.Study:
        return self._ot_study

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._ot_trials and trial_id not in self._completed_trials:
            self._record(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        if trial_id not in self._ot_trials or trial_id in self._completed_trials:
            return
        trial = self._ot_trials[trial_id]
        if result:
            self._record(trial_id, result)  # Tune withholds the result it stopped a trial on
        state, value = ("failed", None) if error else trial_end(result, self.metric)
        if state == "failed":
            reason = (result or {}).get("fail_reason")
            if reason is None:
                reason = "its worker failed" if error else f"no valid {self.metric} reported"
            trial.set_user_attr("fail_reason", str(reason))
        self._ot_study.tell(trial, value if state == "complete" else None, _OPTUNA_STATES[state])
        self._completed_trials.add(trial_id)

    def _record(self, trial_id: str, result: Mapping[str, Any]) -> None:
        if "epoch" not in result:
            return
        trial = self._ot_trials[trial_id]
        attrs = trial.user_attrs
        for name, value in (
            ("mlflow_run_id", result["mlflow_run_id"]),
            ("max_epochs", int(result["max_epochs"])),
            ("ray_trial_id", trial_id),
        ):
            if attrs.get(name) != value:
                trial.set_user_attr(name, value)
        epoch, value = int(result["epoch"]), float(result.get(self.metric, math.nan))
        seen = self._epochs_seen.setdefault(trial_id, set())
        if epoch not in seen and not math.isnan(value):  # a retried trial reports again
            trial.report(value, step=epoch)
            seen.add(epoch)


class _Suggest:
    """The define-by-run space: a losstune config, plus the trial number that names the
    trial's MLflow run. A class, not a closure, because Tune pickles the searcher."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        config = suggest(trial, self.space)
        trial.set_user_attr("config", config)
        return {**config, TRIAL_KEY: trial.number}


@dataclass(frozen=True)
class _TrialJob:
    """What every trial needs; shipped to the workers once, through Ray's object store."""

    dataset: Dataset
    metric: str
    seed: int
    device: str
    tracking_uri: str
    artifact_location: str | None
    parent_run_id: str


def _run_trial(config: dict[str, Any], job: _TrialJob) -> None:
    """One trial, in its Ray worker: open its nested MLflow run under the search's parent,
    train, log and report each epoch. A trial that diverges or has an invalid recipe reports
    its failure and returns (a retry would fail alike); any other error is raised for Ray to
    retry the trial."""
    config = dict(config)
    number = int(config.pop(TRIAL_KEY))
    # Ray hands arrays out of its object store read-only; torch wants to own writable ones
    dataset = copy.deepcopy(job.dataset)
    tracker = SearchTracker(
        job.tracking_uri, artifact_location=job.artifact_location, flush_every_s=0.0
    )
    tracker.resume_search(job.parent_run_id)
    run = tracker.start_trial(number, config)
    device = _trial_device(job.device)
    tracker.client.log_batch(
        run.run_id,
        tags=[
            RunTag(key, str(value))
            for key, value in {
                "device": resolve_device(device),
                "ray.trial_id": tune.get_context().get_trial_id(),
                "ray.node_ip": ray.util.get_node_ip_address(),
                "ray.worker_pid": os.getpid(),
                "ray.gpu_ids": ",".join(str(i) for i in ray.get_gpu_ids()),
                "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
            }.items()
        ],
    )
    about = {"trial_number": number, "mlflow_run_id": run.run_id}
    try:
        recipe = config_to_recipe(config, task=dataset.task, metric=job.metric, seed=job.seed)
        reporter = _RayReporter(run, {**about, "max_epochs": recipe.epochs})
        train_torch(recipe, dataset, reporter=reporter, device=device)
    except (TrainingDiverged, RecipeError) as err:
        run.end("failed", tags={"fail_reason": str(err)[:500]})
        tune.report({f"valid_{job.metric}": math.nan, **about, "fail_reason": str(err)[:500]})
    except Exception as err:
        run.end("failed", tags={"fail_reason": repr(err)[:500]})
        raise


class _RayReporter:
    """Writes each epoch to the trial's MLflow run, then reports it to Ray Tune, whose
    scheduler may stop the trial right there (the epoch is already in MLflow by then)."""

    def __init__(self, run: TrialRun, about: Mapping[str, Any]) -> None:
        self.run, self.about = run, dict(about)

    def report(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.run.log_epoch(epoch, metrics)  # flush_every_s=0: written now
        tune.report({**metrics, **self.about, "epoch": epoch})


class _TrialRuns(tune.Callback):
    """The driver's side of the trials' MLflow runs: when Ray ends a trial, end its run
    (complete or pruned; a trial the scheduler stops cannot do it), and pass every epoch to
    the search's ``on_epoch``."""

    def __init__(self, tracking_uri: str, key: str, hooks: str) -> None:
        self.tracking_uri, self.key, self.hooks = tracking_uri, key, hooks
        self._client: MlflowClient | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_client": None}  # Tune pickles its callbacks

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info):
        on_epoch = _EPOCH_HOOKS.get(self.hooks)
        if on_epoch is not None and "epoch" in result:
            metrics = {k: float(v) for k, v in result.items() if k.startswith(("train_", "valid_"))}
            on_epoch(int(result["trial_number"]), int(result["epoch"]), metrics)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info) -> None:
        result = trial.last_result or {}
        run_id = result.get("mlflow_run_id")
        if run_id is None:
            return
        if self._client is None:
            self._client = MlflowClient(self.tracking_uri)
        if self._client.get_run(run_id).info.status != "RUNNING":
            return  # the worker ended it (a failure)
        state, value = trial_end(result, self.key)
        run = TrialRun(self._client, run_id, int(result["trial_number"]))
        run.end(state, value, result.get("time_total_s"))


@dataclass(frozen=True)
class _SearchRecord:
    """What a resumed Ray search must match, kept beside the Tune experiment."""

    parent_run_id: str
    dataset_fingerprint: str
    metric: str
    n_trials: int | None
    timeout: float | None

    @classmethod
    def load(cls, experiment: Path) -> _SearchRecord | None:
        path = experiment / RECORD_FILE
        return cls(**json.loads(path.read_text())) if path.is_file() else None

    def save(self, experiment: Path) -> None:
        (experiment / RECORD_FILE).write_text(json.dumps(asdict(self), indent=1))

    def check(self, study_name: str, dataset: Dataset, metric: str, plan: Budget) -> None:
        if self.dataset_fingerprint != dataset.fingerprint:
            raise ValueError(
                f"Ray search {study_name!r} was run on another dataset (fingerprint "
                f"{self.dataset_fingerprint[:12]}, this one {dataset.fingerprint[:12]}); "
                "pass another study_name."
            )
        if self.metric != metric:
            raise ValueError(
                f"Ray search {study_name!r} optimises {self.metric!r}, not {metric!r}; "
                "pass another study_name."
            )
        if (self.n_trials, self.timeout) != (plan.n_trials, plan.timeout):
            raise ValueError(
                f"Ray search {study_name!r} was started with n_trials={self.n_trials}, "
                f"timeout={self.timeout}; a Tune experiment resumes with its own budget, so "
                "pass the same budget to resume it, or another study_name."
            )


def _fit(
    experiment: Path,
    job: _TrialJob,
    new_searcher: Callable[[str], StudySearch],
    scheduler: TrialScheduler,
    plan: Budget,
    resources: dict[str, float],
    max_concurrent_trials: int | None,
    max_failures: int,
    verbose: int,
) -> float:
    """Run (or resume) the Tune experiment in ``experiment``; the seconds it ran.

    Tune ends the run early, with its state saved, on SIGINT (Ctrl-C) or SIGUSR1."""
    trainable = tune.with_resources(tune.with_parameters(_run_trial, job=job), resources)
    started = time.monotonic()
    if tune.Tuner.can_restore(experiment):
        logger.warning("resuming the Ray Tune experiment in %s", experiment)
        tune.Tuner.restore(str(experiment), trainable=trainable).fit()
        return time.monotonic() - started
    key, searcher = f"valid_{job.metric}", new_searcher(experiment.name)
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            metric=key,
            mode=searcher.mode,
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=plan.n_trials if plan.n_trials is not None else -1,
            time_budget_s=plan.timeout,
            max_concurrent_trials=max_concurrent_trials,
            reuse_actors=True,
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=experiment.name,
            storage_path=str(experiment.parent),
            failure_config=tune.FailureConfig(max_failures=max_failures),
            callbacks=[_TrialRuns(job.tracking_uri, key, str(experiment))],
            verbose=verbose,
        ),
    )
    tuner.fit()
    return time.monotonic() - started


def _end_cut_trials(study: optuna.Study, trials: list, client: MlflowClient) -> None:
    """End the trials the time budget cut short: pruned if they reported an epoch, else
    failed; in the study and in MLflow (Tune stops them without telling the searcher)."""
    for trial in trials:
        state = "pruned" if trial.intermediate_values else "failed"
        study.tell(trial.number, state=_OPTUNA_STATES[state])
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id is not None and client.get_run(run_id).info.status == "RUNNING":
            value = trial.intermediate_values.get(max(trial.intermediate_values, default=0))
            TrialRun(client, run_id, trial.number).end(state, value if state == "pruned" else None)


def _new_searcher(
    space: SearchSpace,
    sampler: str | optuna.samplers.BaseSampler,
    seed: int,
    direction: str,
    default: Recipe,
    record: _SearchRecord,
    study_name: str,
) -> StudySearch:
    """A fresh searcher whose first trial is the default recipe (when the space holds it)."""
    default_config = None
    if recipe_in_space(default, space):
        default_config = recipe_to_config(default, space)
    else:
        warnings.warn(
            "The default recipe lies outside the search space, so it is not a trial; it is "
            "still re-trained at the end to measure the margin.",
            stacklevel=4,
        )
    searcher = StudySearch(
        space,
        make_sampler(sampler, seed),
        metric=f"valid_{record.metric}",
        mode="max" if direction == "maximize" else "min",
        study_name=study_name,
        default_config=default_config,
    )
    searcher.study.set_user_attr("mlflow_parent_run_id", record.parent_run_id)
    searcher.study.set_user_attr("dataset_fingerprint", record.dataset_fingerprint)
    searcher.study.set_user_attr("metric", record.metric)
    return searcher


def _trial_name(trial: Any) -> str:
    number = trial.config.get(TRIAL_KEY)
    return f"trial-{number:04d}" if isinstance(number, int) else f"trial-{trial.trial_id}"


def _trial_device(device: str) -> str:
    """``"auto"`` means the GPU Ray assigned to this trial: CPU when it assigned none, even on
    a machine with GPUs (Ray does not hide them from a trial that asked for none)."""
    if device == "auto" and not ray.get_gpu_ids():
        return "cpu"
    return device


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


def _max_epochs(space: SearchSpace, epochs: int) -> int:
    param = space.paths().get("epochs")
    if isinstance(param, Fixed):
        return int(param.value)
    if isinstance(param, Int):
        return int(param.high)
    if isinstance(param, Choice):
        return int(max(param.options))
    return epochs


def _check_resources(cpus: float, gpus: float, max_concurrent: int | None, device: str) -> None:
    if isinstance(cpus, bool) or not isinstance(cpus, int | float) or not cpus > 0:
        raise ValueError(f"cpus_per_trial must be a number > 0; got {cpus!r}.")
    if (
        isinstance(gpus, bool)
        or not isinstance(gpus, int | float)
        or gpus < 0
        or (gpus > 1 and gpus != int(gpus))
    ):
        raise ValueError(
            f"gpus_per_trial must be a fraction of one GPU (0 to 1) or a whole number of GPUs; "
            f"got {gpus!r}."
        )
    whole = isinstance(max_concurrent, int) and not isinstance(max_concurrent, bool)
    if max_concurrent is not None and not (whole and max_concurrent >= 1):
        raise ValueError(
            f"max_concurrent_trials must be a whole number >= 1 or None; got {max_concurrent!r}."
        )
    if device not in _DEVICES:
        raise ValueError(
            f"device={device!r} on backend='ray': Ray assigns each trial its GPU, so use "
            f"'auto', 'cpu' or 'cuda' (the assigned GPU)."
        )
    if device == "cuda" and gpus == 0:
        raise ValueError("device='cuda' needs gpus_per_trial > 0 on backend='ray'.")


def _trials_that_fit(cpus_per_trial: float, gpus_per_trial: float) -> int:
    """How many trials the cluster runs at once. Tune would start one at a time otherwise:
    with a searcher and no concurrency limit it keeps a single trial pending."""
    resources = ray.cluster_resources()
    fits = [resources.get("CPU", 0.0) / cpus_per_trial]
    if gpus_per_trial > 0:
        fits.append(resources.get("GPU", 0.0) / gpus_per_trial)
    return max(1, int(min(fits) + 1e-9))


def _is_local_store(tracking_uri: str | None) -> bool:
    if tracking_uri is None:
        return True
    scheme = tracking_uri.split("://", 1)[0] if "://" in tracking_uri else ""
    return scheme in ("", "file", "sqlite")


def _check_single_node(tracking_uri: str) -> None:
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    if len(nodes) > 1:
        raise ValueError(
            f"The Ray cluster has {len(nodes)} nodes but MLflow tracks to {tracking_uri}, a "
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
def _epoch_hook(experiment: Path, on_epoch: EpochCallback | None) -> Iterator[None]:
    if on_epoch is None:
        yield
        return
    if ray.util.client.ray.is_connected():
        logger.warning(
            "Ray Client (ray://): Tune runs on the head node, where on_epoch is not called; "
            "connect with ray_address='auto' or 'host:6379' to get it"
        )
    _EPOCH_HOOKS[str(experiment)] = on_epoch
    try:
        yield
    finally:
        _EPOCH_HOOKS.pop(str(experiment), None)
