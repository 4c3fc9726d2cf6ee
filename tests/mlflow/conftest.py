"""One SQLite tracking store for the whole folder: its first migration takes ~1.5 s, later
clients on the same URI reuse it. Each test isolates itself with its own experiment.

No ``__init__.py`` here on purpose: ``tests/`` is not a package, so ``tests/mlflow/__init__.py``
would make pytest import this folder as the top-level package ``mlflow`` and shadow the library.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from losstune.mlflow import SearchTracker


@pytest.fixture(scope="session")
def store_cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory while the store is created: MLflow resolves the artifact
    location of the built-in experiment 0 (``./mlruns``) against it, so it must stay empty."""
    return tmp_path_factory.mktemp("store-cwd")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory, store_cwd: Path) -> Path:
    path = tmp_path_factory.mktemp("run")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(store_cwd)
        SearchTracker.local(path, experiment="warm-up")
    return path


@pytest.fixture
def tracker(run_dir: Path, request: pytest.FixtureRequest) -> SearchTracker:
    """A tracker on the shared store, in an experiment of its own (named after the test)."""
    return SearchTracker.local(run_dir, experiment=request.node.nodeid)
