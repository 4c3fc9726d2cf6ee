import dataclasses
import math
from dataclasses import dataclass

import pytest

from losstune._hyper import Domain, Hyperparameters, domains_of, hyperparameter
from losstune.params import Choice, Float, Int, Param


@dataclass(frozen=True)
class Example(Hyperparameters):
    name = "example"
    rate: float = hyperparameter(0.5, low=0.0, high=1.0, high_open=True)
    count: int = hyperparameter(3, kind=int, low=1)
    mode: str = hyperparameter("a", kind=str, choices=("a", "b"))
    flag: bool = hyperparameter(False, kind=bool)
    cap: float | None = hyperparameter(None, low=0.0, optional=True)


def test_valid_values_are_kept_and_ints_widen_to_float():
    ex = Example(rate=0, count=2.0, mode="b", flag=True, cap=3)
    assert ex.params() == {"rate": 0.0, "count": 2, "mode": "b", "flag": True, "cap": 3.0}
    assert isinstance(ex.rate, float) and isinstance(ex.count, int)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 1.0}, r"'rate' must be < 1.0; got 1.0"),
        ({"rate": -0.1}, r"'rate' must be >= 0.0; got -0.1"),
        ({"rate": float("nan")}, r"'rate' must be finite"),
        ({"rate": "high"}, r"'rate' must be a number; got 'high'"),
        ({"count": 0}, r"'count' must be >= 1"),
        ({"count": 1.5}, r"'count' must be a whole number"),
        ({"mode": "c"}, r"'mode' must be one of \['a', 'b'\]; got 'c'"),
        ({"flag": 1}, r"'flag' must be true or false"),
        ({"rate": True}, r"'rate' must be a number"),
        ({"rate": None}, r"'rate' must be set"),
    ],
)
def test_bad_values_are_refused_naming_the_field(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Example(**kwargs)


def test_from_params_rejects_unknown_names():
    assert Example.from_params({"rate": 0.25}).rate == 0.25
    with pytest.raises(ValueError, match=r"unknown hyperparameter\(s\) \['rat'\]; accepted: "):
        Example.from_params({"rat": 0.25})
    with pytest.raises(ValueError, match=r"Did you mean 'rate'\?"):
        Example.from_params({"rat": 0.25})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (10**400, r"'rate' must be a number in \[0, 1\); got an integer too large for a float"),
        (float("inf"), r"'rate' must be finite"),
    ],
)
def test_huge_numbers_are_refused_not_overflowed(value, message):
    with pytest.raises(ValueError, match=message):
        Example(rate=value)
    with pytest.raises(ValueError, match=r"'count' must be finite"):
        Example(count=float("inf"))


def test_domains_describe_themselves():
    domains = domains_of(Example)
    assert list(domains) == ["rate", "count", "mode", "flag", "cap"]
    assert domains["rate"].describe() == "a number in [0, 1)"
    assert domains["count"].describe() == "an integer in [1, inf)"
    assert domains["mode"].describe() == "one of ['a', 'b']"
    assert domains["flag"].describe() == "true or false"
    assert Domain(float, 1e-8, 10.0, low_open=True).describe() == "a number in (1e-08, 10]"
    assert not domains["count"].bounded and domains["rate"].bounded and domains["mode"].bounded
    assert domains["count"].contains(3) and not domains["count"].contains(0)


# -- the contract over every registered component -------------------------------------------


def _members():
    from losstune.models import MODELS
    from losstune.objectives import LOSSES, WEIGHTINGS
    from losstune.optim import OPTIMIZERS, SCHEDULES, WRAPPERS

    registries = {
        "loss": LOSSES,
        "weighting": WEIGHTINGS,
        "optimizer": OPTIMIZERS,
        "wrapper": WRAPPERS,
        "schedule": SCHEDULES,
        "model": MODELS,
    }
    return [
        pytest.param(cls, id=f"{kind}-{name}")
        for kind, registry in registries.items()
        for name, cls in registry.items()
    ]


def _searched_values(param: Param) -> list[object]:
    if isinstance(param, Float | Int):
        return [param.low, param.high]
    if isinstance(param, Choice):
        return list(param.options)
    return [param.value]


def _spaces(cls) -> list[dict[str, Param]]:
    from losstune.task import Task

    space_for = getattr(cls, "space_for", None)
    return [space_for(task) for task in Task] if space_for else [cls.space()]


@pytest.mark.parametrize("cls", _members())
def test_every_domain_is_bounded_and_holds_the_search_range_and_the_default(cls):
    """A bound means "never sensible": every number has both, and what the search tries and
    the default lie inside them."""
    domains = domains_of(cls)
    for field in dataclasses.fields(cls):
        if field.name not in domains:
            continue
        domain = domains[field.name]
        assert domain.bounded, f"{cls.name}.{field.name}: {domain.describe()} is unbounded"
        assert domain.contains(field.default), f"{cls.name}.{field.name}: default outside"
        if domain.choices is None and domain.kind is not bool:
            assert math.isfinite(domain.low) and math.isfinite(domain.high)
            assert not domain.contains(domain.high * 10 + 1), f"{cls.name}.{field.name}"
    for space in _spaces(cls):
        for field, param in space.items():
            for value in _searched_values(param):
                assert domains[field].contains(value), (
                    f"{cls.name}.{field}: searched value {value!r} outside "
                    f"{domains[field].describe()}"
                )


def test_temperature_domain_is_bounded_and_holds_its_search_range():
    from losstune.objectives.temperature import TEMPERATURE_DOMAIN, temperature_space

    space = temperature_space()
    assert TEMPERATURE_DOMAIN.bounded
    assert TEMPERATURE_DOMAIN.contains(space.low) and TEMPERATURE_DOMAIN.contains(space.high)
    assert TEMPERATURE_DOMAIN.contains(1.0)
    assert not TEMPERATURE_DOMAIN.contains(1e30) and not TEMPERATURE_DOMAIN.contains(1e-30)
