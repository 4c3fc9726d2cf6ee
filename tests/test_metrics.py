import math

import numpy as np
import pytest

from losstune.metrics import METRICS, default_metric, get_metric, metrics_for
from losstune.task import Task

PROBA = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
Y = np.array([0, 1, 1, 1])


def test_classification_metrics_by_hand():
    # predictions: 0, 1, 0, 1 -> 3 of 4 right; class 0 recall 1, class 1 recall 2/3
    assert get_metric("accuracy", Task.BINARY)(Y, PROBA) == 0.75
    assert get_metric("balanced_accuracy", Task.BINARY)(Y, PROBA) == pytest.approx((1 + 2 / 3) / 2)
    # f1 class 0: p=1/2, r=1 -> 2/3; class 1: p=1, r=2/3 -> 0.8
    assert get_metric("macro_f1", Task.BINARY)(Y, PROBA) == pytest.approx((2 / 3 + 0.8) / 2)
    # auc: positives scores .8 .4 .7 vs negative .1 -> all ranked above
    assert get_metric("roc_auc", Task.BINARY)(Y, PROBA) == 1.0
    expected = -np.mean(np.log([0.9, 0.8, 0.4, 0.7]))
    assert get_metric("log_loss", Task.BINARY)(Y, PROBA) == pytest.approx(expected)


def test_roc_auc_is_nan_with_one_class_and_works_multiclass():
    assert math.isnan(get_metric("roc_auc", Task.BINARY)(np.array([1, 1]), PROBA[:2]))
    proba = np.eye(3)[[0, 1, 2, 0]] * 0.8 + 0.2 / 3
    assert get_metric("roc_auc", Task.MULTICLASS)(np.array([0, 1, 2, 0]), proba) == 1.0


def test_regression_metrics_by_hand():
    y, p = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])
    assert get_metric("rmse", Task.REGRESSION)(y, p) == pytest.approx(math.sqrt(4 / 3))
    assert get_metric("mae", Task.REGRESSION)(y, p) == pytest.approx(2 / 3)
    assert get_metric("r2", Task.REGRESSION)(y, p) == pytest.approx(1 - 4 / 2)


def test_directions_and_task_checks():
    assert METRICS.get("accuracy").direction == "maximize"
    assert METRICS.get("rmse").direction == "minimize"
    assert METRICS.get("log_loss").direction == "minimize"
    assert "rmse" not in metrics_for(Task.BINARY) and "accuracy" in metrics_for(Task.MULTICLASS)
    with pytest.raises(ValueError, match=r"'rmse' does not apply to binary tasks; use one of"):
        get_metric("rmse", Task.BINARY)
    with pytest.raises(ValueError, match="Did you mean 'accuracy'"):
        get_metric("acuracy", Task.BINARY)


@pytest.mark.parametrize(
    ("task", "counts", "expected"),
    [
        (Task.REGRESSION, None, "rmse"),
        (Task.BINARY, np.array([60, 40]), "accuracy"),
        (Task.BINARY, np.array([81, 19]), "balanced_accuracy"),
        (Task.MULTICLASS, np.array([40, 40, 20]), "accuracy"),
        (Task.MULTICLASS, np.array([45, 45, 10]), "balanced_accuracy"),
    ],
)
def test_default_metric_rule(task, counts, expected):
    name, reason = default_metric(task, counts)
    assert name == expected and reason
