"""Smoke test of the quality benchmark: a tiny run writes a report and CSV naming every
contender. Scores and timings are not asserted: this only checks that the pipeline runs."""

import pandas as pd
import pytest

from benchmarks.quality import DEFAULT_CONTENDERS, main


@pytest.mark.slow
def test_tiny_run_writes_report_and_csv(tmp_path, portfolio_files):
    out = tmp_path / "quality.md"
    runs, pool = portfolio_files
    tiny = "--datasets wine --variants clean --trials 2 --seeds 1 --epochs 3 --top-k 1"
    argv = [*tiny.split(), "--final-seeds", "1", "--out", str(out), "--work", str(tmp_path / "w")]
    argv += ["--portfolio-runs", str(runs), "--portfolio-pool", str(pool)]
    assert main(argv) == out
    rows = pd.read_csv(out.with_suffix(".csv"))
    assert set(rows["contender"]) == set(DEFAULT_CONTENDERS)
    assert (rows["error"].isna()).all(), rows["error"].dropna().tolist()
    warm = rows.loc[rows["contender"] == "losstune", "note"].iloc[0]
    assert warm.startswith("portfolio=wine-")  # built without wine's runs
    page = out.read_text()
    for name in DEFAULT_CONTENDERS:
        assert f"| {name} |" in page
    assert "## Verdict" in page and "python benchmarks/quality.py --datasets wine" in page
    assert out.with_suffix(".png").exists()

    # a second run resumes: nothing is re-run, the CSV keeps one row per contender
    main(argv)
    assert len(pd.read_csv(out.with_suffix(".csv"))) == len(DEFAULT_CONTENDERS)
