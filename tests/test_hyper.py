from dataclasses import dataclass

import pytest

from losstune._hyper import Hyperparameters, hyperparameter


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
