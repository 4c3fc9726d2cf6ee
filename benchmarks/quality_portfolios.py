"""The warm-start portfolio each case's warm-starting searches get: built without the case's
dataset (leave-one-dataset-out), so no search starts from configurations chosen on runs of
its own data.

The portfolio of a dataset is built once, by the portfolio builder's own command
(``python -m benchmarks.portfolio build --leave-out DATASET``, :func:`benchmarks.portfolio.main`)
from the recorded runs (``docs/benchmarks/portfolio-runs.csv``) and pool, into the
benchmark's work folder under a name that carries a hash of both files: the same runs give
the same file, and new runs give a new one. A dataset the runs never recorded needs no
leaving out: its portfolio is the one built on every recorded case.

Example:
    >>> leave_out("wine", ["digits", "wine"]), leave_out("letter", ["digits", "wine"])
    ('wine', None)
"""

from __future__ import annotations

import argparse
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "docs" / "benchmarks" / "portfolio-runs.csv"
POOL = REPO / "docs" / "benchmarks" / "portfolio-pool.csv"
LODO, SHIPPED = "lodo", "shipped"


def leave_out(dataset: str, recorded: Iterable[str]) -> str | None:
    """The dataset to leave out of ``dataset``'s portfolio: itself when the runs recorded
    it, else none (a portfolio built on every recorded case never saw it)."""
    return dataset if dataset in set(recorded) else None


def recorded_datasets(runs: Path) -> tuple[str, ...]:
    """The datasets of the runs CSV at ``runs``, in their first order."""
    names = pd.read_csv(runs, usecols=["dataset"], dtype={"dataset": str})["dataset"]
    return tuple(dict.fromkeys(names))


def files_digest(*paths: Path) -> str:
    """A short hash of the files' contents (the runs and the pool a portfolio is built
    from): a new recording gives new portfolio files."""
    digest = hashlib.blake2b(digest_size=5)
    for path in paths:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def build_lodo(dataset: str, *, runs: Path, pool: Path, folder: Path) -> Path:
    """The portfolio built from ``runs`` and ``pool`` without ``dataset``'s cases, built into
    ``folder`` on first use (``<dataset>-<hash>.yaml``) and reused after.

    Raises:
        FileNotFoundError: no runs or pool CSV (record the runs first).
    """
    for path, what in ((runs, "runs"), (pool, "pool")):
        if not Path(path).is_file():
            raise FileNotFoundError(
                f"No portfolio {what} file {path}: record the runs first "
                "(`python -m benchmarks.portfolio record`), or run the benchmark with "
                "--portfolio shipped (the shipped portfolio may have seen the case's dataset)."
            )
    path = Path(folder) / f"{dataset}-{files_digest(runs, pool)}.yaml"
    if path.is_file():
        return path
    from benchmarks import portfolio as builder

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    argv = ["build", "--runs", str(runs), "--pool", str(pool), "--out", str(partial), "--no-report"]
    left = leave_out(dataset, recorded_datasets(runs))
    try:
        builder.main([*argv, "--leave-out", left] if left else argv)
    except KeyError as err:  # recorded, but no complete case: the full build never saw it
        if "No cases of dataset" not in str(err):
            raise
        builder.main(argv)
    os.replace(partial, path)  # whole, even when two processes build it at once
    return path


@dataclass(frozen=True)
class PortfolioPlan:
    """Which portfolio the warm-starting searches get on each case.

    Attributes:
        mode: ``"lodo"`` (built without the case's dataset, :func:`build_lodo`),
            ``"shipped"`` (the package's, built on cases this benchmark may run too), or the
            path of one portfolio file for every case.
        runs, pool: the recorded runs and pool the ``lodo`` portfolios are built from.
        folder: where the ``lodo`` portfolios are built.
    """

    mode: str = LODO
    runs: Path = RUNS
    pool: Path = POOL
    folder: Path = REPO / "losstune-runs" / "benchmarks" / "portfolios"

    def path_for(self, dataset: str) -> Path | None:
        """The portfolio file of ``dataset``'s cases (None: the shipped one)."""
        if self.mode == SHIPPED:
            return None
        if self.mode == LODO:
            return build_lodo(dataset, runs=self.runs, pool=self.pool, folder=self.folder)
        return Path(self.mode)

    def describe(self) -> str:
        """One sentence for the report: where the warm-start portfolios came from."""
        if self.mode == SHIPPED:
            return (
                "The warm-starting searches used the portfolio shipped in the package "
                "(`losstune/spaces/portfolio.yaml`), built on every recorded case: it may "
                "have seen the datasets run here, so its warm start is not measured out of "
                "sample."
            )
        if self.mode == LODO:
            return (
                "Each warm-starting search used a portfolio built without its case's dataset "
                "(leave-one-dataset-out: `python -m benchmarks.portfolio build --leave-out "
                f"DATASET`) from the recorded runs `{_shown(self.runs)}` and pool "
                f"`{_shown(self.pool)}`, so no search was warm-started from runs on its own "
                "data."
            )
        return f"Every warm-starting search used the portfolio file `{_shown(Path(self.mode))}`."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line options of the portfolios (:func:`plan_of` reads them back)."""
    parser.add_argument(
        "--portfolio",
        default=LODO,
        help="the warm-start portfolio of the warm-starting searches: lodo (default: per "
        "case, built without its dataset from --portfolio-runs), shipped (the package's), "
        "or a portfolio file's path",
    )
    parser.add_argument("--portfolio-runs", type=Path, default=RUNS, help=f"default {_shown(RUNS)}")
    parser.add_argument("--portfolio-pool", type=Path, default=POOL, help=f"default {_shown(POOL)}")


def plan_of(args: argparse.Namespace, work: Path) -> PortfolioPlan:
    """The :class:`PortfolioPlan` of parsed :func:`add_arguments` options; ``lodo``
    portfolios are built into ``work/portfolios``. Exits when a portfolio file is missing."""
    mode = str(args.portfolio)
    if mode not in (LODO, SHIPPED) and not Path(mode).is_file():
        raise SystemExit(f"--portfolio {mode}: no such file (or use lodo or shipped).")
    return PortfolioPlan(mode, args.portfolio_runs, args.portfolio_pool, work / "portfolios")


def provenance(path: Path) -> Mapping[str, Any]:
    """What a built portfolio YAML says it was built from (``built_from``: runs, commit,
    cases, seeds, the left-out dataset); empty when the file has none."""
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    return dict(data.get("built_from") or {})


def _shown(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
