"""The data profile: one report per source column, rendered short, printed by the CLI."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from typer.testing import CliRunner

from losstune.cli import app
from losstune.data import ColumnReport, DataWarning, load_dataset
from losstune.data.columns import ColumnKind


def _messy() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    n = 200
    frame = load_wine(as_frame=True).frame.sample(n, replace=True, random_state=0)
    frame = frame.reset_index(drop=True).rename(columns={"target": "cultivar"})
    frame["visit"] = (pd.Timestamp("2022-03-01") + pd.to_timedelta(np.arange(n), unit="D")).astype(
        str
    )
    frame["ash"] = frame["ash"].astype(object)
    frame.loc[[2, 5], "ash"] = "?"
    frame["remark"] = [f"remark number {i}" for i in range(n)]
    frame["region"] = rng.choice(["north", "south"], n)
    return frame


def test_wine_profile_is_one_summary_line_and_a_report_per_column():
    ds = load_dataset(load_wine(as_frame=True))
    assert ds.profile_lines() == [
        "178 rows, 13 columns (13 numeric) -> 13 features; multiclass target 'target' (3 classes)"
    ]
    assert len(ds.profile) == 13 and all(isinstance(r, ColumnReport) for r in ds.profile)
    assert ds.profile[0] == ColumnReport("alcohol", ColumnKind.NUMERIC, ("alcohol",), "numeric")
    assert len(ds.profile_lines(all_columns=True)) == 14
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.profile[0].column = "x"  # type: ignore[misc]


def test_profile_lines_name_each_special_column_in_source_order():
    with pytest.warns(DataWarning):
        ds = load_dataset(_messy(), target="cultivar")
    assert ds.profile_lines() == [
        "200 rows, 16 columns (12 numeric, 1 categorical, 1 numbers in text, 1 date, "
        "1 free text dropped) -> 19 features; multiclass target 'cultivar' (3 classes)",
        "  'ash': numbers stored as text; 2 row(s) of '?' read as missing -> 1 feature",
        "  'visit': dates as text (%Y-%m-%d) parsed into days_since_1970, month, day, weekday "
        "-> 4 features",
        "  'remark': free text or identifiers (200 distinct values), dropped -> 0 features",
    ]
    assert "  'region': categorical, 2 categories -> 2 features" in ds.profile_lines(True)
    features = [f for r in ds.profile for f in r.features]
    assert sorted(features) == sorted(ds.feature_names)
    assert pickle.loads(pickle.dumps(ds)).profile == ds.profile


def test_the_cli_prints_the_profile_once_without_warnings(tmp_path):
    wine, messy = tmp_path / "wine.csv", tmp_path / "messy.csv"
    load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"}).to_csv(wine, index=False)
    _messy().to_csv(messy, index=False)
    runner = CliRunner()

    out = runner.invoke(
        app, ["recipe", str(wine), "-t", "cultivar", "--out", str(tmp_path / "r.yaml")]
    )
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[0] == (
        "data: 178 rows, 13 columns (13 numeric) -> 13 features; multiclass target 'cultivar' "
        "(3 classes)"
    )
    assert out.stdout.splitlines()[1].startswith("metric: ")

    out = runner.invoke(
        app, ["recipe", str(messy), "-t", "cultivar", "--out", str(tmp_path / "r2.yaml")]
    )
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    assert lines[0].startswith("data: 200 rows, 16 columns (")
    assert [line.split(":")[0] for line in lines[1:4]] == ["  'ash'", "  'visit'", "  'remark'"]
    assert "DataWarning" not in out.output
