"""Run-folder URIs, tracking stores MLflow cannot open, and the import hygiene of a package
named ``losstune.mlflow``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

import losstune.mlflow.tracker
from losstune.mlflow import (
    SearchTracker,
    TrackingStoreError,
    artifact_uri,
    local_tracking_uri,
    usable_tracking_uri,
)


def test_uris_are_absolute_whatever_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert local_tracking_uri("runs") == f"sqlite:///{tmp_path.resolve()}/runs/mlflow.db"
    assert local_tracking_uri(Path("runs")).startswith("sqlite:////")
    assert artifact_uri("runs") == f"file://{tmp_path.resolve()}/runs/artifacts"


def test_the_real_mlflow_is_imported():
    library = Path(mlflow.__file__).resolve()
    assert "site-packages" in library.parts
    assert Path(__file__).resolve().parent not in library.parents
    assert losstune.mlflow.tracker.MlflowClient is mlflow.tracking.MlflowClient


def test_import_losstune_does_not_import_mlflow():
    code = "import sys, losstune; print(sorted(m for m in sys.modules if 'mlflow' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(importlib.util.find_spec("pg8000") is not None, reason="pg8000 is installed")
def test_a_missing_database_driver_is_named_before_mlflow_tries():
    with pytest.raises(TrackingStoreError, match="pip install pg8000") as raised:
        SearchTracker("postgresql+pg8000://me:s3cret@127.0.0.1:1/mlflow")
    assert "me:***@127.0.0.1:1/mlflow" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_a_store_mlflow_does_not_know_is_one_clear_error():
    with pytest.raises(TrackingStoreError, match="MLflow cannot open the tracking store") as raised:
        SearchTracker("nosuchstore://me:s3cret@host/x")
    assert "s3cret" not in str(raised.value)
    assert isinstance(raised.value, ValueError)  # the CLI answers it with one line


@pytest.mark.skipif(
    importlib.util.find_spec("psycopg") is not None, reason="psycopg 3 is SQLAlchemy's default"
)
def test_a_bare_postgresql_uri_gets_the_installed_driver():
    # SQLAlchemy 2.1 reads postgresql:// as psycopg 3, which losstune does not install
    uri = usable_tracking_uri("postgresql://me:s3cret@db:5432/mlflow")
    assert uri == "postgresql+psycopg2://me:s3cret@db:5432/mlflow"
    assert usable_tracking_uri("http://mlflow:5000") == "http://mlflow:5000"
