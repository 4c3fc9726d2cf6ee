"""The data diagnosis: what a search should know about a dataset's faults, in one record.

A loss robust to label noise, a reweighting scheme for a long tail or a robust regression
loss only pays off on data with that fault. ``diagnose`` measures the faults on the training
split (duplicates, class imbalance, the share of wrong labels, heavy-tailed targets) and
sums them up as one ``regime`` the search can condition on. It is not ``Dataset.profile``,
which reports what was done to each source column.

Label noise is estimated by confident learning (Northcutt et al., JAIR 2021) as implemented
by cleanlab, on out-of-fold probabilities of a small LightGBM model: the share of training
rows whose given label the model confidently puts in another class.
"""

from __future__ import annotations

import dataclasses
import numbers
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losstune.data.columns import ColumnKind
from losstune.data.dataset import Dataset
from losstune.data.errors import DataError
from losstune.data.split import check_seed

#: Classification with at least this estimated share of wrong labels is "noisy".
NOISY = 0.10
#: Classification whose largest/smallest training class ratio reaches this is "imbalanced".
IMBALANCED = 5.0
#: Regression with at least this share of outlying targets is "regression_outliers".
OUTLIERS = 0.01
#: Regression whose target's excess kurtosis reaches this is "regression_outliers" (a
#: Laplace target has 3, a normal one 0).
HEAVY_TAIL = 3.0
#: A target is an outlier beyond this many robust standard deviations (1.4826 MAD) from
#: the median (Iglewicz and Hoaglin's modified z-score cut-off).
OUTLIER_Z = 3.5
#: The regimes, one per diagnosis: see :attr:`DataDiagnosis.regime`.
REGIMES = ("clean", "noisy", "imbalanced", "regression", "regression_outliers")

#: The out-of-fold model: small, regularised (bagging, L2, 30 rows a leaf) so that it fits
#: the classes rather than the flipped labels; 100 trees of 15 leaves, 63 histogram bins
#: (a quarter faster than 255 with the same estimates on the catalogue). One thread: two
#: threads were 7-10x slower on a busy two-core machine, and the result is the same.
_LIGHTGBM: dict[str, Any] = {
    "n_estimators": 100,
    "num_leaves": 15,
    "learning_rate": 0.1,
    "max_bin": 63,
    "min_child_samples": 30,
    "reg_lambda": 5.0,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "n_jobs": 1,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}


@dataclass(frozen=True)
class DataDiagnosis:
    """A dataset's faults, measured on its training split by :func:`diagnose`.

    Attributes:
        rows: training rows.
        features: feature-matrix columns.
        columns_by_kind: source columns per kind (``"numeric"``, ``"categorical"``, ...),
            from ``Dataset.profile``.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        n_classes: classes; None for regression.
        imbalance_ratio: the largest training class's rows over the smallest's (classes with
            no training row left out); None for regression.
        duplicate_share: share of training rows whose feature row repeats an earlier one.
        conflicting_duplicate_share: share of training rows whose feature row also appears
            with another label; None for regression.
        label_noise: estimated share of training rows with a wrong label; None for regression
            and when fewer than two classes have two rows to estimate it from.
        noise_by_class: the estimate per class code (share of the rows labelled that class);
            None where a class has fewer than two rows, or for regression.
        target_kurtosis: excess kurtosis of the regression target (about 0 for a normal one;
            0 for a constant one); None for classification.
        outlier_share: share of regression targets beyond ``OUTLIER_Z`` robust standard
            deviations of the median; None for classification.
        seconds: how long the diagnosis took.
        rows_used: training rows the label-noise estimate used (after subsampling, without
            the rows of classes with fewer than two rows); 0 when it was not estimated.
        folds: cross-validation folds of the label-noise estimate; None when not estimated.
    """

    rows: int
    features: int
    columns_by_kind: Mapping[str, int] = field(hash=False)
    task: str
    n_classes: int | None
    imbalance_ratio: float | None
    duplicate_share: float
    conflicting_duplicate_share: float | None
    label_noise: float | None
    noise_by_class: tuple[float | None, ...] | None
    target_kurtosis: float | None
    outlier_share: float | None
    seconds: float
    rows_used: int
    folds: int | None

    @property
    def is_regression(self) -> bool:
        """Whether the task is regression (no classes, no label noise)."""
        return self.task == "regression"

    @property
    def regime(self) -> str:
        """One of :data:`REGIMES`. Classification: ``"noisy"`` when ``label_noise`` >= NOISY,
        else ``"imbalanced"`` when ``imbalance_ratio`` >= IMBALANCED, else ``"clean"``.
        Regression: ``"regression_outliers"`` when ``outlier_share`` >= OUTLIERS or
        ``target_kurtosis`` >= HEAVY_TAIL, else ``"regression"``."""
        if self.is_regression:
            heavy = (self.outlier_share or 0.0) >= OUTLIERS or (
                self.target_kurtosis or 0.0
            ) >= HEAVY_TAIL
            return "regression_outliers" if heavy else "regression"
        if (self.label_noise or 0.0) >= NOISY:
            return "noisy"
        if (self.imbalance_ratio or 1.0) >= IMBALANCED:
            return "imbalanced"
        return "clean"

    def __post_init__(self) -> None:
        # measurements are kept rounded (shares to 4 decimals, ratios, kurtosis and seconds
        # to 3), so a diagnosis read back from a recipe file equals the one written
        for name, digits in _DIGITS.items():
            object.__setattr__(self, name, _round(getattr(self, name), digits))
        if self.noise_by_class is not None:
            rounded = tuple(_round(v, 4) for v in self.noise_by_class)
            object.__setattr__(self, "noise_by_class", rounded)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping of the fields, plus ``regime`` (which :meth:`from_dict`
        ignores: it follows from the rest)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["columns_by_kind"] = dict(self.columns_by_kind)
        if self.noise_by_class is not None:
            out["noise_by_class"] = list(self.noise_by_class)
        out["regime"] = self.regime
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataDiagnosis:
        """The diagnosis :meth:`to_dict` wrote (``regime`` is recomputed, not read)."""
        names = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(names - set(data))
        unknown = sorted(set(data) - names - {"regime"})
        if missing or unknown:
            raise ValueError(
                f"Not a data diagnosis: missing key(s) {missing}, unknown key(s) {unknown}."
            )
        values = {name: data[name] for name in names}
        values["columns_by_kind"] = dict(values["columns_by_kind"])
        if values["noise_by_class"] is not None:
            values["noise_by_class"] = tuple(values["noise_by_class"])
        return cls(**values)

    def lines(self) -> list[str]:
        """A few short lines for the command line: size and shape, then the verdict."""
        shape = f"{self.rows:,} training rows"
        duplicates = f"{self.duplicate_share:.1%} duplicate rows"
        if self.is_regression:
            return [
                f"{shape}; regression, target excess kurtosis {self.target_kurtosis:.1f}; "
                f"{duplicates}",
                f"target outliers {self.outlier_share:.1%} (beyond {OUTLIER_Z} robust SD of "
                f"the median) -> regime: {self.regime}",
            ]
        conflicting = self.conflicting_duplicate_share or 0.0
        if conflicting:
            duplicates += f" ({conflicting:.1%} with conflicting labels)"
        first = (
            f"{shape}; {self.n_classes} classes, imbalance {self.imbalance_ratio:.1f}:1; "
            f"{duplicates}"
        )
        if self.label_noise is None:
            noise = "label noise not estimated (fewer than 2 classes with 2 or more rows)"
        else:
            noise = (
                f"label noise ~{self.label_noise:.0%} (confident learning, {self.folds}-fold "
                f"out-of-fold LightGBM on {self.rows_used:,} rows)"
            )
        return [first, f"{noise} -> regime: {self.regime}"]


_DIGITS = {
    "imbalance_ratio": 3,
    "duplicate_share": 4,
    "conflicting_duplicate_share": 4,
    "label_noise": 4,
    "target_kurtosis": 3,
    "outlier_share": 4,
    "seconds": 3,
}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def diagnose(
    dataset: Dataset, *, seed: int = 0, max_rows: int = 20_000, folds: int = 5
) -> DataDiagnosis:
    """Measure ``dataset``'s faults on its training split; see :class:`DataDiagnosis`.

    Label noise (classification): out-of-fold class probabilities of a small LightGBM model
    (``folds``-fold stratified cross-validation, fewer folds when the smallest class has
    fewer rows; classes with a single row are left out), then cleanlab's confident learning
    counts the rows whose label the model confidently contradicts. Above ``max_rows``
    training rows it uses a stratified subsample and weighs each class's estimate by its
    full share. The same ``seed`` gives the same diagnosis (``seconds`` aside).

    Example:
        >>> from sklearn.datasets import load_wine
        >>> from losstune.data import load_dataset
        >>> diagnose(load_dataset(load_wine(), seed=0)).regime
        'clean'
    """
    check_seed(seed)
    for name, value, low in (("max_rows", max_rows, 2), ("folds", folds, 2)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise DataError(f"{name}={value!r} must be an integer >= {low}. Fix: pass e.g. 5.")
    start = time.perf_counter()
    X, y = dataset.X_train, dataset.y_train
    kinds = Counter(r.kind for r in dataset.profile)
    common: dict[str, Any] = {
        "rows": len(y),
        "features": X.shape[1],
        "columns_by_kind": {k.value: kinds[k] for k in ColumnKind if kinds[k]},
        "task": dataset.task.value,
    }
    groups = _row_groups(X)
    duplicate_share = 1.0 - len(np.unique(groups)) / len(y) if len(y) else 0.0
    if not dataset.task.is_classification:
        kurtosis, outliers = _target_tails(y)
        return DataDiagnosis(
            **common,
            n_classes=None,
            imbalance_ratio=None,
            duplicate_share=duplicate_share,
            conflicting_duplicate_share=None,
            label_noise=None,
            noise_by_class=None,
            target_kurtosis=kurtosis,
            outlier_share=outliers,
            seconds=time.perf_counter() - start,
            rows_used=0,
            folds=None,
        )
    n_classes = dataset.n_classes or int(y.max()) + 1
    counts = np.bincount(y, minlength=n_classes)
    present = counts[counts > 0]
    noise, by_class, rows_used, used_folds = _label_noise(X, y, n_classes, seed, max_rows, folds)
    return DataDiagnosis(
        **common,
        n_classes=n_classes,
        imbalance_ratio=float(present.max() / present.min()) if len(present) else None,
        duplicate_share=duplicate_share,
        conflicting_duplicate_share=_conflicting_share(groups, y),
        label_noise=noise,
        noise_by_class=by_class,
        target_kurtosis=None,
        outlier_share=None,
        seconds=time.perf_counter() - start,
        rows_used=rows_used,
        folds=used_folds,
    )


def _row_groups(X: np.ndarray) -> np.ndarray:
    """One id per distinct feature row (equal rows, equal ids); -0.0 counts as 0.0."""
    if X.shape[1] == 0:
        return np.zeros(len(X), dtype=np.int64)
    rows = np.ascontiguousarray(X + 0.0)  # + 0.0 turns -0.0 into 0.0
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    return np.unique(keys, return_inverse=True)[1].ravel()


def _conflicting_share(groups: np.ndarray, y: np.ndarray) -> float:
    """Share of rows whose feature row also appears with another label."""
    if not len(y):
        return 0.0
    n_groups = int(groups.max()) + 1
    low = np.full(n_groups, np.iinfo(np.int64).max)
    high = np.full(n_groups, np.iinfo(np.int64).min)
    np.minimum.at(low, groups, y)
    np.maximum.at(high, groups, y)
    return float(np.mean((low != high)[groups]))


def _target_tails(y: np.ndarray) -> tuple[float, float]:
    """Excess kurtosis of ``y`` and its share of outliers (modified z-score > OUTLIER_Z).

    Where more than half the targets are equal (the MAD is 0) the scale falls back to the
    mean absolute deviation from the median times 1.2533 (its normal-consistency factor),
    so a target that is mostly one value does not make every other value an outlier.
    """
    y = np.asarray(y, dtype=np.float64)
    if not len(y):
        return 0.0, 0.0
    from scipy import stats

    kurtosis = float(stats.kurtosis(y)) if np.ptp(y) > 0 else 0.0  # excess (Fisher), biased
    distance = np.abs(y - np.median(y))
    scale = 1.4826 * float(np.median(distance)) or 1.2533 * float(distance.mean())
    outliers = float(np.mean(distance > OUTLIER_Z * scale)) if scale > 0 else 0.0
    return kurtosis, outliers


def _label_noise(
    X: np.ndarray, y: np.ndarray, n_classes: int, seed: int, max_rows: int, folds: int
) -> tuple[float | None, tuple[float | None, ...], int, int | None]:
    """(share of wrong labels, per class, rows used, folds) by confident learning."""
    counts = np.bincount(y, minlength=n_classes)
    estimable = np.flatnonzero(counts >= 2)
    if len(estimable) < 2:
        return None, (None,) * n_classes, 0, None
    rows = _stratified_rows(y, counts, estimable, max_rows, folds, np.random.default_rng(seed))
    X_used, y_used = X[rows], np.searchsorted(estimable, y[rows])
    used_counts = np.bincount(y_used, minlength=len(estimable))
    k = int(min(folds, used_counts.min()))
    issues = _label_issues(X_used, y_used, k, seed)
    flagged = np.bincount(y_used, weights=issues, minlength=len(estimable)) / used_counts
    # Each class's flagged share weighs by its share of the full training split, so the
    # estimate does not depend on how the subsample was drawn.
    weights = counts[estimable] / counts[estimable].sum()
    by_class: list[float | None] = [None] * n_classes
    for code, share in zip(estimable.tolist(), flagged.tolist(), strict=True):
        by_class[code] = share
    return float(weights @ flagged), tuple(by_class), len(rows), k


def _stratified_rows(
    y: np.ndarray,
    counts: np.ndarray,
    classes: np.ndarray,
    max_rows: int,
    folds: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Sorted rows of ``classes``: all of them, or about ``max_rows`` drawn per class in
    proportion to ``counts`` (each class keeps at least ``folds`` rows, or all it has)."""
    total = int(counts[classes].sum())
    if total <= max_rows:
        return np.flatnonzero(np.isin(y, classes))
    keep = np.floor(counts[classes] * (max_rows / total)).astype(np.int64)
    keep = np.maximum(keep, np.minimum(counts[classes], folds))
    chosen = [
        rng.choice(np.flatnonzero(y == c), size=int(n), replace=False)
        for c, n in zip(classes.tolist(), keep.tolist(), strict=True)
    ]
    return np.sort(np.concatenate(chosen))


def _label_issues(X: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """cleanlab's confident-learning mask (True: the label looks wrong) for labels 0..K-1."""
    import lightgbm as lgb
    from cleanlab.filter import find_label_issues
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = lgb.LGBMClassifier(**_LIGHTGBM, random_state=seed)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    probs = cross_val_predict(model, X, y, cv=cv, method="predict_proba")
    # "confident_learning": the rows counted off the diagonal of the confident joint, less
    # those the model still predicts as labelled; the same count as cleanlab's
    # num_label_issues(estimation_method="off_diagonal").
    mask = find_label_issues(y, probs, filter_by="confident_learning", n_jobs=1)
    return np.asarray(mask, dtype=np.float64)
