"""A small name -> object table: the extension point behind losses, weightings, optimizers,
schedules, models and metrics.

A member registers itself where it is defined (``@LOSSES.register("focal")``), so adding one is
one module and one decorator. Lookups fail loudly, listing what exists and the closest names.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """A name that no member of a registry has; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0])


class Registry(Generic[T]):
    """Names mapped to members of one kind (``kind`` appears in error messages).

    Example:
        >>> SHAPES = Registry("shape")
        >>> @SHAPES.register("square")
        ... class Square: ...
        >>> SHAPES.get("square") is Square
        True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._members: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering its target under ``name``; a name can be taken only once.

        The name is also stored on the member as its ``name`` attribute, so an instance can say
        which registry entry it came from (recipes are written that way).
        """
        if not name or name != name.strip().lower():
            raise ValueError(f"A {self.kind} name must be lower-case and non-empty; got {name!r}.")

        def decorator(member: T) -> T:
            if name in self._members and self._members[name] is not member:
                raise ValueError(
                    f"The {self.kind} name {name!r} is already registered to "
                    f"{self._members[name]!r}; choose another name."
                )
            self._members[name] = member
            if getattr(member, "name", None) != name:
                member.name = name  # type: ignore[attr-defined]
            return member

        return decorator

    def get(self, name: str) -> T:
        """The member ``name``; an ``UnknownNameError`` lists known names and close matches."""
        try:
            return self._members[name]
        except KeyError:
            raise UnknownNameError(self._unknown_message(name)) from None

    def names(self, pattern: str = "*") -> list[str]:
        """Sorted member names matching a shell-style ``pattern`` (``"*"``: all of them)."""
        return sorted(n for n in self._members if fnmatch.fnmatchcase(n, pattern))

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self._members[name]

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"

    def _unknown_message(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(str(name), known, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"Unknown {self.kind} {name!r}.{hint} Known {self.kind} names: {', '.join(known)}."
