"""What a search is given, as small frozen objects checked when they are built.

:func:`losstune.search` keeps its keyword API and maps the keywords onto these; code that
builds searches (the CLI, a service, a benchmark) can pass them whole. Each one is a
concern: :class:`SearchConfig` what is searched and how it is judged, :class:`RunConfig`
where it runs and is stored, :class:`RayConfig` and :class:`BatchConfig` the options of
the executor that takes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from losstune.recipe import FIELD_DOMAINS
from losstune.search.budget import Budget
from losstune.search.lifecycle import OnEpoch
from losstune.spaces.default import check_models

DEFAULT_RUN_DIR = Path("losstune-runs")


_MAX_SEARCH_SEED = 2**31 - 1
"""The largest search seed: the final re-training uses ``seed + 1 ... seed + n_seeds`` and the
stages' samplers ``seed + k``, all of which must stay valid recipe seeds (< 2**32); 2**31
leaves every such offset room."""


def _in_recipe_domain(name: str, value: Any) -> None:
    """Refuse ``value`` unless the recipe's ``name`` field accepts it (checked here, so a
    search with ``epochs=10**8`` fails at once instead of in every trial)."""
    domain = FIELD_DOMAINS[name]
    if not domain.contains(value):
        raise ValueError(
            f"{name} must be a whole number >= {domain.low:g} and <= {domain.high:g} (what a "
            f"recipe accepts); got {value!r}."
        )


def _whole(name: str, value: Any, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be a whole number >= {least}; got {value!r}.")


@dataclass(frozen=True)
class SearchConfig:
    """What is searched and how it is judged.

    Args:
        metric: the validation metric to optimise (None: chosen by task).
        budget: trials and/or seconds (:class:`~losstune.search.budget.Budget`).
        sampler, pruner: registry names or Optuna instances; ``pruner="auto"`` is the
            executor's default (median in-process, ASHA on Ray); on Ray a pruner is a Ray
            Tune scheduler name or instance.
        seed: seeds the sampler and every trial's training.
        epochs: epochs per trial (unless the space fixes ``epochs``).
        top_k, n_seeds: the final selection re-trains the ``top_k`` best configurations on
            ``n_seeds`` fresh seeds.
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        models: the model families searched (None: every registered one, ``("mlp",
            "lightgbm")``); narrows the default space, or the ``model`` choice of a given one.
        warm_start: start with the warm-start portfolio's members for the data's regime
            (:mod:`losstune.spaces.portfolio`) after the default recipe, before the sampler.
        portfolio: a portfolio file to warm-start from instead of the one shipped (e.g. one
            built without the dataset a benchmark scores, by ``benchmarks/portfolio.py``).
    """

    metric: str | None = None
    budget: Budget = field(default_factory=lambda: Budget(n_trials=40))
    sampler: Any = "tpe"
    pruner: Any = "auto"
    seed: int = 0
    epochs: int = 30
    top_k: int = 3
    n_seeds: int = 3
    device: str = "auto"
    models: tuple[str, ...] | None = None
    warm_start: bool = True
    portfolio: str | Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.warm_start, bool):
            raise TypeError(f"warm_start must be True or False; got {self.warm_start!r}.")
        if self.portfolio is not None and not Path(self.portfolio).is_file():
            raise ValueError(
                f"portfolio must be a portfolio YAML file; {self.portfolio} is not one."
            )
        if self.top_k < 1 or self.n_seeds < 1:
            raise ValueError(
                f"top_k and n_seeds must be >= 1; got top_k={self.top_k}, n_seeds={self.n_seeds}."
            )
        _in_recipe_domain("epochs", self.epochs)
        _whole("seed", self.seed, 0)
        if self.seed > _MAX_SEARCH_SEED:
            raise ValueError(
                f"seed must be a whole number in [0, {_MAX_SEARCH_SEED}] (trials, re-training "
                f"seeds and samplers count up from it, and they must stay below 2**32); got "
                f"{self.seed!r}."
            )
        if not isinstance(self.budget, Budget):
            raise TypeError(f"budget must be a Budget (see make_budget); got {self.budget!r}.")
        if not isinstance(self.device, str):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]'; got {self.device!r}.")
        if self.models is not None:
            object.__setattr__(self, "models", check_models(self.models))


@dataclass(frozen=True)
class RunConfig:
    """Where a search runs and what it keeps.

    Args:
        run_dir: the local run folder (Optuna SQLite, MLflow store, locks, Ray experiments).
        study_name: resume this study (None: derived from data, metric, space and seed);
            letters, digits, ``.``, ``_``, ``-``, not starting with ``.``, at most 100
            characters (it names files and folders in the run folder, see
            :func:`check_study_name`).
        storage: an Optuna storage URL or instance (None: SQLite in ``run_dir``); on a
            database server ``losstune worker`` processes can join the search.
        tracking_uri: an MLflow tracking URI (None: SQLite in ``run_dir``).
        show_progress: a live progress bar (the CLI shows it).
        on_epoch: ``on_epoch(trial_number, epoch, metrics)`` after every epoch.
        data_source: how workers reload the data from a file (the CLI passes it).
        experiment_name: the MLflow experiment of a new search (None: ``losstune/<dataset>``,
            the data file's stem or the target and fingerprint); a resumed search stays in
            the experiment it started in.
    """

    run_dir: Path = DEFAULT_RUN_DIR
    study_name: str | None = None
    storage: Any = None
    tracking_uri: str | None = None
    show_progress: bool = False
    on_epoch: OnEpoch | None = None
    data_source: Mapping[str, Any] | None = None
    experiment_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "run_dir", Path(self.run_dir).resolve())
        if self.experiment_name is not None:
            check_experiment_name(self.experiment_name)
        if self.study_name is not None:
            check_study_name(self.study_name)
        if self.on_epoch is not None and not callable(self.on_epoch):
            raise TypeError(f"on_epoch must be callable; got {self.on_epoch!r}.")

    @property
    def tracking_server(self) -> bool:
        """Whether MLflow tracks to a server (``http(s)://``, ``databricks``), which decides
        where artifacts go; any other store gets its artifacts in the run folder."""
        scheme = _scheme(self.tracking_uri)
        return scheme in ("http", "https") or scheme.startswith("databricks")

    @property
    def tracking_on_this_machine(self) -> bool:
        """Whether the MLflow store is a file on this machine (none given, a path,
        ``file:``, ``sqlite:``), which trials on other machines cannot write to; a server or
        a database (``postgresql://``) can be shared."""
        return _scheme(self.tracking_uri) in ("", "file", "sqlite")


STUDY_NAME_MAX = 100
EXPERIMENT_NAME_MAX = 200


def check_experiment_name(name: Any) -> None:
    """Refuse an MLflow experiment name that is not a non-empty string of at most
    :data:`EXPERIMENT_NAME_MAX` characters (``losstune/churn``)."""
    if not isinstance(name, str) or not name.strip() or len(name) > EXPERIMENT_NAME_MAX:
        raise ValueError(
            f"experiment_name must be a non-empty string of at most {EXPERIMENT_NAME_MAX} "
            f"characters (e.g. 'losstune/churn'); got {name!r}."
        )


def check_study_name(name: Any) -> None:
    """Refuse a study name that is not a safe file name: it becomes a path component (the
    lock file, the Ray experiment folder ``<run_dir>/ray/<name>``), so ``../x`` or ``a/b``
    would write outside the run folder.

    Raises:
        ValueError: naming the rule: letters, digits, ``.``, ``_``, ``-``; not starting with
            ``.``; 1 to :data:`STUDY_NAME_MAX` characters.
    """
    if (
        not isinstance(name, str)
        or not 0 < len(name) <= STUDY_NAME_MAX
        or name.startswith(".")
        or not name.isascii()
        or not all(c.isalnum() or c in "._-" for c in name)
    ):
        raise ValueError(
            f"study_name must be 1 to {STUDY_NAME_MAX} letters, digits, '.', '_' or '-', not "
            f"starting with '.' (it names files in the run folder); got {name!r}."
        )


def _scheme(uri: str | None) -> str:
    if uri is None:
        return ""
    if uri.startswith("databricks"):
        return "databricks"
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


@dataclass(frozen=True)
class RayConfig:
    """Options of the Ray Tune executor.

    Args:
        address: the Ray cluster (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``); None
            uses the Ray this process is connected to, else starts a local one.
        cpus_per_trial, gpus_per_trial: what each trial reserves; a GPU fraction packs
            several trials on one GPU.
        max_concurrent_trials: at most this many at once (None: what the cluster fits).
        grace_period: epochs every trial runs before ASHA may stop it.
        max_failures: how often a trial whose worker died is retried.
    """

    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent_trials: int | None = None
    grace_period: int = 2
    max_failures: int = 2

    def __post_init__(self) -> None:
        cpus, gpus = self.cpus_per_trial, self.gpus_per_trial
        if isinstance(cpus, bool) or not isinstance(cpus, int | float) or not cpus > 0:
            raise ValueError(f"cpus_per_trial must be a number > 0; got {cpus!r}.")
        if (
            isinstance(gpus, bool)
            or not isinstance(gpus, int | float)
            or not math.isfinite(gpus)
            or gpus < 0
            or (gpus > 1 and gpus != int(gpus))
        ):
            raise ValueError(
                "gpus_per_trial must be a fraction of one GPU (0 to 1) or a whole number of "
                f"GPUs; got {gpus!r}."
            )
        if self.max_concurrent_trials is not None:
            _whole("max_concurrent_trials", self.max_concurrent_trials, 1)
        _whole("grace_period", self.grace_period, 1)
        _whole("max_failures", self.max_failures, 0)


@dataclass(frozen=True)
class BatchConfig:
    """Options of the batched executor: ``batch_trials`` trials train as one program
    (``"auto"``: sized from free GPU memory, 8 on a CPU)."""

    batch_trials: int | str = "auto"

    def __post_init__(self) -> None:
        value = self.batch_trials
        if value != "auto" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"batch_trials must be a whole number >= 1 or 'auto'; got {value!r}.")
