"""Hand-made portfolio runs for the benchmarks' tests: a pool CSV and a runs CSV the
portfolio builder reads, so a leave-one-dataset-out portfolio can be built without
recording anything."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.portfolio_pool import Candidate
from benchmarks.portfolio_record import write_pool


def write_portfolio_runs(
    folder: Path,
    candidates: Sequence[Candidate],
    scores: Mapping[str, Mapping[str, float]],
    seeds: Sequence[int] = (0,),
) -> tuple[Path, Path]:
    """A pool CSV of ``candidates`` and a runs CSV with ``scores[dataset][candidate]`` as the
    test (and validation) accuracy of every candidate on ``dataset`` / clean, per seed."""
    pool, runs = folder / "pool.csv", folder / "runs.csv"
    write_pool(pool, candidates)
    by_name = {c.name: c for c in candidates}
    rows = [
        dict(
            dataset=dataset,
            variant="clean",
            seed=seed,
            candidate=name,
            config_id=by_name[name].config_id,
            regime="clean",
            kind="classification",
            metric="accuracy",
            greater_is_better=True,
            valid_score=score,
            test_score=score,
            error="",
        )
        for dataset, table in scores.items()
        for seed in seeds
        for name, score in table.items()
    ]
    pd.DataFrame(rows).to_csv(runs, index=False)
    return runs, pool


@pytest.fixture
def write_runs():
    """:func:`write_portfolio_runs`, for tests that make their own runs."""
    return write_portfolio_runs


@pytest.fixture
def portfolio_files(tmp_path) -> tuple[Path, Path]:
    """Runs and pool on digits and wine, four real classification candidates: on digits
    label smoothing wins, on wine the LightGBM GCE does, so a portfolio built without wine
    orders label smoothing first and one built on both may not."""
    from benchmarks.portfolio_pool import build_pool

    names = ("cls-mlp-default", "cls-lgb-default", "cls-mlp-ls", "cls-lgb-gce")
    pool = build_pool("classification", n_random=0).by_name()
    scores = {
        "digits": {"cls-mlp-default": 0.9, "cls-lgb-default": 0.8, "cls-mlp-ls": 0.95,
                   "cls-lgb-gce": 0.7},
        "wine": {"cls-mlp-default": 0.9, "cls-lgb-default": 0.8, "cls-mlp-ls": 0.6,
                 "cls-lgb-gce": 0.99},
    }  # fmt: skip
    return write_portfolio_runs(tmp_path / "portfolio", [pool[n] for n in names], scores)
