"""The three search figures: what they draw, PNG output, empty input, and no pyplot."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from matplotlib.figure import Figure

from losstune.mlflow import learning_curves, optimization_history, param_importances

PNG = b"\x89PNG\r\n\x1a\n"


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _line(figure: Figure, label: str):
    (line,) = [line for line in figure.axes[0].lines if line.get_label() == label]
    return line


@pytest.mark.parametrize(
    ("direction", "best"), [("maximize", [0.5, 0.7, 0.7, 0.7]), ("minimize", [0.5, 0.5, 0.2, 0.2])]
)
def test_history_draws_best_so_far_over_complete_trials(direction: str, best: list[float]):
    values = [0.5, 0.9, 0.7, 0.2, None]
    states = ["complete", "pruned", "complete", "complete", "failed"]
    figure = optimization_history(values, states, direction, "accuracy")
    line = _line(figure, "best so far")  # at each complete trial, then to the last trial
    assert list(line.get_xdata()) == [0, 2, 3, 4]
    assert list(line.get_ydata()) == best
    labels = [c.get_label() for c in figure.axes[0].collections]
    assert labels == ["complete", "pruned (last value)", "default recipe (trial 0)"]
    assert any("1 failed" in t.get_text() for t in figure.axes[0].texts)
    assert _png(figure)[:8] == PNG


def test_importances_put_the_largest_on_top():
    figure = param_importances({"lr": 0.5, "loss": 0.3, "batch_size": 0.05, "tau": 0.15})
    bars = sorted(figure.axes[0].patches, key=lambda bar: bar.get_y(), reverse=True)
    assert [bar.get_width() for bar in bars] == [0.5, 0.3, 0.15, 0.05]
    assert _png(figure)[:8] == PNG
    with pytest.raises(ValueError, match=r"\['lr'\] are not finite"):
        param_importances({"lr": float("nan")})


def test_learning_curves_dash_the_default_recipe():
    curves = {"trial 3": [0.6, 0.8, 0.9], "trial 0": [0.5, 0.7], "trial 5": [0.55]}
    figure = learning_curves(curves, "valid_accuracy", default="trial 0")
    default = _line(figure, "trial 0 (default recipe)")
    assert default.get_linestyle() == "--"
    assert list(default.get_xdata()) == [1, 2]
    assert _line(figure, "trial 3").get_linestyle() == "-"
    assert _png(figure)[:8] == PNG
    with pytest.raises(ValueError, match="default='trial 9'"):
        learning_curves(curves, "valid_accuracy", default="trial 9")


@pytest.mark.parametrize(
    "figure",
    [
        lambda: optimization_history([], [], "maximize", "accuracy"),
        lambda: optimization_history([None], ["failed"], "minimize", "log_loss"),
        lambda: param_importances({}),
        lambda: learning_curves({}, "valid_accuracy"),
        lambda: learning_curves({"trial 0": []}, "valid_accuracy"),
    ],
)
def test_empty_input_gives_a_figure_with_a_note(figure):
    figure = figure()
    assert figure.axes[0].texts and figure.axes[0].texts[0].get_text().startswith("No ")
    assert _png(figure)[:8] == PNG


def test_history_rejects_bad_input():
    with pytest.raises(ValueError, match="'best'"):
        optimization_history([1.0], ["complete"], "best", "accuracy")
    with pytest.raises(ValueError, match="2 values but 1 states"):
        optimization_history([1.0, 2.0], ["complete"], "maximize", "accuracy")
    with pytest.raises(ValueError, match=r"\['done'\]"):
        optimization_history([1.0], ["done"], "maximize", "accuracy")


def test_plots_never_touch_pyplot():
    code = (
        "import sys; from losstune.mlflow import plots; "
        "plots.optimization_history([1.0], ['complete'], 'maximize', 'a').savefig('/dev/null', "
        "format='png'); print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
