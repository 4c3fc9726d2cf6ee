"""Fixtures shared by the search tests."""

import contextlib
import os
import uuid

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


@pytest.fixture(scope="session")
def local_ray():
    """One Ray for the session: 4 CPUs and one GPU that exists only as a Ray resource."""
    import ray

    if ray.is_initialized():
        yield
        return
    ray.init(num_cpus=4, num_gpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@contextlib.contextmanager
def fresh_database(name: str):
    """A new PostgreSQL database ``name`` on the local server, dropped afterwards; its URL."""
    import psycopg2

    admin = psycopg2.connect(dbname="test", **PG)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if os.environ.get("CI") != "true":
        pytest.skip(
            "PostgreSQL tests run with CI=true and a PostgreSQL server at 127.0.0.1:5432 "
            "(user postgres, database test)"
        )
    with fresh_database(f"losstune_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def default_signal_handlers():
    """Python's own SIGINT and SIGTERM handling for one test: a Ray Tune run earlier in the
    session leaves its handlers installed, which would swallow the signals a test sends."""
    import signal

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
