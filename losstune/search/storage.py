"""Optuna storage for a search that several processes share (``losstune worker``).

The single-process default keeps its study in SQLite under the run folder; a search with
workers keeps it in a database server (PostgreSQL; any SQLAlchemy URL but SQLite), opened by
:func:`open_storage` with Optuna's heartbeats. Every process running a trial records a
heartbeat for it every ``heartbeat_interval`` seconds; before each trial, ``study.optimize``
fails the RUNNING trials whose last heartbeat is older than ``grace_period`` (a killed or lost
worker's) and :class:`RetryStaleTrial` enqueues each of them again, so no trial stays RUNNING
forever and none is lost. Use the same ``heartbeat_interval`` and ``grace_period`` in every
process of a search: a ``grace_period`` shorter than another process's interval fails that
process's live trials.

The budget of a shared search is the study's: :func:`counted_trials` counts the finished
trials (less the interrupted ones, which were retried), and :class:`StudyBudget` stops a
process once the study has them all.
"""

from __future__ import annotations

import logging
import os
import socket
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from losstune.extras import driver_fix, install_hint
from losstune.urls import mask_password, mask_passwords, missing_driver, with_driver

logger = logging.getLogger("losstune")

HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120
MAX_RETRY = 2
TRACKING_URI_ATTR = "mlflow_tracking_uri"
WORKER_ID_ATTR = "worker_id"
SEED_ATTR = "sampler_seed"

Callback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]

_FINISHED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
)


def is_sqlite(url: str) -> bool:
    """Whether the storage URL is an SQLite file (or memory) database."""
    return url.startswith("sqlite")


def open_storage(
    url: str,
    *,
    workers_expected: int | None = None,
    heartbeat_interval: int = HEARTBEAT_INTERVAL_S,
    grace_period: int = GRACE_PERIOD_S,
    max_retry: int | None = MAX_RETRY,
) -> RDBStorage:
    """An Optuna RDB storage at ``url`` with heartbeats, where a stale trial is retried.

    Args:
        url: a SQLAlchemy URL, e.g. ``postgresql://user@host:5432/db``.
        workers_expected: how many processes run trials of the study at once, the search
            process included; None means several. SQLite is refused unless it is 1.
        heartbeat_interval: seconds between a running trial's heartbeats.
        grace_period: seconds without a heartbeat after which a RUNNING trial is failed
            (its worker is taken for dead) and retried.
        max_retry: how many times one trial is retried after going stale (None: no limit).
            A trial that kills its worker every time (out of memory) stops being retried.

    Raises:
        ValueError: SQLite for several workers, bad settings, or a database that cannot be
            reached (the message names the URL, password hidden).
    """
    if is_sqlite(url) and workers_expected != 1:
        raise ValueError(
            f"SQLite storage ({mask_password(url)}) cannot be shared by "
            f"{workers_expected or 'several'} workers: SQLite locks the whole file, so parallel "
            "workers fail with 'database is locked' (optuna/optuna#820). Put the study on "
            "PostgreSQL: --storage postgresql://USER@HOST:5432/DB (its driver: "
            f"{install_hint('postgres')}), for the search and every worker."
        )
    if workers_expected is not None and workers_expected < 1:
        raise ValueError(f"workers_expected must be >= 1 or None; got {workers_expected}.")
    _check_seconds("heartbeat_interval", heartbeat_interval)
    _check_seconds("grace_period", grace_period)
    if grace_period <= heartbeat_interval:
        raise ValueError(
            f"grace_period ({grace_period} s) must exceed heartbeat_interval "
            f"({heartbeat_interval} s), or live trials are failed between two heartbeats; "
            f"use e.g. grace_period={4 * heartbeat_interval}."
        )
    import sqlalchemy

    url = with_driver(url)
    driver = missing_driver(url)
    if driver is not None:
        raise ValueError(
            f"Cannot open the Optuna storage {mask_password(url)}: its database driver is not "
            f"installed; {driver_fix(driver)}."
        )
    engine_kwargs = {} if is_sqlite(url) else {"pool_pre_ping": True}
    with warnings.catch_warnings():
        # heartbeats and the retry callback are marked experimental since Optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=RetryStaleTrial(max_retry),
            )
        except (sqlalchemy.exc.SQLAlchemyError, ImportError) as err:
            raise ValueError(
                f"Cannot open the Optuna storage {mask_password(url)}: "
                f"{mask_passwords(str(err))}. Check the URL, that the database exists and "
                "accepts connections, and that its driver is installed."
            ) from None


@dataclass(frozen=True)
class Heartbeats:
    """How often a process running a trial records a heartbeat (``interval``) and after how
    long without one a RUNNING trial is failed and retried (``grace_period``), in seconds;
    None: the search's settings (see :func:`open_storage`)."""

    interval: int | None = None
    grace_period: int | None = None

    def __post_init__(self) -> None:
        for name, value in (
            ("heartbeat_interval", self.interval),
            ("grace_period", self.grace_period),
        ):
            if value is not None:
                _check_seconds(name, value)


def shared_storage(storage: str | optuna.storages.BaseStorage) -> tuple[Any, bool]:
    """What :func:`losstune.search` hands Optuna for ``storage``, and whether workers may
    share it: an SQLite URL is passed on as is (one process, not shared); another URL is
    opened with :func:`open_storage`; a storage instance is used as given (shared)."""
    if isinstance(storage, str):
        if is_sqlite(storage):
            return storage, False
        return open_storage(storage), True
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage, True
    raise TypeError(
        f"storage must be a URL or an Optuna storage (see open_storage); got {storage!r}."
    )


def storage_url(storage: str | optuna.storages.BaseStorage) -> str:
    """The URL to load the study from (see :func:`with_driver`), or the storage's class name
    when it has none."""
    if isinstance(storage, str):
        return with_driver(storage)
    return str(getattr(storage, "url", type(storage).__name__))


class RetryStaleTrial:
    """Optuna's :class:`~optuna.storages.RetryHeartbeatStaleTrialCallback` (the stale trial
    is enqueued again with its parameters; the retry's system attr ``failed_trial`` names the
    original), and the stale trial's MLflow run is ended KILLED with tag state ``failed``.

    Optuna calls it in the process that found the trial stale, once per trial. The MLflow
    store is ``tracking_uri``, which the search or worker sets to the URI it tracks to (with
    its password); until then it is the study's ``mlflow_tracking_uri`` attr, stored without
    a password (libpq or MLflow then read it from this process's environment)."""

    def __init__(self, max_retry: int | None = MAX_RETRY) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        self.tracking_uri: str | None = None

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        worker = trial.user_attrs.get(WORKER_ID_ATTR, "?")
        logger.warning(
            "trial %d stopped sending heartbeats (worker %s killed or lost); it is retried",
            trial.number,
            worker,
        )
        self._retry(study, trial)
        _kill_mlflow_run(study, trial, worker, self.tracking_uri)


def track_stale_trials_in(storage: Any, tracking_uri: str) -> None:
    """Have ``storage``'s stale-trial callback (a :class:`RetryStaleTrial`) end stale trials'
    MLflow runs in ``tracking_uri``, this process's own URI with its password."""
    get_callback = getattr(storage, "get_heartbeat_stale_trial_callback", None) or getattr(
        storage, "get_failed_trial_callback", None
    )  # the latter before Optuna 4.9
    callback = get_callback() if get_callback is not None else None
    if isinstance(callback, RetryStaleTrial):
        callback.tracking_uri = tracking_uri


def _kill_mlflow_run(
    study: optuna.Study, trial: optuna.trial.FrozenTrial, worker: Any, tracking_uri: str | None
) -> None:
    run_id = trial.user_attrs.get("mlflow_run_id")
    tracking_uri = tracking_uri or study.user_attrs.get(TRACKING_URI_ATTR)
    if run_id is None or tracking_uri is None:
        return
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(with_driver(tracking_uri))
        if client.get_run(run_id).info.status != "RUNNING":
            return
        client.set_tag(run_id, "state", "failed")
        client.set_tag(run_id, "error", f"worker {worker} stopped sending heartbeats; retried")
        client.set_terminated(run_id, "KILLED")
    except (MlflowException, ImportError) as err:
        logger.warning(
            "could not mark the MLflow run %s of trial %d killed: %s",
            run_id,
            trial.number,
            mask_passwords(str(err)),
        )


def counted_trials(study: optuna.Study) -> int:
    """Finished trials that count against the budget: interrupted trials that were retried
    (after a killed search, or a stale heartbeat) do not, their retries do."""
    trials = study.get_trials(deepcopy=False)
    retried = set(study.user_attrs.get("interrupted_trials", []))
    for trial in trials:
        retried.update(trial.system_attrs.get("retry_history", []))
    return sum(t.state in _FINISHED and t.number not in retried for t in trials)


class StudyBudget:
    """A ``study.optimize`` callback that stops this process once the study (all processes
    together) has ``n_trials`` counted trials. Trials still running elsewhere then finish,
    so the study may end with up to one trial per other process more."""

    def __init__(self, n_trials: int) -> None:
        self.n_trials = n_trials

    def reached(self, study: optuna.Study) -> bool:
        return counted_trials(study) >= self.n_trials

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if self.reached(study):
            study.stop()


def _check_seconds(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of seconds >= 1; got {value!r}.")


def worker_seed(seed: int, worker_id: int) -> int:
    """The sampler seed of worker ``worker_id`` in a search seeded ``seed``.

    Worker 0, the process that ran ``search()``, keeps ``seed`` itself (a search without
    workers samples as it always did); worker ``i >= 1`` gets the first 32-bit word of
    ``numpy.random.SeedSequence(seed, spawn_key=(i,))``: the same in any process, distinct
    per worker.
    """
    for name, value in (("seed", seed), ("worker_id", worker_id)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number >= 0; got {value!r}.")
    if worker_id == 0:
        return seed
    return int(np.random.SeedSequence(seed, spawn_key=(worker_id,)).generate_state(1)[0])


@dataclass(frozen=True)
class Worker:
    """One process running trials of a search: its id, its sampler seed (None for a sampler
    instance) and the callbacks its trial loop needs."""

    worker_id: int
    sampler_seed: int | None
    callbacks: tuple[Callback, ...] = field(default=())

    @property
    def tags(self) -> dict[str, str]:
        """The MLflow tags of each of its trial runs."""
        return {
            "losstune.worker_id": str(self.worker_id),
            "losstune.sampler_seed": str(self.sampler_seed),
            "losstune.host": socket.gethostname(),
        }

    @property
    def trial_attrs(self) -> dict[str, Any]:
        """The Optuna user attrs of each of its trials: its id and sampler seed."""
        return {WORKER_ID_ATTR: self.worker_id, SEED_ATTR: self.sampler_seed}

    def budget_reached(self, study: optuna.Study) -> bool:
        """Whether the study as a whole has the search's trials (never, without a budget)."""
        return any(isinstance(c, StudyBudget) and c.reached(study) for c in self.callbacks)

    def announce(self, tracker: Any) -> None:
        """Tag each trial run (via ``tracker``) and the parent run with this worker."""
        tracker.trial_tags.update(self.tags)
        prefix = f"losstune.worker.{self.worker_id}"
        tracker.set_tags(
            {
                f"{prefix}.sampler_seed": str(self.sampler_seed),
                f"{prefix}.host": f"{socket.gethostname()} (pid {os.getpid()})",
            }
        )
