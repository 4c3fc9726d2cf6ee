"""MLflow tracking of a search: one parent run per search, one nested run per trial, with
per-epoch metrics, end states, plots, the leaderboard and the best model as artifacts; one
experiment per dataset, named for people browsing the UI (:mod:`losstune.mlflow.naming`).

Only code that tracks imports this package (it imports mlflow); ``import losstune`` does not.
"""

from losstune.mlflow.naming import dataset_name, experiment_name, search_run_name
from losstune.mlflow.plots import learning_curves, optimization_history, param_importances
from losstune.mlflow.store import (
    TrackingStoreError,
    artifact_uri,
    local_tracking_uri,
    usable_tracking_uri,
)
from losstune.mlflow.tracker import TRIAL_NUMBER_TAG, SearchTracker
from losstune.mlflow.trial import STATES, TrialRun
from losstune.mlflow.ui import port_in_use, serve, ui_command, ui_url

__all__ = [
    "STATES",
    "TRIAL_NUMBER_TAG",
    "SearchTracker",
    "TrackingStoreError",
    "TrialRun",
    "artifact_uri",
    "dataset_name",
    "experiment_name",
    "learning_curves",
    "local_tracking_uri",
    "optimization_history",
    "param_importances",
    "port_in_use",
    "search_run_name",
    "serve",
    "ui_command",
    "ui_url",
    "usable_tracking_uri",
]
