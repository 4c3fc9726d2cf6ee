"""A benchmark's results as a CSV that grows one row per finished run, so an interrupted
benchmark resumes where it stopped."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path


def read_rows(path: Path) -> list[dict[str, str]]:
    """Every row of the CSV at ``path`` as strings (none when it does not exist yet)."""
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def append_row(path: Path, row: Mapping[str, object], columns: Sequence[str]) -> None:
    """Append ``row`` (its ``columns``, missing ones empty) to the CSV at ``path``, writing
    the header first when the file is new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.is_file()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns))
        if new:
            writer.writeheader()
        writer.writerow({key: row.get(key, "") for key in columns})


class ReportFiles:
    """For a benchmark config whose Markdown report is ``out``: the CSV of its rows and its
    plot sit beside it, with the same name."""

    out: Path

    @property
    def csv(self) -> Path:
        return self.out.with_suffix(".csv")

    @property
    def png(self) -> Path:
        return self.out.with_suffix(".png")
