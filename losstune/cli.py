"""The ``losstune`` command.

``losstune recipe data.csv --target y`` writes the default recipe for a dataset;
``losstune train recipe.yaml data.csv --target y`` trains it and prints the test score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

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
    errors.print(f"[bold red]Error:[/] {message}", highlight=False)
    return typer.Exit(code=2)


def _load(data: Path, target: str, task: str | None, drop: list[str] | None, split_seed: int):
    from losstune.data import DataError, load_dataset

    try:
        return load_dataset(data, target=target, task=task, drop=tuple(drop or ()), seed=split_seed)
    except (DataError, FileNotFoundError, ValueError) as err:
        raise _fail(str(err)) from None


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
    from losstune.recipe import Recipe, RecipeError, train
    from losstune.runners.torch_runner import TrainingDiverged

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


def main() -> None:
    app()
