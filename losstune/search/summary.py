"""How a finished search is shown to a person: where things are, the leaderboard, and the
verdict (the recipe's test score against the default's), always the last line.

Outside a terminal (a file, a pipe, a CI log) the same text is printed plain: the caller
gives a console wide enough that no line is cut, and the default recipe's row carries a
``*`` besides its bold, which a log does not show.
"""

from __future__ import annotations

import math
import numbers

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from losstune.recipe import Score
from losstune.search.leaderboard import SUMMARY
from losstune.search.result import Result
from losstune.urls import mask_password

# the leaderboard's identity columns, then its summary choices that fit a terminal
_COLUMNS = ("trial", "state", "value", *(c for c in SUMMARY if c not in ("temperature", "epochs")))
DEFAULT_MARK = "*"
"""Written after the default recipe's trial number in the leaderboard."""


def leaderboard_table(result: Result, rows: int = 10) -> Table:
    """The best ``rows`` trials as a rich table, numbers rounded for reading (the value to 4
    decimals, other floats to 3 significant digits); the default recipe's row is bold and
    its trial number marked ``*``, and shown below the others when it is not among the best
    ``rows``."""
    board = result.leaderboard()
    shown = board.head(rows)
    default_rows = board[board["default"]] if "default" in board else board.head(0)
    extra = default_rows[~default_rows.index.isin(shown.index)]
    title = f"leaderboard (best {len(shown)} of {len(board)} trials)"
    table = Table(title=title, caption=f"{DEFAULT_MARK} (bold): the default recipe")
    for name in _COLUMNS:
        table.add_column(name, justify="right" if name in ("trial", "value", "lr") else "left")
    for position, (_, row) in enumerate([*shown.iterrows(), *extra.iterrows()]):
        is_default = bool(row.get("default", False))
        cells = [_cell(name, row.get(name)) for name in _COLUMNS]
        if is_default:
            cells[0] += DEFAULT_MARK
        table.add_row(
            *cells,
            style="bold" if is_default else None,
            end_section=position == len(shown) - 1 and not extra.empty,
        )
    return table


def verdict(result: Result) -> str:
    """The one line that says whether the search paid off (rich markup): the metric on the
    test split, the recipe's and the default's means with their 95% intervals, the margin."""
    score, default = result.score, result.default_score
    measured = not math.isnan(result.margin)  # NaN: the default failed
    margin = f"margin [bold]{result.margin:+.4f}[/]" if measured else "[bold red]no margin[/]"
    return (
        f"[bold]{escape(score.metric)}[/] on the test split ({score.n_seeds} seeds, 95% "
        f"interval): recipe {interval(score)} vs default {interval(default)}; {margin}"
    )


def interval(score: Score) -> str:
    """``mean [low, high]`` to 4 decimals, without rich markup meaning (``\\[``)."""
    return f"{score.mean:.4f} \\[{score.low:.4f}, {score.high:.4f}]"


def print_summary(result: Result, console: Console) -> None:
    """Where things are (storage and tracking URLs with their passwords hidden: a terminal
    is shared, logged, screenshotted), the leaderboard, then the verdict: the last line, so
    a log's tail or a terminal's last line holds it."""
    console.print(
        f"study: {result.study_name} in {mask_password(result.storage)}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print(
        f"MLflow: parent run {result.mlflow_run_id} in {mask_password(result.tracking_uri)}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if result.run_dir is not None and result.tracking_uri.startswith("sqlite"):
        console.print(
            f"browse the trials: losstune ui --run-dir {result.run_dir}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    console.print(leaderboard_table(result))
    if result.default_failure is not None:
        console.print(
            f"[bold red]The default recipe failed: {escape(result.default_failure)}.[/] "
            "Compare with care: the search's baseline did not work.",
            highlight=False,
            soft_wrap=True,
        )
    console.print(verdict(result), highlight=False, soft_wrap=True)


def _cell(name: str, value: object) -> str:
    """A leaderboard cell: blank for nothing, the value to 4 decimals, other floats to 3
    significant digits (a whole float such as a batch size read back as 128.0 as 128)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    number = float(value)
    if name == "value":
        return f"{number:.4f}"
    if number.is_integer():
        return str(int(number))
    return f"{number:.3g}"
