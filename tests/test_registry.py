import pytest

from losstune._registry import Registry, UnknownNameError


def test_register_get_and_name_attribute():
    reg = Registry("widget")

    @reg.register("square")
    class Square:
        pass

    assert reg.get("square") is Square
    assert Square.name == "square"
    assert "square" in reg and len(reg) == 1
    assert reg.names("sq*") == ["square"] and reg.names("x*") == []


def test_unknown_name_lists_known_names_and_close_matches():
    reg = Registry("widget")
    reg.register("square")(type("Square", (), {}))
    reg.register("circle")(type("Circle", (), {}))
    with pytest.raises(UnknownNameError, match=r"Unknown widget 'squre'\. Did you mean 'square'"):
        reg.get("squre")
    with pytest.raises(ValueError, match="Known widget names: circle, square"):
        reg.get("hexagon")


def test_a_name_is_taken_once_and_must_be_lower_case():
    reg = Registry("widget")
    reg.register("a")(type("A", (), {}))
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a")(type("B", (), {}))
    with pytest.raises(ValueError, match="lower-case"):
        reg.register("Big")
