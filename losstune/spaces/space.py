"""The search space: an immutable, ordered tree of named parameters with dotted paths.

Top-level parameters are named plainly (``loss``); the children of a :class:`Choice` option
live under ``<path>.<option>.<child>`` (``loss.focal.gamma``, ``optimizer.lion.lr``). A config
is the flat mapping ``{path: value}`` of the *active* parameters: the chosen option's children
appear, the other options' do not. A top-level parameter may also depend on a top-level
choice before it (``when={"optimizer": When("model", ("mlp",))}``: only a torch-trained model
has an optimizer), so two families share the paths they have in common. Every backend
(Optuna, Ray Tune, a seeded random pick in tests) draws a config through the one walk
:meth:`SearchSpace.sample`, so the tree semantics live in one place. Narrowing returns a
new space; a space is never changed in place.

Example:
    >>> space = SearchSpace({
    ...     "loss": Choice(("cross_entropy", "focal"), children={"focal": {"gamma": Float(0, 5)}}),
    ...     "batch_size": Choice((64, 128)),
    ... })
    >>> space.sample(lambda path, param: {"loss": "focal", "batch_size": 64}.get(path, 2.0))
    {'loss': 'focal', 'loss.focal.gamma': 2.0, 'batch_size': 64}
    >>> space.restrict("loss", ["cross_entropy"]).paths()
    {'loss': Choice(options=('cross_entropy',)), 'batch_size': Choice(options=(64, 128))}
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from losstune.params import Choice, Fixed, Float, Int, Param, check_name
from losstune.spaces.overrides import apply_overrides
from losstune.spaces.paths import SpaceError, split_child, unknown_path

__all__ = ["Pick", "SearchSpace", "SpaceError", "When"]

Pick = Callable[[str, Param], Any]


@dataclass(frozen=True)
class When:
    """A top-level parameter's condition: it is active only when the top-level choice at
    ``path`` took one of ``options``."""

    path: str
    options: tuple[Any, ...]

    def holds(self, config: Mapping[str, Any]) -> bool:
        return self.path in config and config[self.path] in self.options

    def __str__(self) -> str:
        return f"when {self.path} in {list(self.options)}"


class SearchSpace:
    """An immutable ordered tree of named :data:`Param` (see the module docstring).

    Args:
        params: top-level name -> parameter, in the order the walk visits them. Names must be
            non-empty and free of dots; a Choice's children hang below it.
        when: top-level name -> the :class:`When` under which it is active; the condition's
            path must be a top-level Choice that comes before it. A parameter whose
            condition no option can meet any more (after :meth:`restrict`) is dropped.
    """

    __slots__ = ("_params", "_when")

    def __init__(self, params: Mapping[str, Param], when: Mapping[str, When] | None = None) -> None:
        if not isinstance(params, Mapping):
            raise TypeError(f"SearchSpace needs a mapping of name -> parameter; got {params!r}.")
        for name, param in params.items():
            check_name(name, where="SearchSpace")
            if not isinstance(param, Float | Int | Choice | Fixed):
                raise TypeError(
                    f"SearchSpace[{name!r}] must be a Float, Int, Choice or Fixed; got {param!r}."
                )
        self._params: dict[str, Param] = dict(params)
        self._when: dict[str, When] = _checked_when(self._params, when or {})
        for name, condition in self._when.items():
            if not any(self._params[condition.path].contains(o) for o in condition.options):
                del self._params[name]
        self._when = {n: c for n, c in self._when.items() if n in self._params}

    # -- reading ----------------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Param]:
        """The top-level parameters (a copy)."""
        return dict(self._params)

    @property
    def when(self) -> dict[str, When]:
        """The conditions of the top-level parameters that have one (a copy)."""
        return dict(self._when)

    def paths(self) -> dict[str, Param]:
        """Every path in the tree, active or not, in walk order."""
        return dict(_flatten(self._params, ""))

    def __getitem__(self, path: str) -> Param:
        paths = self.paths()
        if path not in paths:
            raise SpaceError(unknown_path(path, paths))
        return paths[path]

    def sample(self, pick: Pick) -> dict[str, Any]:
        """The flat config ``{path: pick(path, param)}`` over the active parameters.

        Walks the tree in order; after a Choice is picked, only the chosen option's children
        are visited. ``pick`` is called for Fixed parameters too (a backend returns the value).
        The values are not validated here: :meth:`validate` does that.
        """
        config: dict[str, Any] = {}
        _walk(self._params, "", pick, config, self._when)
        return config

    def active_paths(self, config: Mapping[str, Any]) -> list[str]:
        """The paths active under the choices made in ``config``, in walk order."""

        def pick(path: str, param: Param) -> Any:
            if isinstance(param, Choice) and param.children and path not in config:
                raise SpaceError(
                    f"The config has no value for the choice {path!r}, which decides which "
                    "parameters are active; add it."
                )
            return config.get(path)

        return list(self.sample(pick))

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise a :class:`SpaceError` naming the first path that makes ``config`` invalid:
        a missing active path, a value outside its parameter, or a path that is not active."""

        def pick(path: str, param: Param) -> Any:
            if path not in config:
                raise SpaceError(f"The config has no value for {path!r}; add one.")
            value = config[path]
            if not param.contains(value):
                raise SpaceError(
                    f"The config value {path}={value!r} does not fit the space: {path!r} is "
                    f"{_describe(param)}."
                )
            return value

        active = self.sample(pick)
        extra = [path for path in config if path not in active]
        if extra:
            raise SpaceError(
                f"The config has path(s) {extra} that are not active in this space "
                "(unknown, or children of an option that was not chosen); remove them."
            )

    def contains(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config`` is exactly a valid config of this space (see :meth:`validate`)."""
        try:
            self.validate(config)
        except SpaceError:
            return False
        return True

    # -- narrowing and extending (each returns a new space) ---------------------------------

    def restrict(self, path: str, options: Sequence[Any]) -> SearchSpace:
        """Keep only ``options`` (in this order) of the Choice at ``path``, with their children."""
        param = self[path]
        if not isinstance(param, Choice):
            raise SpaceError(
                f"{path!r} is {_describe(param)}, not a choice; give a range or a single value."
            )
        if isinstance(options, str | bytes) or not isinstance(options, Sequence) or not options:
            raise SpaceError(
                f"Restrict {path!r} with a non-empty list of options; got {options!r}."
            )
        for option in options:
            if not param.contains(option):
                raise SpaceError(_unknown_option(path, option, param.options))
        if len(set(map(repr, options))) != len(options):
            raise SpaceError(f"The options for {path!r} repeat: {list(options)}; list each once.")
        children = {o: param.children_of(o) for o in options if param.children_of(o)}
        return self._replace(path, Choice(tuple(options), children=children))

    def set(self, path: str, param: Param) -> SearchSpace:
        """Replace the parameter at ``path``, or add a new child ``<choice>.<option>.<name>``."""
        if not isinstance(param, Float | Int | Choice | Fixed):
            raise TypeError(
                f"{path!r} must be set to a Float, Int, Choice or Fixed; got {param!r}."
            )
        paths = self.paths()
        if path not in paths:
            parent, option, name = split_child(path)
            choice = paths.get(parent)
            if not isinstance(choice, Choice):
                raise SpaceError(unknown_path(path, paths))
            if not choice.contains(option):
                raise SpaceError(
                    _unknown_option(parent, option, choice.options) + f" (in {path!r})"
                )
            check_name(name, where=path)
        return self._replace(path, param)

    def fix(self, path: str, value: Any) -> SearchSpace:
        """Fix ``path`` to ``value``, which must be valid for its parameter.

        A number, or an option without children, becomes :class:`Fixed`. Fixing a Choice to an
        option that has children keeps them searched: it restricts the Choice to that option.
        A Fixed parameter can be fixed to another value of the same kind (``epochs: 40``).
        """
        param = self[path]
        if isinstance(param, Choice):
            if not param.contains(value):
                raise SpaceError(_unknown_option(path, value, param.options))
            if param.children_of(value):
                return self.restrict(path, [value])
            return self._replace(path, Fixed(value))
        if isinstance(param, Fixed):
            if not _same_kind(param.value, value):
                raise SpaceError(
                    f"{path!r} is fixed to {param.value!r}; {value!r} is not a value of the same "
                    f"kind ({type(param.value).__name__})."
                )
            return self._replace(path, Fixed(value))
        if not param.contains(value):
            raise SpaceError(
                f"{value!r} is outside {path!r}, {_describe(param)}; pick a value inside or "
                "set a wider range first."
            )
        return self._replace(path, Fixed(float(value) if isinstance(param, Float) else value))

    def apply(self, overrides: Mapping[str, Any]) -> SearchSpace:
        """Apply overrides in the YAML format of :mod:`losstune.spaces.overrides`."""
        return apply_overrides(self, overrides)

    # -- output -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every path as plain data in the override format: a list for a choice, ``{low, high,
        log}`` for a range, the value for a fixed parameter (for logging, and ``apply``)."""
        return {path: _plain(param) for path, param in self.paths().items()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SearchSpace):
            return NotImplemented
        return (
            list(self._params.items()) == list(other._params.items()) and self._when == other._when
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        lines = [
            f"  {'  ' * (path.count('.') // 2)}{path}: {_describe(param)}"
            + (f" ({self._when[path]})" if path in self._when else "")
            for path, param in self.paths().items()
        ]
        return "SearchSpace(\n" + "\n".join(lines) + "\n)" if lines else "SearchSpace()"

    def _replace(self, path: str, param: Param) -> SearchSpace:
        return SearchSpace(_replaced(self._params, path.split("."), param), self._when)


def _checked_when(params: Mapping[str, Param], when: Mapping[str, When]) -> dict[str, When]:
    names = list(params)
    for name, condition in when.items():
        if not isinstance(condition, When):
            raise TypeError(f"SearchSpace when[{name!r}] must be a When; got {condition!r}.")
        if name not in params:
            raise SpaceError(
                f"SearchSpace when names {name!r}, which is not a top-level parameter."
            )
        decider = params.get(condition.path)
        if not isinstance(decider, Choice | Fixed) or names.index(condition.path) > names.index(
            name
        ):
            raise SpaceError(
                f"{name!r} depends on {condition.path!r}, which must be a top-level choice "
                "(or a fixed value) that comes before it."
            )
    return dict(when)


def _walk(
    params: Mapping[str, Param],
    prefix: str,
    pick: Pick,
    config: dict[str, Any],
    when: Mapping[str, When] | None = None,
) -> None:
    for name, param in params.items():
        if when and name in when and not when[name].holds(config):
            continue
        path = prefix + name
        value = pick(path, param)
        config[path] = value
        if isinstance(param, Choice):
            _walk(param.children_of(value), f"{path}.{value}.", pick, config)


def _flatten(params: Mapping[str, Param], prefix: str) -> Iterator[tuple[str, Param]]:
    for name, param in params.items():
        yield prefix + name, param
        if isinstance(param, Choice):
            for option, children in param.children.items():
                yield from _flatten(children, f"{prefix}{name}.{option}.")


def _replaced(params: Mapping[str, Param], segments: list[str], param: Param) -> dict[str, Param]:
    name, rest = segments[0], segments[1:]
    if not rest:
        return {**params, name: param}
    choice = params[name]
    if not isinstance(choice, Choice):
        raise SpaceError(f"{name!r} is not a choice, so it has no children.")
    option = rest[0]
    below = _replaced(choice.children_of(option), rest[1:], param)
    children = {**choice.children, option: below}
    return {**params, name: dataclasses.replace(choice, children=children)}


def _same_kind(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, int):
        return isinstance(new, int)
    if isinstance(old, float):
        return isinstance(new, int | float)
    return type(old) is type(new)


def _describe(param: Param) -> str:
    if isinstance(param, Float | Int):
        kind = "a float" if isinstance(param, Float) else "an integer"
        return f"{kind} range [{param.low}, {param.high}]{' (log scale)' if param.log else ''}"
    if isinstance(param, Choice):
        return f"a choice of {', '.join(map(repr, param.options))}"
    return f"fixed to {param.value!r}"


def _plain(param: Param) -> Any:
    if isinstance(param, Float | Int):
        return {"low": param.low, "high": param.high, "log": param.log}
    if isinstance(param, Choice):
        return list(param.options)
    return param.value


def _unknown_option(path: str, option: Any, options: Sequence[Any]) -> str:
    close = difflib.get_close_matches(str(option), [str(o) for o in options], n=3)
    by_text = {str(o): o for o in options}
    hint = f" Did you mean {', '.join(repr(by_text[c]) for c in close)}?" if close else ""
    return (
        f"Unknown option {option!r} for {path!r}.{hint} "
        f"Valid options: {', '.join(map(str, options))}."
    )
