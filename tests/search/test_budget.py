import pytest

from losstune.search.budget import Budget, make_budget, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("10m", 600), ("1.5h", 5400), ("45", 45), (" 2 min ", 120)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


def test_budget_forms():
    assert make_budget(40) == Budget(n_trials=40)
    assert make_budget("25") == Budget(n_trials=25)
    assert make_budget("10m") == Budget(timeout=600.0)
    assert make_budget(None, n_trials=5, timeout="1m") == Budget(n_trials=5, timeout=60.0)
    assert make_budget() == Budget(n_trials=40)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"budget": "ten minutes"}, "Cannot read the duration 'ten minutes'"),
        ({"budget": "0s"}, "must be positive"),
        ({"budget": 0}, "n_trials must be a whole number >= 1; got 0"),
        ({"budget": 10, "n_trials": 5}, "Give the trial count once"),
        ({"budget": "5m", "timeout": 60}, "Give the duration once"),
        ({"budget": True}, "trial count or a duration"),
    ],
)
def test_bad_budgets(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_budget(**kwargs)
