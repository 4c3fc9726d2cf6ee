"""The one exception data loading raises, its one warning, and the helper for a missing column.

Every message names the problem and the fix, so a user never has to read a traceback to know
what to change. A missing file raises :class:`DataFileNotFoundError`, which is both a
``DataError`` and a ``FileNotFoundError``: either ``except`` catches it. Data that is used,
but not as given (a column dropped, stray values read as missing), gets a :class:`DataWarning`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np


class DataError(ValueError):
    """A dataset losstune cannot use as given; the message says what is wrong and how to fix it."""


class DataFileNotFoundError(DataError, FileNotFoundError):
    """A data file that does not exist; the message names the path."""


class DataWarning(UserWarning):
    """Data that losstune used, but not as given: a column dropped, values read as missing.

    The message names the column(s), what was done and how to do otherwise. Filter on this
    category to silence it, or to turn it into an error
    (``warnings.simplefilter("error", DataWarning)``).
    """


def missing_column_error(name: object, columns: Sequence[str], role: str, fix: str) -> DataError:
    """A ``DataError`` for a column that is absent, listing close matches and what exists."""
    close = difflib.get_close_matches(str(name), [str(c) for c in columns], n=3, cutoff=0.6)
    hint = f" Did you mean {quoted(close)}?" if close else ""
    return DataError(
        f"{role} column {name!r} is not in the data.{hint} "
        f"Available columns: {quoted(columns, limit=30)}. Fix: {fix}"
    )


def quoted(items: Iterable[object], limit: int = 10) -> str:
    """Items as a short comma-separated list of reprs, for error messages."""
    items = [i.item() if isinstance(i, np.generic) else i for i in items]
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f", … ({len(items) - limit} more)" if len(items) > limit else "")
