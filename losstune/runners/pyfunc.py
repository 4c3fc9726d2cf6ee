"""A fitted model as an MLflow ``pyfunc`` model that predicts on the user's raw rows.

Whoever loads the model (``mlflow.pyfunc.load_model(uri)``) hands it a DataFrame with the
columns the dataset was read from, as they were read; the fitted preprocessor inside reads
them the same way as in training. ``predict`` returns class labels (in the labels' own
dtype) or target values; ``params={"predict_method": "predict_proba"}`` returns the class
probabilities as a DataFrame with one column per class, named by the class label, the
convention of scikit-learn's ``predict_proba``.

The model is logged as MLflow 3's "model from code": the code is
:mod:`losstune.runners.pyfunc_code` (copied into the model), and the fitted model, its
columns and classes are one pickled artifact that :meth:`RawRowsModel.load_context` reads.
Loading thus unpickles the fitted model and its preprocessor (trust a model like code), and
needs losstune installed; the model's requirements pin it.

It lives with the runners (not in :mod:`losstune.mlflow`) because a fitted model logs
itself (``Fitted.log_to``) and runners may not import the layers above them. Importing it
imports mlflow: only ``log_to`` does, when it runs.
"""

from __future__ import annotations

import importlib.metadata
import pickle
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

    from losstune.runners.base import Fitted, ModelTracker

#: The name of the pickled-parts artifact.
PARTS = "fitted"
#: The pyfunc parameter that picks the output, and its values.
PREDICT_METHOD = "predict_method"
PREDICT_METHODS = ("predict", "predict_proba")


class RawRowsModel(PythonModel):
    """The pyfunc face of a :class:`~losstune.runners.base.Fitted` model.

    Built empty by the model's code (MLflow then calls :meth:`load_context`), or from its
    parts with :meth:`of` to log it.

    Attributes:
        fitted: the trained model; it predicts on raw rows with its fitted preprocessor.
        columns: the source columns the preprocessor reads, in source order.
        classes: the class labels (code ``i`` is ``classes[i]``); None for regression.
    """

    def __init__(self) -> None:
        self.fitted: Fitted | None = None
        self.columns: tuple[str, ...] = ()
        self.classes: list[Any] | None = None

    @classmethod
    def of(
        cls, fitted: Fitted, columns: Sequence[str], classes: Sequence[Any] | None
    ) -> RawRowsModel:
        """The model of ``fitted``, reading ``columns`` and predicting ``classes``."""
        model = cls()
        model.fitted = fitted
        model.columns = tuple(columns)
        model.classes = None if classes is None else list(classes)
        return model

    def load_context(self, context: Any) -> None:
        """Read the pickled parts (:data:`PARTS`) MLflow hands over as an artifact."""
        with open(context.artifacts[PARTS], "rb") as file:
            parts = pickle.load(file)
        self.fitted, self.columns = parts["fitted"], parts["columns"]
        self.classes = parts["classes"]

    def dump(self, path: Path) -> Path:
        """Pickle the parts to ``path`` (the artifact :meth:`load_context` reads)."""
        parts = {"fitted": self.fitted, "columns": self.columns, "classes": self.classes}
        with open(path, "wb") as file:
            pickle.dump(parts, file, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    # MLflow reads the hint of ``model_input``: a DataFrame hint leaves the signature to the
    # one logged (any other hint but ``list[...]``, or none, makes it warn at logging).
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> Any:
        """Labels or values (``predict_method="predict"``, the default) as a NumPy array, or
        class probabilities (``"predict_proba"``) as a DataFrame with one column per class."""
        if self.fitted is None:
            raise RuntimeError(
                "This RawRowsModel holds no fitted model. Fix: load it with "
                "mlflow.pyfunc.load_model(uri), or build it with RawRowsModel.of(...)."
            )
        method = (params or {}).get(PREDICT_METHOD) or "predict"
        if method not in PREDICT_METHODS:
            raise ValueError(
                f"Unknown {PREDICT_METHOD} {method!r}. Fix: pass params="
                f'{{"{PREDICT_METHOD}": "predict"}} for labels or values, or '
                f'"predict_proba" for class probabilities.'
            )
        frame = self.frame(model_input)
        if method == "predict":
            return self.fitted.predict(frame)
        if self.classes is None:
            raise ValueError(
                "predict_proba is for classification; this model predicts values. "
                f'Fix: leave out {PREDICT_METHOD} (or pass "predict").'
            )
        return pd.DataFrame(self.fitted.predict_proba(frame), columns=self.classes)

    def frame(self, model_input: Any) -> pd.DataFrame:
        """``model_input`` as a DataFrame of the model's columns, in their order; a
        ValueError naming the missing columns when it lacks some."""
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(
                f"The input lacks column(s) {missing} that the model was trained on. Fix: pass "
                f"a DataFrame with the dataset's source columns {list(self.columns)}."
            )
        return frame[list(self.columns)]


#: The model's code: it builds an empty :class:`RawRowsModel` and hands it to MLflow.
CODE = str(Path(__file__).with_name("pyfunc_code.py"))


def signature(model: RawRowsModel, raw_example: pd.DataFrame) -> ModelSignature:
    """The model's signature: every source column by name with type ``Any``, the output
    inferred from predicting on ``raw_example``, and the ``predict_method`` parameter.

    The input columns are untyped on purpose. MLflow enforces a typed column strictly (an
    int64 column refuses a float with a missing value, a double column refuses int64, a
    string column refuses a pandas category), while the preprocessor reads every column for
    what it holds, as in training. Names are still enforced: a missing column is refused
    before the model runs. The raw example rows show the types.
    """
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    inferred = infer_signature(
        raw_example,
        model.predict(None, raw_example),
        params={PREDICT_METHOD: "predict"},
    )
    inputs = Schema([ColSpec(AnyType(), name) for name in model.columns])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs, params=inferred.params)


def requirements(extra: Sequence[str] = ()) -> list[str]:
    """Pinned pip requirements of a losstune pyfunc model: losstune (whose classes the
    pickled model holds), mlflow, numpy, pandas, scikit-learn, then ``extra`` (the runner's
    own, e.g. torch). Given explicitly, so MLflow does not infer them by loading the model
    in a subprocess."""
    pins = []
    for dist in ("losstune", "mlflow", "numpy", "pandas", "scikit-learn"):
        try:
            pins.append(f"{dist}=={importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:  # losstune run from a source tree
            pins.append(dist)
    return [*pins, *extra]


def log_pyfunc(
    tracker: ModelTracker,
    model: RawRowsModel,
    raw_example: pd.DataFrame | None,
    *,
    name: str = "model",
    extra_requirements: Sequence[str] = (),
) -> str:
    """Log ``model`` as an MLflow pyfunc model into ``tracker``'s run; return the URI that
    loads it (see ``ModelTracker.log_flavor_model``).

    ``raw_example`` (a few raw rows, e.g. ``dataset.raw_example``) becomes the input example
    and fixes the signature's output; without it the model is logged without either.
    """
    options: dict[str, Any] = {}
    if raw_example is not None:
        if not isinstance(raw_example, pd.DataFrame) or len(raw_example) == 0:
            raise TypeError(
                "The input example must be a few raw rows, a non-empty pandas DataFrame with "
                f"the source columns; got {type(raw_example).__name__} "
                f"{tuple(np.shape(raw_example))}. Pass e.g. dataset.raw_example."
            )
        example = model.frame(raw_example).reset_index(drop=True)
        options = {"input_example": example, "signature": signature(model, example)}
    with tempfile.TemporaryDirectory() as tmp:
        parts = model.dump(Path(tmp) / "fitted.pkl")
        return tracker.log_flavor_model(
            log_python_model,
            CODE,
            name=name,
            artifacts={PARTS: str(parts)},
            pip_requirements=requirements(extra_requirements),
            **options,
        )


def log_python_model(python_model: str | PythonModel, **options: Any) -> Any:
    """Log ``python_model`` (a code file or an instance) as a pyfunc model, called as
    ``log_flavor_model`` calls a flavour's ``log_model``. ``mlflow.pyfunc.log_model`` itself
    cannot be that function: it takes no ``run_id`` (it logs into the fluent active run) and
    its first positional parameter is the deprecated ``artifact_path``; ``Model.log``, which
    it wraps, takes both.
    """
    from mlflow.models import Model

    return Model.log(artifact_path=None, flavor=mlflow.pyfunc, python_model=python_model, **options)
