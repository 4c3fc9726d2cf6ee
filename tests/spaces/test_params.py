import pytest

from losstune.spaces.params import Choice, Fixed, Float, Int


def test_ranges_contain_their_bounds_only():
    f = Float(0.1, 1.0, log=True)
    assert f.contains(0.1) and f.contains(1.0) and not f.contains(1.5) and not f.contains(True)
    i = Int(1, 4)
    assert i.contains(4) and not i.contains(2.0) and not i.contains(5)
    c = Choice(("a", 1))
    assert c.contains("a") and c.contains(1) and not c.contains(True) and not c.contains("b")
    assert Fixed(3).contains(3)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Float(1.0, 0.1), r"low=1.0 is above high=0.1"),
        (lambda: Float(0.0, 1.0, log=True), r"log-scale range needs low > 0; got low=0.0"),
        (lambda: Float(0.0, float("inf")), r"finite numbers"),
        (lambda: Int(1.5, 3), r"Int.low must be an integer"),
        (lambda: Choice(()), r"at least one option"),
        (lambda: Choice(("a", "a")), r"distinct"),
        (lambda: Choice("abc"), r"must be a sequence"),
    ],
)
def test_bad_ranges_are_refused(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()
