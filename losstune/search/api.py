"""``search()``: dataset in, tuned recipe out, every trial in Optuna and MLflow.

The embedded default needs nothing running: one run folder (``./losstune-runs``) holds the
Optuna study (SQLite) and the MLflow store (SQLite + artifacts). Running the same search
again (same study name) resumes it: finished trials are kept and the trial that was running
when the process died is retried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, Unpack

from losstune.data import Dataset
from losstune.search.budget import make_budget
from losstune.search.config import RunConfig, SearchConfig
from losstune.search.executors import EXECUTORS
from losstune.search.lifecycle import OnEpoch
from losstune.search.result import Result
from losstune.search.session import SearchSession
from losstune.search.strategies import STRATEGIES
from losstune.spaces import SearchSpace

BACKENDS = ("optuna", "ray")


class SearchOptions(TypedDict, total=False):
    """The keywords of :func:`search` (see its docstring)."""

    metric: str | None
    budget: int | str | None
    n_trials: int | None
    timeout: float | str | None
    sampler: Any
    pruner: Any
    seed: int
    epochs: int
    top_k: int
    n_seeds: int
    device: str
    models: Sequence[str] | None
    warm_start: bool
    portfolio: str | Path | None
    storage: Any
    study_name: str | None
    tracking_uri: str | None
    run_dir: str | Path | None
    show_progress: bool
    on_epoch: OnEpoch | None
    data_source: Mapping[str, Any] | None
    experiment_name: str | None
    strategy: str
    executor: str | None
    backend: str
    batch_trials: int | str
    ray_address: str | None
    cpus_per_trial: float | None
    gpus_per_trial: float | None
    max_concurrent_trials: int | None
    grace_period: int | None
    max_failures: int | None
    n_workers: int | None
    transfer_plan: Any


_SEARCH = (
    "metric", "sampler", "pruner", "seed", "epochs", "top_k", "n_seeds", "device", "models",
    "warm_start", "portfolio",
)  # fmt: skip
_RUN = (
    "storage",
    "study_name",
    "tracking_uri",
    "show_progress",
    "on_epoch",
    "data_source",
    "experiment_name",
)
_BUDGET = ("budget", "n_trials", "timeout")


def search(
    dataset: Dataset, space: SearchSpace | None = None, **options: Unpack[SearchOptions]
) -> Result:
    """Search recipes for ``dataset``; return the best with evidence.

    Args:
        dataset: from :func:`losstune.load_dataset`.
        space: what to search (default: :func:`losstune.spaces.default_space` of the task,
            with ``epochs`` fixed).
        metric: the validation metric to optimise (default: by task).
        budget, n_trials, timeout: a trial count (``40``) or a duration (``"10m"``), or both
            kinds; 40 trials when none is given. ``n_trials`` counts the study's finished
            trials, so a resumed search only runs what is left.
        sampler, pruner: registry names (``"tpe"``/``"random"``;
            ``"median"``/``"curve"``/``"none"``, on Ray ``"asha"``/``"median"``/
            ``"curve"``/``"none"``) or instances; ``pruner="auto"`` is the executor's default.
        seed: seeds the sampler and every trial's training.
        epochs: epochs per trial. top_k, n_seeds: the final selection re-trains the
            ``top_k`` best configurations on ``n_seeds`` fresh seeds.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        models: the model families to search (``["mlp", "lightgbm"]``, the default, or one
            of them); the loss, temperature and weighting are searched within each.
        warm_start, portfolio: after the default recipe, try the warm-start portfolio's first
            members for the data's regime (clean, noisy, imbalanced, regression, regression
            with outliers: :func:`losstune.data.diagnose`) before the sampler's own (default
            True); ``portfolio``: a portfolio file to use instead of the one shipped.
        storage, study_name, tracking_uri, run_dir, show_progress, on_epoch, data_source,
        experiment_name: where it runs and what it keeps
            (:class:`~losstune.search.config.RunConfig`); ``experiment_name`` is the MLflow
            experiment (default ``losstune/<dataset>``).
        strategy: ``"direct"`` or ``"transfer"`` (:mod:`losstune.search.strategies`), with
            ``transfer_plan`` (a :class:`TransferPlan`) for the latter.
        executor: ``"sequential"``, ``"batched"``, ``"ray"`` or ``"workers"``
            (:mod:`losstune.search.executors`); by default ``"ray"`` with
            ``backend="ray"``, ``"batched"`` when ``batch_trials`` is not 1, else
            ``"sequential"``.
        batch_trials: trials per batched program, or ``"auto"``
            (:class:`~losstune.search.config.BatchConfig`).
        ray_address, cpus_per_trial, gpus_per_trial, max_concurrent_trials, grace_period,
            max_failures: the Ray executor's options
            (:class:`~losstune.search.config.RayConfig`).
        n_workers: processes on this machine running trials of the ``workers`` executor
            (this one included; needs ``storage`` on PostgreSQL).

    Example::

        result = losstune.search(ds, budget="10m")
        result = losstune.search(ds, n_trials=40, backend="ray", gpus_per_trial=0.25)
    """
    if not isinstance(dataset, Dataset):
        raise TypeError(
            f"search() takes a Dataset, not a {type(dataset).__name__}: load it first, "
            "e.g. search(losstune.load_dataset(frame, target='y'), ...)."
        )
    if space is not None and not isinstance(space, SearchSpace):
        raise TypeError(
            f"space must be a SearchSpace, not a {type(space).__name__}: build one with "
            "losstune.spaces.default_space(...) or load_space(path, ...)."
        )
    plan = SearchPlan(dict(options))
    executor = EXECUTORS.get(plan.executor).from_options(plan.executor_options)
    strategy = STRATEGIES.get(plan.strategy).from_options(plan.strategy_options)
    pruning = (executor.default_pruner, executor.optuna_pruning)
    session = SearchSession.create(
        dataset, space, plan.config, plan.run, pruning, strategy.study_suffix()
    )
    executor.check(session)
    return strategy.run(session, executor)


class SearchPlan:
    """:func:`search`'s keywords sorted into its configs and the chosen executor and
    strategy with their own options; every keyword is checked here, before any work."""

    def __init__(self, options: dict[str, Any]) -> None:
        unknown = sorted(set(options) - set(SearchOptions.__annotations__))
        if unknown:
            raise TypeError(
                f"search() got unknown keyword(s) {', '.join(unknown)}; it takes "
                f"{', '.join(SearchOptions.__annotations__)}."
            )
        self.strategy = str(options.pop("strategy", "direct"))
        self.executor = _executor_name(options)
        self.executor_options = _options_of(EXECUTORS, self.executor, options, "executor")
        self.strategy_options = _options_of(STRATEGIES, self.strategy, options, "strategy")
        budget = make_budget(*(options.pop(k, None) for k in _BUDGET))
        searched = {k: options.pop(k) for k in _SEARCH if k in options}
        self.config = SearchConfig(budget=budget, **searched)
        run_dir = options.pop("run_dir", None)
        run: dict[str, Any] = {k: options.pop(k) for k in _RUN if k in options}
        if run_dir is not None:
            run["run_dir"] = Path(run_dir)
        self.run = RunConfig(**run)


def _executor_name(options: dict[str, Any]) -> str:
    """The executor the keywords ask for: ``executor=``, else ``backend="ray"`` -> ray, a
    ``batch_trials`` other than 1 -> batched, else sequential."""
    backend = options.pop("backend", "optuna")
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}.")
    explicit = options.pop("executor", None)
    if options.get("batch_trials") == 1 and explicit != "batched":
        options.pop("batch_trials")  # one trial at a time: the default of every executor
    if explicit is not None:
        if backend == "ray" and explicit != "ray":
            raise ValueError(f"backend='ray' runs on executor 'ray', not {explicit!r}.")
        EXECUTORS.get(explicit)
        return str(explicit)
    if backend == "ray":
        return "ray"
    return "batched" if "batch_trials" in options else "sequential"


def _options_of(registry: Any, name: str, options: dict[str, Any], kind: str) -> dict[str, Any]:
    """Pop the keywords the registered ``name`` takes; refuse those of its siblings."""
    chosen = registry.get(name)
    mine = {k: options.pop(k) for k in chosen.options if options.get(k) is not None}
    for k in chosen.options:
        options.pop(k, None)
    for other, member in registry.items():
        given = [k for k in member.options if k in options and options[k] is not None]
        if other != name and given:
            raise ValueError(
                f"{', '.join(given)} only apply to {kind} {other!r}; this search runs on "
                f"{kind} {name!r}."
            )
        for k in member.options:
            options.pop(k, None)
    return mine
