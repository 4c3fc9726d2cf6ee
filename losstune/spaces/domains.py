"""A space checked against what a recipe accepts, before any trial runs.

Every path of a space that a search turns into recipes (:func:`~losstune.spaces.config_to_recipe`)
must name a recipe field: a component (``loss``) whose options are registered names, a
hyperparameter of one (``loss.focal.gamma``), or a scalar field (``temperature``,
``batch_size``, ``epochs``); and every value it can take (a range's bounds, each option, a
fixed value) must lie inside that field's *domain*, the one the recipe itself enforces
(:func:`losstune._hyper.hyperparameter` on the component, :data:`losstune.recipe.FIELD_DOMAINS`).
Otherwise each trial would fail when its recipe is built; :func:`check_space` refuses the
space instead, naming the path, the value and the domain.

Example:
    >>> from losstune.spaces import default_space
    >>> check_space(default_space("binary").apply({"epochs": {"low": 0, "high": 40}}))
    Traceback (most recent call last):
    ...
    losstune.spaces.paths.SpaceError: 'epochs': low=0 lies outside the domain of the recipe's \
epochs, an integer in [1, 10000]; keep every value inside it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any, Protocol

from losstune._hyper import Domain, domains_of
from losstune._registry import Registry, UnknownNameError
from losstune.models import MODELS
from losstune.objectives import LOSSES, WEIGHTINGS
from losstune.optim import OPTIMIZERS, SCHEDULES, WRAPPERS
from losstune.params import Choice, Float, Int, Param
from losstune.recipe import FIELD_DOMAINS
from losstune.spaces.config import COMPONENT_FIELDS, SCALAR_FIELDS
from losstune.spaces.default import NO_WRAPPER
from losstune.spaces.paths import SpaceError

__all__ = ["check_param", "check_space"]

REGISTRIES: dict[str, Registry[Any]] = {
    "model": MODELS,
    "loss": LOSSES,
    "weighting": WEIGHTINGS,
    "optimizer": OPTIMIZERS,
    "wrapper": WRAPPERS,
    "schedule": SCHEDULES,
}


class HasPaths(Protocol):
    """What is checked: a :class:`~losstune.spaces.SearchSpace`, or anything with its paths."""

    def paths(self) -> Mapping[str, Param]: ...


def check_space(space: HasPaths) -> None:
    """Raise a :class:`SpaceError` for the first path that names no recipe field or can take a
    value outside that field's domain (see the module docstring)."""
    for path, param in space.paths().items():
        check_param(path, param)


def check_param(path: str, param: Param) -> None:
    """Raise a :class:`SpaceError` unless every value ``param`` can give ``path`` is one a
    recipe accepts there."""
    parts = path.split(".")
    if len(parts) == 1 and path in REGISTRIES:
        _check_names(path, REGISTRIES[path], param)
    elif len(parts) == 1 and path in SCALAR_FIELDS:
        _check_values(path, FIELD_DOMAINS[path], param, f"the recipe's {path}")
    elif len(parts) == 3 and parts[0] in REGISTRIES:
        field, name, hyperparameter = parts
        domain = _domain(path, field, name, hyperparameter)
        _check_values(path, domain, param, f"{field} {name!r}'s {hyperparameter!r}")
    else:
        fields = [*COMPONENT_FIELDS, *SCALAR_FIELDS]
        close = difflib.get_close_matches(parts[0], fields, n=1)
        hint = f" Did you mean {close[0]!r}?" if close and close[0] != parts[0] else ""
        raise SpaceError(
            f"{path!r} has no place in a recipe.{hint} A path is a recipe field "
            f"({', '.join(fields)}) or '<field>.<name>.<hyperparameter>' "
            "(e.g. 'loss.focal.gamma')."
        )


def _domain(path: str, field: str, name: str, hyperparameter: str) -> Domain:
    if field == "wrapper" and name == NO_WRAPPER:
        raise SpaceError(f"{path!r}: wrapper {NO_WRAPPER!r} has no hyperparameters.")
    domains = domains_of(_member(path, REGISTRIES[field], name))
    if hyperparameter not in domains:
        close = difflib.get_close_matches(hyperparameter, list(domains), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(map(repr, domains)) or "none"
        raise SpaceError(
            f"{path!r}: {field} {name!r} has no hyperparameter {hyperparameter!r}.{hint} "
            f"Its hyperparameters: {known}."
        )
    return domains[hyperparameter]


def _check_names(path: str, registry: Registry[Any], param: Param) -> None:
    if isinstance(param, Float | Int):
        raise SpaceError(
            f"{path!r} names a {registry.kind}; give a list of names or one name, not a range."
        )
    names = param.options if isinstance(param, Choice) else (param.value,)
    for name in names:
        if not (path == "wrapper" and name == NO_WRAPPER):
            _member(path, registry, name)


def _member(path: str, registry: Registry[Any], name: Any) -> Any:
    if not isinstance(name, str):
        raise SpaceError(f"{path!r}: {registry.kind} names are text; got {name!r}.")
    try:
        return registry.get(name)
    except UnknownNameError as err:
        raise SpaceError(f"{path!r}: {err}") from None


def _check_values(path: str, domain: Domain, param: Param, what: str) -> None:
    where = f"the domain of {what}, {domain.describe()}"
    if isinstance(param, Float | Int):
        numeric = domain.choices is None and domain.kind in (int, float)
        if not numeric or (domain.kind is int and isinstance(param, Float)):
            raise SpaceError(
                f"{path!r}: the range [{param.low}, {param.high}] gives values outside {where}; "
                + ("give whole-number bounds." if numeric else "give a list of values.")
            )
        values = [("low", param.low), ("high", param.high)]
    elif isinstance(param, Choice):
        values = [("option", option) for option in param.options]
    else:
        values = [("value", param.value)]
    for label, value in values:
        if not domain.contains(value):
            raise SpaceError(
                f"{path!r}: {label}={value!r} lies outside {where}; keep every value inside it."
            )
