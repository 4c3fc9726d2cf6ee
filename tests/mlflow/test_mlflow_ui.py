"""The ``mlflow ui`` command line: flags that MLflow 3 accepts, and clear errors."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import pytest
from mlflow.cli import cli

from losstune.mlflow import artifact_uri, local_tracking_uri, ui_command, ui_url


def test_command_serves_the_run_folder(run_dir: Path):
    command = ui_command(run_dir, host="0.0.0.0", port=5055)
    assert command[:4] == [sys.executable, "-m", "mlflow", "ui"]
    options = dict(zip(command[4::2], command[5::2], strict=True))
    assert options == {
        "--backend-store-uri": local_tracking_uri(run_dir),
        "--default-artifact-root": artifact_uri(run_dir),
        "--host": "0.0.0.0",
        "--port": "5055",
        "--workers": "1",
    }
    ui = cli.get_command(click.Context(cli), "ui")  # `mlflow ui` is `mlflow server`
    known = {opt for param in ui.params for opt in param.opts}
    assert set(options) <= known


def test_missing_folder_or_store_says_to_search_first(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'nope'} does not exist.*search"):
        ui_command(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match=f"{tmp_path} holds no mlflow.db.*search"):
        ui_command(tmp_path)


def test_bad_port(run_dir: Path):
    with pytest.raises(ValueError, match="Port 70000"):
        ui_command(run_dir, port=70000)


def test_url():
    assert ui_url() == "http://127.0.0.1:5000"
    assert ui_url("::1", 8080) == "http://[::1]:8080"
