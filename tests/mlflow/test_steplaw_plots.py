"""The step-law figures: the proxies' points, the prediction with its interval, PNG output."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest

from losstune.mlflow.steplaw_plots import step_law_batch, step_law_lr
from losstune.scaling.steplaw import StepLawPoint, fit_step_law

PNG = b"\x89PNG\r\n\x1a\n"
N_FULL, D_FULL = 1e5, 2e5


@pytest.fixture(scope="module")
def fit():
    noise = iter([1.1, 0.9, 1.05, 0.95, 1.0, 1.2, 0.8, 1.0])
    return fit_step_law(
        [
            StepLawPoint(n, d, 1e-3 * (n / 1e3) ** -0.2 * next(noise), 0.5 * d**0.5 * next(noise))
            for n in (2e3, 8e3)
            for d in (1e4, 5e4)
        ]
    )


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def test_lr_figure_shows_the_points_against_n_and_d_and_the_prediction(fit):
    figure = step_law_lr(fit, N_FULL, D_FULL)
    by_n, by_d = figure.axes[:2]
    points = {(p.n_params, p.samples, p.lr) for p in fit.points}
    np.testing.assert_allclose(
        sorted(map(tuple, by_n.collections[0].get_offsets())),
        sorted((n, lr) for n, _, lr in points),
    )
    np.testing.assert_allclose(
        sorted(map(tuple, by_d.collections[0].get_offsets())),
        sorted((d, lr) for _, d, lr in points),
    )
    predicted = fit.predict_lr(N_FULL, D_FULL)
    for axes, x in ((by_n, N_FULL), (by_d, D_FULL)):
        (marker,) = [line for line in axes.lines if line.get_marker() == "*"]
        assert list(marker.get_xdata()) == [x]
        assert marker.get_ydata()[0] == pytest.approx(predicted.value)
        assert axes.get_xscale() == axes.get_yscale() == "log"
    assert _png(figure)[:8] == PNG


def test_batch_figure_shows_the_law_its_band_and_the_prediction(fit):
    figure = step_law_batch(fit, D_FULL)
    axes = figure.axes[0]
    (law,) = [line for line in axes.lines if line.get_label() == "law"]
    x, y = law.get_xdata(), law.get_ydata()
    np.testing.assert_allclose(y, fit.c * x**fit.gamma, rtol=1e-9)
    (marker,) = [line for line in axes.lines if line.get_marker() == "*"]
    assert marker.get_ydata()[0] == pytest.approx(fit.predict_batch(D_FULL).value)
    assert "D^" in axes.get_title()
    assert _png(figure)[:8] == PNG


@pytest.mark.slow  # a fresh interpreter imports matplotlib, scipy and torch
def test_step_law_plots_never_touch_pyplot():
    code = (
        "import sys; from losstune.scaling.steplaw import StepLawPoint, fit_step_law; "
        "from losstune.mlflow.steplaw_plots import step_law_batch, step_law_lr; "
        "fit = fit_step_law([StepLawPoint(n, d, 1e-3, d ** 0.5) for n in (1e3, 2e3) "
        "for d in (1e3, 1e4)]); "
        "step_law_lr(fit, 1e5, 1e6).savefig('/dev/null', format='png'); "
        "step_law_batch(fit, 1e6).savefig('/dev/null', format='png'); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
