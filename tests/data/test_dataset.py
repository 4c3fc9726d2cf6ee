"""The Dataset: fingerprint, transform of new rows, summary, and that it travels (pickle)."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

from losstune.data import DataError, Dataset, load_dataset


def test_fingerprint_is_stable_within_and_across_processes(mixed_frame, tmp_path):
    first = load_dataset(mixed_frame, target="label").fingerprint
    assert first == load_dataset(mixed_frame.copy(), target="label").fingerprint
    assert len(first) == 32 and int(first, 16) >= 0

    path = tmp_path / "mixed.parquet"
    mixed_frame.to_parquet(path)
    code = (
        "import sys; from losstune.data import load_dataset; "
        "print(load_dataset(sys.argv[1], target='label').fingerprint)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == first


@pytest.mark.parametrize(
    "change",
    [
        lambda f, kw: (f.assign(age=f["age"].where(f.index != 10, 99.0)), kw),
        lambda f, kw: (f, {**kw, "seed": 1}),
        lambda f, kw: (f, {**kw, "test_size": 0.25}),
        lambda f, kw: (f, {**kw, "drop": ["member"]}),
        lambda f, kw: (f.assign(member=f["member"].astype(int)), kw),
        lambda f, kw: (f[["income", "age", "city", "member", "label"]], kw),
        lambda f, kw: (f.rename(columns={"income": "salary"}), kw),
    ],
    ids=["one cell", "seed", "test_size", "drop", "dtype", "column order", "column name"],
)
def test_fingerprint_changes_with_data_and_settings(mixed_frame, change):
    base = {"target": "label"}
    frame, kwargs = change(mixed_frame, base)
    assert (
        load_dataset(frame, **kwargs).fingerprint != load_dataset(mixed_frame, **base).fingerprint
    )


def test_fingerprint_changes_with_the_target_and_the_task():
    frame = pd.DataFrame({"a": np.arange(60) % 4, "b": np.arange(60) % 3, "x": np.arange(60.0)})
    by_a = load_dataset(frame, target="a")
    assert by_a.fingerprint != load_dataset(frame, target="b").fingerprint
    assert by_a.fingerprint != load_dataset(frame, target="a", task="regression").fingerprint


def test_transform_new_rows_ignores_extra_columns_and_unseen_categories(mixed_frame):
    ds = load_dataset(mixed_frame, target="label")
    new = pd.DataFrame(
        {
            "label": ["stay"],
            "member": [True],
            "city": ["Atlantis"],
            "income": [np.nan],
            "age": [41.0],
        }
    )
    X = ds.transform(new)
    assert X.shape == (1, ds.n_features) and X.dtype == np.float32
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(
        ds.transform(mixed_frame.iloc[:5]),
        ds.preprocessor.transform(mixed_frame.iloc[:5]).astype("f4"),
    )


def test_transform_names_missing_columns(mixed_frame):
    ds = load_dataset(mixed_frame, target="label")
    with pytest.raises(DataError, match=r"lacks column\(s\) 'city'.*Fix: pass a frame"):
        ds.transform(mixed_frame.drop(columns="city"))


def test_repr_and_summary_are_short_and_informative():
    ds = load_dataset(load_wine())
    assert repr(ds) == (
        f"Dataset(task=multiclass, target='target', rows=106/36/36, "
        f"features=13, classes=3, fingerprint={ds.fingerprint[:12]})"
    )
    summary = ds.summary()
    assert "106 train / 36 valid / 36 test (seed 0)" in summary
    assert "'class_0': 35" in summary
    assert ds.fingerprint in summary


def test_dataset_is_frozen_and_pickles(mixed_frame):
    ds = load_dataset(mixed_frame, target="label")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.seed = 3
    again = pickle.loads(pickle.dumps(ds))
    assert isinstance(again, Dataset)
    assert again.fingerprint == ds.fingerprint
    np.testing.assert_array_equal(again.transform(mixed_frame), ds.transform(mixed_frame))
