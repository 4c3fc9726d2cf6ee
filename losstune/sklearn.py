"""losstune as scikit-learn estimators: ``fit(X, y)`` runs a search, ``predict`` uses the
recipe it selected.

:class:`LosstuneClassifier` and :class:`LosstuneRegressor` drop into ``cross_val_score``,
``GridSearchCV`` and a ``Pipeline``. ``X`` is a NumPy array (columns named ``x0, x1, ...``
for the search) or a DataFrame, whose columns are read raw by the search's own preprocessor
(categories, dates, numbers stored as text), so a DataFrame needs no encoding step first.

Each ``fit`` is a whole search on ``(X, y)``: the rows are split into train, validation and
test inside, the budget (``n_trials``, ``budget``) is spent, and the model of the selected
recipe is kept in memory (``model_``). With ``run_dir=None`` the search runs in a temporary
folder that is removed when ``fit`` returns (an estimator is an object in memory, and a
cross-validation fits many); give ``run_dir`` to keep the Optuna study and MLflow runs
(``losstune show``, ``losstune ui``). A search resumes a study of the same data in the same
folder, so fitting again into one ``run_dir`` adds trials up to ``n_trials`` only.

Torch, Optuna and MLflow are imported on the first ``fit``, not with this module.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

__all__ = ["LosstuneClassifier", "LosstuneRegressor"]

MIN_SAMPLES = 10
"""Fewer rows than this cannot be split into train, validation and test splits."""


class _LosstuneEstimator(BaseEstimator):
    """What both estimators share: the search options as parameters, ``fit`` as a search,
    predictions on raw rows.

    Args:
        n_trials: trials of the search (``n_trials=`` of :func:`losstune.search`).
        budget: a duration for the whole search (``"10m"``) or a trial count; with
            ``n_trials`` the search stops at whichever comes first.
        epochs: epochs per trial.
        metric: the validation metric to optimise (default: by task, as in the search).
        seed: seeds the splits, the sampler and training; the same seed, the same model.
        run_dir: keep the search's stores here (default: a temporary folder, removed after
            ``fit``).
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``.
        space: a :class:`losstune.spaces.SearchSpace` (default: the task's default space).
        models: the model families to search (``["mlp", "lightgbm"]``, the default, or one
            of them).
        warm_start: try the warm-start portfolio's recipes for the data's regime after the
            default recipe (see :func:`losstune.search`).
        show_progress: draw the search's progress bar.
        top_k, n_seeds: the final selection re-trains the ``top_k`` best configurations on
            ``n_seeds`` fresh seeds.
        sampler, pruner: the search's Optuna sampler and pruner (registry names or instances).
        study_name: the Optuna study's name (default: derived from the data and options).
    """

    _numeric_target = False

    def __init__(
        self,
        n_trials: int | None = 10,
        budget: int | str | None = None,
        epochs: int = 30,
        metric: str | None = None,
        seed: int = 0,
        run_dir: str | Path | None = None,
        device: str = "auto",
        space: Any = None,
        models: Sequence[str] | None = None,
        warm_start: bool = True,
        show_progress: bool = False,
        top_k: int = 3,
        n_seeds: int = 3,
        sampler: Any = "tpe",
        pruner: Any = "auto",
        study_name: str | None = None,
    ) -> None:
        # scikit-learn's contract: store the parameters untouched; fit() checks them
        self.n_trials = n_trials
        self.budget = budget
        self.epochs = epochs
        self.metric = metric
        self.seed = seed
        self.run_dir = run_dir
        self.device = device
        self.space = space
        self.models = models
        self.warm_start = warm_start
        self.show_progress = show_progress
        self.top_k = top_k
        self.n_seeds = n_seeds
        self.sampler = sampler
        self.pruner = pruner
        self.study_name = study_name

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # the preprocessor imputes missing values
        return tags

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X: Any, y: Any) -> _LosstuneEstimator:
        """Search a recipe for ``(X, y)`` and keep its model; returns ``self``.

        Sets ``result_`` (the search's :class:`losstune.Result`), ``best_recipe_``,
        ``model_`` (the fitted model), ``n_features_in_`` and, for a DataFrame,
        ``feature_names_in_``.
        """
        frame, target = self._training_rows(X, y)
        if len(frame) < MIN_SAMPLES:
            raise ValueError(
                f"{type(self).__name__} needs at least {MIN_SAMPLES} rows to split into "
                f"train, validation and test; got n_samples = {len(frame)}. Fix: fit on "
                "more rows."
            )
        from losstune.data import DataWarning, load_dataset
        from losstune.search import search

        name = _free_name("target", frame.columns)
        with warnings.catch_warnings():  # what the data profile says is not news here
            warnings.simplefilter("ignore", DataWarning)
            dataset = load_dataset(
                frame.assign(**{name: target}),
                target=name,
                task=self._search_task(),
                seed=self.seed,
            )
        folder = Path(tempfile.mkdtemp(prefix="losstune-")) if self.run_dir is None else None
        try:
            result = search(dataset, space=self.space, **self._search_options(folder))
        finally:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        self.result_ = result
        self.best_recipe_ = result.recipe
        self.model_ = result.model
        return self

    def _search_options(self, folder: Path | None) -> dict[str, Any]:
        """The keywords of :func:`losstune.search` this estimator's parameters give."""
        options: dict[str, Any] = dict(
            n_trials=self.n_trials,
            budget=self.budget,
            epochs=self.epochs,
            metric=self.metric,
            seed=self.seed,
            run_dir=self.run_dir if folder is None else folder,
            device=self.device,
            models=None if self.models is None else list(self.models),
            warm_start=self.warm_start,
            show_progress=self.show_progress,
            top_k=self.top_k,
            n_seeds=self.n_seeds,
            sampler=self.sampler,
            pruner=self.pruner,
            study_name=self.study_name,
        )
        return {k: v for k, v in options.items() if v is not None}

    def _training_rows(self, X: Any, y: Any) -> tuple[pd.DataFrame, np.ndarray]:
        """``X`` as a DataFrame of raw columns and ``y`` as a 1-d array, both checked;
        records ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, skip_check_array=True)
            y = column_or_1d(check_array(y, ensure_2d=False, dtype=None), warn=True)
            check_consistent_length(X, y)
            frame = X.reset_index(drop=True).set_axis([str(c) for c in X.columns], axis=1)
        else:
            X, y = validate_data(
                self, X, y, ensure_all_finite="allow-nan", y_numeric=self._numeric_target
            )
            frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        self._columns = list(frame.columns)
        return frame, self._check_target(np.asarray(y))

    def _check_target(self, y: np.ndarray) -> np.ndarray:
        """``y`` as the search takes it (checked by the subclass)."""
        return y

    def _search_task(self) -> str:
        """The task the search runs (set, not inferred: ``y`` says what it is)."""
        raise NotImplementedError

    # -- predicting ------------------------------------------------------------------------

    def _rows(self, X: Any) -> pd.DataFrame:
        """``X`` as the raw rows the fitted model reads: a DataFrame with the columns the
        search saw (``x0, x1, ...`` for an array; an unnamed frame's columns by position)."""
        check_is_fitted(self, "model_")
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=False, skip_check_array=True)
            named = getattr(self, "feature_names_in_", None) is not None
            return X if named else X.set_axis(self._columns, axis=1)
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan")
        return pd.DataFrame(X, columns=self._columns)

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (in ``y``'s own type) or target values for the rows of ``X``."""
        rows = self._rows(X)  # first: it raises NotFittedError before model_ is read
        return np.asarray(self.model_.predict(rows))


class LosstuneClassifier(ClassifierMixin, _LosstuneEstimator):
    """A classifier whose ``fit`` searches the loss, temperature, weighting and optimizer
    for ``(X, y)`` (:func:`losstune.search`); see :class:`_LosstuneEstimator` for the
    parameters. ``score`` is accuracy, scikit-learn's default, whatever ``metric`` the
    search optimised.

    Example::

        from sklearn.model_selection import cross_val_score
        scores = cross_val_score(LosstuneClassifier(n_trials=5, epochs=10), X, y)
    """

    def _check_target(self, y: np.ndarray) -> np.ndarray:
        """Classes as ``classes_`` (sorted); one class only is refused."""
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes in y; got 1 class "
                f"({self.classes_[0]!r}). Fix: fit on rows of more than one class."
            )
        return y

    def fit(self, X: Any, y: Any) -> LosstuneClassifier:
        """Search a recipe for ``(X, y)``; see :meth:`_LosstuneEstimator.fit`."""
        super().fit(X, y)
        return self

    def _search_task(self) -> str:
        return "binary" if len(self.classes_) == 2 else "multiclass"

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class of ``classes_`` in that order."""
        rows = self._rows(X)
        proba = np.asarray(self.model_.predict_proba(rows))
        order = pd.Index(self.model_.classes).get_indexer(self.classes_)
        return proba[:, order]


class LosstuneRegressor(RegressorMixin, _LosstuneEstimator):
    """A regressor whose ``fit`` searches the loss and optimizer for ``(X, y)``
    (:func:`losstune.search`); see :class:`_LosstuneEstimator` for the parameters. ``score``
    is R², scikit-learn's default, whatever ``metric`` the search optimised."""

    _numeric_target = True

    def _search_task(self) -> str:
        return "regression"

    def fit(self, X: Any, y: Any) -> LosstuneRegressor:
        """Search a recipe for ``(X, y)``; see :meth:`_LosstuneEstimator.fit`."""
        super().fit(X, y)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Target values for the rows of ``X``."""
        return np.asarray(super().predict(X), dtype=np.float64)


def _free_name(name: str, taken: Any) -> str:
    """``name``, or ``name_``, ``name__``, ... : the first that is not a column of ``taken``."""
    taken = {str(c) for c in taken}
    while name in taken:
        name += "_"
    return name
