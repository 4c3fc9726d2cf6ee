"""How a finished search is shown to a person: the leaderboard table and the verdict."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from losstune.search.leaderboard import SUMMARY
from losstune.search.result import Result
from losstune.urls import mask_password

# the leaderboard's identity columns, then its summary choices that fit a terminal
_COLUMNS = ("trial", "state", "value", *(c for c in SUMMARY if c not in ("temperature", "epochs")))


def leaderboard_table(result: Result, rows: int = 10) -> Table:
    """The best ``rows`` trials as a rich table; the default recipe's row is bold."""
    board = result.leaderboard()
    table = Table(
        title=f"leaderboard (best {min(rows, len(board))} of {len(board)} trials)",
        caption="bold: the default recipe",
    )
    for name in _COLUMNS:
        table.add_column(name, justify="right" if name in ("trial", "value", "lr") else "left")
    for _, row in board.head(rows).iterrows():
        table.add_row(
            *(_cell(name, row.get(name)) for name in _COLUMNS),
            style="bold" if row["default"] else None,
        )
    return table


def print_summary(result: Result, console: Console) -> None:
    """Leaderboard, the recipe's test score against the default's, and where things are
    (storage and tracking URLs with their passwords hidden: a terminal is shared, logged,
    screenshotted)."""
    console.print(leaderboard_table(result))
    score, default = result.score, result.default_score
    if result.default_failure is not None:
        console.print(
            f"[bold red]The default recipe failed: {escape(result.default_failure)}.[/] "
            "Compare with care: the search's baseline did not work.",
            highlight=False,
        )
    measured = result.margin == result.margin  # NaN: the default failed
    margin = f"margin [bold]{result.margin:+.4f}[/]" if measured else "[bold red]no margin[/]"
    console.print(
        f"[bold]{score.metric}[/] on the test split ({score.n_seeds} seeds, 95% interval): "
        f"recipe {score.mean:.4f} [{score.low:.4f}, {score.high:.4f}] vs default "
        f"{default.mean:.4f} [{default.low:.4f}, {default.high:.4f}]; {margin}",
        highlight=False,
    )
    console.print(
        f"study: {result.study_name} in {mask_password(result.storage)}",
        highlight=False,
        markup=False,
    )
    console.print(
        f"MLflow: parent run {result.mlflow_run_id} in {mask_password(result.tracking_uri)}",
        highlight=False,
        markup=False,
    )
    if result.run_dir is not None and result.tracking_uri.startswith("sqlite"):
        console.print(f"browse the trials: losstune ui --run-dir {result.run_dir}")


def _cell(name: str, value: object) -> str:
    if value is None or value != value:  # None or NaN
        return ""
    if name == "value":
        return f"{value:.4f}"
    if name == "lr":
        return f"{value:.2g}"
    return str(value)
