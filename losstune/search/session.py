"""One search's setup and teardown, done once for every strategy and executor.

A :class:`SearchSession` resolves what the search needs (metric and scorer, space, epochs,
default recipe, run folder, storage, study name), then :meth:`SearchSession.open` takes the
study lock, opens the MLflow parent run (or resumes it), checks that a resumed study is the
same search, and ends the parent run KILLED (Ctrl-C or SIGTERM: it raises
:class:`~losstune.search.interrupts.SearchInterrupted`; run the search again to resume) or
FAILED (an error) on every way out but success. Executors ask it for the Optuna study of a
stage and for the context its trials share.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from losstune.data import Dataset
from losstune.metrics import Metric, default_metric, get_metric
from losstune.recipe import Recipe
from losstune.search.config import RunConfig, SearchConfig
from losstune.search.interrupts import (
    SearchInterrupted,
    quiet_interrupts,
    requested_signal,
    signal_name,
    stop_at_stop_points,
)
from losstune.search.lifecycle import (
    DEFAULT_RECIPE,
    FINGERPRINT,
    INTERRUPTED,
    INTERRUPTED_TRIAL,
    METRIC,
    ORIGIN,
    PARENT_RUN_ID,
    PORTFOLIO_MEMBER,
    RETRY_OF,
    TrialContext,
)
from losstune.search.lock import study_lock
from losstune.search.progress import SearchProgress
from losstune.search.samplers import make_pruner, make_sampler
from losstune.search.storage import shared_storage
from losstune.spaces import (
    Fixed,
    SearchSpace,
    check_space,
    default_space,
    offered_models,
    recipe_in_space,
    recipe_to_config,
)
from losstune.task import Task
from losstune.urls import mask_password

if TYPE_CHECKING:
    from losstune.data.diagnosis import DataDiagnosis
    from losstune.mlflow import SearchTracker
    from losstune.search.storage import Worker

logger = logging.getLogger("losstune")

WARM_START_TRIALS = 8
"""Portfolio members a search tries after the default recipe, at most a third of a trial
budget (40 trials: 8; 12 trials: 4), so the sampler keeps most of it."""


@dataclass(frozen=True)
class Stage:
    """The trials of one study of a search: all of a direct search, or one proxy (or the
    full-size confirmation) of a transfer search.

    Args:
        name: ``""`` for the search's own study; else the study is ``<study>-<name>`` and
            each trial's MLflow run records ``stage=name``.
        dataset, space: what its trials train on and sample from.
        n_trials, timeout: its budget (``n_trials`` counts the study's finished trials).
        enqueue: configurations carried from an earlier stage (a transfer search's), tried
            after the default.
        default: the default recipe's configuration, enqueued first and marked as such.
        warm: the warm-start portfolio's members for the data (name, configuration), tried
            after those, before the sampler's own.
        seed_offset: its sampler is seeded ``seed + seed_offset``.
        trial_offset: its MLflow runs are numbered from here (one sequence for all stages).
    """

    name: str
    dataset: Dataset
    space: SearchSpace
    n_trials: int | None
    timeout: float | None = None
    enqueue: tuple[Mapping[str, Any], ...] = ()
    default: Mapping[str, Any] | None = None
    warm: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    seed_offset: int = 0
    trial_offset: int = 0

    def queue(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """The configurations its study starts with, in order, each with the trial user
        attributes that say where it came from (:data:`~losstune.search.lifecycle.ORIGIN`)."""
        queued = []
        if self.default is not None:
            queued.append((dict(self.default), {DEFAULT_RECIPE: True, ORIGIN: "default"}))
        queued += [(dict(config), {ORIGIN: "transfer"}) for config in self.enqueue]
        for name, config in self.warm:
            queued.append((dict(config), {ORIGIN: "portfolio", PORTFOLIO_MEMBER: name}))
        return queued


@dataclass(frozen=True)
class StageRun:
    """What an executor hands back for a stage: its study, and the storage URL to load that
    study from (:meth:`Result.study`)."""

    study: optuna.Study
    storage: str


@dataclass
class SearchSession:
    """The resolved setup of one search (see the module doc); build with :meth:`create`."""

    dataset: Dataset
    space: SearchSpace
    config: SearchConfig
    run: RunConfig
    metric: str
    scorer: Metric
    epochs: int
    default: Recipe
    study_name: str
    pruner: Any
    storage: Any = None
    shared: bool = False
    tracker: SearchTracker | None = None
    worker: Worker | None = None
    progress: SearchProgress | None = None
    optuna_pruning: bool = True
    diagnosis: DataDiagnosis | None = None
    anchor: optuna.Study | None = field(default=None, repr=False)
    started: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float | None:
        """When a duration budget ends (``time.monotonic()``; None: no duration budget): the
        trials stop early enough that the final re-training ends by then too."""
        timeout = self.config.budget.timeout
        return None if timeout is None else self.started + timeout

    @property
    def final_runs(self) -> int:
        """Training runs of the final selection: the top configurations and the default,
        each on every evaluation seed."""
        return (self.config.top_k + 1) * self.config.n_seeds

    @classmethod
    def create(
        cls,
        dataset: Dataset,
        space: SearchSpace | None,
        config: SearchConfig,
        run: RunConfig,
        pruning: tuple[str, bool],
        suffix: str = "",
    ) -> SearchSession:
        """Resolve metric, scorer, space, epochs, default recipe and study name (no I/O but
        the metric announcement). ``pruning``: what ``pruner="auto"`` means on the executor,
        and whether its pruner is Optuna's (else the studies get none: a Ray scheduler
        stops the trials); ``suffix`` ends a derived study name (a strategy's)."""
        metric = config.metric or announce_default_metric(dataset)
        scorer = get_metric(metric, dataset.task)
        if space is None:
            space = default_space(dataset.task, epochs=config.epochs, models=config.models)
        else:
            if config.models is not None:
                space = space.restrict("model", list(config.models))
            check_space(space)  # a value the recipe refuses would fail every trial
        fixed = space.paths().get("epochs")
        epochs = int(fixed.value) if isinstance(fixed, Fixed) else config.epochs
        default = default_recipe(dataset.task, metric, space, epochs, config.seed)
        name = run.study_name or default_study_name(dataset, metric, space, config.seed) + suffix
        default_pruner, optuna_pruning = pruning
        pruner = default_pruner if config.pruner == "auto" else config.pruner
        return cls(
            dataset, space, config, run, metric, scorer, epochs, default, name, pruner,
            optuna_pruning=optuna_pruning, diagnosis=diagnosis_of(dataset, config.seed),
        )  # fmt: skip

    # -- open and close ----------------------------------------------------------------------

    @contextlib.contextmanager
    def open(self, params: Mapping[str, Any], tags: Mapping[str, Any]) -> Iterator[SearchSession]:
        """Lock the study, open (or resume) the MLflow parent run with ``params`` and
        ``tags``, and close it KILLED or FAILED if the block raises."""
        run_path = self.run.run_dir
        run_path.mkdir(parents=True, exist_ok=True)
        optuna_url = self.run.storage or f"sqlite:///{run_path / 'optuna.db'}"
        with readable_store("Optuna storage", optuna_url):
            self.storage, self.shared = shared_storage(optuna_url)
        lock = contextlib.nullcontext() if self.shared else study_lock(run_path, self.study_name)
        with lock, quiet_optuna(self.run.show_progress), quiet_interrupts(), stop_at_stop_points():
            with readable_store("Optuna storage", optuna_url):
                anchor = self._create_study(self.study_name, self.config.seed, self.config.sampler)
            self.tracker, tracking_url = self._open_tracker(anchor)
            with readable_store("MLflow tracking store", tracking_url):
                self.anchor = self._open_anchor(anchor, self.tracker, params, tags)
            try:
                yield self
            except KeyboardInterrupt as err:  # Ctrl-C or SIGTERM: resumable, nothing lost
                self.tracker.finish_search("KILLED")
                if isinstance(err, SearchInterrupted):
                    raise
                name = requested_signal() or signal_name(err)
                raise SearchInterrupted(self.study_name, name) from err
            except BaseException:
                self.tracker.finish_search("FAILED")
                raise

    def _open_tracker(self, anchor: optuna.Study) -> tuple[SearchTracker, str]:
        """The MLflow tracker and its URL: on the experiment of this dataset (or the
        ``experiment_name`` given) for a new search; a resumed one stays in the experiment
        its parent run is in (the tracker takes it from the run)."""
        from losstune.mlflow import SearchTracker, artifact_uri, local_tracking_uri

        tracking_url = self.run.tracking_uri or local_tracking_uri(self.run.run_dir)
        resumed = anchor.user_attrs.get(PARENT_RUN_ID) is not None
        location = None if self.run.tracking_server else artifact_uri(self.run.run_dir)
        with readable_store("MLflow tracking store", tracking_url):
            tracker = SearchTracker(
                tracking_url,
                experiment=None if resumed else self.experiment_name,
                artifact_location=location,
            )
        return tracker, tracking_url

    @property
    def dataset_name(self) -> str:
        """The dataset's readable name (the file's stem, else target and fingerprint)."""
        from losstune.mlflow.naming import dataset_name

        return dataset_name(self.dataset, self.run.data_source)

    @property
    def experiment_name(self) -> str:
        """The MLflow experiment of a new search: ``RunConfig.experiment_name``, else
        ``losstune/<dataset name>``."""
        from losstune.mlflow.naming import experiment_name

        return self.run.experiment_name or experiment_name(self.dataset_name)

    def _open_anchor(
        self,
        anchor: optuna.Study,
        tracker: SearchTracker,
        params: Mapping[str, Any],
        tags: Mapping[str, Any],
    ) -> optuna.Study:
        """The search's own study, which records its MLflow parent run: new with a new
        parent, or reopened (same dataset and metric) with the parent resumed."""
        from losstune.mlflow.naming import search_run_name

        check_same_search(anchor, self.dataset, self.metric)
        parent = anchor.user_attrs.get(PARENT_RUN_ID)
        if parent is None:
            parent = tracker.start_search(
                run_name=search_run_name(self.dataset_name, self.metric),
                params=params,
                tags={
                    "dataset_fingerprint": self.dataset.fingerprint,
                    "optuna.study_name": self.study_name,
                    **tags,
                },
                objective=f"valid_{self.metric}",
            )
            self._log_dataset(tracker)
            self.mark(anchor)
        else:
            tracker.resume_search(parent)
            if not self.shared:  # the lock makes every RUNNING trial an abandoned one
                tracker.kill_stale_trials()
        return anchor

    def _log_dataset(self, tracker: SearchTracker) -> None:
        """The dataset as the parent run's input: its name, fingerprint and the schema of a
        few raw rows (the source columns, untyped, when none were kept)."""
        import pandas as pd

        example = self.dataset.raw_example
        if example is None:
            example = pd.DataFrame(columns=list(self.dataset.source_columns))
        tracker.log_dataset(example, self.dataset_name, self.dataset.fingerprint)

    # -- what executors ask for ---------------------------------------------------------------

    def study(self, stage: Stage) -> optuna.Study:
        """The Optuna study of ``stage``, created with its enqueued trials or reopened with
        the trials a killed process left RUNNING retried."""
        name = f"{self.study_name}-{stage.name}" if stage.name else self.study_name
        sampler = self.config.sampler
        if stage.name and not isinstance(sampler, str):
            sampler = copy.deepcopy(sampler)  # an instance caches per-study state
        seed = self.config.seed + stage.seed_offset
        study = self._create_study(name, seed, sampler)
        if not study.trials:
            self.mark(study)
            self._enqueue(study, stage)
            return study
        if not self.shared:
            retry_interrupted(study)
        if isinstance(sampler, str):  # continue the sequence: never replay the first draws
            study.sampler = make_sampler(sampler, resumed_seed(seed, len(study.trials)))
        return study

    def context(self, stage: Stage, device: str | None = None) -> TrialContext:
        """What the trials of ``stage`` share (``device``: instead of the search's)."""
        if self.tracker is None:
            raise RuntimeError("The session is not open: use `with session.open(...)`.")
        return TrialContext(
            dataset=stage.dataset,
            space=stage.space,
            metric=self.metric,
            seed=self.config.seed,
            device=device or self.config.device,
            tracker=self.tracker,
            on_epoch=self.run.on_epoch,
            stage=stage.name,
            trial_offset=stage.trial_offset,
            trial_attrs=self.worker.trial_attrs if self.worker is not None else None,
        )

    def warm_start(
        self, default: Mapping[str, Any] | None
    ) -> tuple[tuple[str, Mapping[str, Any]], ...]:
        """The warm-start portfolio's first members for the data's regime that the search's
        space holds (see :data:`WARM_START_TRIALS`), as (member name, configuration); none
        when ``warm_start`` is off. ``default``, the default recipe's trial, is not repeated."""
        if not self.config.warm_start or self.diagnosis is None:
            return ()
        from losstune.spaces.portfolio import Portfolio

        n_trials = self.config.budget.n_trials
        limit = WARM_START_TRIALS if n_trials is None else min(WARM_START_TRIALS, n_trials // 3)
        members = Portfolio.load(self.config.portfolio).configs(
            self.diagnosis.regime, self.space, limit, default
        )
        return tuple((member.name, config) for member, config in members)

    def default_config(self, space: SearchSpace | None = None) -> dict[str, Any] | None:
        """The default recipe as a configuration of ``space`` (the search's by default), or
        None with a warning when the space does not hold it: it is then still re-trained at
        the end, to measure the margin, but is no trial."""
        space = space or self.space
        if recipe_in_space(self.default, space):
            return recipe_to_config(self.default, space)
        warnings.warn(
            "The default recipe lies outside the search space, so it is not a trial; it is "
            "still re-trained at the end to measure the margin.",
            stacklevel=5,
        )
        return None

    def study_attrs(self) -> dict[str, Any]:
        """The user attributes every study of this search carries."""
        tracker = self.tracker
        return {
            PARENT_RUN_ID: tracker.parent_run_id if tracker is not None else None,
            FINGERPRINT: self.dataset.fingerprint,
            METRIC: self.metric,
        }

    def mark(self, study: optuna.Study, retries: bool = True) -> None:
        """Write :meth:`study_attrs` on a new study, and the list of interrupted trials when
        a resume retries them (``retries``; Ray retries its trials itself)."""
        attrs = {**self.study_attrs(), **({INTERRUPTED: []} if retries else {})}
        for key, value in attrs.items():
            study.set_user_attr(key, value)

    def start_progress(self, total: int | None, done: int) -> SearchProgress | None:
        """The live progress bar (None unless ``show_progress``)."""
        if self.run.show_progress and self.progress is None:
            self.progress = SearchProgress(total, done, self.metric)
        return self.progress

    def _create_study(self, name: str, seed: int, sampler: Any) -> optuna.Study:
        return optuna.create_study(
            study_name=name,
            storage=self.storage,
            sampler=make_sampler(sampler, seed),
            pruner=make_pruner(self.pruner if self.optuna_pruning else None),
            direction="maximize" if self.scorer.greater_is_better else "minimize",
            load_if_exists=True,
        )

    def _enqueue(self, study: optuna.Study, stage: Stage) -> None:
        for config, attrs in stage.queue():
            study.enqueue_trial(config, user_attrs=attrs)


class StoreError(RuntimeError):
    """A search's Optuna storage or MLflow tracking store that cannot be opened or read."""


@contextlib.contextmanager
def readable_store(kind: str, url: str) -> Iterator[None]:
    """Turn a database error while opening ``url`` into a :class:`StoreError` naming the
    store and the fix (a corrupted file, a missing driver)."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (SQLAlchemyError, MlflowException) as err:
        reason = " ".join(str(getattr(err, "orig", None) or err).split())[:300]
        where = url.split("///", 1)[1] if url.startswith("sqlite:///") else "it"
        raise StoreError(
            f"Cannot open the {kind} {mask_password(url)}: {reason}. Fix: if {where} is a "
            "damaged file, move it away (its records are lost) or pass another --run-dir; "
            "check the URL and its database driver."
        ) from None


def announce_default_metric(dataset: Dataset) -> str:
    """The task's default metric, logged with the reason it was chosen."""
    name, reason = default_metric(dataset.task, dataset.class_counts)
    logger.warning("metric: %s (%s)", name, reason)
    return name


def default_study_name(dataset: Dataset, metric: str, space: SearchSpace, seed: int) -> str:
    """A study name from the data, metric, space and seed: the same search resumes."""
    spec = json.dumps(
        {"space": space.to_dict(), "metric": metric, "seed": seed}, sort_keys=True, default=str
    )
    digest = hashlib.blake2b(spec.encode(), digest_size=4).hexdigest()
    return f"losstune-{dataset.fingerprint[:10]}-{metric}-{digest}"


def check_same_search(study: optuna.Study, dataset: Dataset, metric: str) -> None:
    """Refuse to resume a study that searched another dataset or metric."""
    attrs = study.user_attrs
    if attrs.get(FINGERPRINT) not in (None, dataset.fingerprint):
        raise ValueError(
            f"Study {study.study_name!r} was run on another dataset (fingerprint "
            f"{attrs[FINGERPRINT][:12]}, this one {dataset.fingerprint[:12]}); "
            "pass another study_name."
        )
    if attrs.get(METRIC) not in (None, metric):
        raise ValueError(
            f"Study {study.study_name!r} optimises {attrs[METRIC]!r}, not {metric!r}; "
            "pass another study_name."
        )


def resumed_seed(seed: int, n_trials: int) -> int:
    """The sampler seed of a search resumed with ``n_trials`` trials in its study: a seed of
    its own for every resume point, so the resumed sampler does not replay the draws the
    first run already made (the same resume point gives the same seed)."""
    return int(np.random.SeedSequence([seed, n_trials]).generate_state(1)[0])


_DIAGNOSES: dict[tuple[str, int], DataDiagnosis | None] = {}


def diagnosis_of(dataset: Dataset, seed: int) -> DataDiagnosis | None:
    """:func:`losstune.data.diagnose` of ``dataset``, kept in this process per fingerprint
    and seed: the CLI shows it before the search, which then reuses it, and searches of
    the same data (a resumed one, a benchmark's) do not measure it again. None, with a
    warning, when it fails: it only informs the search, which goes on without a warm start."""
    from losstune.data.diagnosis import diagnose

    key = (dataset.fingerprint, seed)
    if key not in _DIAGNOSES:
        if len(_DIAGNOSES) >= 16:
            _DIAGNOSES.pop(next(iter(_DIAGNOSES)))
        try:
            _DIAGNOSES[key] = diagnose(dataset, seed=seed)
        except Exception as err:  # an aid to the search, never a reason to stop it
            logger.warning("the data diagnosis failed (%r); no warm start", err)
            _DIAGNOSES[key] = None
    return _DIAGNOSES[key]


def retry_interrupted(study: optuna.Study) -> None:
    """Trials a killed process left RUNNING are failed, and they and the trials Ctrl-C or
    SIGTERM stopped are enqueued again (once each); the study's ``interrupted_trials`` lists
    them, so they do not count against the budget."""
    interrupted = list(study.user_attrs.get(INTERRUPTED, []))
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    stopped = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
        if t.user_attrs.get(INTERRUPTED_TRIAL) and t.number not in interrupted
    ]
    for trial in sorted([*running, *stopped], key=lambda t: t.number):
        interrupted.append(trial.number)
        attrs: dict[str, Any] = {RETRY_OF: trial.number}
        for kept in (DEFAULT_RECIPE, ORIGIN, PORTFOLIO_MEMBER):
            if trial.user_attrs.get(kept):
                attrs[kept] = trial.user_attrs[kept]
        study.enqueue_trial(trial.params, user_attrs=attrs)
        logger.warning("trial %d was interrupted; it is retried", trial.number)
    study.set_user_attr(INTERRUPTED, interrupted)


@contextlib.contextmanager
def quiet_optuna(quiet: bool) -> Iterator[None]:
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


def default_recipe(task: Task, metric: str, space: SearchSpace, epochs: int, seed: int) -> Recipe:
    """The baseline a search is measured against: what users do today with the first model
    family the space offers (the MLP with cross-entropy and AdamW when it is offered;
    LightGBM's defaults in a LightGBM-only search), with the search's epochs and seed."""
    options = offered_models(space)
    family = "mlp" if "mlp" in options else options[0]
    default = Recipe.default(task, metric, model=family)
    if default.torch is not None:
        default = default.replace(epochs=epochs)
    return default.replace(seed=seed)
