"""Real bundled datasets every runner test trains on: one per task."""

import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

from losstune.data import load_dataset


@pytest.fixture(scope="module")
def wine():
    return load_dataset(load_wine(), seed=0)


@pytest.fixture(scope="module")
def cancer():
    return load_dataset(load_breast_cancer(), seed=0)


@pytest.fixture(scope="module")
def diabetes():
    return load_dataset(load_diabetes(), seed=0)
