import pytest

from losstune.params import Choice, Fixed, Float, Int


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


def test_choice_children_hang_below_their_option():
    choice = Choice(("ce", "focal"), children={"focal": {"gamma": Float(0.0, 5.0)}, "ce": {}})
    assert choice.children_of("focal") == {"gamma": Float(0.0, 5.0)}
    assert choice.children_of("ce") == {} and choice.children_of(1) == {}
    assert choice.children == {"focal": {"gamma": Float(0.0, 5.0)}}
    assert choice == Choice(("ce", "focal"), children={"focal": {"gamma": Float(0.0, 5.0)}})
    assert choice != Choice(("ce", "focal"))
    assert hash(choice) == hash(Choice(("ce", "focal")))
    assert repr(Choice(("a",))) == "Choice(options=('a',))"
    assert "children={'focal'" in repr(choice)


def test_choice_children_are_copied():
    kids = {"gamma": Float(0.0, 5.0)}
    choice = Choice(("focal",), children={"focal": kids})
    kids["alpha"] = Float(0.0, 1.0)
    assert list(choice.children_of("focal")) == ["gamma"]


@pytest.mark.parametrize(
    ("children", "error", "message"),
    [
        ({"focl": {"gamma": Float(0, 1)}}, ValueError, r"'focl', which is not an option"),
        ({"focal": {"gamma": 3.0}}, TypeError, r"children\['focal'\]\['gamma'\] must be a Float"),
        ({"focal": [Float(0, 1)]}, TypeError, r"children\['focal'\] must map names"),
        ({"focal": {"a.b": Float(0, 1)}}, ValueError, r"without '\.'; got 'a\.b'"),
        ({1: {"x": Float(0, 1)}}, ValueError, r"must be a string without '\.'"),
        (["focal"], TypeError, r"must map an option to its parameters"),
    ],
)
def test_bad_children_are_refused(children, error, message):
    with pytest.raises(error, match=message):
        Choice(("ce", "focal", 1), children=children)
