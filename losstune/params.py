"""Search-space primitives: the range of one hyperparameter.

Each component (a loss, a weighting scheme, an optimizer) declares the ranges worth searching
for its hyperparameters with these, next to the code that uses the values. They are plain,
validated, frozen values; the search backends translate them (Optuna distributions, Ray Tune
domains). A :class:`Choice` may carry conditional children: parameters that exist only when a
given option is chosen (``focal`` brings ``gamma``), which is what makes a search space a tree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Float:
    """A real number in ``[low, high]``, sampled on a log scale when ``log`` is true."""

    low: float
    high: float
    log: bool = False

    def __post_init__(self) -> None:
        _check_range(self.low, self.high, self.log)

    def contains(self, value: Any) -> bool:
        return _is_number(value) and self.low <= value <= self.high


@dataclass(frozen=True)
class Int:
    """An integer in ``[low, high]`` (both included), sampled on a log scale when ``log``."""

    low: int
    high: int
    log: bool = False

    def __post_init__(self) -> None:
        for bound in ("low", "high"):
            value = getattr(self, bound)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"Int.{bound} must be an integer; got {value!r}.")
        _check_range(self.low, self.high, self.log)

    def contains(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )


@dataclass(frozen=True)
class Choice:
    """One of a fixed, non-empty tuple of options (strings, numbers or booleans).

    ``children`` maps an option to the parameters that exist only when it is chosen, e.g.
    ``Choice(("cross_entropy", "focal"), children={"focal": {"gamma": Float(0.0, 5.0)}})``.
    Options with children must be strings without dots: they become path segments
    (``loss.focal.gamma``). The children mappings are copied on construction; treat them as
    read-only (they stay plain dicts so that spaces pickle).
    """

    options: tuple[Any, ...]
    children: Mapping[str, Mapping[str, Param]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.options, str | bytes) or not hasattr(self.options, "__iter__"):
            raise TypeError(f"Choice options must be a sequence; got {self.options!r}.")
        options = tuple(self.options)
        if not options:
            raise ValueError("A Choice needs at least one option; got none.")
        if len(set(map(repr, options))) != len(options):
            raise ValueError(f"Choice options must be distinct; got {options!r}.")
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "children", self._checked_children())

    def contains(self, value: Any) -> bool:
        return any(value == option and type(value) is type(option) for option in self.options)

    def children_of(self, option: Any) -> dict[str, Param]:
        """The parameters that exist when ``option`` is chosen (empty when it has none)."""
        return dict(self.children.get(option, {})) if isinstance(option, str) else {}

    def __repr__(self) -> str:
        if not self.children:
            return f"Choice(options={self.options!r})"
        return f"Choice(options={self.options!r}, children={self.children!r})"

    def _checked_children(self) -> dict[str, dict[str, Param]]:
        if not isinstance(self.children, Mapping):
            raise TypeError(
                f"Choice children must map an option to its parameters; got {self.children!r}."
            )
        checked: dict[str, dict[str, Param]] = {}
        for option, params in self.children.items():
            if not self.contains(option):
                raise ValueError(
                    f"Choice children given for {option!r}, which is not an option; "
                    f"the options are {list(self.options)}."
                )
            if not isinstance(option, str) or "." in option:
                raise ValueError(
                    f"Choice option {option!r} has children, so it must be a string without "
                    "'.' (it becomes a segment of the children's dotted paths)."
                )
            if not isinstance(params, Mapping):
                raise TypeError(
                    f"Choice children[{option!r}] must map names to parameters; got {params!r}."
                )
            for name, param in params.items():
                check_name(name, where=f"Choice children[{option!r}]")
                if not isinstance(param, Float | Int | Choice | Fixed):
                    raise TypeError(
                        f"Choice children[{option!r}][{name!r}] must be a Float, Int, Choice or "
                        f"Fixed; got {param!r}."
                    )
            if params:
                checked[option] = dict(params)
        return {option: checked[option] for option in self.options if option in checked}


@dataclass(frozen=True)
class Fixed:
    """A value that is not searched but recorded with every trial."""

    value: Any

    def contains(self, value: Any) -> bool:
        return value == self.value


Param = Float | Int | Choice | Fixed


def check_name(name: Any, *, where: str) -> None:
    """Refuse a parameter name that cannot be one segment of a dotted path."""
    if not isinstance(name, str) or not name or "." in name:
        raise ValueError(
            f"{where}: parameter names must be non-empty strings without '.'; got {name!r}."
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_range(low: float, high: float, log: bool) -> None:
    if not (_is_number(low) and _is_number(high)):
        raise ValueError(f"Range bounds must be finite numbers; got low={low!r}, high={high!r}.")
    if low > high:
        raise ValueError(f"Range low={low!r} is above high={high!r}; swap them.")
    if log and low <= 0:
        raise ValueError(
            f"A log-scale range needs low > 0; got low={low!r}. Use a positive lower bound "
            "or set log=False."
        )
