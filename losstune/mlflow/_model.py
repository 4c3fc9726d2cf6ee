"""Log a torch module into a given run without leaving global MLflow state behind.

``mlflow.pytorch.log_model`` has no ``tracking_uri`` argument: it reads the global tracking
URI, and unless it is handed a ``model_id`` it creates the LoggedModel in the *active*
experiment, which is experiment 0 with artifacts in ``./mlruns`` of the CWD even when
``run_id`` points elsewhere. So the LoggedModel is created here, in the search's experiment,
and the global URI is set only for the call and restored after (environment included).
No fluent run is ever started.

With an input example the module is saved as ``pt2`` (``torch.export``, MLflow 3's default):
a graph that loads without unpickling or importing losstune. Without one it is pickled
(``torch.save``), which needs the model's class importable when loading. Either way a CPU
copy in eval mode is saved, so the caller's module keeps its device and mode.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import mlflow
from mlflow.tracking import MlflowClient

if TYPE_CHECKING:
    import torch

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


def log_torch_model(
    client: MlflowClient,
    experiment_id: str,
    run_id: str,
    module: torch.nn.Module,
    input_example: torch.Tensor | None,
    name: str,
    pip_requirements: Sequence[str],
) -> str:
    """Log ``module`` as a LoggedModel of ``run_id``; return its ``models:/<id>`` URI."""
    import torch

    options: dict[str, Any] = {"serialization_format": "pickle"}
    if input_example is not None:
        if not isinstance(input_example, torch.Tensor) or input_example.ndim < 2:
            raise TypeError(
                "input_example must be a batch of inputs, a torch.Tensor of shape (N, ...) "
                f"with N > 1; got {type(input_example).__name__} "
                f"{tuple(getattr(input_example, 'shape', ()))}. Pass e.g. valid_x[:8]."
            )
        example = input_example.detach().cpu().numpy()
        options = {"serialization_format": "pt2", "input_example": example}
    model = copy.deepcopy(module).cpu().eval()
    logged = client.create_logged_model(experiment_id, name=name, source_run_id=run_id)
    with use_tracking_uri(client.tracking_uri):
        info = mlflow.pytorch.log_model(
            model,
            name=name,
            model_id=logged.model_id,
            run_id=run_id,
            pip_requirements=list(pip_requirements),
            **options,
        )
    return info.model_uri
