"""The ``losstune`` command.

``losstune search data.csv --target y`` searches a recipe (progress bar, leaderboard, MLflow);
``losstune recipe data.csv --target y`` writes the default recipe for a dataset;
``losstune train recipe.yaml data.csv --target y`` trains a recipe and prints its test score;
``losstune ui`` opens the MLflow UI on the local run folder;
``losstune worker --study NAME --storage postgresql://... --worker-id 1`` runs trials of a search
started elsewhere (:mod:`losstune.search.worker`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

app = typer.Typer(
    help="Search the loss, temperature, reweighting and optimizer for your dataset.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)

TargetOption = Annotated[str, typer.Option("--target", "-t", help="Name of the target column.")]
TaskOption = Annotated[
    str | None,
    typer.Option(help="binary, multiclass or regression (default: inferred from the target)."),
]
DropOption = Annotated[
    list[str] | None, typer.Option("--drop", help="A column to leave out (repeatable).")
]
SplitSeedOption = Annotated[int, typer.Option(help="Seed of the train/valid/test split.")]


@app.callback()
def _main() -> None:
    """losstune: dataset in, tuned training recipe out."""


def _fail(message: str) -> typer.Exit:
    """Print ``message`` as one ``Error:`` line (never read as markup, never wrapped); the
    exit with code 2 to raise."""
    line = Text("Error: ", style="bold red").append(" ".join(message.split()))
    errors.print(line, highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _check_out(out: Path) -> None:
    """Refuse, before any work, an ``--out`` the recipe could not be written to."""
    if out.is_dir():
        raise _fail(
            f"--out {out} is a directory; name the recipe file, e.g. {out / 'recipe.yaml'}."
        )
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise _fail(f"--out {out}: the folder {folder} does not exist; create it first.")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise _fail(f"--out {out} is not writable here; pick another path.")


def _load(data: Path, target: str, task: str | None, drop: list[str] | None, split_seed: int):
    """Load ``data`` (a bad file exits with one ``Error:`` line) and print its data profile:
    one summary line, then one line per column treated specially (the ``DataWarning``s, which
    the profile repeats, are not printed a second time)."""
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
    console.print(f"data: {first}", markup=False, highlight=False, soft_wrap=True)
    for line in columns:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    return dataset


@app.command("recipe")
def recipe_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: TargetOption,
    out: Annotated[Path, typer.Option(help="Where to write the recipe.")] = Path("recipe.yaml"),
    task: TaskOption = None,
    metric: Annotated[str | None, typer.Option(help="Metric (default: chosen by task).")] = None,
    drop: DropOption = None,
    split_seed: SplitSeedOption = 0,
) -> None:
    """Write the default recipe (cross-entropy or MSE, AdamW 1e-3, cosine) for a dataset."""
    _check_out(out)
    from losstune.metrics import default_metric
    from losstune.recipe import Recipe, RecipeError

    dataset = _load(data, target, task, drop, split_seed)
    if metric is None:
        metric, reason = default_metric(dataset.task, dataset.class_counts)
        console.print(f"metric: [bold]{metric}[/] ({reason})")
    try:
        recipe = Recipe.default(dataset.task, metric)
    except RecipeError as err:
        raise _fail(str(err)) from None
    recipe.save(out)
    console.print(f"wrote {out}")


@app.command("train")
def train_command(
    recipe: Annotated[Path, typer.Argument(help="Recipe YAML file.")],
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: TargetOption,
    task: TaskOption = None,
    drop: DropOption = None,
    split_seed: SplitSeedOption = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")] = "auto",
) -> None:
    """Train a recipe on a dataset and print its validation and test scores."""
    from losstune.recipe import Recipe, RecipeError
    from losstune.runners import TrainingDiverged, train

    try:
        loaded = Recipe.load(recipe)
    except (RecipeError, FileNotFoundError) as err:
        raise _fail(str(err)) from None
    dataset = _load(data, target, task, drop, split_seed)
    try:
        result = train(loaded, dataset, device=device)
    except (TrainingDiverged, ValueError) as err:
        raise _fail(str(err)) from None
    table = Table(title=f"{recipe.name} on {data.name} ({result.device}, {result.seconds:.1f}s)")
    table.add_column("metric")
    table.add_column("validation", justify="right")
    table.add_column("test", justify="right")
    for name in result.test_metrics:
        style = "bold" if name == loaded.metric else None
        table.add_row(
            name,
            f"{result.valid_metrics[name]:.4f}",
            f"{result.test_metrics[name]:.4f}",
            style=style,
        )
    console.print(table)
    console.print(f"test {loaded.metric}: {result.test_score:.4f}")


@app.command("search")
def search_command(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet file.")],
    target: TargetOption,
    metric: Annotated[str | None, typer.Option(help="Metric (default: chosen by task).")] = None,
    budget: Annotated[
        str | None,
        typer.Option(
            help="A duration such as 10m or 1h for the whole search: trials stop early "
            "enough for the final re-training to fit, as estimated from their durations "
            "(or use --trials)."
        ),
    ] = None,
    trials: Annotated[int | None, typer.Option(help="Number of trials (default 40).")] = None,
    space: Annotated[
        Path | None, typer.Option(help="YAML file narrowing or extending the search space.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the recipe.")] = Path("recipe.yaml"),
    epochs: Annotated[int, typer.Option(help="Epochs per trial.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and of training.")] = 0,
    sampler: Annotated[str, typer.Option(help="tpe or random.")] = "tpe",
    pruner: Annotated[
        str,
        typer.Option(
            help="auto (median; asha with --backend ray), median, curve, none, or asha (ray)."
        ),
    ] = "auto",
    strategy: Annotated[
        str,
        typer.Option(
            help="direct (search at full size) or transfer (search small muP proxies, "
            "fit the step law, confirm at full size)."
        ),
    ] = "direct",
    study_name: Annotated[
        str | None, typer.Option(help="Resume or name the study (default: from data+space).")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Optuna storage URL; on PostgreSQL (postgresql://...) `losstune worker` "
            "processes can join the search."
        ),
    ] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking URI.")] = None,
    run_dir: Annotated[Path, typer.Option(help="Local run folder.")] = Path("losstune-runs"),
    task: TaskOption = None,
    drop: DropOption = None,
    split_seed: SplitSeedOption = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")] = "auto",
    batch_trials: Annotated[
        str,
        typer.Option(
            help="Trials trained at once as one batched program (stacked weights): a number, "
            "or auto (from free GPU memory). 1 trains one at a time."
        ),
    ] = "1",
    backend: Annotated[
        str, typer.Option(help="optuna (trials in this process) or ray (trials on Ray Tune).")
    ] = "optuna",
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where trials run: sequential, batched, ray or workers (default: ray with "
            "--backend ray, batched with --batch-trials other than 1, else sequential)."
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="Ray cluster to join with --backend ray: auto, host:6379 or ray://host:10001 "
            "(default: start a local Ray)."
        ),
    ] = None,
    cpus_per_trial: Annotated[
        float | None, typer.Option(help="CPUs each Ray trial reserves (default 1).")
    ] = None,
    gpus_per_trial: Annotated[
        float | None,
        typer.Option(help="GPUs each Ray trial reserves; 0.25 runs 4 trials per GPU (default 0)."),
    ] = None,
    max_concurrent_trials: Annotated[
        int | None, typer.Option(help="At most this many Ray trials at once.")
    ] = None,
    n_workers: Annotated[
        int | None,
        typer.Option(
            help="--executor workers: processes on this machine running trials, this one "
            "included (needs --storage postgresql://...)."
        ),
    ] = None,
    grace_period: Annotated[
        int | None, typer.Option(help="Epochs every Ray trial runs before ASHA may stop it (2).")
    ] = None,
    max_failures: Annotated[
        int | None,
        typer.Option(help="How often a Ray trial whose worker died is retried (default 2)."),
    ] = None,
    proxy_widths: Annotated[
        str | None,
        typer.Option(help="--strategy transfer: proxy MLP widths, comma-separated (32,64)."),
    ] = None,
    proxy_fractions: Annotated[
        str | None,
        typer.Option(help="--strategy transfer: proxy shares of the rows (0.25,0.5)."),
    ] = None,
    confirm_share: Annotated[
        float | None,
        typer.Option(help="--strategy transfer: share of the trials run at full size (0.1)."),
    ] = None,
    max_lr_factor: Annotated[
        float | None,
        typer.Option(help="--strategy transfer: confirm the lr within x/÷ this factor (2)."),
    ] = None,
    lr_width_exponent: Annotated[
        str | None,
        typer.Option(
            help="--strategy transfer: the step law's exponent of the model size, held at "
            "this value, or 'fit' (default 0, muP's claim)."
        ),
    ] = None,
) -> None:
    """Search the loss, temperature, weighting and optimizer; write the best recipe."""
    from losstune.metrics import default_metric
    from losstune.search import BACKENDS, EXECUTORS, PRUNERS, SAMPLERS, STRATEGIES, make_budget
    from losstune.search import search as run_search
    from losstune.search.interrupts import SearchInterrupted
    from losstune.search.lock import StudyBusyError
    from losstune.search.summary import print_summary
    from losstune.search.worker import file_source
    from losstune.spaces import SpaceError, default_space, load_space

    if budget is not None and trials is not None:
        raise _fail("Give --budget (a duration) or --trials, not both.")
    batch = _batch_trials(batch_trials)
    _check_out(out)
    # MLflow announces creating its tables on a new run folder: not news to a user
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    try:
        plan = make_budget(budget, trials)
        SAMPLERS.get(sampler)
        if backend not in BACKENDS:
            raise ValueError(f"Unknown backend {backend!r}; choose from {', '.join(BACKENDS)}.")
        if executor is not None:
            EXECUTORS.get(executor)
        if backend == "optuna" and executor != "ray" and pruner != "auto":
            PRUNERS.get(pruner)  # the Ray executor checks its scheduler names itself
        STRATEGIES.get(strategy)
        transfer_plan = _transfer_plan(
            proxy_widths, proxy_fractions, confirm_share, max_lr_factor, lr_width_exponent
        )
    except ValueError as err:
        raise _fail(str(err)) from None
    if transfer_plan is not None and strategy != "transfer":
        raise _fail(
            "--proxy-widths, --proxy-fractions, --confirm-share, --max-lr-factor and "
            "--lr-width-exponent apply to --strategy transfer."
        )
    dataset = _load(data, target, task, drop, split_seed)
    if metric is None:
        metric, reason = default_metric(dataset.task, dataset.class_counts)
        console.print(f"metric: [bold]{metric}[/] ({reason})")
    try:
        search_space = default_space(dataset.task, epochs=epochs)
        if space is not None:
            search_space = load_space(space, search_space)
        result = run_search(
            dataset,
            space=search_space,
            metric=metric,
            n_trials=plan.n_trials,
            timeout=plan.timeout,
            sampler=sampler,
            pruner=pruner,
            strategy=strategy,
            storage=storage,
            study_name=study_name,
            seed=seed,
            tracking_uri=tracking_uri,
            run_dir=run_dir,
            epochs=epochs,
            device=device,
            show_progress=True,
            batch_trials=batch,
            data_source=file_source(data, target, task, drop or (), split_seed),
            backend=backend,
            ray_address=ray_address,
            cpus_per_trial=cpus_per_trial,
            gpus_per_trial=gpus_per_trial,
            max_concurrent_trials=max_concurrent_trials,
            grace_period=grace_period,
            max_failures=max_failures,
            executor=executor,
            n_workers=n_workers,
            transfer_plan=transfer_plan,
        )
    except SearchInterrupted as err:
        errors.print(Text(f"Interrupted: {err}"), highlight=False, soft_wrap=True)
        raise typer.Exit(code=err.exit_code) from None
    except (SpaceError, StudyBusyError, ValueError, TypeError, RuntimeError) as err:
        raise _fail(str(err)) from None
    result.recipe.save(out)
    console.print(result.recipe.to_yaml(), highlight=False)
    print_summary(result, console)
    console.print(f"recipe written to {out}")


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
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 5000,
) -> None:
    """Start the MLflow UI on the run folder's store (Ctrl-C or SIGTERM stops it)."""
    from losstune.mlflow import port_in_use, serve, ui_url
    from losstune.mlflow import ui_command as build_ui_command

    try:
        command = build_ui_command(run_dir, host=host, port=port)
    except (FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None
    if port_in_use(host, port):
        raise _fail(
            f"Port {port} on {host} is taken (another MLflow UI?); pass a free one with --port, "
            "or stop what listens there."
        )
    console.print(
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
        str | None, typer.Option(help="Start no trial after this long, e.g. 30m.")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="The data file, when not at the path the search read it from."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda[:N].")] = "auto",
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
    console.print(f"worker {ran.worker_id}: ran {ran.trials} trial(s) of study {study}")


def main() -> None:
    app()
