"""Storage and tracking URLs as losstune shows, stores and opens them.

A database or MLflow URL may carry a password (``postgresql://user:secret@host/db``,
``https://user:secret@mlflow:5000``). :func:`mask_password` hides it wherever a URL is
printed, logged or put in an error message; :func:`without_password` leaves it out of what
is written where others read it (the Optuna study that every worker opens), since a process
can take the password from its own environment instead (``PGPASSWORD`` or ``~/.pgpass`` for
PostgreSQL's libpq, ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` for an MLflow
server). :func:`with_driver` and :func:`missing_driver` name the SQLAlchemy driver a database
URL is opened with, and whether it is installed.

Only the standard library is imported here; SQLAlchemy is imported when a driver is asked for.
"""

from __future__ import annotations

import re

MASK = "***"

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|passwd|pwd)=)[^&#]*")
# the pip package of a DB-API module whose name differs from it
_PACKAGES = {"MySQLdb": "mysqlclient", "psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary"}


def mask_password(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs.

    ``postgresql://user:secret@host/db`` becomes ``postgresql://user:***@host/db``; a
    ``password=`` query parameter is masked too. A URL without a password, an SQLite URL and
    a file path come back unchanged. For a database URL the password runs to the last ``@``
    (so an unescaped ``@`` in it is hidden whole); for ``http(s)`` it is the userinfo as
    RFC 3986 (and so the HTTP client) reads it.
    """
    parts = _split_password(url)
    if parts is not None:
        head, password, tail = parts
        if password:
            url = f"{head}:{MASK}{tail}"
    return _QUERY_SECRET.sub(rf"\g<1>{MASK}", url)


def mask_passwords(text: str) -> str:
    """``text`` (another library's error message, say) with the password of every URL in it
    masked by :func:`mask_password`."""
    return _URL_IN_TEXT.sub(lambda found: mask_password(found.group()), text)


def without_password(url: str) -> str:
    """``url`` with its password left out (``postgresql://user@host/db``), to store where
    other processes read it; each of them supplies the password from its own environment."""
    parts = _split_password(url)
    if parts is not None:
        head, _, tail = parts
        url = f"{head}{tail}"
    url = _QUERY_SECRET.sub("", url)
    if "?" not in url and "&" in url:  # the removed parameter was the first one
        url = url.replace("&", "?", 1)
    return url


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password (in its userinfo or as a query parameter)."""
    return without_password(url) != url


def _split_password(url: str) -> tuple[str, str, str] | None:
    """``url`` cut around its password: (up to the user name, the password, from the ``@``
    on), or None when it has no ``user:password@`` part."""
    scheme = _SCHEME.match(url)
    if scheme is None:
        return None
    start = scheme.end()
    rest = url[start:]
    if scheme.group().lower() in ("http://", "https://"):
        ends = [i for i in (rest.find(c) for c in "/?#") if i >= 0]
        at = rest.rfind("@", 0, min(ends, default=len(rest)))
    else:
        at = rest.rfind("@")
    if at < 0:
        return None
    user, colon, password = rest[:at].partition(":")
    if not colon or any(c in user for c in "/?#"):
        return None
    return url[: start + len(user)], password, url[start + at :]


def with_driver(url: str) -> str:
    """``url`` with the PostgreSQL driver that is installed: SQLAlchemy 2.1 reads a bare
    ``postgresql://`` as psycopg 3, while losstune depends on psycopg2; an explicit driver
    (``postgresql+psycopg://``) and other databases are left alone."""
    import importlib.util

    import sqlalchemy

    try:
        parsed = sqlalchemy.engine.make_url(url)
    except sqlalchemy.exc.ArgumentError:
        return url
    if (
        parsed.drivername == "postgresql"
        and importlib.util.find_spec("psycopg") is None
        and importlib.util.find_spec("psycopg2") is not None
    ):
        return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return url


def missing_driver(url: str) -> str | None:
    """What to ``pip install`` so that SQLAlchemy can open the database ``url``
    (``postgresql+pg8000://`` without pg8000: ``"pg8000"``), or None when its driver is
    installed or ``url`` is no SQLAlchemy database URL."""
    import sqlalchemy

    try:
        dialect = sqlalchemy.engine.make_url(url).get_dialect()
        dialect.import_dbapi()
    except ImportError as err:
        module = (err.name or "").split(".")[0]
        return _PACKAGES.get(module, module) or str(err)
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError):
        return None
    return None
