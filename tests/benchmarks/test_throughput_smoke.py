"""Smoke test of the throughput benchmark: a tiny run writes a report with every mode.
Timings are not asserted (performance claims live in docs/benchmarks, not in tests)."""

import pytest

from benchmarks.throughput import main


@pytest.mark.slow
def test_tiny_run_writes_every_mode(tmp_path):
    out = tmp_path / "throughput.md"
    main(["--rows", "1500", "--trials", "2", "--ks", "2", "--batches", "1", "--workers", "1",
          "--drop-k", "4", "--out", str(out)])  # fmt: skip
    page = out.read_text()
    for mode in ("| one-at-a-time | 1 | 2 |", "| batched | 2 | 2 |", "| packed | 1 | 2 |",
                 "| packed, start-up excluded | 1 | 2 |"):  # fmt: skip
        assert mode in page
    assert "python benchmarks/throughput.py --rows 1500" in page
    assert "MLflow logging" in page and "Dropping pruned members" in page
