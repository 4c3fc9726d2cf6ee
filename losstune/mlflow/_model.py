"""Log a model into a given run without leaving global MLflow state behind.

A flavour's ``log_model`` (``mlflow.pytorch.log_model``) has no ``tracking_uri`` argument: it
reads the global tracking URI, and unless it is handed a ``model_id`` it creates the
LoggedModel in the *active* experiment, which is experiment 0 with artifacts in ``./mlruns``
of the CWD even when ``run_id`` points elsewhere. So the LoggedModel is created here, in the
search's experiment, and the global URI is set only for the call and restored after
(environment included). No fluent run is ever started. What a flavour saves (a torch graph,
a pickle) is the fitted model's business (``Fitted.log_to`` in :mod:`losstune.runners`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

_URI_ENV = "MLFLOW_TRACKING_URI"


@contextmanager
def use_tracking_uri(uri: str) -> Iterator[None]:
    """Set MLflow's global tracking URI for the block; restore it and its env var after."""
    from mlflow.tracking._tracking_service import utils

    previous, previous_env = utils._tracking_uri, os.environ.get(_URI_ENV)
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        # None (no URI was set) unsets it again; mlflow handles None but annotates str | Path.
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]
        if previous_env is None:
            os.environ.pop(_URI_ENV, None)
        else:
            os.environ[_URI_ENV] = previous_env


def log_logged_model(
    client: MlflowClient,
    experiment_id: str,
    run_id: str,
    log_model: Callable[..., Any],
    model: Any,
    name: str,
    **options: Any,
) -> str:
    """Log ``model`` with a flavour's ``log_model`` (``mlflow.pytorch.log_model``) as a
    LoggedModel of ``run_id``; return its ``models:/<id>`` URI."""
    logged = client.create_logged_model(experiment_id, name=name, source_run_id=run_id)
    with use_tracking_uri(client.tracking_uri):
        info = log_model(model, name=name, model_id=logged.model_id, run_id=run_id, **options)
    return info.model_uri
