"""Track a search in MLflow: one parent run per search, one nested run per trial.

Everything goes through an :class:`~mlflow.tracking.MlflowClient` with explicit run ids: no
fluent active run and no global tracking URI, so several searches can be tracked from one
process and nothing leaks into the caller's MLflow state. Nesting is real: every trial run
carries the ``mlflow.parentRunId`` tag, which the MLflow UI uses to fold trials under their
search (Optuna's ``MLflowCallback`` does not set it, optuna/optuna#5148).

.. note::
    ``import mlflow`` (3.x) starts a telemetry client unless ``MLFLOW_DISABLE_TELEMETRY=true``
    or ``DO_NOT_TRACK=true`` is set in the environment; losstune leaves that choice to you.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlflow.entities import Run, RunStatus
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from losstune.mlflow._batch import (
    log_metrics,
    log_params,
    metrics_at,
    now_ms,
    param_value,
    set_tags,
)
from losstune.mlflow._model import log_logged_model
from losstune.mlflow.naming import (
    EXPERIMENT_KIND,
    EXPERIMENT_KIND_TAG,
    EXPERIMENT_PREFIX,
    OBJECTIVE_TAG,
    common_params,
    trial_run_name,
)
from losstune.mlflow.store import (
    TrackingStoreError,
    artifact_uri,
    local_tracking_uri,
    usable_tracking_uri,
)
from losstune.mlflow.trial import TrialRun
from losstune.urls import mask_password, mask_passwords

if TYPE_CHECKING:
    import pandas as pd
    import torch
    from matplotlib.figure import Figure

TRIAL_NUMBER_TAG = "optuna.trial_number"
DATASET_CONTEXT_TAG = "mlflow.data.context"
_END_STATUSES = ("FINISHED", "FAILED", "KILLED")


class SearchTracker:
    """Log one search (the parent run) and its trials (nested runs) to an MLflow store.

    Args:
        tracking_uri: Any MLflow tracking URI; :meth:`local` builds the run-folder default.
        experiment: Experiment name, created on first use and tagged as a model-training
            experiment (MLflow 3's UI then opens on its runs). None: the experiment of the
            search that :meth:`attach_search` or :meth:`resume_search` reopens (a worker, a
            Ray trial, a resumed search stay where the search started).
        artifact_location: Where a *new* experiment stores artifacts. Give it for a local
            store, or MLflow writes artifacts to ``./mlruns`` in the working directory.
        flush_every_s: How often a running trial writes its buffered per-epoch metrics.

    Example::

        tracker = SearchTracker.local("losstune-runs/wine", "losstune/wine")
        with tracker:  # finishes the search, as FAILED if the block raises
            tracker.start_search("wine", params={"budget": "10m"}, objective="valid_accuracy")
            with tracker.start_trial(0, {"loss": "cross_entropy", "lr": 1e-3}) as run:
                run.log_epoch(1, {"valid_accuracy": 0.90})
                run.end("complete", value=0.90)
    """

    def __init__(
        self,
        tracking_uri: str,
        experiment: str | None = None,
        artifact_location: str | None = None,
        flush_every_s: float = 5.0,
    ) -> None:
        tracking_uri = usable_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.flush_every_s = flush_every_s
        try:
            self.client = MlflowClient(tracking_uri)
            self.experiment_id: str | None = None
            if experiment is not None:
                self.experiment_id = self._experiment(experiment, artifact_location)
        except (ImportError, MlflowException) as err:
            raise TrackingStoreError(
                f"MLflow cannot open the tracking store {mask_password(tracking_uri)}: "
                f"{mask_passwords(str(err))} Check --tracking-uri (tracking_uri=); a database "
                "URL needs its driver installed, a server must be up and accept you."
            ) from None
        self.parent_run_id: str | None = None
        # the metric holding each trial's objective (None: the trial's metric ``value``)
        self.objective: str | None = None
        # set on every trial run this tracker starts, e.g. which worker ran it with what seed
        self.trial_tags: dict[str, str] = {}
        self._live_trials: set[str] = set()

    @classmethod
    def local(cls, run_dir: Path | str, experiment: str = EXPERIMENT_PREFIX) -> SearchTracker:
        """A tracker on the SQLite store and artifact folder inside ``run_dir`` (created)."""
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        return cls(local_tracking_uri(run_dir), experiment, artifact_uri(run_dir))

    def _experiment(self, name: str, artifact_location: str | None) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is None:
            try:
                return self.client.create_experiment(
                    name,
                    artifact_location=artifact_location,
                    tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
                )
            except MlflowException:  # created meanwhile by another process
                found = self.client.get_experiment_by_name(name)
                if found is None:
                    raise
        if found.lifecycle_stage == "deleted":
            self.client.restore_experiment(found.experiment_id)
        if EXPERIMENT_KIND_TAG not in found.tags:  # made before losstune set it; a user's stays
            kind = (EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
            self.client.set_experiment_tag(found.experiment_id, *kind)
        if artifact_location is not None and found.artifact_location != artifact_location:
            warnings.warn(
                f"Experiment {name!r} keeps its artifacts in {found.artifact_location}, not "
                f"{artifact_location} (was the run folder moved?); artifacts go to the former. "
                "Use another experiment name to store them in the new place.",
                stacklevel=3,
            )
        return found.experiment_id

    # -- the search (parent run) -----------------------------------------------------------

    def start_search(
        self,
        run_name: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        objective: str | None = None,
    ) -> str:
        """Create the parent run (RUNNING) and return its id. ``objective``: the per-epoch
        metric that a trial's value is the final one of (``valid_accuracy``): trials log
        their value under it (tag :data:`~losstune.mlflow.naming.OBJECTIVE_TAG`, so
        workers and Ray trials do too), else as the metric ``value``."""
        run = self.client.create_run(self._experiment_id(), run_name=run_name)
        self.parent_run_id = run.info.run_id
        self.objective = objective
        extra = {} if objective is None else {OBJECTIVE_TAG: objective}
        set_tags(self.client, self.parent_run_id, {**(tags or {}), **extra})
        log_params(self.client, self.parent_run_id, params or {})
        return self.parent_run_id

    def resume_search(self, run_id: str) -> None:
        """Reopen the parent run ``run_id`` of an interrupted search (status RUNNING again)."""
        self.attach_search(run_id)
        self.client.update_run(run_id, status="RUNNING")

    def attach_search(self, run_id: str) -> None:
        """Log trials under the parent run ``run_id`` without changing its status: a worker
        adds trials to a search that another process runs (and finishes). A tracker opened
        without an experiment takes the run's."""
        try:
            run = self.client.get_run(run_id)
        except MlflowException as err:
            raise ValueError(
                f"No MLflow run {run_id!r} in {mask_password(self.tracking_uri)}; pass the "
                "search id that start_search() returned, or start a new search."
            ) from err
        experiment = self.experiment_id or run.info.experiment_id
        if run.info.experiment_id != experiment or MLFLOW_PARENT_RUN_ID in run.data.tags:
            raise ValueError(
                f"Run {run_id!r} is not a search of experiment {experiment} (it is in "
                f"experiment {run.info.experiment_id} or is a trial); pass a search's run id."
            )
        self.experiment_id = experiment
        self.parent_run_id = run_id
        self.objective = run.data.tags.get(OBJECTIVE_TAG)

    def finish_search(self, status: str = "FINISHED") -> None:
        """Terminate the parent run with ``status`` (FINISHED, FAILED or KILLED)."""
        if status not in _END_STATUSES:
            raise ValueError(f"Search status {status!r} is not one of {', '.join(_END_STATUSES)}.")
        self.client.set_terminated(self._parent(), status)

    def __enter__(self) -> SearchTracker:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Leaving the block finishes the search, as FAILED if it raised."""
        if self.parent_run_id is not None:
            self.finish_search("FINISHED" if error is None else "FAILED")

    def _experiment_id(self) -> str:
        if self.experiment_id is None:
            raise RuntimeError(
                "This tracker has no experiment: pass experiment= to SearchTracker, or call "
                "attach_search() or resume_search() with a search's run id first."
            )
        return self.experiment_id

    def _parent(self) -> str:
        if self.parent_run_id is None:
            raise RuntimeError("No search is open: call start_search() or resume_search() first.")
        return self.parent_run_id

    # -- trials (nested runs) --------------------------------------------------------------

    def start_trial(
        self, number: int, params: Mapping[str, Any], tags: Mapping[str, str] | None = None
    ) -> TrialRun:
        """Create the nested run ``trial-{number:04d}`` of the open search with ``tags``
        (e.g. its ``origin``) and log its params, with the optimizer's learning rate and
        weight decay also as ``lr`` and ``weight_decay``
        (:func:`~losstune.mlflow.naming.common_params`)."""
        tags = {
            **(tags or {}),
            **self.trial_tags,
            MLFLOW_PARENT_RUN_ID: self._parent(),
            TRIAL_NUMBER_TAG: str(number),
        }
        name = trial_run_name(number)
        run = self.client.create_run(self._experiment_id(), run_name=name, tags=tags)
        run_id = run.info.run_id
        log_params(self.client, run_id, {**params, **common_params(params)})
        self._live_trials.add(run_id)
        return TrialRun(
            self.client,
            run_id,
            number,
            self.flush_every_s,
            self._live_trials.discard,
            name=name,
            objective=self.objective or "value",
        )

    def kill_stale_trials(self) -> list[str]:
        """Mark trials of this search left RUNNING by a killed process as KILLED, tag state
        ``failed``; return their run ids. Trials open in this tracker are left alone."""
        query = (
            f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self._parent()}' "
            f"and attributes.status = '{RunStatus.to_string(RunStatus.RUNNING)}'"
        )
        stale = [
            run.info.run_id
            for run in _search_all(self.client, self._experiment_id(), query)
            if run.info.run_id not in self._live_trials
        ]
        for run_id in stale:
            set_tags(self.client, run_id, {"state": "failed", "error": "process was killed"})
            self.client.set_terminated(run_id, "KILLED")
        return stale

    # -- what the parent run holds ---------------------------------------------------------

    def log_params(self, params: Mapping[str, Any]) -> None:
        log_params(self.client, self._parent(), params)

    def log_new_params(self, params: Mapping[str, Any]) -> list[str]:
        """Log ``params`` on the search's run, except those it already holds with another
        value (MLflow never changes a param: a resumed search that picks another recipe
        keeps the first one's); return those keys."""
        held = self.client.get_run(self._parent()).data.params
        kept = [k for k, v in params.items() if k in held and held[k] != param_value(k, v)]
        self.log_params({k: v for k, v in params.items() if k not in held})
        return kept

    def log_dataset(
        self, example: pd.DataFrame, name: str, digest: str, context: str = "training"
    ) -> None:
        """Record the search's dataset as an input of its run (MLflow's "Datasets used"):
        ``name``, ``digest`` (the fingerprint) and the schema of ``example``, a few raw rows
        (MLflow stores their schema and the row count, not the rows)."""
        from mlflow.data.pandas_dataset import from_pandas
        from mlflow.entities import DatasetInput, InputTag

        with warnings.catch_warnings():  # its hint about integer columns is for models
            warnings.simplefilter("ignore")
            dataset = from_pandas(example, name=name, digest=digest)._to_mlflow_entity()
        tag = InputTag(key=DATASET_CONTEXT_TAG, value=context)
        self.client.log_inputs(self._parent(), [DatasetInput(dataset=dataset, tags=[tag])])

    def log_pruning_summary(
        self, *, epochs_spent: int, epochs_without_pruning: int, n_trials: int, n_pruned: int
    ) -> None:
        """Log what pruning saved: the epochs the finished trials ran against the epochs they
        would have run unpruned, the fraction saved, and how many of them were pruned."""
        if not 0 <= epochs_spent <= epochs_without_pruning:
            raise ValueError(
                f"Need 0 <= epochs_spent <= epochs_without_pruning; got {epochs_spent} and "
                f"{epochs_without_pruning} (a pruned trial cannot run more than its epochs)."
            )
        if not 0 <= n_pruned <= n_trials:
            raise ValueError(f"Need 0 <= n_pruned <= n_trials; got {n_pruned} and {n_trials}.")
        saved = 1.0 - epochs_spent / epochs_without_pruning if epochs_without_pruning else 0.0
        self.log_metrics(
            {
                "pruning.epochs_spent": epochs_spent,
                "pruning.epochs_without_pruning": epochs_without_pruning,
                "pruning.fraction_saved": saved,
                "pruning.n_trials": n_trials,
                "pruning.n_pruned": n_pruned,
            }
        )

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        log_metrics(self.client, self._parent(), metrics_at(metrics, step, now_ms()))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        set_tags(self.client, self._parent(), tags)

    def log_artifact(self, path: Path | str, artifact_path: str | None = None) -> None:
        """Copy a local file (e.g. ``recipe.yaml``) into the search's artifacts."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"Cannot log {path}: no such file.")
        self.client.log_artifact(self._parent(), str(path), artifact_path)

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self._parent(), text, artifact_file)

    def log_dataframe(self, frame: pd.DataFrame, artifact_file: str = "leaderboard.csv") -> None:
        """Store ``frame`` as CSV (without the index), readable back with ``pd.read_csv``."""
        if not artifact_file.endswith(".csv"):
            raise ValueError(f"log_dataframe writes CSV: name the file *.csv, not {artifact_file}.")
        self.log_text(frame.to_csv(index=False), artifact_file)

    def log_figure(self, figure: Figure, artifact_file: str) -> None:
        """Save a matplotlib figure, e.g. ``"plots/history.png"``, into the search's artifacts."""
        self.client.log_figure(self._parent(), figure, artifact_file)

    def log_model(
        self,
        module: torch.nn.Module,
        input_example: torch.Tensor | None = None,
        name: str = "model",
        pip_requirements: Sequence[str] | None = None,
    ) -> str:
        """Log a bare torch module into the search's run with ``mlflow.pytorch``; return a
        URI that loads it (``mlflow.pytorch.load_model``). A search logs its best model as a
        pyfunc on raw rows instead (``Fitted.log_to``).

        Pass ``input_example``, a batch of inputs (e.g. ``valid_x[:8]``), to save a
        ``torch.export`` graph that loads without pickle or losstune; without it the module
        is pickled. Requirements default to the running mlflow and torch versions, so MLflow
        does not infer them. A fitted model logs itself with ``model.log_to(tracker)``.
        """
        from losstune.runners.torch.fitted import log_module

        return log_module(self, module, input_example, name=name, pip_requirements=pip_requirements)

    def log_flavor_model(
        self, log_model: Callable[..., Any], model: Any, *, name: str = "model", **options: Any
    ) -> str:
        """Log ``model`` with an MLflow flavour's ``log_model`` (``mlflow.pytorch.log_model``)
        as a LoggedModel of the search's run; return a URI that loads it (the artifacts' path
        for a local store, else ``models:/<id>``). This is what ``Fitted.log_to``
        (:mod:`losstune.runners`) calls."""
        return log_logged_model(
            self.client, self._experiment_id(), self._parent(), log_model, model, name, **options
        )


def _search_all(client: MlflowClient, experiment_id: str, query: str) -> list[Run]:
    runs: list[Run] = []
    token: str | None = None
    while True:
        page = client.search_runs([experiment_id], query, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs
