"""Log a model into a given run without leaving global MLflow state behind.

A flavour's ``log_model`` (``mlflow.pytorch.log_model``) has no ``tracking_uri`` argument: it
reads the global tracking URI, and unless it is handed a ``model_id`` it creates the
LoggedModel in the *active* experiment, which is experiment 0 with artifacts in ``./mlruns``
of the CWD even when ``run_id`` points elsewhere. So the LoggedModel is created here, in the
search's experiment, and the global URI is set only for the call and restored after
(environment included). No fluent run is ever started. What a flavour saves (a pyfunc model
on raw rows, a torch graph) is the fitted model's business (``Fitted.log_to`` in
:mod:`losstune.runners`).

The URI handed back is one that loads the model as it stands. A ``models:/<id>`` URI is
resolved through the tracking store, so it loads only where ``MLFLOW_TRACKING_URI`` names
the search's store; without it MLflow 3 asks its default store (a fresh ``./mlflow.db`` in
the working directory) and fails. So a model whose artifacts are local files (a run folder's
store, the default) is handed back as the absolute path of its artifacts, which
``mlflow.pyfunc.load_model`` loads from any working directory with nothing set; a model on
a server or object store keeps its ``models:/<id>`` URI.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

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
    """Log ``model`` with a flavour's ``log_model`` (``mlflow.pytorch.log_model``, or a pyfunc
    logger such as ``losstune.runners.pyfunc.log_python_model``) as a LoggedModel of
    ``run_id``; return the URI that loads it (:func:`loadable_uri`)."""
    logged = client.create_logged_model(experiment_id, name=name, source_run_id=run_id)
    with use_tracking_uri(client.tracking_uri):
        log_model(model, name=name, model_id=logged.model_id, run_id=run_id, **options)
    return loadable_uri(client, logged.model_id)


def loadable_uri(client: MlflowClient, model_id: str) -> str:
    """Where ``mlflow.<flavour>.load_model`` finds LoggedModel ``model_id``: the absolute path
    of its artifacts when they are local files (loads with no tracking URI set, from any
    working directory), else ``models:/<id>`` (loads where ``MLFLOW_TRACKING_URI`` names
    ``client``'s store)."""
    location = client.get_logged_model(model_id).artifact_location
    parsed = urlparse(location)
    if parsed.scheme == "file":
        return url2pathname(parsed.path)
    if parsed.scheme == "" and os.path.isabs(location):
        return location
    return f"models:/{model_id}"
