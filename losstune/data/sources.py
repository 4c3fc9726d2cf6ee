"""Read any supported source into a feature frame and a target series.

Sources: a CSV/TSV or Parquet file, a pandas DataFrame, NumPy arrays ``X, y``, or a
scikit-learn ``Bunch``. Everything downstream sees one shape: a :class:`Source` whose column
names are unique strings. Only the *shape* of the input is checked here; the values
(missing targets, infinities, class sizes) are checked later, once for every kind of source.
"""

from __future__ import annotations

import codecs
import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from losstune.data.errors import DataError, DataFileNotFoundError, missing_column_error, quoted

#: File-name endings we read, and the column separator for text formats (None: Parquet).
FORMATS: dict[str, str | None] = {
    ".csv": ",",
    ".csv.gz": ",",
    ".tsv": "\t",
    ".tsv.gz": "\t",
    ".parquet": None,
    ".pq": None,
}


@dataclass(frozen=True)
class Source:
    """Features and target as read, before any check on their values.

    ``class_names`` names integer class codes (a scikit-learn ``Bunch``'s ``target_names``):
    code ``i`` is class ``class_names[i]``.
    """

    features: pd.DataFrame
    target: pd.Series
    class_names: tuple[Any, ...] | None = None


def read_source(source: object, target: object = None) -> Source:
    """Read ``source`` (a path, DataFrame, ``Bunch`` or NumPy array) and split off ``target``."""
    if isinstance(source, str | os.PathLike):
        return from_frame(read_file(source), target)
    if isinstance(source, pd.DataFrame):
        return from_frame(source, target)
    if isinstance(source, Bunch):
        return from_bunch(source, target)
    if isinstance(source, np.ndarray):
        return from_arrays(source, target)
    raise DataError(
        f"Cannot read a dataset from a {type(source).__name__}. Fix: pass a CSV/Parquet path, "
        "a pandas DataFrame with target='column', NumPy arrays (X, y), or a scikit-learn Bunch."
    )


def read_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV/TSV (optionally gzipped) or Parquet file as a DataFrame, refusing duplicate headers.

    Raises :class:`DataFileNotFoundError` (a ``DataError`` and a ``FileNotFoundError``) when
    the file does not exist.
    """
    path = Path(path)
    ending = next(
        (e for e in sorted(FORMATS, key=len, reverse=True) if path.name.lower().endswith(e)), None
    )
    if ending is None:
        raise DataError(
            f"Unsupported file format {path.suffix or path.name!r} for '{path}'. "
            f"Supported: {', '.join(FORMATS)}. Fix: export the data to CSV or Parquet, or read "
            "it with pandas (e.g. pd.read_excel) and pass the DataFrame."
        )
    if not path.is_file():
        raise DataFileNotFoundError(
            f"Data file not found: '{path}' (resolved to '{path.resolve()}'). "
            "Fix: check the path; a relative path is read from the current directory."
        )
    sep = FORMATS[ending]
    try:
        if sep is None:
            return _read_parquet(path)
        # pandas renames a repeated header to 'a.1'; read the raw header to catch it.
        header = pd.read_csv(path, sep=sep, header=None, nrows=1, dtype=str).iloc[0]
        _check_unique(pd.Index(header.tolist()), where=f"'{path}'")
        return pd.read_csv(path, sep=sep)
    except pd.errors.EmptyDataError:
        raise DataError(f"'{path}' is empty. Fix: write a header row and data rows.") from None
    except pd.errors.ParserError as err:
        raise DataError(
            f"Could not parse '{path}': {err}. Fix: check the separator and quoting "
            f"(expected {sep!r}) or read it with pandas and pass the DataFrame."
        ) from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _not_utf8(path: Path) -> DataError:
    """The error for a text file that is not UTF-8, naming its first bad byte."""
    where = ""
    bad = first_non_utf8(path)
    if bad is not None:
        line, offset, byte = bad
        latin1 = bytes([byte]).decode("cp1252", errors="replace")
        where = (
            f": byte 0x{byte:02X} on line {line} (byte offset {offset}) is not valid UTF-8 "
            f"(in Latin-1/Windows-1252 it reads {latin1!r})"
        )
    return DataError(
        f"'{path}' is not UTF-8 text{where}. Fix: re-save the file as UTF-8 (e.g. 'CSV UTF-8' "
        "in Excel), or read it with pandas in its encoding, "
        f'pd.read_csv(path, encoding="latin-1"), and pass the DataFrame.'
    )


def first_non_utf8(path: Path) -> tuple[int, int, int] | None:
    """(line, byte offset, byte) of the first byte of ``path`` that is not UTF-8, or None.

    Reads in 1 MiB chunks (gunzipping a ``.gz`` file), so a large file costs no memory.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 0
    with (gzip.open if path.name.lower().endswith(".gz") else open)(path, "rb") as file:
        while True:
            chunk = file.read(1 << 20)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as err:
                data = pending + chunk
                line = lines + data.count(b"\n", 0, err.start) + 1
                return line, offset - len(pending) + err.start, data[err.start]
            if not chunk:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # pyarrow refuses a repeated column name with a cryptic message; name it first.
        _check_unique(pd.Index(pq.read_schema(path).names), where=f"'{path}'")
        return pd.read_parquet(path)
    except pa.ArrowException as err:
        raise DataError(
            f"Could not read '{path}' as Parquet: {err}. Fix: check that the file is a complete "
            "Parquet file, or read it with pandas and pass the DataFrame."
        ) from None


def from_frame(frame: pd.DataFrame, target: object) -> Source:
    """Split a DataFrame into features and the ``target`` column (named by a column label)."""
    if isinstance(target, np.ndarray | pd.Series | pd.Index | list | tuple):
        raise DataError(
            f"For a DataFrame, target must be a column name, not a {type(target).__name__}. "
            "Fix: add it as a column, load_dataset(frame.assign(y=y), target='y'), or pass "
            "NumPy arrays: load_dataset(frame.to_numpy(), y)."
        )
    columns = frame.columns.map(str)
    _check_unique(columns, where="the DataFrame")
    if target is None:
        raise DataError(
            f"No target given. Fix: name the column to predict, e.g. target={columns[-1]!r}; "
            f"available columns: {quoted(columns, limit=30)}."
        )
    target = str(target)
    if target not in columns:
        raise missing_column_error(target, columns, "Target", "pass target= one of the columns.")
    frame = frame.set_axis(columns, axis=1)
    return Source(features=frame.drop(columns=target), target=frame[target])


def from_bunch(bunch: Bunch, target: object = None) -> Source:
    """A scikit-learn ``Bunch`` (``load_digits()``, ``load_wine(as_frame=True)``, ...).

    The target defaults to ``bunch.target``; ``target_names`` name its integer codes.
    ``target`` may instead name another column of ``data``.
    """
    data = bunch.data
    if not isinstance(data, pd.DataFrame):
        data = pd.DataFrame(np.asarray(data), columns=bunch.get("feature_names"))
    y = bunch.target
    if np.ndim(y) != 1:
        raise DataError(
            f"The Bunch's target has shape {np.shape(y)}; losstune predicts one column. "
            "Fix: pass a DataFrame with the one target column you want."
        )
    name = getattr(y, "name", None) or "target"
    y = (y if isinstance(y, pd.Series) else pd.Series(y)).set_axis(data.index).rename(name)
    source = from_frame(pd.concat([data, y], axis=1), name if target is None else target)
    if source.target.name != str(name):
        return source
    return Source(source.features, source.target, _class_names(y, bunch.get("target_names")))


def from_arrays(X: np.ndarray, y: object) -> Source:
    """NumPy ``X`` (rows × features) and ``y`` (one value per row); columns named x0, x1, ..."""
    if y is None:
        raise DataError("NumPy X needs its target. Fix: load_dataset(X, y).")
    if isinstance(y, str):
        raise DataError(
            f"target={y!r} is a column name, but X is a NumPy array without column names. "
            "Fix: pass the target values, load_dataset(X, y), or a DataFrame with that column."
        )
    if X.ndim != 2:
        raise DataError(
            f"X must be 2-D (rows × features), got shape {X.shape}. "
            "Fix: X.reshape(-1, 1) for a single feature."
        )
    name = str(y.name) if isinstance(y, pd.Series) and y.name is not None else "target"
    values = np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise DataError(
            f"y must be 1-D (one value per row), got shape {values.shape}. "
            "Fix: pass a single target column."
        )
    if len(values) != len(X):
        raise DataError(
            f"X has {len(X)} rows but y has {len(values)}. "
            "Fix: pass the y that belongs to X (same rows, same order)."
        )
    features = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    return Source(features=features, target=pd.Series(values, name=name))


def _class_names(y: pd.Series, names: object) -> tuple[Any, ...] | None:
    """``names`` when they can name ``y``'s integer codes 0..len(names)-1, else None."""
    if names is None or not pd.api.types.is_integer_dtype(y) or len(y) == 0:
        return None
    names = tuple(np.asarray(names).tolist())
    if len(names) < 2 or y.min() < 0 or y.max() >= len(names):
        return None
    return names


def _check_unique(columns: pd.Index, where: str) -> None:
    repeated = columns[columns.duplicated()].unique()
    if len(repeated):
        raise DataError(
            f"Duplicate column names in {where}: {quoted(repeated)}. "
            "Fix: rename the columns so that each name appears once."
        )
