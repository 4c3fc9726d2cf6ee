"""The command behind ``losstune ui``: the MLflow UI on a search's run folder.

``mlflow ui`` (an alias of ``mlflow server`` in MLflow 3) is started with the run folder's
SQLite store and artifact root. It is run as ``python -m mlflow`` with this interpreter, so
it works from a virtual environment that is not activated, and with one web worker (MLflow
starts four by default, too many for one person browsing a local store).

``mlflow ui`` runs the web server (uvicorn) as a child of its own and does not pass SIGTERM
on, so killing it alone leaves the server listening. :func:`serve` therefore starts it in a
process group of its own and stops the whole group when ``losstune ui`` gets SIGINT or
SIGTERM; :func:`port_in_use` lets the command refuse a taken port before starting anything.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from losstune.mlflow.store import DB_FILE, artifact_uri, local_tracking_uri


def ui_command(
    run_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 5000,
    allowed_hosts: str | None = None,
) -> list[str]:
    """The argv that serves the MLflow UI for ``run_dir`` on ``http://host:port``.

    ``allowed_hosts`` is MLflow's ``--allowed-hosts``: the comma-separated ``Host`` headers
    the server answers (``mlflow.example.com,10.0.0.5:5000``, wildcards allowed). MLflow's
    default is localhost and private addresses: a UI on ``--host 0.0.0.0`` reached by a
    public name or address needs it."""
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
    hosts = [] if allowed_hosts is None else ["--allowed-hosts", _host_list(allowed_hosts)]
    return [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", local_tracking_uri(run_dir),
        "--default-artifact-root", artifact_uri(run_dir),
        "--host", host,
        "--port", str(port),
        "--workers", "1",
        *hosts,
    ]  # fmt: skip


def _host_list(allowed_hosts: str) -> str:
    """``allowed_hosts`` without blanks around its entries; refused when it names none."""
    hosts = [h.strip() for h in allowed_hosts.split(",") if h.strip()]
    if not hosts or any(" " in h for h in hosts):
        raise ValueError(
            f"--allowed-hosts takes host names or addresses separated by commas "
            f"(mlflow.example.com,10.0.0.5:5000); got {allowed_hosts!r}."
        )
    return ",".join(hosts)


def ui_url(host: str = "127.0.0.1", port: int = 5000) -> str:
    """Where the UI of :func:`ui_command` answers (an IPv6 host is bracketed)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def port_in_use(host: str, port: int) -> bool:
    """Whether ``host:port`` cannot be listened on (another server has it), tried the way
    uvicorn binds (``SO_REUSEADDR``, so a port that just closed counts as free)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror:
        return False  # an unknown host: the server says so itself
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return True
    return False


def serve(
    argv: Sequence[str], env: Mapping[str, str] | None = None, grace_s: float = 10.0
) -> int | None:
    """Run the server ``argv`` until it exits or this process gets SIGINT/SIGTERM; return
    its exit code, or None when a signal stopped it.

    The server runs in a new process group; a SIGINT or SIGTERM received here is sent to that
    whole group (the MLflow CLI and its uvicorn child), and whatever of the group is still
    alive ``grace_s`` seconds later is killed, so no server is left listening.
    """
    process = subprocess.Popen(list(argv), env=None if env is None else dict(env),
                               start_new_session=True)  # fmt: skip
    received: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        _signal_group(process.pid, signum)

    handled = (signal.SIGINT, signal.SIGTERM)
    main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, forward) for s in handled} if main else {}
    try:
        code = _wait(process, received, grace_s)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _stop_group(process.pid, grace_s)
    return None if received else code


def _wait(process: subprocess.Popen[bytes], received: list[int], grace_s: float) -> int:
    """Wait for ``process``; ``grace_s`` seconds after the first signal, kill its group."""
    deadline: float | None = None
    while True:
        try:
            return process.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            if received and deadline is None:
                deadline = time.monotonic() + grace_s
            if deadline is not None and time.monotonic() > deadline:
                _signal_group(process.pid, signal.SIGKILL)


def _stop_group(group: int, grace_s: float) -> None:
    """End what is left of process group ``group`` (children of the server that outlived
    it): SIGTERM, then SIGKILL after ``grace_s`` seconds."""
    if not _signal_group(group, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_s
    while _signal_group(group, 0):
        if time.monotonic() > deadline:
            _signal_group(group, signal.SIGKILL)
            return
        time.sleep(0.1)


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` to process group ``group``; whether the group still exists."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    except PermissionError:  # only zombies are left, or the id was reused
        return False
    return True
