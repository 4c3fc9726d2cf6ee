"""The ``mlflow ui`` command line: flags that MLflow 3 accepts, and clear errors; serving it
so that SIGTERM stops the server, and a taken port is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest
from mlflow.cli import cli
from typer.testing import CliRunner

from losstune.cli import app
from losstune.mlflow import (
    artifact_uri,
    local_tracking_uri,
    port_in_use,
    serve,
    ui_command,
    ui_url,
)


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


def test_allowed_hosts_go_to_mlflows_own_option(run_dir: Path):
    command = ui_command(
        run_dir, host="0.0.0.0", allowed_hosts=" mlflow.example.com, 10.0.0.5:5000"
    )
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--allowed-hosts") + 1] == "mlflow.example.com,10.0.0.5:5000"
    ui = cli.get_command(click.Context(cli), "ui")
    assert "--allowed-hosts" in {opt for param in ui.params for opt in param.opts}
    with pytest.raises(ValueError, match="--allowed-hosts takes host names"):
        ui_command(run_dir, allowed_hosts=" , ")


def test_losstune_ui_passes_host_and_allowed_hosts_through(run_dir: Path, monkeypatch):
    served: list[list[str]] = []
    monkeypatch.setattr("losstune.mlflow.serve", lambda argv, env: served.append(argv))
    monkeypatch.setattr("losstune.mlflow.port_in_use", lambda host, port: False)
    args = ["ui", "--run-dir", str(run_dir), "--host", "0.0.0.0", "--port", "5077"]
    result = CliRunner().invoke(app, [*args, "--allowed-hosts", "box.lan"])
    assert result.exit_code == 0, result.output
    (argv,) = served
    assert argv[argv.index("--host") + 1] == "0.0.0.0"
    assert argv[argv.index("--allowed-hosts") + 1] == "box.lan"
    bad = CliRunner().invoke(app, [*args, "--allowed-hosts", ","])
    assert bad.exit_code == 2 and "--allowed-hosts takes host names" in bad.output


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


# -- serving: stopped by a signal, no server left behind ------------------------------------

FAKE_SERVER = """
import subprocess, sys, time
from pathlib import Path
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
Path(sys.argv[1]).write_text(str(child.pid))
child.wait()  # like `mlflow ui` waiting for uvicorn: SIGTERM ends this, not the child
"""

SERVE = """
import sys
from losstune.mlflow.ui import serve
sys.exit(0 if serve([sys.executable, "-c", sys.argv[1], sys.argv[2]]) is None else 1)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_sigterm_stops_the_server_and_its_children(tmp_path: Path):
    marker = tmp_path / "child.pid"
    serving = subprocess.Popen([sys.executable, "-c", SERVE, FAKE_SERVER, str(marker)])
    try:
        assert _wait(marker.exists, 20), "the fake server never started its child"
        child = int(marker.read_text())
        serving.send_signal(signal.SIGTERM)
        assert serving.wait(timeout=15) == 0  # stopped by the signal, as asked
        assert _wait(lambda: not _alive(child), 5), "the server's child outlived `serve`"
    finally:
        serving.kill()


def test_a_server_that_fails_gives_its_exit_code():
    assert serve([sys.executable, "-c", "raise SystemExit(3)"]) == 3


def test_a_taken_port_is_refused_in_one_line(run_dir: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert port_in_use("127.0.0.1", port)
        out = CliRunner().invoke(app, ["ui", "--run-dir", str(run_dir), "--port", str(port)])
    assert out.exit_code == 2, out.output
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and f"Port {port}" in lines[0]
    assert not port_in_use("127.0.0.1", port)


@pytest.mark.slow
def test_losstune_ui_answers_then_sigterm_leaves_nothing_listening(run_dir: Path, tmp_path: Path):
    port = _free_port()
    command = [sys.executable, "-c", "from losstune.cli import main; main()"]
    log = tmp_path / "ui.log"
    with open(log, "w") as out:
        ui = subprocess.Popen(
            [*command, "ui", "--run-dir", str(run_dir), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:

        def answers() -> bool:
            if ui.poll() is not None:
                pytest.fail(f"losstune ui exited {ui.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as page:
                    return page.status == 200
            except OSError:
                return False

        assert _wait(answers, 90), log.read_text()[-3000:]
        ui.send_signal(signal.SIGTERM)
        assert ui.wait(timeout=20) == 0, log.read_text()[-3000:]
        assert _wait(lambda: not port_in_use("127.0.0.1", port), 5), "the server still listens"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
    finally:
        ui.kill()
