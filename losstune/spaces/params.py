"""Search-space primitives: the range of one hyperparameter.

Each component (a loss, a weighting scheme, an optimizer) declares the ranges worth searching
for its hyperparameters with these, next to the code that uses the values. They are plain,
validated, frozen values; the search backends translate them (Optuna distributions, Ray Tune
domains).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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
    """One of a fixed, non-empty tuple of options (strings, numbers or booleans)."""

    options: tuple[Any, ...]

    def __post_init__(self) -> None:
        if isinstance(self.options, str | bytes) or not hasattr(self.options, "__iter__"):
            raise TypeError(f"Choice options must be a sequence; got {self.options!r}.")
        options = tuple(self.options)
        if not options:
            raise ValueError("A Choice needs at least one option; got none.")
        if len(set(map(repr, options))) != len(options):
            raise ValueError(f"Choice options must be distinct; got {options!r}.")
        object.__setattr__(self, "options", options)

    def contains(self, value: Any) -> bool:
        return any(value == option and type(value) is type(option) for option in self.options)


@dataclass(frozen=True)
class Fixed:
    """A value that is not searched but recorded with every trial."""

    value: Any

    def contains(self, value: Any) -> bool:
        return value == self.value


Param = Float | Int | Choice | Fixed


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
