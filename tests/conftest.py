import os

# `import mlflow` starts a telemetry client (it writes ~/.config/mlflow/telemetry.json and
# phones home on tracked calls) unless this is set before the first import; tests run offline.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
