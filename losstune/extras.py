"""Optional dependencies (the package's extras) and the one message for a missing one.

``pip install losstune`` brings what a search on one machine needs. Ray Tune (``executor='ray'``)
and the PostgreSQL driver (a ``postgresql://`` storage or tracking store) come with extras;
code that needs one calls :func:`require_extra` before it imports it, so a user without it
reads what to install instead of ``No module named 'ray'``.

Only the standard library is imported here.
"""

from __future__ import annotations

import importlib.util

#: extra name -> the modules it provides (the pip requirements are in pyproject.toml)
EXTRAS: dict[str, tuple[str, ...]] = {
    "ray": ("ray",),
    "postgres": ("psycopg2",),
}

# what urls.missing_driver names for a PostgreSQL URL: the postgres extra provides it
_POSTGRES_DRIVERS = ("psycopg2-binary", "psycopg2", "psycopg[binary]", "psycopg")


class MissingExtra(ImportError, RuntimeError):
    """A feature needs an optional dependency that is not installed; the message names the
    ``pip install 'losstune[EXTRA]'`` that brings it. An ImportError (what code catches for an
    optional import) and a RuntimeError (what the CLI answers with one line)."""


def install_hint(extra: str) -> str:
    """The command that installs ``extra``: ``pip install 'losstune[ray]'``."""
    if extra not in EXTRAS:
        raise KeyError(f"losstune has no extra {extra!r}; extras: {', '.join(EXTRAS)}.")
    return f"pip install 'losstune[{extra}]'"


def missing_extra(extra: str, feature: str) -> MissingExtra:
    """The error for ``feature`` (``"executor='ray'"``) run without the ``extra`` installed."""
    hint = install_hint(extra)
    modules = " and ".join(EXTRAS[extra])
    return MissingExtra(
        f"{feature} needs {modules}, which is not installed. Fix: {hint}.", name=EXTRAS[extra][0]
    )


def require_extra(extra: str, feature: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` can be imported (checked
    without importing it, so this is cheap)."""
    for module in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise missing_extra(extra, feature)


def driver_fix(driver: str) -> str:
    """What to do when SQLAlchemy lacks a database driver, ``driver`` being the pip package
    :func:`losstune.urls.missing_driver` names: the ``postgres`` extra for a PostgreSQL driver
    losstune uses, else ``pip install DRIVER`` or the PostgreSQL driver."""
    if driver in _POSTGRES_DRIVERS:
        return f"{install_hint('postgres')} (the psycopg2 driver)"
    return f"pip install {driver}, or use postgresql+psycopg2:// ({install_hint('postgres')})"
