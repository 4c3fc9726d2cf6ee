import os

# MLflow 3 phones home on tracked calls; tests run offline and should not try.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
