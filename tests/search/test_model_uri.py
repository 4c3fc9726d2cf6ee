"""The model a search logs loads in another process, from another directory, as MLflow pyfunc,
predicts on the user's raw rows and scores what the search reported.

The URI a local search hands back (``result.model_uri``, the ``best_model_uri`` tag) is the
path of the model's artifacts: it loads with no tracking URI set and leaves nothing in the
working directory. Its ``models:/<id>`` URI loads once the tracking URI names the run
folder's store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine
from sklearn.metrics import accuracy_score

import losstune

pytestmark = pytest.mark.slow

# Runs in a fresh interpreter: load by path with nothing set, then by models:/<id> with the
# tracking URI set; print both predictions and the probability columns as JSON.
LOAD = """
import json, sys
import mlflow
import pandas as pd

uri, model_id, tracking_uri, rows = sys.argv[1:]
raw = pd.read_csv(rows).drop(columns="label")
by_path = mlflow.pyfunc.load_model(uri)
labels = by_path.predict(raw)
proba = by_path.predict(raw, params={"predict_method": "predict_proba"})
mlflow.set_tracking_uri(tracking_uri)
by_id = mlflow.pyfunc.load_model(f"models:/{model_id}")
print(json.dumps({
    "labels": labels.tolist(),
    "dtype": labels.dtype.kind,
    "by_id": by_id.predict(raw).tolist(),
    "proba_columns": proba.columns.tolist(),
    "proba_argmax": proba.idxmax(axis=1).tolist(),
}))
"""


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    data = losstune.load_dataset(load_wine(), seed=0)
    run_dir = tmp_path_factory.mktemp("run")
    result = losstune.search(
        data, metric="accuracy", n_trials=2, epochs=2, top_k=1, n_seeds=1, seed=0, run_dir=run_dir
    )
    return data, result


def _raw_test_rows(data) -> pd.DataFrame:
    """Wine's held-out test rows as read, with their labels: the source rows whose features
    are ``data.X_test`` (every wine row is distinct), in the test split's order."""
    wine = load_wine(as_frame=True)
    position = {row.tobytes(): i for i, row in enumerate(data.transform(wine.data))}
    rows = wine.data.iloc[[position[row.tobytes()] for row in data.X_test]]
    return rows.assign(label=data.classes[data.y_test]).reset_index(drop=True)


def test_the_logged_model_loads_elsewhere_and_scores_the_reported_test_accuracy(searched, tmp_path):
    data, result = searched
    client = MlflowClient(result.tracking_uri)
    (logged,) = client.search_logged_models(
        [client.get_run(result.mlflow_run_id).info.experiment_id],
        filter_string=f"source_run_id = '{result.mlflow_run_id}' AND name = 'model'",
    )
    assert Path(result.model_uri).is_absolute() and logged.model_id in result.model_uri
    tags = client.get_run(result.mlflow_run_id).data.tags
    assert tags["best_model_uri"] == result.model_uri

    rows = _raw_test_rows(data)
    csv = tmp_path / "test_rows.csv"
    rows.to_csv(csv, index=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    out = subprocess.run(
        [sys.executable, "-c", LOAD, result.model_uri, logged.model_id, result.tracking_uri, csv],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])

    assert got["dtype"] == "U" and got["by_id"] == got["labels"]
    selected = result.final[result.final["selected"]]
    first_seed = selected.iloc[0]  # n_seeds=1: the seed the logged model was trained on
    accuracy = accuracy_score(rows["label"], got["labels"])
    assert accuracy == pytest.approx(first_seed["test_accuracy"], abs=1e-12)
    assert got["labels"] == result.model.predict(data.X_test).tolist()
    assert got["proba_columns"] == ["class_0", "class_1", "class_2"]
    assert got["proba_argmax"] == got["labels"]
    assert sorted(os.listdir(elsewhere)) == []  # no mlflow.db, no mlruns


def test_raw_test_rows_are_the_test_split(searched):
    data, _ = searched
    rows = _raw_test_rows(data)
    assert len(rows) == len(data.y_test) == 36
    np.testing.assert_array_equal(data.transform(rows.drop(columns="label")), data.X_test)
