"""Reading every kind of source, and refusing the malformed ones with a message to act on."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

from losstune.data import DataError, DataFileNotFoundError, load_dataset
from losstune.task import Task


@pytest.mark.parametrize(
    "name", ["train.csv", "train.csv.gz", "train.tsv", "train.parquet", "train.pq"]
)
def test_files_load_like_the_frame_they_were_written_from(tmp_path, mixed_frame, name):
    path = tmp_path / name
    if name.endswith((".parquet", ".pq")):
        mixed_frame.to_parquet(path)
    else:
        mixed_frame.to_csv(path, sep="\t" if ".tsv" in name else ",", index=False)

    from_file = load_dataset(path, target="label")
    from_frame = load_dataset(mixed_frame, target="label")

    assert from_file.task is Task.BINARY
    assert from_file.feature_names == from_frame.feature_names
    np.testing.assert_allclose(from_file.X_train, from_frame.X_train, rtol=1e-6)
    np.testing.assert_array_equal(from_file.y_test, from_frame.y_test)


def test_path_may_be_a_string(tmp_path, mixed_frame):
    mixed_frame.to_csv(tmp_path / "t.csv", index=False)
    assert load_dataset(str(tmp_path / "t.csv"), "label").task is Task.BINARY


def test_missing_file_is_a_data_error_and_a_file_not_found_error(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataFileNotFoundError, match=r"nope\.csv.*Fix: check the path"):
        load_dataset(path, target="y")
    with pytest.raises(FileNotFoundError):
        load_dataset(path, target="y")
    with pytest.raises(DataError):
        load_dataset(str(path), target="y")


def test_unsupported_format_lists_the_supported_ones(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(DataError, match=r"'\.xlsx'.*\.csv.*\.parquet.*Fix: export"):
        load_dataset(path, target="y")


def test_duplicate_csv_header_is_refused_not_renamed(tmp_path):
    path = tmp_path / "dup.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("a,b,a,y\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(DataError, match=r"Duplicate column names.*'a'.*Fix: rename"):
        load_dataset(path, target="y")


def test_duplicate_parquet_columns_are_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "dup.parquet"
    pq.write_table(pa.table([[1, 2], [3, 4], [0, 1]], names=["a", "a", "y"]), path)
    with pytest.raises(DataError, match=r"Duplicate column names.*'a'.*Fix: rename"):
        load_dataset(path, target="y")


def test_duplicate_frame_columns_are_refused():
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["x", "x", "y"])
    with pytest.raises(DataError, match=r"Duplicate column names.*'x'.*Fix: rename"):
        load_dataset(frame, target="y")


def test_empty_csv_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv' is empty.*Fix"):
        load_dataset(path, target="y")


def test_absent_target_suggests_close_matches_and_lists_columns(mixed_frame):
    with pytest.raises(
        DataError,
        match=r"'lable'.*Did you mean 'label'.*Available columns: "
        r"'age', 'income'.*Fix: pass target=",
    ):
        load_dataset(mixed_frame, target="lable")


def test_frame_without_target_asks_for_one(mixed_frame):
    with pytest.raises(DataError, match=r"No target given.*target='label'"):
        load_dataset(mixed_frame)


def test_frame_with_an_array_target_asks_for_a_column(mixed_frame):
    y = mixed_frame.pop("label")
    with pytest.raises(DataError, match=r"column name, not a Series.*frame\.assign"):
        load_dataset(mixed_frame, target=y)


def test_numpy_arrays_name_columns_and_infer_the_task():
    X, y = load_iris(return_X_y=True)
    ds = load_dataset(X, y)
    assert ds.task is Task.MULTICLASS
    assert ds.source_columns == ("x0", "x1", "x2", "x3")
    assert ds.target == "target"
    np.testing.assert_array_equal(ds.classes, [0, 1, 2])


def test_numpy_column_vector_target_is_accepted():
    X, y = load_iris(return_X_y=True)
    assert load_dataset(X, y.reshape(-1, 1)).n_classes == 3


def test_numpy_with_a_column_name_target_is_refused():
    X, _ = load_iris(return_X_y=True)
    with pytest.raises(
        DataError,
        match=r"target='species' is a column name.*Fix: pass the "
        r"target values",
    ):
        load_dataset(X, "species")


def test_numpy_length_mismatch_names_both_lengths():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(DataError, match=r"X has 150 rows but y has 149.*Fix"):
        load_dataset(X, y[:-1])


def test_numpy_1d_x_is_refused_with_the_reshape_fix():
    with pytest.raises(DataError, match=r"shape \(10,\).*reshape\(-1, 1\)"):
        load_dataset(np.arange(10.0), np.arange(10.0))


def test_numpy_without_y_is_refused():
    with pytest.raises(DataError, match=r"load_dataset\(X, y\)"):
        load_dataset(np.ones((10, 2)))


def test_unsupported_source_type_lists_the_supported_ones():
    with pytest.raises(DataError, match=r"from a list.*CSV/Parquet path.*Bunch"):
        load_dataset([[1, 2], [3, 4]], [0, 1])


@pytest.mark.parametrize("as_frame", [False, True])
def test_bunch_names_classes_from_target_names(as_frame):
    ds = load_dataset(load_wine(as_frame=as_frame))
    assert ds.task is Task.MULTICLASS
    assert ds.classes.tolist() == ["class_0", "class_1", "class_2"]
    assert ds.source_columns == tuple(load_wine().feature_names)


def test_bunch_classes_keep_the_code_order_not_the_alphabetical_one():
    ds = load_dataset(load_breast_cancer())
    assert ds.classes.tolist() == ["malignant", "benign"]
    benign = np.mean(ds.y_train == 1)
    assert 0.55 < benign < 0.7  # 357 of 569 tumours are benign


def test_bunch_target_may_name_another_column():
    ds = load_dataset(load_digits(as_frame=True), target="pixel_3_3", task="regression")
    assert ds.target == "pixel_3_3"
    assert ds.classes is None
    assert "target" in ds.source_columns


@pytest.mark.parametrize("name", ["latin1.csv", "latin1.csv.gz"])
def test_a_latin1_file_names_the_first_bad_byte_and_the_fix(tmp_path, name):
    text = "name,y\n" + "".join(f"row {i},{i % 2}\n" for i in range(30)) + "caf\xe9,1\n"
    path = tmp_path / name
    data = text.encode("latin-1")
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    offset = data.index(b"\xe9")
    with pytest.raises(
        DataError,
        match=rf"'{path}' is not UTF-8 text: byte 0xE9 on line 32 \(byte offset {offset}\).*"
        r"reads 'é'.*Fix: re-save the file as UTF-8.*encoding=\"latin-1\"",
    ):
        load_dataset(path, target="y")


def test_the_first_bad_byte_is_found_across_chunks_and_split_characters(tmp_path):
    from losstune.data.sources import first_non_utf8

    path = tmp_path / "t.csv"
    head = ("é\n" * ((1 << 20) // 3 + 10)).encode()  # an "é" straddles the 1 MiB chunk end
    path.write_bytes(head + b"ok\n\xff\n")
    assert first_non_utf8(path) == (head.count(b"\n") + 2, len(head) + 3, 0xFF)
    path.write_bytes(head + b"a\n")
    assert first_non_utf8(path) is None
    path.write_bytes(b"a\n\xc3")  # a character cut off by the end of the file
    assert first_non_utf8(path) == (2, 2, 0xC3)
