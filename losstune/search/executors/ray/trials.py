"""A trial on Ray Tune: trained in its Ray worker, tracked under the search's MLflow parent,
and ended by the driver when Ray ends it."""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ray
from mlflow.entities import RunTag
from mlflow.tracking import MlflowClient
from ray import tune

from losstune.data import Dataset
from losstune.mlflow import SearchTracker, TrialRun
from losstune.runners import train
from losstune.runners.torch.runner import resolve_device
from losstune.search.executors.ray.searcher import ORIGIN_KEY, TRIAL_KEY
from losstune.search.lifecycle import (
    EXPECTED_FAILURES,
    FAIL_REASON,
    MAX_EPOCHS,
    MLFLOW_RUN_ID,
    ORIGIN,
    TRAINED,
    OnEpoch,
    TrialEnd,
)
from losstune.spaces import config_to_recipe
from losstune.urls import without_password

# the per-epoch and per-trial hooks of the searches running in this process, by experiment
# path: a Tune callback is pickled into the experiment (and restored), a user's callable may
# not be, so the callback finds them here
DRIVER_HOOKS: dict[str, tuple[OnEpoch | None, Callable[[], None] | None]] = {}
# the tracking URI with its password, by experiment: the pickled callback keeps none
DRIVER_TRACKING: dict[str, str] = {}


@dataclass(frozen=True)
class TrialJob:
    """What every trial of a stage needs; shipped to the workers once, through Ray's object
    store. ``trial_offset`` and ``stage`` number and label the MLflow runs as in-process."""

    dataset: Dataset
    metric: str
    seed: int
    device: str
    tracking_uri: str
    artifact_location: str | None
    parent_run_id: str
    stage: str = ""
    trial_offset: int = 0


def run_trial(config: dict[str, Any], job: TrialJob) -> None:
    """One trial, in its Ray worker: open its nested MLflow run under the search's parent,
    train, log and report each epoch. A trial that diverges or has an invalid recipe reports
    its failure and returns (a retry would fail alike); any other error is raised for Ray to
    retry the trial."""
    config = dict(config)
    number = job.trial_offset + int(config.pop(TRIAL_KEY))
    origin = str(config.pop(ORIGIN_KEY, "sampler"))
    # Ray hands arrays out of its object store read-only; torch wants to own writable ones
    dataset = copy.deepcopy(job.dataset)
    tracker = SearchTracker(
        job.tracking_uri, artifact_location=job.artifact_location, flush_every_s=0.0
    )
    tracker.resume_search(job.parent_run_id)
    params = {**config, "stage": job.stage} if job.stage else config
    run = tracker.start_trial(number, params, tags={ORIGIN: origin})
    device = _trial_device(job.device)
    _tag_placement(tracker.client, run.run_id, device)
    about: dict[str, Any] = {"trial_number": number, MLFLOW_RUN_ID: run.run_id}
    try:
        recipe = config_to_recipe(config, task=dataset.task, metric=job.metric, seed=job.seed)
        about[MAX_EPOCHS] = recipe.max_epochs
        reporter = RayReporter(run, about)
        train(recipe, dataset, reporter=reporter, device=device)
        reporter.close(recipe.max_epochs)
    except EXPECTED_FAILURES as err:
        TrialEnd("failed", None, str(err)).end_run(run)
        tune.report({f"valid_{job.metric}": math.nan, **about, FAIL_REASON: str(err)[:500]})
    except Exception as err:
        TrialEnd("failed", None, repr(err)).end_run(run)
        raise


def _tag_placement(client: MlflowClient, run_id: str, device: str) -> None:
    """Where the trial ran: device, Ray trial, node, worker process, GPUs."""
    tags = {
        "device": resolve_device(device),
        "ray.trial_id": tune.get_context().get_trial_id(),
        "ray.node_ip": ray.util.get_node_ip_address(),
        "ray.worker_pid": os.getpid(),
        "ray.gpu_ids": ",".join(str(i) for i in ray.get_gpu_ids()),
        "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
    }
    client.log_batch(run_id, tags=[RunTag(key, str(value)) for key, value in tags.items()])


def _trial_device(device: str) -> str:
    """``"auto"`` means the GPU Ray assigned to this trial: CPU when it assigned none, even on
    a machine with GPUs (Ray does not hide them from a trial that asked for none)."""
    if device == "auto" and not ray.get_gpu_ids():
        return "cpu"
    return device


class RayReporter:
    """Writes each epoch to the trial's MLflow run, then reports it to Ray Tune, whose
    scheduler may stop the trial right there (the epoch is already in MLflow by then)."""

    def __init__(self, run: TrialRun, about: Mapping[str, Any]) -> None:
        self.run, self.about = run, dict(about)

        self.last: dict[str, Any] | None = None

    def report(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.run.log_epoch(epoch, metrics)  # flush_every_s=0: written now
        self.last = {**metrics, **self.about, "epoch": epoch}
        tune.report(self.last)

    def close(self, max_epochs: int) -> None:
        """After training ended by itself before ``max_epochs`` (early stopping), repeat the
        last report marked :data:`TRAINED`, so the trial ends complete, not pruned."""
        if self.last is not None and self.last["epoch"] < max_epochs:
            tune.report({**self.last, TRAINED: True})


class TrialRuns(tune.Callback):
    """The driver's side of the trials' MLflow runs: when Ray ends a trial, end its run
    (complete or pruned; a trial the scheduler stops cannot do it), and pass every epoch and
    every ended trial to the search's hooks (:data:`DRIVER_HOOKS`)."""

    def __init__(self, tracking_uri: str, key: str, hooks: str) -> None:
        self.tracking_uri, self.key, self.hooks = tracking_uri, key, hooks
        self._client: MlflowClient | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks into the run folder: no client, no password there
        return {
            **self.__dict__,
            "_client": None,
            "tracking_uri": without_password(self.tracking_uri),
        }

    def on_trial_result(
        self, iteration: int, trials: list, trial: Any, result: dict, **info: Any
    ) -> None:
        on_epoch = DRIVER_HOOKS.get(self.hooks, (None, None))[0]
        if on_epoch is not None and "epoch" in result and not result.get(TRAINED):
            metrics = {k: float(v) for k, v in result.items() if k.startswith(("train_", "valid_"))}
            on_epoch(int(result["trial_number"]), int(result["epoch"]), metrics)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        on_done = DRIVER_HOOKS.get(self.hooks, (None, None))[1]
        if on_done is not None:
            on_done()
        result = trial.last_result or {}
        run_id = result.get(MLFLOW_RUN_ID)
        if run_id is None:
            return
        if self._client is None:
            self._client = MlflowClient(DRIVER_TRACKING.get(self.hooks, self.tracking_uri))
        if self._client.get_run(run_id).info.status != "RUNNING":
            return  # the worker ended it (a failure)
        run = TrialRun(self._client, run_id, int(result["trial_number"]))
        TrialEnd.of_report(result, self.key).end_run(run, result.get("time_total_s"))
