import subprocess
import sys

import pytest

import losstune.spaces


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


def test_importing_the_package_stays_light():
    code = (
        "import sys, losstune.spaces; "
        "print(sorted(m for m in ('torch', 'optuna', 'ray', 'mlflow') if m in sys.modules))"
    )
    assert run_python(code).stdout.strip() == "[]"


def test_no_import_cycle_whatever_comes_first():
    firsts = ["losstune.objectives", "losstune.spaces.config"]
    code = "import {}; from losstune.spaces import default_space; default_space('binary')"
    runs = {first: subprocess.Popen([sys.executable, "-c", code.format(first)]) for first in firsts}
    assert {first: run.wait(timeout=60) for first, run in runs.items()} == dict.fromkeys(firsts, 0)


def test_public_names():
    assert sorted(losstune.spaces.__all__) == sorted(
        [
            "Choice",
            "Fixed",
            "Float",
            "Int",
            "Param",
            "SearchSpace",
            "SpaceError",
            "When",
            "check_space",
            "config_to_recipe",
            "default_space",
            "load_space",
            "offered_models",
            "recipe_in_space",
            "recipe_to_config",
        ]
    )
    for name in losstune.spaces.__all__:
        assert getattr(losstune.spaces, name) is not None
    assert issubclass(losstune.spaces.SpaceError, ValueError)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        losstune.spaces.nope  # noqa: B018
