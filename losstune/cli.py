"""The ``losstune`` command.

``losstune search data.csv --target y`` searches a recipe (progress bar, leaderboard, MLflow);
``losstune recipe data.csv --target y`` writes the default recipe for a dataset;
``losstune train recipe.yaml data.csv --target y`` trains a recipe and prints its test score
(``--test test.csv`` scores it on another file, ``--seeds 5`` gives a mean and interval);
``losstune ui`` opens the MLflow UI on the local run folder;
``losstune worker --study NAME --storage postgresql://... --worker-id 1`` runs trials of a search
started elsewhere (:mod:`losstune.search.worker`).

A flag error answers in a fraction of a second: every option is checked against the light
lists of :mod:`losstune.cli_choices` (and ``--out`` against the file system) before anything
heavy (scikit-learn, PyTorch, Optuna, MLflow) is imported. Outside a terminal the output is
plain and complete (no line cut at 80 columns); ``search --json`` prints one JSON object, the
only thing on stdout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from losstune import cli_choices as choices

if TYPE_CHECKING:
    from losstune.data import Dataset
    from losstune.recipe import Score

app = typer.Typer(
    help="Search the loss, temperature, reweighting and optimizer for your dataset.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)
errors = Console(stderr=True)

PLAIN_WIDTH = 1000
"""Outside a terminal, lines are printed up to this wide: whole, never cut at 80 columns."""

# --help groups the options in these panels
_DATA = "Data"
_SEARCH = "Search"
_WHERE = "Where trials run"
_RAY = "Ray options (--backend ray)"
_TRANSFER = "Transfer options (--strategy transfer)"
_STORES = "Storage and tracking"
_OUTPUT = "Output"

TargetOption = Annotated[
    str, typer.Option("--target", "-t", help="Name of the target column.", rich_help_panel=_DATA)
]
TaskOption = Annotated[
    str | None,
    typer.Option(
        help="The task (default: inferred from the target).",
        metavar=choices.TASKS.metavar,
        autocompletion=choices.TASKS.complete,
        rich_help_panel=_DATA,
    ),
]
MetricOption = Annotated[
    str | None,
    typer.Option(
        help="Metric (default: accuracy, balanced_accuracy when a class is rare, rmse for "
        "regression).",
        metavar=choices.METRICS.metavar,
        autocompletion=choices.METRICS.complete,
        rich_help_panel=_SEARCH,
    ),
]
DropOption = Annotated[
    list[str] | None,
    typer.Option("--drop", help="A column to leave out (repeatable).", rich_help_panel=_DATA),
]
SplitSeedOption = Annotated[
    int, typer.Option(help="Seed of the train/valid/test split.", rich_help_panel=_DATA)
]
DeviceOption = Annotated[
    str,
    typer.Option(
        help="Device to train on (auto: CUDA when there is one).",
        metavar=choices.DEVICE_METAVAR,
        autocompletion=choices.device_completions,
        rich_help_panel=_WHERE,
    ),
]
OutOption = Annotated[
    Path, typer.Option(help="Where to write the recipe.", rich_help_panel=_OUTPUT)
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Overwrite --out if it exists.", rich_help_panel=_OUTPUT),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="Log errors only; a search shows no progress bar and no per-trial lines.",
        rich_help_panel=_OUTPUT,
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        help="Log losstune's info messages and one line per trial (in place of the progress bar).",
        rich_help_panel=_OUTPUT,
    ),
]


def _show_version(value: bool) -> None:
    if value:
        from losstune import __version__

        typer.echo(f"losstune {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """losstune: dataset in, tuned training recipe out."""


def _fail(message: str) -> typer.Exit:
    """Print ``message`` as one ``Error:`` line (never read as markup, never wrapped); the
    exit with code 2 to raise."""
    line = Text("Error: ", style="bold red").append(" ".join(message.split()))
    errors.print(line, highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr): the terminal's width on a terminal; elsewhere (a
    file, a pipe, a CI log) :data:`PLAIN_WIDTH`, so that tables and lines come out whole."""
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=PLAIN_WIDTH)


def _check(*checks: tuple[Any, str | None]) -> None:
    """Run each ``(check, value)`` of :mod:`losstune.cli_choices` on its value (None: not
    given); the first refusal exits with its one ``Error:`` line."""
    try:
        for check, value in checks:
            if value is not None:
                check(value)
    except choices.ChoiceError as err:
        raise _fail(str(err)) from None


def _check_out(out: Path, force: bool) -> None:
    """Refuse, before any work, an ``--out`` the recipe could not be written to, or one that
    exists (unless ``force``)."""
    if out.is_dir():
        raise _fail(
            f"--out {out} is a directory; name the recipe file, e.g. {out / 'recipe.yaml'}."
        )
    if out.exists() and not force:
        raise _fail(f"--out {out} exists; pass --force to overwrite it, or name another file.")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise _fail(f"--out {out}: the folder {folder} does not exist; create it first.")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise _fail(f"--out {out} is not writable here; pick another path.")


class _StderrHandler(logging.Handler):
    """Log records as ``level: message`` lines on whatever ``sys.stderr`` is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"{record.levelname.lower()}: {self.format(record)}", file=sys.stderr)
        except Exception:  # a log line must never end the command
            self.handleError(record)


@contextlib.contextmanager
def _verbosity(quiet: bool, verbose: bool) -> Iterator[None]:
    """The level of losstune's log that ``--quiet`` / ``--verbose`` ask for, for the
    command's duration: quiet logs errors only; verbose logs info messages too (on stderr);
    neither leaves it alone (warnings)."""
    if quiet and verbose:
        raise _fail("Give --quiet or --verbose, not both.")
    if not (quiet or verbose):
        yield
        return
    logger = logging.getLogger("losstune")
    previous = logger.level
    handler = _StderrHandler()
    logger.setLevel(logging.ERROR if quiet else logging.INFO)
    if verbose:
        logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@contextlib.contextmanager
def _quiet_optuna(quiet: bool) -> Iterator[None]:
    """With ``quiet``, Optuna's own log level at errors meanwhile (set once Optuna is
    imported: importing it sets its level)."""
    logger = logging.getLogger("optuna")
    previous = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


@contextlib.contextmanager
def _quiet_libraries(verbose: bool) -> Iterator[None]:
    """Meanwhile, MLflow logs warnings only (its info lines, such as validating a model's
    input example, are not news to a user; ``--verbose`` keeps them) and draws no progress
    bar of its own when it downloads an artifact. A variable the user set is left alone; the
    environment is restored afterwards."""
    wanted = {
        "MLFLOW_LOGGING_LEVEL": "INFO" if verbose else "WARNING",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    added = [name for name in wanted if name not in os.environ]
    os.environ.update({name: wanted[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


@contextlib.contextmanager
def _whole_progress_lines() -> Iterator[None]:
    """Outside a terminal, rich's own console (the progress bar's) is made as wide as ours
    meanwhile, so the bar's last state is printed whole, not cut at 80 columns."""
    import rich

    console = rich.get_console()
    if console.is_terminal:
        yield
        return
    previous = console._width  # None: the width is worked out from the output
    console.width = PLAIN_WIDTH
    try:
        yield
    finally:
        console._width = previous


def _load(
    data: Path,
    target: str,
    task: str | None,
    drop: list[str] | None,
    split_seed: int,
    out: Console,
) -> Dataset:
    """Load ``data`` (a bad file exits with one ``Error:`` line) and print its data profile
    on ``out``: one summary line, then one line per column treated specially (the
    ``DataWarning``s, which the profile repeats, are not printed a second time)."""
    import warnings

    from losstune.data import DataError, DataWarning, load_dataset

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            dataset = load_dataset(
                data, target=target, task=task, drop=tuple(drop or ()), seed=split_seed
            )
    except (DataError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None
    first, *columns = dataset.profile_lines()
    out.print(f"data: {first}", markup=False, highlight=False, soft_wrap=True)
    for line in columns:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    return dataset


def _with_test_file(dataset: Dataset, path: Path, drop: list[str] | None) -> Dataset:
    """``dataset`` with its test split replaced by the rows of the file ``path``, read
    through the dataset's fitted preprocessor and target encoding (a class the training rows
    never held, or a missing column, exits with one ``Error:`` line)."""
    import dataclasses
    import warnings

    import numpy as np
    import pandas as pd

    from losstune.data import DataError, DataWarning
    from losstune.data.checks import check_values, drop_columns, drop_missing_target
    from losstune.data.sources import read_source

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            source = drop_missing_target(
                drop_columns(read_source(path, dataset.target), drop or ())
            )
        check_values(source)
        X = dataset.transform(source.features)
        if dataset.classes is None:
            y = pd.to_numeric(source.target, errors="raise").to_numpy(dtype=np.float32)
        else:
            y = pd.Index(dataset.classes).get_indexer(source.target)
            unknown = sorted({str(v) for v in source.target[y < 0]})
            if unknown:
                raise DataError(
                    f"The test file {path} holds class(es) {', '.join(unknown[:5])} of "
                    f"{dataset.target!r} that the data file's training rows lack; a model "
                    "cannot predict them. Fix: drop those rows from the test file, or add "
                    "rows of them to the data file."
                )
            y = y.astype(np.int64)
    except (DataError, FileNotFoundError, ValueError, TypeError) as err:
        raise _fail(f"--test {path}: {err}") from None
    return dataclasses.replace(dataset, X_test=X, y_test=y)


@app.command("recipe")
def recipe_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: TargetOption,
    out: OutOption = Path("recipe.yaml"),
    force: ForceOption = False,
    task: TaskOption = None,
    metric: MetricOption = None,
    drop: DropOption = None,
    split_seed: SplitSeedOption = 0,
    model: Annotated[
        str,
        typer.Option(
            help="The model family: mlp (AdamW 1e-3, cosine) or lightgbm (its defaults).",
            metavar=choices.MODELS.metavar,
            autocompletion=choices.MODELS.complete,
        ),
    ] = "mlp",
) -> None:
    """Write the default recipe (cross-entropy or MSE, no reweighting) for a dataset."""
    _check(
        (choices.TASKS.check, task), (choices.METRICS.check, metric), (choices.MODELS.check, model)
    )
    _check_out(out, force)
    from losstune.metrics import default_metric
    from losstune.recipe import Recipe, RecipeError

    console = _console()
    dataset = _load(data, target, task, drop, split_seed, console)
    if metric is None:
        metric, reason = default_metric(dataset.task, dataset.class_counts)
        console.print(f"metric: [bold]{metric}[/] ({reason})", soft_wrap=True)
    try:
        recipe = Recipe.default(dataset.task, metric, model=model)
    except RecipeError as err:
        raise _fail(str(err)) from None
    recipe.save(out)
    console.print(f"wrote {out}", markup=False, highlight=False, soft_wrap=True)


@app.command("train")
def train_command(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")],
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: TargetOption,
    test: Annotated[
        Path | None,
        typer.Option(
            help="Score on this file's rows (the same columns, read through the same "
            "preprocessor) instead of the data file's test split; the model trains on the "
            "data file's training split, as a search on it did.",
            rich_help_panel=_DATA,
        ),
    ] = None,
    seeds: Annotated[
        int,
        typer.Option(
            help="Train on this many seeds (the recipe's seed, then the next ones) and print "
            "the test score's mean and 95% interval.",
        ),
    ] = 1,
    task: TaskOption = None,
    drop: DropOption = None,
    split_seed: SplitSeedOption = 0,
    device: DeviceOption = "auto",
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Train a recipe on a dataset and print its validation and test scores."""
    _check((choices.TASKS.check, task), (choices.check_device, device))
    if seeds < 1:
        raise _fail(f"--seeds must be a whole number >= 1; got {seeds}.")
    with _verbosity(quiet, verbose):
        _train(recipe, data, target, test, seeds, task, drop, split_seed, device)


def _train(
    recipe: Path,
    data: Path,
    target: str,
    test: Path | None,
    seeds: int,
    task: str | None,
    drop: list[str] | None,
    split_seed: int,
    device: str,
) -> None:
    """``losstune train`` once its flags are checked."""
    from losstune.recipe import Recipe, RecipeError
    from losstune.runners import TrainingDiverged, train

    try:
        loaded = Recipe.load(recipe)
        runs = [loaded.replace(seed=loaded.seed + i) for i in range(seeds)]
    except (RecipeError, FileNotFoundError) as err:
        raise _fail(str(err)) from None
    console = _console()
    dataset = _load(data, target, task, drop, split_seed, console)
    if test is not None:
        dataset = _with_test_file(dataset, test, drop)
    results = []
    for run in runs:
        try:
            results.append(train(run, dataset, device=device))
        except (TrainingDiverged, ValueError) as err:
            raise _fail(f"seed {run.seed}: {err}" if seeds > 1 else str(err)) from None
    scored_on = f"{test.name} ({len(dataset.y_test)} rows)" if test is not None else "test split"
    first = results[0]
    if seeds == 1:
        table = Table(
            title=f"{recipe.name} on {data.name} ({first.device}, {first.seconds:.1f}s); "
            f"test: {scored_on}"
        )
        table.add_column("metric")
        table.add_column("validation", justify="right")
        table.add_column("test", justify="right")
        for name in first.test_metrics:
            table.add_row(
                name + (" *" if name == loaded.metric else ""),
                f"{first.valid_metrics[name]:.4f}",
                f"{first.test_metrics[name]:.4f}",
                style="bold" if name == loaded.metric else None,
            )
        console.print(table)
        console.print(f"test {loaded.metric}: {first.test_score:.4f}", highlight=False)
        return
    from losstune.search.evaluation import score_over_seeds

    seconds = sum(r.seconds for r in results)
    table = Table(
        title=f"{recipe.name} on {data.name} ({first.device}, {seeds} seeds, {seconds:.1f}s); "
        f"test: {scored_on}"
    )
    for name in ("seed", f"validation {loaded.metric}", f"test {loaded.metric}"):
        table.add_column(name, justify="right")
    for run, result in zip(runs, results, strict=True):
        table.add_row(str(run.seed), f"{result.valid_score:.4f}", f"{result.test_score:.4f}")
    console.print(table)
    score = score_over_seeds(loaded.metric, [r.test_score for r in results])
    _console().print(
        f"test {loaded.metric} over {seeds} seeds (95% interval): {_interval(score)}",
        highlight=False,
        markup=False,
    )


def _interval(score: Score) -> str:
    return f"{score.mean:.4f} [{score.low:.4f}, {score.high:.4f}]"


@app.command("search")
def search_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: TargetOption,
    metric: MetricOption = None,
    budget: Annotated[
        str | None,
        typer.Option(
            help="A duration with its unit (90s, 10m, 1.5h) for the whole search: trials stop "
            "early enough for the final re-training to fit, as estimated from their "
            "durations. A bare number is refused: give the unit, or --trials.",
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(
            help="Number of trials in the study (default 40, or none with --budget alone).",
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    space: Annotated[
        Path | None,
        typer.Option(
            help="YAML file narrowing or extending the search space.", rich_help_panel=_SEARCH
        ),
    ] = None,
    out: OutOption = Path("recipe.yaml"),
    force: ForceOption = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object (recipe path, scores, margin, study, MLflow run, "
            "model URI) as the only thing on stdout; everything else goes to stderr.",
            rich_help_panel=_OUTPUT,
        ),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    epochs: Annotated[
        int, typer.Option(help="Epochs per MLP trial.", rich_help_panel=_SEARCH)
    ] = 30,
    models: Annotated[
        str | None,
        typer.Option(
            help="Model families to search, comma-separated: mlp,lightgbm (default: both).",
            metavar="mlp,lightgbm",
            autocompletion=choices.MODELS.complete,
            rich_help_panel=_SEARCH,
        ),
    ] = None,
    warm_start: Annotated[
        bool,
        typer.Option(
            help="After the default recipe, try the recipes that won on data like this "
            "(noisy, imbalanced, clean, ...) before the sampler's own.",
            rich_help_panel=_SEARCH,
        ),
    ] = True,
    seed: Annotated[
        int, typer.Option(help="Seed of the sampler and of training.", rich_help_panel=_SEARCH)
    ] = 0,
    sampler: Annotated[
        str,
        typer.Option(
            help="tpe (multivariate TPE) or random.",
            metavar=choices.SAMPLERS.metavar,
            autocompletion=choices.SAMPLERS.complete,
            rich_help_panel=_SEARCH,
        ),
    ] = "tpe",
    pruner: Annotated[
        str,
        typer.Option(
            help="auto (median; asha with --backend ray), median, curve (learning-curve "
            "forecast), none, or asha (Ray only).",
            metavar=choices.PRUNERS.metavar,
            autocompletion=choices.PRUNERS.complete,
            rich_help_panel=_SEARCH,
        ),
    ] = "auto",
    strategy: Annotated[
        str,
        typer.Option(
            help="direct (search at full size) or transfer (search small muP proxies, "
            "fit the step law, confirm at full size).",
            metavar=choices.STRATEGIES.metavar,
            autocompletion=choices.STRATEGIES.complete,
            rich_help_panel=_SEARCH,
        ),
    ] = "direct",
    study_name: Annotated[
        str | None,
        typer.Option(
            help="Resume or name the study (default: from data+space).", rich_help_panel=_STORES
        ),
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage URL; on PostgreSQL (postgresql://...) `losstune worker` "
            "processes can join the search.",
            rich_help_panel=_STORES,
        ),
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option(help="MLflow tracking URI.", rich_help_panel=_STORES)
    ] = None,
    experiment: Annotated[
        str | None,
        typer.Option(
            help="MLflow experiment of a new search (default: losstune/<data file stem>).",
            rich_help_panel=_STORES,
        ),
    ] = None,
    run_dir: Annotated[
        Path, typer.Option(help="Local run folder.", rich_help_panel=_STORES)
    ] = Path("losstune-runs"),
    task: TaskOption = None,
    drop: DropOption = None,
    split_seed: SplitSeedOption = 0,
    device: DeviceOption = "auto",
    batch_trials: Annotated[
        str,
        typer.Option(
            help="Trials trained at once as one batched program (stacked weights): a number, "
            "or auto (from free GPU memory). 1 trains one at a time.",
            rich_help_panel=_WHERE,
        ),
    ] = "1",
    backend: Annotated[
        str,
        typer.Option(
            help="optuna (trials in this process) or ray (trials on Ray Tune).",
            metavar=choices.BACKENDS.metavar,
            autocompletion=choices.BACKENDS.complete,
            rich_help_panel=_WHERE,
        ),
    ] = "optuna",
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where trials run (default: ray with --backend ray, batched with "
            "--batch-trials other than 1, else sequential); workers: this process and "
            "--n-workers - 1 more on a PostgreSQL study.",
            metavar=choices.EXECUTORS.metavar,
            autocompletion=choices.EXECUTORS.complete,
            rich_help_panel=_WHERE,
        ),
    ] = None,
    n_workers: Annotated[
        int | None,
        typer.Option(
            help="--executor workers: processes on this machine running trials, this one "
            "included (needs --storage postgresql://...).",
            rich_help_panel=_WHERE,
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join: auto, host:6379 or ray://host:10001 (default: start a "
            "local Ray).",
            rich_help_panel=_RAY,
        ),
    ] = None,
    cpus_per_trial: Annotated[
        float | None,
        typer.Option(help="CPUs each Ray trial reserves (default 1).", rich_help_panel=_RAY),
    ] = None,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(
            help="GPUs each Ray trial reserves; 0.25 runs 4 trials per GPU (default 0).",
            rich_help_panel=_RAY,
        ),
    ] = None,
    max_concurrent_trials: Annotated[
        int | None, typer.Option(help="At most this many Ray trials at once.", rich_help_panel=_RAY)
    ] = None,
    grace_period: Annotated[
        int | None,
        typer.Option(
            help="Epochs every Ray trial runs before ASHA may stop it (2).", rich_help_panel=_RAY
        ),
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(
            help="How often a Ray trial whose worker died is retried (default 2).",
            rich_help_panel=_RAY,
        ),
    ] = None,
    proxy_widths: Annotated[
        str | None,
        typer.Option(help="Proxy MLP widths, comma-separated (32,64).", rich_help_panel=_TRANSFER),
    ] = None,
    proxy_fractions: Annotated[
        str | None,
        typer.Option(help="Proxy shares of the rows (0.25,0.5).", rich_help_panel=_TRANSFER),
    ] = None,
    confirm_share: Annotated[
        float | None,
        typer.Option(help="Share of the trials run at full size (0.1).", rich_help_panel=_TRANSFER),
    ] = None,
    max_lr_factor: Annotated[
        float | None,
        typer.Option(help="Confirm the lr within x/÷ this factor (2).", rich_help_panel=_TRANSFER),
    ] = None,
    lr_width_exponent: Annotated[
        str | None,
        typer.Option(
            help="The step law's exponent of the model size, held at this value, or 'fit' "
            "(default 0, muP's claim).",
            rich_help_panel=_TRANSFER,
        ),
    ] = None,
) -> None:
    """Search the loss, temperature, weighting and optimizer; write the best recipe."""
    # every check that needs no data comes first, before any heavy import
    if budget is not None and trials is not None:
        raise _fail("Give --budget (a duration) or --trials, not both.")
    if trials is not None and trials < 1:
        raise _fail(f"--trials must be a whole number >= 1; got {trials}.")
    _check(
        (choices.budget_seconds, budget),
        (choices.METRICS.check, metric),
        (choices.TASKS.check, task),
        (choices.SAMPLERS.check, sampler),
        (choices.PRUNERS.check, pruner),
        (choices.STRATEGIES.check, strategy),
        (choices.BACKENDS.check, backend),
        (choices.EXECUTORS.check, executor),
        (choices.check_device, device),
        (choices.check_models, models),
    )
    timeout = None if budget is None else choices.budget_seconds(budget)
    on_ray = backend == "ray" or executor == "ray"
    if pruner in choices.RAY_SCHEDULERS and pruner not in choices.OPTUNA_PRUNERS and not on_ray:
        raise _fail(
            f"--pruner {pruner} is a Ray Tune scheduler; use it with --backend ray, or choose "
            f"one of {', '.join(n for n in choices.PRUNERS.names if n != pruner)}."
        )
    transfer_options = (proxy_widths, proxy_fractions, confirm_share, max_lr_factor)
    if strategy != "transfer" and any(
        o is not None for o in (*transfer_options, lr_width_exponent)
    ):
        raise _fail(
            "--proxy-widths, --proxy-fractions, --confirm-share, --max-lr-factor and "
            "--lr-width-exponent apply to --strategy transfer."
        )
    batch = _batch_trials(batch_trials)
    _check_out(out, force)
    with _verbosity(quiet, verbose):
        stdout = sys.stdout
        # with --json, stdout holds the JSON object alone: all else, the progress bar and
        # whatever a library prints included, goes to stderr
        redirect = (
            contextlib.redirect_stdout(sys.stderr) if json_output else contextlib.nullcontext()
        )
        with redirect:
            console = _console(stderr=json_output)
            result = _search(
                data,
                target,
                out,
                console,
                show_progress=not (quiet or verbose),
                quiet=quiet,
                verbose=verbose,
                options=dict(
                    metric=metric,
                    n_trials=trials,
                    timeout=timeout,
                    space=space,
                    sampler=sampler,
                    pruner=pruner,
                    strategy=strategy,
                    storage=storage,
                    study_name=study_name,
                    seed=seed,
                    tracking_uri=tracking_uri,
                    experiment_name=experiment,
                    run_dir=run_dir,
                    epochs=epochs,
                    models=None if models is None else choices.check_models(models),
                    warm_start=warm_start,
                    device=device,
                    batch_trials=batch,
                    task=task,
                    drop=drop,
                    split_seed=split_seed,
                    backend=backend,
                    ray_address=ray_address,
                    cpus_per_trial=cpus_per_trial,
                    gpus_per_trial=gpus_per_trial,
                    max_concurrent_trials=max_concurrent_trials,
                    grace_period=grace_period,
                    max_failures=max_failures,
                    executor=executor,
                    n_workers=n_workers,
                    transfer=(*transfer_options, lr_width_exponent),
                ),
            )
        if json_output:
            print(json.dumps(_json_summary(result, out)), file=stdout, flush=True)


def _search(
    data: Path,
    target: str,
    out: Path,
    console: Console,
    *,
    show_progress: bool,
    quiet: bool,
    verbose: bool,
    options: dict[str, Any],
) -> Any:
    """``losstune search`` once its flags are checked: load, search, write the recipe, print
    the summary (the verdict last) on ``console``; the :class:`Result`."""
    from losstune.metrics import default_metric
    from losstune.search import make_budget
    from losstune.search import search as run_search
    from losstune.search.interrupts import SearchInterrupted
    from losstune.search.lock import StudyBusyError
    from losstune.search.session import diagnosis_of
    from losstune.search.summary import print_summary
    from losstune.search.worker import file_source
    from losstune.spaces import SpaceError, default_space, load_space

    # MLflow announces creating its tables on a new run folder: not news to a user
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    task, drop, split_seed = options.pop("task"), options.pop("drop"), options.pop("split_seed")
    try:
        plan = make_budget(None, options.pop("n_trials"), options.pop("timeout"))
        transfer_plan = _transfer_plan(*options.pop("transfer"))
    except ValueError as err:
        raise _fail(str(err)) from None
    dataset = _load(data, target, task, drop, split_seed, console)
    diagnosis = diagnosis_of(dataset, options["seed"])
    for line in diagnosis.lines() if diagnosis is not None else ():
        console.print(f"data: {line}", markup=False, highlight=False, soft_wrap=True)
    metric = options.pop("metric")
    if metric is None:
        metric, reason = default_metric(dataset.task, dataset.class_counts)
        console.print(f"metric: [bold]{metric}[/] ({reason})", soft_wrap=True)
    space_file = options.pop("space")
    try:
        search_space = default_space(
            dataset.task, epochs=options["epochs"], models=options.pop("models")
        )
        if space_file is not None:
            search_space = load_space(space_file, search_space)
        with _quiet_optuna(quiet), _quiet_libraries(verbose), _whole_progress_lines():
            result = run_search(
                dataset,
                space=search_space,
                metric=metric,
                n_trials=plan.n_trials,
                timeout=plan.timeout,
                show_progress=show_progress,
                data_source=file_source(data, target, task, drop or (), split_seed),
                transfer_plan=transfer_plan,
                **options,
            )
    except SearchInterrupted as err:
        errors.print(Text(f"Interrupted: {err}"), highlight=False, soft_wrap=True)
        raise typer.Exit(code=err.exit_code) from None
    except (SpaceError, StudyBusyError, ValueError, TypeError, RuntimeError) as err:
        raise _fail(str(err)) from None
    result.recipe.save(out)
    console.print(f"recipe written to {out}", markup=False, highlight=False, soft_wrap=True)
    print_summary(result, console)
    return result


def _json_summary(result: Any, out: Path) -> dict[str, Any]:
    """What ``search --json`` prints: where the recipe is, its score and the default's, the
    margin (null when the default failed), the study, the MLflow run and the model (URLs
    without their passwords)."""
    from losstune.urls import mask_password

    def number(value: float) -> float | None:
        return None if math.isnan(value) else value

    def score(value: Score) -> dict[str, Any]:
        return {
            "mean": number(value.mean),
            "low": number(value.low),
            "high": number(value.high),
            "n_seeds": value.n_seeds,
        }

    return {
        "recipe": str(out),
        "metric": result.score.metric,
        "score": score(result.score),
        "default_score": score(result.default_score),
        "margin": number(result.margin),
        "default_failure": result.default_failure,
        "study": result.study_name,
        "storage": mask_password(result.storage),
        "run_id": result.mlflow_run_id,
        "tracking_uri": mask_password(result.tracking_uri),
        "model_uri": result.model_uri or None,
    }


def _transfer_plan(
    widths: str | None,
    fractions: str | None,
    confirm_share: float | None,
    max_lr_factor: float | None,
    alpha: str | None,
) -> Any:
    """The :class:`TransferPlan` the transfer options describe (None when none is given)."""
    from losstune.search import TransferPlan

    fields: dict[str, Any] = {}
    if widths is not None:
        fields["widths"] = tuple(int(w) for w in _numbers(widths, "--proxy-widths"))
    if fractions is not None:
        fields["fractions"] = tuple(_numbers(fractions, "--proxy-fractions"))
    if confirm_share is not None:
        fields["confirm_share"] = confirm_share
    if max_lr_factor is not None:
        fields["max_lr_factor"] = max_lr_factor
    if alpha is not None:
        fields["alpha"] = None if alpha == "fit" else _numbers(alpha, "--lr-width-exponent")[0]
    return TransferPlan(**fields) if fields else None


def _numbers(text: str, option: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"{option} takes comma-separated numbers; got {text!r}.") from None
    if not values:
        raise ValueError(f"{option} takes comma-separated numbers; got {text!r}.")
    return values


def _batch_trials(value: str) -> int | str:
    """``--batch-trials``: ``auto`` or a whole number (``search`` checks that it is >= 1)."""
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise _fail(f"--batch-trials must be a whole number or auto; got {value!r}.") from None


@app.command("ui")
def ui_command(
    run_dir: Annotated[Path, typer.Option(help="Local run folder.")] = Path("losstune-runs"),
    host: Annotated[
        str, typer.Option(help="Interface to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
    allowed_hosts: Annotated[
        str | None,
        typer.Option(
            help="Host headers the server answers, comma-separated (mlflow.example.com,"
            "10.0.0.5:5000; MLflow's default: localhost and private addresses): needed to "
            "reach a UI on --host 0.0.0.0 by a public name.",
        ),
    ] = None,
) -> None:
    """Start the MLflow UI on the run folder's store (Ctrl-C or SIGTERM stops it)."""
    from losstune.mlflow import port_in_use, serve, ui_url
    from losstune.mlflow import ui_command as build_ui_command

    try:
        command = build_ui_command(run_dir, host=host, port=port, allowed_hosts=allowed_hosts)
    except (FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None
    if port_in_use(host, port):
        raise _fail(
            f"Port {port} on {host} is taken (another MLflow UI?); pass a free one with --port, "
            "or stop what listens there."
        )
    _console().print(
        f"MLflow UI: {ui_url(host, port)}  (store: {run_dir}; Ctrl-C stops it)",
        highlight=False,
        markup=False,
    )
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    code = serve(command, env)
    if code:  # it stopped by itself, failing (None: stopped by Ctrl-C or SIGTERM)
        raise _fail(
            f"The MLflow server stopped with exit code {code} (its messages are above); "
            f"check that {ui_url(host, port)} is free and that {run_dir} is a run folder."
        )


@app.command("worker")
def worker_command(
    study: Annotated[str, typer.Option("--study", help="Name of the study to join.")],
    storage: Annotated[str, typer.Option(help="The search's Optuna storage URL (PostgreSQL).")],
    worker_id: Annotated[
        int | None,
        typer.Option(
            "--worker-id",
            help="This worker's id: 1, 2, ... (0 is the search process); it seeds the sampler. "
            "Default: the next id no worker of the study has taken.",
        ),
    ] = None,
    trials: Annotated[int | None, typer.Option(help="Run at most this many trials.")] = None,
    timeout: Annotated[
        str | None,
        typer.Option(help="Start no trial after this long: 30m, 2h (a bare number is seconds)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="The data file, when not at the path the search read it from."),
    ] = None,
    device: DeviceOption = "auto",
    heartbeat_interval: Annotated[
        int | None, typer.Option(help="Seconds between heartbeats (default: the search's).")
    ] = None,
    grace_period: Annotated[
        int | None,
        typer.Option(
            help="Seconds without heartbeat before a trial is retried (default: the search's)."
        ),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            help="MLflow tracking URI with its password, replacing the one the study records "
            "without it (default: that one; the password then comes from PGPASSWORD or "
            "~/.pgpass, or MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD).",
        ),
    ] = None,
) -> None:
    """Run trials of a search started elsewhere with --storage postgresql://...

    Only trials: the search process keeps the final selection and the recipe.
    """
    _check((choices.check_device, device))
    from losstune.data import DataError
    from losstune.search.budget import parse_duration
    from losstune.search.storage import Heartbeats
    from losstune.search.worker import join_search

    try:
        seconds = None if timeout is None else parse_duration(timeout)
        ran = join_search(
            study,
            storage,
            data,
            worker_id=worker_id,
            n_trials=trials,
            timeout=seconds,
            device=device,
            heartbeats=Heartbeats(heartbeat_interval, grace_period),
            tracking_uri=tracking_uri,
        )
    except (DataError, FileNotFoundError, ValueError, TypeError) as err:
        raise _fail(str(err)) from None
    _console().print(f"worker {ran.worker_id}: ran {ran.trials} trial(s) of study {study}")


@app.command("show")
def show_command(
    run_dir: Annotated[Path, typer.Argument(help="The run folder a search ran in.")] = Path(
        "losstune-runs"
    ),
    study: Annotated[
        str | None,
        typer.Option("--study", help="Which search, when the run folder holds several."),
    ] = None,
) -> None:
    """Print a finished search's recipe, leaderboard and margin, read from its run folder
    (nothing is trained)."""
    from losstune.search.show import ShowError, load_search
    from losstune.search.summary import print_summary

    try:
        result = load_search(run_dir, study)
    except ShowError as err:
        raise _fail(str(err)) from None
    console = _console()
    console.print(result.recipe.to_yaml().rstrip(), markup=False, highlight=False)
    console.print(f"model: {result.model_uri}", markup=False, highlight=False, soft_wrap=True)
    print_summary(result, console)


@app.command("predict")
def predict_command(
    model: Annotated[
        str,
        typer.Argument(
            help="The model a search logged: the model URI it printed (a folder, or "
            "models:/m-<id> with MLFLOW_TRACKING_URI set), or its run folder (the last "
            "finished search's model; --study picks another)."
        ),
    ],
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file of raw rows to predict.")],
    out: Annotated[
        Path, typer.Option(help="Where to write the predictions (CSV).", rich_help_panel=_OUTPUT)
    ] = Path("predictions.csv"),
    force: ForceOption = False,
    proba: Annotated[
        bool,
        typer.Option("--proba", help="Add one probability column per class (classification)."),
    ] = False,
    study: Annotated[
        str | None,
        typer.Option("--study", help="With a run folder: which search's model."),
    ] = None,
) -> None:
    """Predict the rows of a file with a search's model: a CSV with a ``prediction``
    column (and ``proba_<class>`` columns with --proba). The file needs the columns the
    model was trained on; others, the target too, are ignored."""
    _check_out(out, force)
    rows = _raw_rows(data)
    loaded = _load_model(model, study)
    import pandas as pd

    try:
        with _quiet_libraries(verbose=False):
            frame = pd.DataFrame({"prediction": loaded.predict(rows)})
            if proba:
                table = loaded.predict(rows, params={"predict_method": "predict_proba"})
                frame = frame.join(table.add_prefix("proba_"))
    except Exception as err:  # MLflow's schema errors and the model's own, in one line
        raise _fail(f"The model cannot predict the rows of {data}: {err}") from None
    frame.to_csv(out, index=False)
    _console().print(
        f"wrote {len(frame)} predictions to {out}", markup=False, highlight=False, soft_wrap=True
    )


def _raw_rows(data: Path) -> Any:
    """The rows of ``data`` as the search read its file (a bad file: one ``Error:`` line)."""
    from losstune.data import DataError
    from losstune.data.sources import read_file

    try:
        return read_file(data)
    except (DataError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None


def _load_model(model: str, study: str | None) -> Any:
    """The pyfunc model ``model`` names: a run folder's (its search's ``best_model_uri``),
    or a model URI or folder (one that cannot be loaded: one ``Error:`` line)."""
    path = Path(model)
    if (path / "optuna.db").is_file():
        from losstune.search.show import ShowError, latest_model_uri, load_search

        try:
            uri = latest_model_uri(path) if study is None else load_search(path, study).model_uri
        except ShowError as err:
            raise _fail(str(err)) from None
    elif study is not None:
        raise _fail(f"--study picks a search of a run folder, and {model} is none; drop --study.")
    elif path.exists() and not (path / "MLmodel").is_file():
        raise _fail(
            f"{model} is neither a run folder (no optuna.db) nor a model folder (no MLmodel); "
            "pass the model URI a search printed, or its run folder."
        )
    elif not path.exists() and ":/" not in model:
        raise _fail(
            f"{model} does not exist; pass the model URI a search printed, or its run folder."
        )
    else:
        uri = model
    import mlflow

    try:
        with _quiet_libraries(verbose=False):
            return mlflow.pyfunc.load_model(uri)
    except Exception as err:  # MLflow raises many kinds; each is one line to the user
        raise _fail(
            f"The model {uri} cannot be loaded: {err} (a models:/ URI needs "
            "MLFLOW_TRACKING_URI set to the search's store)."
        ) from None


def main() -> None:
    app()
