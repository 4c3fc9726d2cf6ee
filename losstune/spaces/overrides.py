"""Narrowing a search space from a YAML file: ``path: override`` lines applied in order.

The format (each key is a dotted path of the base space, or a new child of a choice option)::

    loss: [cross_entropy, focal, gce]          # a list keeps only these options of a choice
    loss.focal.gamma: {low: 0.5, high: 3}      # low/high[/log] sets a range
    optimizer.adamw.lr: {low: 1.0e-4, high: 1.0e-2, log: true}
    batch_size: 256                            # a scalar fixes a value
    epochs: {low: 10, high: 40}                # a fixed number becomes a searched range
    loss.focal.alpha: 0.25                     # a new child path fixes an unsearched value

A range is an Int when the old parameter is an Int (or a fixed integer), else a Float. Every
mistake is a :class:`SpaceError` naming the path and the fix, raised before any trial runs:
:func:`losstune.spaces.files.load_space` also checks the resulting space against the
recipe's domains (:func:`losstune.spaces.domains.check_space`), so a path that is no hyperparameter
(``loss.focal.foo``) or a value the recipe refuses (``epochs: {low: 0, high: 40}``) fails
when the file is loaded, not in every trial.
Numbers written like ``1e-3`` (which YAML 1.1 reads as text) are accepted as numbers.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar

from losstune.params import Choice, Fixed, Float, Int, Param
from losstune.spaces.paths import SpaceError, split_child, unknown_path

_RANGE_KEYS = ("low", "high", "log")


class Editable(Protocol):
    """The edits an override makes: :class:`~losstune.spaces.space.SearchSpace` has them
    (typed by this protocol so that the space can import this module, not the reverse)."""

    def paths(self) -> dict[str, Param]: ...

    def restrict(self, path: str, options: Sequence[Any]) -> Self: ...

    def set(self, path: str, param: Param) -> Self: ...

    def fix(self, path: str, value: Any) -> Self: ...


Space = TypeVar("Space", bound=Editable)


def apply_overrides(space: Space, overrides: Mapping[str, Any]) -> Space:
    """``space`` with each override applied in order (a list restricts, a mapping sets a
    range, a scalar fixes)."""
    if not isinstance(overrides, Mapping):
        raise SpaceError(f"Overrides must be a mapping of path -> override; got {overrides!r}.")
    for path, value in overrides.items():
        if not isinstance(path, str):
            raise SpaceError(f"Override keys must be dotted paths (text); got {path!r}.")
        space = _apply_one(space, path, value)
    return space


def _apply_one(space: Space, path: str, value: Any) -> Space:
    paths = space.paths()
    old = paths.get(path)
    if old is None:
        _refuse_near_miss(path, paths)
    if isinstance(value, list | tuple):
        if old is None or isinstance(old, Fixed):
            return space.set(path, _new_choice(path, value))
        if not isinstance(old, Choice):
            raise SpaceError(
                f"{path!r} is a range; give {{low: ..., high: ...}} or a single value, not a list."
            )
        return space.restrict(path, [_as_option(option, old) for option in value])
    if isinstance(value, Mapping):
        return space.set(path, _range(path, value, old))
    if value is None:
        raise SpaceError(
            f"{path!r} has no value; give a list of options, a {{low, high}} range or a value."
        )
    if old is None:
        return space.set(path, Fixed(value))
    return space.fix(path, _coerce(path, value, old))


def _range(path: str, spec: Mapping[str, Any], old: Param | None) -> Param:
    unknown = sorted(map(str, set(spec) - set(_RANGE_KEYS)))
    if unknown or "low" not in spec or "high" not in spec:
        raise SpaceError(
            f"{path!r}: a range needs 'low' and 'high' (and optionally 'log'); got keys "
            f"{sorted(map(str, spec))}."
        )
    if isinstance(old, Choice):
        raise SpaceError(
            f"{path!r} is a choice of {', '.join(map(repr, old.options))}; give a list of the "
            "options to keep, or a single option to fix it, not a range."
        )
    if isinstance(old, Fixed) and not _is_number(old.value):
        raise SpaceError(f"{path!r} is fixed to {old.value!r}, not a number; it has no range.")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"{path!r}: 'log' must be true or false; got {log!r}.")
    low, high = (_number(path, f"'{bound}'", spec[bound]) for bound in ("low", "high"))
    integer = isinstance(old, Int) or (isinstance(old, Fixed) and _is_int(old.value))
    if old is None:
        integer = _is_int(low) and _is_int(high)
    if integer:
        low, high = _whole(path, "low", low), _whole(path, "high", high)
    try:
        if integer:
            return Int(int(low), int(high), log=log)
        return Float(float(low), float(high), log=log)
    except (ValueError, TypeError) as err:
        raise SpaceError(f"{path!r}: {err}") from None


def _new_choice(path: str, options: list[Any] | tuple[Any, ...]) -> Choice:
    try:
        return Choice(tuple(options))
    except (ValueError, TypeError) as err:
        raise SpaceError(f"{path!r}: {err}") from None


def _coerce(path: str, value: Any, old: Param) -> Any:
    """``value`` checked against the kind of ``old``: a numeric parameter takes a number (text
    such as ``1e-3``, which YAML reads as a string, counts), an integer one a whole number."""
    integer = isinstance(old, Int) or (isinstance(old, Fixed) and _is_int(old.value))
    if not (isinstance(old, Float | Int) or (isinstance(old, Fixed) and _is_number(old.value))):
        return value
    number = _number(path, "the value", value)
    if integer and isinstance(number, float) and number.is_integer():
        return int(number)
    return number


def _as_option(option: Any, old: Choice) -> Any:
    if isinstance(option, str) and not old.contains(option):
        return next((o for o in old.options if _is_number(o) and _same_number(option, o)), option)
    return option


def _number(path: str, what: str, value: Any) -> int | float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if not _is_number(value):
        raise SpaceError(f"{path!r}: {what} must be a number; got {value!r}.")
    return value


def _whole(path: str, bound: str, value: int | float) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise SpaceError(
            f"{path!r} is an integer parameter; '{bound}' must be a whole number, got {value!r}."
        )
    return int(value)


def _refuse_near_miss(path: str, paths: Mapping[str, Param]) -> None:
    """A new child path ``<choice>.<option>.<name>`` is allowed (it fixes or searches a value the
    component does not search by default), but a name a letter or two from an existing sibling
    is almost surely a typo (``loss.focal.gama``), so it is refused with the fix."""
    parent, option, name = split_child(path)
    prefix = f"{parent}.{option}."
    siblings = [
        p[len(prefix) :] for p in paths if p.startswith(prefix) and "." not in p[len(prefix) :]
    ]
    typo = difflib.get_close_matches(name, siblings, n=1, cutoff=0.8)
    if isinstance(paths.get(parent), Choice) and not typo:
        return
    raise SpaceError(unknown_path(path, paths))


def _same_number(text: str, option: int | float) -> bool:
    try:
        return float(text) == option
    except ValueError:
        return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
