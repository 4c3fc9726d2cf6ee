"""Dotted paths of a search space: the error naming a bad path, shared by the space and the
override format (:mod:`losstune.spaces.space`, :mod:`losstune.spaces.overrides`)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from losstune.params import Param


class SpaceError(ValueError):
    """A search space, override or config that cannot be used; the message names the path."""


def split_child(path: str) -> tuple[str, str, str]:
    """``(choice, option, name)`` of a child path ``<choice>.<option>.<name>``; a path with
    fewer dots is ``("", "", path)``."""
    parts = path.rsplit(".", 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", path)


def unknown_path(path: str, paths: Mapping[str, Param]) -> str:
    """The message for a ``path`` not in ``paths``, with the closest ones."""
    close = difflib.get_close_matches(str(path), list(paths), n=3)
    if close:
        return f"Unknown path {path!r}. Did you mean {', '.join(map(repr, close))}?"
    return f"Unknown path {path!r}. Known paths: {', '.join(paths)}."
