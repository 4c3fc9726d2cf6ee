"""The few raw validation rows a Dataset keeps: the logged model's input example."""

from __future__ import annotations

import pickle

import numpy as np
from sklearn.datasets import load_wine

from losstune.data import load_dataset
from losstune.data.load import RAW_EXAMPLE_ROWS


def test_raw_example_is_the_first_validation_rows_as_read(mixed_frame):
    ds = load_dataset(mixed_frame, target="label", seed=0)
    raw = ds.raw_example
    assert raw is not None and len(raw) == RAW_EXAMPLE_ROWS == 8
    assert tuple(raw.columns) == ds.source_columns == ("age", "income", "city", "member")
    # the source dtypes, not the preprocessed floats
    assert raw.dtypes.to_dict() == mixed_frame.drop(columns="label").dtypes.to_dict()
    assert raw.index.tolist() == list(range(8))
    np.testing.assert_array_equal(ds.transform(raw), ds.X_valid[:8])
    # the same rows of the source, found by their values
    source = mixed_frame.drop(columns="label").reset_index(drop=True)
    for _, row in raw.iterrows():
        assert ((source == row) | (source.isna() & row.isna())).all(axis=1).sum() >= 1


def test_raw_example_travels_and_leaves_the_fingerprint_as_it_was():
    ds = load_dataset(load_wine(), seed=0)
    # the fingerprint hashes the data and settings only; pinned from before raw_example
    assert ds.fingerprint == "4aa611405277487b8f82ea56518e0e2e"
    again = pickle.loads(pickle.dumps(ds))
    assert again.raw_example.equals(ds.raw_example)
    assert len(ds.raw_example) == 8 and ds.raw_example.shape[1] == 13
