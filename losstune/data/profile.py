"""The data profile: what was done to each source column, one small record per column.

Built once the preprocessor is fitted, so it reports what the model actually sees (how many
categories were kept, which date features exist). ``Dataset.profile_lines`` renders it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sklearn.compose import ColumnTransformer

from losstune.data.columns import ColumnKind, ColumnPlan
from losstune.data.dates import PARTS
from losstune.data.errors import quoted


@dataclass(frozen=True)
class ColumnReport:
    """One source column: its kind, the features made from it, and what was done, in words."""

    column: str
    kind: ColumnKind
    features: tuple[str, ...]
    treatment: str

    @property
    def special(self) -> bool:
        """Whether the column was not used as its dtype says (dates, stray values, dropped)."""
        return self.kind.special

    def line(self) -> str:
        """``'column': treatment -> N feature(s)``."""
        return f"{self.column!r}: {self.treatment} -> {_count(len(self.features), 'feature')}"


def describe(
    plans: Sequence[ColumnPlan], preprocessor: ColumnTransformer
) -> tuple[ColumnReport, ...]:
    """One report per plan, in column order, from the *fitted* ``preprocessor``."""
    features = _features_by_column(preprocessor)
    reports = []
    for plan in plans:
        own = features.get(plan.column, ())
        reports.append(
            ColumnReport(plan.column, plan.kind, own, _treatment(plan, preprocessor, own))
        )
    return tuple(reports)


def summary_line(reports: Sequence[ColumnReport]) -> str:
    """``N columns (13 numeric, 2 categorical, ...) -> M features``."""
    kinds = Counter(r.kind for r in reports)
    parts = ", ".join(f"{kinds[k]} {_KIND_NAMES[k]}" for k in ColumnKind if kinds[k])
    n_features = sum(len(r.features) for r in reports)
    return f"{_count(len(reports), 'column')} ({parts}) -> {_count(n_features, 'feature')}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


_KIND_NAMES = {
    ColumnKind.NUMERIC: "numeric",
    ColumnKind.CATEGORICAL: "categorical",
    ColumnKind.NUMBERS_IN_TEXT: "numbers in text",
    ColumnKind.DATE: "date",
    ColumnKind.TEXT: "free text dropped",
}


def _treatment(plan: ColumnPlan, preprocessor: ColumnTransformer, features: Sequence[str]) -> str:
    lost = (
        f"; {plan.unusable_rows} row(s) of {quoted(plan.unusable, limit=3)} read as missing"
        if plan.unusable_rows
        else ""
    )
    if plan.kind is ColumnKind.NUMERIC:
        return "numeric"
    if plan.kind is ColumnKind.CATEGORICAL:
        return _categories(plan.column, preprocessor)
    if plan.kind is ColumnKind.NUMBERS_IN_TEXT:
        return "numbers stored as text" + lost
    if plan.kind is ColumnKind.DATE:
        how = "datetime" if plan.date_format is None else f"dates as text ({plan.date_format})"
        parts = ", ".join(f.removeprefix(f"{plan.column}_") for f in features)
        return f"{how} parsed into {parts}" + lost
    return f"free text or identifiers ({plan.distinct} distinct values), dropped"


def _categories(column: str, preprocessor: ColumnTransformer) -> str:
    """``categorical, 3 categories`` (and how many were grouped as infrequent)."""
    j = _columns(preprocessor, "categorical").index(column)
    encoder = preprocessor.named_transformers_["categorical"][-1]
    text = f"categorical, {len(encoder.categories_[j])} categories"
    if infrequent := _infrequent(encoder, j):
        text += f" ({infrequent} rare ones grouped as infrequent)"
    return text


def _features_by_column(preprocessor: ColumnTransformer) -> dict[str, tuple[str, ...]]:
    """Output feature names per source column, from each fitted step.

    One-hot columns are sliced by the encoder's per-column counts; the other steps name
    their features ``column`` or ``column_part``, matched exactly.
    """
    out: dict[str, tuple[str, ...]] = {}
    for name, step, columns in preprocessor.transformers_:
        if step == "drop" or not len(columns):
            continue
        names = [str(n) for n in step.get_feature_names_out(list(columns))]
        if name == "categorical":
            encoder, start = step[-1], 0
            for j, column in enumerate(columns):
                infrequent = _infrequent(encoder, j)
                count = len(encoder.categories_[j]) - infrequent + (infrequent > 0)
                out[str(column)] = tuple(names[start : start + count])
                start += count
        else:
            for column in columns:
                own = {str(column), *(f"{column}_{part}" for part in (*PARTS, "hour"))}
                out[str(column)] = tuple(n for n in names if n in own)
    return out


def _infrequent(encoder: object, j: int) -> int:
    """How many of column ``j``'s categories the fitted one-hot encoder groups as infrequent."""
    groups = getattr(encoder, "infrequent_categories_", None)
    return 0 if groups is None or groups[j] is None else len(groups[j])


def _columns(preprocessor: ColumnTransformer, step: str) -> list[str]:
    return next(list(c) for n, _, c in preprocessor.transformers_ if n == step)
