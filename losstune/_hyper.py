"""Hyperparameters as frozen dataclass fields whose valid domain is data, not scattered ``if``s.

A component (loss, weighting scheme, optimizer, schedule) is a frozen dataclass inheriting
:class:`Hyperparameters`; each field is declared with :func:`hyperparameter`, giving its valid
domain (what makes sense at all, e.g. ``0 <= gamma <= 20``). The *search* range is separate
and narrower: :meth:`Hyperparameters.space`. Construction validates every field and names the
bad value, so a recipe file or CLI flag with ``gamma: -1`` fails with a message, not a NaN.

Every numeric domain is bounded on both sides: a bound says "never sensible" (a temperature of
1e30, a SAM radius of 1e9, a width that cannot fit in memory), not "rarely good", so a typo is
refused instead of training to chance. The contract tests hold every registered member to it.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import sys
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from losstune.params import Param

_DOMAIN = "losstune_domain"


@dataclass(frozen=True)
class Domain:
    """Valid values of one hyperparameter: a number range (bounds open or closed) or choices."""

    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    optional: bool = False

    def check(self, owner: str, field: str, value: Any) -> Any:
        """Return ``value`` (ints widened to float for float fields) or raise naming it."""
        where = f"{owner}: hyperparameter {field!r}"
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"{where} must be set; got None.")
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"{where} must be one of {list(self.choices)}; got {value!r}.")
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise TypeError(f"{where} must be true or false; got {value!r}.")
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{where} must be a number; got {value!r}.")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where} must be finite; got {value!r}.")
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise TypeError(f"{where} must be a whole number; got {value!r}.")
            value = int(value)
        elif isinstance(value, int) and abs(value) > sys.float_info.max:
            raise ValueError(
                f"{where} must be {self.describe()}; got an integer too large for a float."
            )
        else:
            value = float(value)
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            op = ">" if self.low_open else ">="
            raise ValueError(f"{where} must be {op} {self.low}; got {value!r}.")
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            op = "<" if self.high_open else "<="
            raise ValueError(f"{where} must be {op} {self.high}; got {value!r}.")
        return value

    def describe(self) -> str:
        """The valid values in words: ``"a number in (0, 1]"``, ``"an integer in [1, 16]"``,
        ``"one of ['zero', 'log_prior']"``, ``"true or false"``."""
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        if self.kind is bool:
            return "true or false"
        low = "-inf" if self.low is None else _plain(self.low)
        high = "inf" if self.high is None else _plain(self.high)
        interval = (
            f"{'(' if self.low_open or self.low is None else '['}{low}, "
            f"{high}{')' if self.high_open or self.high is None else ']'}"
        )
        return f"{'an integer' if self.kind is int else 'a number'} in {interval}"

    @property
    def bounded(self) -> bool:
        """Whether a numeric domain has both a lower and an upper bound (choices and booleans
        are bounded by construction)."""
        if self.choices is not None or self.kind is bool:
            return True
        return self.low is not None and self.high is not None

    def contains(self, value: Any) -> bool:
        """Whether :meth:`check` accepts ``value``."""
        try:
            self.check("", "", value)
        except (TypeError, ValueError):
            return False
        return True


def _plain(bound: float) -> str:
    """A bound as written in messages: ``65536``, ``0.01``, ``1e-08``."""
    return str(int(bound)) if float(bound).is_integer() and abs(bound) < 1e16 else repr(bound)


def domains_of(cls: type[Hyperparameters]) -> dict[str, Domain]:
    """Every hyperparameter of ``cls`` with its :class:`Domain`, in field order."""
    return {
        f.name: f.metadata[_DOMAIN]
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if _DOMAIN in f.metadata
    }


def hyperparameter(
    default: Any,
    *,
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: tuple[Any, ...] | None = None,
    optional: bool = False,
) -> Any:
    """Declare a dataclass field as a hyperparameter with its valid domain."""
    domain = Domain(kind, low, high, low_open, high_open, choices, optional)
    return dataclasses.field(default=default, metadata={_DOMAIN: domain})


class Hyperparameters:
    """Mixin for frozen dataclasses whose fields are validated hyperparameters.

    Subclasses are registered under a name (set on the class by the registry as ``name``),
    declare fields with :func:`hyperparameter`, and return search ranges from :meth:`space`.
    """

    name: ClassVar[str] = "unregistered"

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):  # type: ignore[arg-type]
            domain = field.metadata.get(_DOMAIN)
            if domain is not None:
                checked = domain.check(self.name, field.name, getattr(self, field.name))
                object.__setattr__(self, field.name, checked)

    @classmethod
    def space(cls) -> dict[str, Param]:
        """Search ranges of the hyperparameters worth searching (a subset of the fields)."""
        return {}

    @classmethod
    def hyperparameter_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if _DOMAIN in f.metadata]  # type: ignore[arg-type]

    def params(self) -> dict[str, Any]:
        """The hyperparameter values, as plain Python values (what a recipe stores)."""
        return {name: getattr(self, name) for name in self.hyperparameter_names()}

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None = None) -> Self:
        """Build from a mapping, rejecting names that are not hyperparameters of this class."""
        params = dict(params or {})
        accepted = cls.hyperparameter_names()
        unknown = sorted(map(str, set(params) - set(accepted)))
        if unknown:
            close = difflib.get_close_matches(unknown[0], accepted, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{cls.name}: unknown hyperparameter(s) {unknown}; accepted: "
                f"{accepted or 'none'}.{hint}"
            )
        return cls(**params)


def member_hyperparameters(component: Hyperparameters) -> dict[str, float]:
    """The float-valued fields of a component: what varies per member of a batched program."""
    return {
        field.name: value
        for field in dataclasses.fields(component)  # type: ignore[arg-type]
        if isinstance(value := getattr(component, field.name), float)
    }


def structure_key(component: Hyperparameters) -> tuple[Hashable, ...]:
    """Hashable: the registry name plus every non-float field (str, bool, int, None): members with
    equal keys run the same code and can share one vectorised call.

    Tensor fields (a loss's class prior bound by ``prepare``) and ``compare=False`` fields are
    left out: they come from the dataset, which every member of a population shares.
    """
    from torch import Tensor

    fields = tuple(
        (field.name, value)
        for field in dataclasses.fields(component)  # type: ignore[arg-type]
        if field.compare and not isinstance(value := getattr(component, field.name), float | Tensor)
    )
    return (component.name, fields)
