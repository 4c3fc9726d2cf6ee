"""``import losstune.scaling`` (and the decision rule) must not import Optuna or Ray."""

import subprocess
import sys
import textwrap


def _modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


def test_scaling_and_the_decision_rule_import_neither_optuna_nor_ray():
    loaded = _modules_after(
        """
        import losstune.scaling
        from losstune.scaling import decide, forecast_final, CURVES
        """
    )
    assert "losstune.scaling.pruning.decision" in loaded  # the import did happen
    assert not {"optuna", "ray", "mlflow"} & loaded


def test_the_optuna_pruner_does_not_import_ray():
    loaded = _modules_after("from losstune.scaling import CurvePruner")
    assert "optuna" in loaded and "ray" not in loaded


def test_unknown_names_raise_attribute_error():
    import pytest

    import losstune.scaling
    import losstune.scaling.pruning

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        losstune.scaling.nope  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        losstune.scaling.pruning.nope  # noqa: B018
    assert "CurvePruner" in dir(losstune.scaling)
