"""Where a search's MLflow data lives when nothing is configured: inside its run folder.

A run folder holds ``mlflow.db`` (a SQLite tracking store) and ``artifacts/``. Both URIs are
absolute so the store works from any working directory, and the experiment is created with
the artifact location explicitly: MLflow's default would be ``./mlruns`` in the CWD.
"""

from __future__ import annotations

from pathlib import Path

from losstune.extras import driver_fix
from losstune.urls import mask_password, missing_driver, with_driver

DB_FILE = "mlflow.db"
ARTIFACTS_DIR = "artifacts"


def local_tracking_uri(run_dir: Path | str) -> str:
    """The SQLite tracking URI of ``run_dir``: ``sqlite:///<absolute run_dir>/mlflow.db``."""
    return f"sqlite:///{Path(run_dir).resolve() / DB_FILE}"


def artifact_uri(run_dir: Path | str) -> str:
    """The artifact root of ``run_dir`` as a file URI: ``file:///<absolute run_dir>/artifacts``."""
    return (Path(run_dir).resolve() / ARTIFACTS_DIR).as_uri()


class TrackingStoreError(ValueError):
    """An MLflow tracking store that cannot be opened (its database driver is missing, MLflow
    does not know its scheme, the server refuses us); the message names the store, password
    hidden, and what to do."""


def usable_tracking_uri(tracking_uri: str) -> str:
    """``tracking_uri`` as losstune hands it to MLflow: a bare ``postgresql://`` gets the
    installed psycopg2 driver (SQLAlchemy 2.1 would pick psycopg 3, which losstune does not
    install).

    Raises:
        TrackingStoreError: a database URL whose driver is not installed (checked here, before
            MLflow imports it deep inside its store, or retries connecting for minutes).
    """
    if not isinstance(tracking_uri, str) or not tracking_uri:
        raise TrackingStoreError(
            f"The MLflow tracking URI must be a non-empty string; got {tracking_uri!r}."
        )
    uri = with_driver(tracking_uri)
    driver = missing_driver(uri)
    if driver is not None:
        raise TrackingStoreError(
            f"MLflow cannot open the tracking store {mask_password(uri)}: its database driver "
            f"is not installed; {driver_fix(driver)}; or use an MLflow server "
            "(http://HOST:5000)."
        )
    return uri
