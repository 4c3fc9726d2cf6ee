"""Workers: more processes, on this machine or others, running trials of one search.

``search(dataset, storage="postgresql://...")`` (or ``losstune search ... --storage``) creates
the study and records in its user attrs what a worker needs to run its trials (the
:class:`SearchSpec`: space, metric, seed, sampler, pruner, MLflow tracking URI and parent
run, how the CLI loaded the data). ``losstune worker --study NAME --storage URL --worker-id 1``
or :func:`join_search` then rebuilds that context and runs trials of the same study:

- every worker can read the study, so it holds no password: the tracking URI is recorded
  without one (:func:`~losstune.urls.without_password`). A worker supplies it from its own
  environment (``PGPASSWORD`` or ``~/.pgpass``, read by libpq, for a PostgreSQL store;
  ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` for an MLflow server), or is given
  the whole URI (``tracking_uri=`` / ``--tracking-uri``), which replaces the recorded one.
- a worker only runs trials. The final selection (multi-seed re-training of the best
  configurations), the recipe and the search's artifacts stay with the process that ran
  ``search()``; it uses the trials finished when its own trial loop ends. A worker's trials
  are in the same study and nested under the same MLflow parent run, so they appear in the
  same leaderboard.
- a worker stops after its own ``n_trials`` or ``timeout``, or when the study has as many
  counted trials as the search's trial budget, whichever comes first; with none of these
  (a search budgeted by duration) it runs for the search's duration.
- worker ids are explicit whole numbers: 0 is the process that ran ``search()``, workers are
  1, 2, ... Worker ``i``'s sampler is seeded by :func:`worker_seed` from the search seed and
  ``i``, so a run can be explained and repeated; every trial records its worker id and sampler
  seed (Optuna user attrs ``worker_id``/``sampler_seed``, MLflow tags ``losstune.worker_id``/
  ``losstune.sampler_seed``) and the parent run records each worker's seed and host. Give each
  worker its own id: two workers with one id draw from the same seed.
- the study must live in a database server (PostgreSQL); SQLite is refused for workers
  (:mod:`losstune.search.storage`). A worker killed mid-trial stops sending heartbeats; after
  the grace period the next process to start a trial fails it (Optuna state FAIL, MLflow
  run KILLED) and enqueues it again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage

from losstune.data import Dataset, load_dataset
from losstune.search.lifecycle import (
    EXPECTED_FAILURES,
    FINGERPRINT,
    PARENT_RUN_ID,
    OnEpoch,
    TrialContext,
    run_trial,
)
from losstune.search.samplers import make_pruner, make_sampler
from losstune.search.session import SearchSession
from losstune.search.storage import (
    GRACE_PERIOD_S,
    HEARTBEAT_INTERVAL_S,
    TRACKING_URI_ATTR,
    Heartbeats,
    StudyBudget,
    Worker,
    open_storage,
    track_stale_trials_in,
    worker_seed,
)
from losstune.spaces import Choice, Fixed, Float, Int, Param, SearchSpace, When
from losstune.urls import has_password, mask_password, without_password

logger = logging.getLogger("losstune")

SPEC_ATTR = "search_spec"
SPEC_VERSION = 2
WORKERS_ATTR = "worker_ids"
DATA_KEYS = ("path", "target", "task", "drop", "split_seed")


@dataclass(frozen=True)
class SearchSpec:
    """What a worker needs to run trials of a search, as recorded in the study."""

    space: SearchSpace | None  # None: the space could not be recorded as data
    metric: str
    seed: int
    epochs: int
    sampler: str | None  # None: the search was given a sampler instance
    pruner: str | None
    tracking_uri: str  # without its password: every worker reads the study
    data: dict[str, Any] | None  # how the CLI loaded the data; None: an in-memory dataset
    n_trials: int | None
    timeout: float | None
    heartbeat_interval: int | None
    grace_period: int | None

    def to_attr(self) -> dict[str, Any]:
        """The spec as JSON-ready data (Optuna stores user attrs as JSON)."""
        return {
            "version": SPEC_VERSION,
            "space": None if self.space is None else space_to_data(self.space),
            "metric": self.metric,
            "seed": self.seed,
            "epochs": self.epochs,
            "sampler": self.sampler,
            "pruner": self.pruner,
            "tracking_uri": self.tracking_uri,
            "data": self.data,
            "n_trials": self.n_trials,
            "timeout": self.timeout,
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
        }

    @classmethod
    def from_attrs(cls, study_name: str, attrs: Mapping[str, Any]) -> SearchSpec:
        """The spec recorded in a study's user attrs ``attrs``."""
        data = attrs.get(SPEC_ATTR)
        if not isinstance(data, Mapping) or data.get("version") != SPEC_VERSION:
            raise ValueError(
                f"Study {study_name!r} has no losstune search spec (version {SPEC_VERSION}): it "
                "was not created by losstune.search(), or by an older losstune. Start the "
                "search with this version, then the workers."
            )
        space = None if data["space"] is None else space_from_data(data["space"])
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k != "space"}
        return cls(space=space, **fields)


def space_to_data(space: SearchSpace) -> dict[str, Any]:
    """``space`` as nested JSON-ready data, exact (unlike :meth:`SearchSpace.to_dict`, which
    is flat and cannot tell a Float from an Int with whole bounds): its parameters and the
    conditions of those that have one (:class:`~losstune.spaces.When`)."""
    return {
        "params": {name: _param_to_data(param) for name, param in space.params.items()},
        "when": {
            name: {"path": when.path, "options": list(when.options)}
            for name, when in space.when.items()
        },
    }


def space_from_data(data: Mapping[str, Any]) -> SearchSpace:
    """The space :func:`space_to_data` wrote."""
    params = {name: _param_from_data(value) for name, value in data["params"].items()}
    when = {
        name: When(value["path"], tuple(value["options"])) for name, value in data["when"].items()
    }
    return SearchSpace(params, when)


def _param_to_data(param: Param) -> dict[str, Any]:
    if isinstance(param, Float | Int):
        kind = "float" if isinstance(param, Float) else "int"
        return {"kind": kind, "low": param.low, "high": param.high, "log": param.log}
    if isinstance(param, Choice):
        children = {
            option: {name: _param_to_data(child) for name, child in params.items()}
            for option, params in param.children.items()
        }
        return {"kind": "choice", "options": list(param.options), "children": children}
    return {"kind": "fixed", "value": param.value}


def _param_from_data(data: Mapping[str, Any]) -> Param:
    kind = data["kind"]
    if kind in ("float", "int"):
        make = Float if kind == "float" else Int
        return make(data["low"], data["high"], log=data["log"])
    if kind == "choice":
        children = {
            option: {name: _param_from_data(child) for name, child in params.items()}
            for option, params in data["children"].items()
        }
        return Choice(tuple(data["options"]), children=children)
    return Fixed(data["value"])


def _recordable_space(space: SearchSpace) -> SearchSpace | None:
    """``space`` if it survives JSON (a Fixed tuple would come back a list), else None."""
    try:
        back = space_from_data(json.loads(json.dumps(space_to_data(space))))
    except (TypeError, ValueError):
        return None
    return space if back == space else None


def file_source(
    path: str | os.PathLike[str],
    target: str,
    task: str | None = None,
    drop: Sequence[str] = (),
    split_seed: int = 0,
) -> dict[str, Any]:
    """How a worker reloads a dataset from a file: ``load_dataset(path, target=target,
    task=task, drop=drop, seed=split_seed)``. The CLI passes it to ``search()``."""
    return {
        "path": str(Path(path).resolve()),
        "target": target,
        "task": task,
        "drop": list(drop),
        "split_seed": split_seed,
    }


def register_search(session: SearchSession) -> Worker:
    """Record the search's spec in its study for workers (every direct search does; only a
    shared storage lets workers join) and set up the search process as worker 0.

    The study gets the MLflow tracking URI without its password (every worker, and whoever
    can read the database, reads the study); the search process keeps using the whole URI."""
    study, tracker, config = session.anchor, session.tracker, session.config
    if study is None or tracker is None:
        raise RuntimeError("register_search() runs inside session.open().")
    recordable = _recordable_space(session.space)
    if recordable is None and session.shared:
        logger.warning("the search space cannot be recorded as data; workers cannot join")
    spec = SearchSpec(
        space=recordable,
        metric=session.metric,
        seed=config.seed,
        epochs=session.epochs,
        sampler=_spec_name(config.sampler),
        pruner=_spec_name(session.pruner if session.pruner is not None else "none"),
        tracking_uri=without_password(tracker.tracking_uri),
        data=_checked_source(session.run.data_source),
        n_trials=config.budget.n_trials,
        timeout=config.budget.timeout,
        heartbeat_interval=getattr(session.storage, "heartbeat_interval", None),
        grace_period=getattr(session.storage, "grace_period", None),
    )
    study.set_user_attr(SPEC_ATTR, spec.to_attr())
    study.set_user_attr(TRACKING_URI_ATTR, spec.tracking_uri)
    track_stale_trials_in(session.storage, tracker.tracking_uri)
    n_trials = config.budget.n_trials
    worker = Worker(
        0,
        config.seed if isinstance(config.sampler, str) else None,
        (StudyBudget(n_trials),) if session.shared and n_trials is not None else (),
    )
    worker.announce(tracker)
    if session.shared:
        logger.warning(
            "workers can join this search: losstune worker --study %s --storage %s "
            "--worker-id 1 (2, 3, ...)",
            study.study_name,
            mask_password(getattr(session.storage, "url", "URL")),
        )
        if has_password(tracker.tracking_uri):
            logger.warning(
                "the study records the MLflow tracking URI without its password (%s); give "
                "workers the password in their environment (PGPASSWORD or ~/.pgpass for "
                "PostgreSQL, MLFLOW_TRACKING_PASSWORD for an MLflow server) or the whole URI "
                "(losstune worker --tracking-uri)",
                spec.tracking_uri,
            )
    return worker


@dataclass(frozen=True)
class WorkerRun:
    """What one :func:`join_search` call did: as which worker, with what sampler seed, and how
    many trials it ran."""

    worker_id: int
    sampler_seed: int
    trials: int


def join_search(
    study_name: str,
    storage: str | RDBStorage,
    dataset: Dataset | str | os.PathLike[str] | None = None,
    *,
    worker_id: int | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    device: str = "auto",
    heartbeats: Heartbeats | None = None,
    tracking_uri: str | None = None,
    on_epoch: OnEpoch | None = None,
) -> WorkerRun:
    """Run trials of the search ``study_name`` in ``storage`` as worker ``worker_id``;
    return its id, sampler seed and how many trials it ran (see the module doc for when it
    stops).

    Args:
        study_name, storage: the study that ``search()`` created, on a database server
            (``postgresql://user@host:5432/db``); an SQLite URL is refused. A storage from
            :func:`~losstune.search.storage.open_storage` is used as is (with
            ``workers_expected=1`` it may be SQLite, when no other process runs the study).
        dataset: the search's dataset. None reloads the file the search (CLI) read, with the
            same options; a path loads that file instead with the same options (the data
            lives elsewhere on this machine); a :class:`Dataset` is used as is (a search
            started from Python with an in-memory dataset needs it). Its fingerprint must be
            the search's.
        worker_id: this worker's id, 1, 2, ... (0 is the search process), or None for the
            next id no worker of the study has taken (:func:`register_worker`); it seeds the
            sampler (:func:`worker_seed`).
        n_trials, timeout: this worker's own limits (trials, seconds).
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        heartbeats: for a storage URL, the heartbeat interval and grace period; None (or a
            None field) takes the search's (see :func:`losstune.search.storage.open_storage`).
        tracking_uri: the MLflow tracking URI, with its password, replacing the one the study
            records (which has none); None: the recorded one, with the password from this
            process's environment (``PGPASSWORD``/``~/.pgpass``, ``MLFLOW_TRACKING_PASSWORD``).
        on_epoch: called as ``on_epoch(trial_number, epoch, metrics)`` after every epoch.

    Raises:
        ValueError: SQLite storage, no such study, a study without a spec, another dataset,
            or bad arguments; the message says what to do.
    """
    _check_worker_args(worker_id, n_trials, timeout)
    attrs, optuna_storage = _open(study_name, storage, heartbeats)
    spec = SearchSpec.from_attrs(study_name, attrs)
    _check_heartbeats(optuna_storage, spec)
    _check_spec_usable(study_name, spec)
    data = _worker_dataset(dataset, spec, study_name)
    _check_same_data(study_name, attrs, data)
    worker_id = register_worker(optuna_storage, study_name, worker_id)
    seed = worker_seed(spec.seed, worker_id)
    study = optuna.load_study(
        study_name=study_name,
        storage=optuna_storage,
        sampler=make_sampler(spec.sampler or "tpe", seed),  # checked: not None
        pruner=make_pruner(spec.pruner),
    )
    budget = StudyBudget(spec.n_trials) if spec.n_trials is not None else None
    if n_trials is None and timeout is None and budget is None:
        timeout = spec.timeout
    worker = Worker(worker_id, seed, (budget,) if budget is not None else ())
    if budget is not None and budget.reached(study):
        logger.warning(
            "study %s already has its %d trials; nothing to do", study_name, spec.n_trials
        )
        return WorkerRun(worker_id, seed, 0)
    uri = _tracking_uri(spec, tracking_uri)
    track_stale_trials_in(optuna_storage, uri)
    context = _worker_context(spec, attrs[PARENT_RUN_ID], data, worker, (device, on_epoch, uri))
    ran: list[int] = []
    study.optimize(
        lambda trial: run_trial(trial, context),
        n_trials=n_trials,
        timeout=timeout,
        catch=EXPECTED_FAILURES,
        callbacks=[*worker.callbacks, lambda _study, trial: ran.append(trial.number)],
    )
    return WorkerRun(worker_id, seed, len(ran))


def _check_same_data(study_name: str, attrs: Mapping[str, Any], data: Dataset) -> None:
    """Refuse a worker whose data is not the search's (another fingerprint)."""
    if data.fingerprint != attrs.get(FINGERPRINT):
        raise ValueError(
            f"Study {study_name!r} searches another dataset (fingerprint "
            f"{str(attrs.get(FINGERPRINT))[:12]}, this one {data.fingerprint[:12]}); "
            "give the worker the search's data (same file, target, task, dropped columns and "
            "split seed)."
        )


def _check_worker_args(worker_id: Any, n_trials: Any, timeout: Any) -> None:
    if worker_id is not None and (
        isinstance(worker_id, bool) or not isinstance(worker_id, int) or worker_id < 1
    ):
        raise ValueError(
            f"worker_id must be a whole number >= 1 (0 is the process that ran search()); "
            f"got {worker_id!r}. Give each worker its own id."
        )
    if n_trials is not None and (isinstance(n_trials, bool) or n_trials < 1):
        raise ValueError(f"n_trials must be a whole number >= 1 or None; got {n_trials!r}.")
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds; got {timeout!r}.")


def _check_heartbeats(storage: RDBStorage, spec: SearchSpec) -> None:
    own_interval = storage.heartbeat_interval
    grace = storage.grace_period or 2 * (own_interval or 0)
    if own_interval is not None and spec.heartbeat_interval and grace <= spec.heartbeat_interval:
        raise ValueError(
            f"grace_period={grace} s would fail the search process's live trials: it sends a "
            f"heartbeat every {spec.heartbeat_interval} s. Use a longer grace_period."
        )


def _worker_context(
    spec: SearchSpec,
    parent_run_id: str,
    data: Dataset,
    worker: Worker,
    where: tuple[str, OnEpoch | None, str],
) -> TrialContext:
    """The trial context of a worker: the search's, tracked under its parent run in the
    tracking URI ``where[2]``, with the worker's id and seed on every trial."""
    from losstune.mlflow import SearchTracker

    if spec.space is None:
        raise ValueError("The search's space was not recorded; workers cannot join it.")
    device, on_epoch, tracking_uri = where
    tracker = SearchTracker(tracking_uri)
    tracker.attach_search(parent_run_id)
    worker.announce(tracker)
    return TrialContext(
        data,
        spec.space,
        spec.metric,
        spec.seed,
        device,
        tracker,
        on_epoch,
        trial_attrs=worker.trial_attrs,
    )


def register_worker(storage: RDBStorage, study_name: str, worker_id: int | None) -> int:
    """This worker's id, recorded in the study's user attr ``worker_ids``: ``worker_id`` as
    given, or the smallest id above every id taken so far (1, 2, ...). On PostgreSQL the
    read and the write happen under a transaction-scoped advisory lock on the study, so
    workers that start together get distinct ids (and so distinct sampler seeds)."""
    import sqlalchemy

    study_id = storage.get_study_id_from_name(study_name)
    key = int.from_bytes(hashlib.blake2b(study_name.encode(), digest_size=8).digest(), "big")
    with storage.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - (1 << 63)}
            )
        taken = list(storage.get_study_user_attrs(study_id).get(WORKERS_ATTR, []))
        chosen = worker_id if worker_id is not None else max([0, *taken]) + 1
        if chosen not in taken:
            storage.set_study_user_attr(study_id, WORKERS_ATTR, sorted([*taken, chosen]))
    return chosen


def _open(
    study_name: str, storage: str | RDBStorage, heartbeats: Heartbeats | None
) -> tuple[dict[str, Any], RDBStorage]:
    """The study's user attrs (they define the sampler, so they are read first) and the
    storage to run its trials on: a URL is opened with the search's heartbeat settings unless
    given others; an :class:`RDBStorage` is used as is."""
    heartbeats = heartbeats or Heartbeats()
    if isinstance(storage, RDBStorage):
        if heartbeats != Heartbeats():
            raise ValueError(
                "Give heartbeat_interval and grace_period to open_storage() when passing a "
                "storage instance, not heartbeats to join_search()."
            )
        return _study_attrs(study_name, storage, storage.url), storage
    if not isinstance(storage, str):
        raise TypeError(f"storage must be a URL or an RDBStorage; got {storage!r}.")
    reader = open_storage(storage, workers_expected=None)  # SQLite: raises, naming PostgreSQL
    try:
        attrs = _study_attrs(study_name, reader, storage)
    finally:
        reader.engine.dispose()
    recorded = attrs.get(SPEC_ATTR)
    spec: Mapping[str, Any] = recorded if isinstance(recorded, Mapping) else {}
    interval = heartbeats.interval or spec.get("heartbeat_interval") or HEARTBEAT_INTERVAL_S
    grace = heartbeats.grace_period or spec.get("grace_period") or max(GRACE_PERIOD_S, 4 * interval)
    opened = open_storage(
        storage, workers_expected=None, heartbeat_interval=interval, grace_period=grace
    )
    return attrs, opened


def _study_attrs(study_name: str, storage: RDBStorage, url: str) -> dict[str, Any]:
    try:
        return storage.get_study_user_attrs(storage.get_study_id_from_name(study_name))
    except KeyError:
        names = [s.study_name for s in storage.get_all_studies()]
        known = f" Studies there: {', '.join(names[:10])}." if names else " It has no studies."
        raise ValueError(
            f"No study {study_name!r} in {mask_password(url)}; start the search first "
            f"(losstune search ... --storage URL --study-name {study_name}).{known}"
        ) from None


def _check_spec_usable(study_name: str, spec: SearchSpec) -> None:
    missing = [
        name
        for name, value in (
            ("space", spec.space),
            ("sampler", spec.sampler),
            ("pruner", spec.pruner),
        )
        if value is None
    ]
    if missing:
        raise ValueError(
            f"Study {study_name!r} was searched with a {', '.join(missing)} that could not be "
            "recorded (an Optuna sampler/pruner instance, or a space that is not plain data), "
            "so workers cannot rebuild it; search with sampler and pruner names to use workers."
        )


def _worker_dataset(
    dataset: Dataset | str | os.PathLike[str] | None, spec: SearchSpec, study_name: str
) -> Dataset:
    if isinstance(dataset, Dataset):
        return dataset
    if spec.data is None:
        raise ValueError(
            f"Study {study_name!r} was searched on an in-memory dataset (from Python), so a "
            "worker cannot reload it: pass the same Dataset to join_search(dataset=...)."
        )
    source = dict(spec.data)
    path = Path(dataset) if dataset is not None else Path(source["path"])
    return load_dataset(
        path,
        target=source["target"],
        task=source["task"],
        drop=tuple(source["drop"]),
        seed=source["split_seed"],
    )


def _tracking_uri(spec: SearchSpec, given: str | None) -> str:
    """The MLflow store this worker tracks to: ``given`` (the whole URI, from --tracking-uri)
    or the one the study records, if this machine can reach it."""
    if given is not None:
        if not isinstance(given, str) or not given:
            raise ValueError(f"tracking_uri must be an MLflow tracking URI; got {given!r}.")
        return given
    uri = spec.tracking_uri
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        if not path.is_file():
            raise ValueError(
                f"The search tracks its trials in a local MLflow store ({uri}) that this "
                "machine does not have. Run the search with --tracking-uri pointing at an "
                "MLflow tracking server that every worker can reach."
            )
    return uri


def _checked_source(source: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if source is None:
        return None
    unknown = sorted(set(source) - set(DATA_KEYS))
    if unknown or "path" not in source or "target" not in source:
        raise ValueError(
            f"data_source needs 'path' and 'target' (and optionally task, drop, split_seed), "
            f"as losstune.search.worker.file_source() builds it; got keys {sorted(source)}."
        )
    return file_source(
        source["path"],
        source["target"],
        source.get("task"),
        source.get("drop", ()),
        source.get("split_seed", 0),
    )


def _spec_name(thing: Any) -> str | None:
    """The registry name of a sampler or pruner, None for an instance."""
    if isinstance(thing, str):
        return thing
    return None
