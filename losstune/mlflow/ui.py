"""The command behind ``losstune ui``: the MLflow UI on a search's run folder.

``mlflow ui`` (an alias of ``mlflow server`` in MLflow 3) is started with the run folder's
SQLite store and artifact root. It is run as ``python -m mlflow`` with this interpreter, so
it works from a virtual environment that is not activated, and with one web worker (MLflow
starts four by default, too many for one person browsing a local store).
"""

from __future__ import annotations

import sys
from pathlib import Path

from losstune.mlflow.store import DB_FILE, artifact_uri, local_tracking_uri


def ui_command(run_dir: Path | str, host: str = "127.0.0.1", port: int = 5000) -> list[str]:
    """The argv that serves the MLflow UI for ``run_dir`` on ``http://host:port``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"Run folder {run_dir} does not exist; run `losstune search` first, or pass the "
            "folder it wrote (--run-dir)."
        )
    if not (run_dir / DB_FILE).is_file():
        raise FileNotFoundError(
            f"Run folder {run_dir} holds no {DB_FILE}, so no search was tracked there; run "
            "`losstune search` first, or pass the folder it wrote (--run-dir)."
        )
    if not 0 < port < 65536:
        raise ValueError(f"Port {port} is out of range; use 1-65535 (MLflow's default is 5000).")
    return [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", local_tracking_uri(run_dir),
        "--default-artifact-root", artifact_uri(run_dir),
        "--host", host,
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip


def ui_url(host: str = "127.0.0.1", port: int = 5000) -> str:
    """Where the UI of :func:`ui_command` answers (an IPv6 host is bracketed)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
