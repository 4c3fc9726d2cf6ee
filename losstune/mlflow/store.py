"""Where a search's MLflow data lives when nothing is configured: inside its run folder.

A run folder holds ``mlflow.db`` (a SQLite tracking store) and ``artifacts/``. Both URIs are
absolute so the store works from any working directory, and the experiment is created with
the artifact location explicitly: MLflow's default would be ``./mlruns`` in the CWD.
"""

from __future__ import annotations

from pathlib import Path

DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "artifacts"


def local_tracking_uri(run_dir: Path | str) -> str:
    """The SQLite tracking URI of ``run_dir``: ``sqlite:///<absolute run_dir>/mlflow.db``."""
    return f"sqlite:///{Path(run_dir).resolve() / DB_FILE}"


def artifact_uri(run_dir: Path | str) -> str:
    """The artifact root of ``run_dir`` as a file URI: ``file:///<absolute run_dir>/artifacts``."""
    return (Path(run_dir).resolve() / ARTIFACTS_DIR).as_uri()
