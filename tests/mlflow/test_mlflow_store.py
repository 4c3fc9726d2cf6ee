"""Run-folder URIs, and the import hygiene of a package named ``losstune.mlflow``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pytest

import losstune.mlflow.tracker
from losstune.mlflow import artifact_uri, local_tracking_uri


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
