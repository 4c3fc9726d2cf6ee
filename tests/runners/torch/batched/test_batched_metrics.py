"""Device-side per-epoch metrics against the scikit-learn path every one-trial run uses."""

import numpy as np
import pytest
import torch

from losstune.metrics import metrics_for
from losstune.runners import TrainingDiverged
from losstune.runners.outputs import score_outputs
from losstune.runners.torch.batched.metrics import DEVICE_METRICS, member_metrics
from losstune.task import Task


def _case(task: Task, k: int = 4, n: int = 300):
    gen = np.random.default_rng(0)
    if task is Task.REGRESSION:
        return gen.normal(size=(k, n)).astype(np.float32), gen.normal(size=n) * 3 + 10
    shape = (k, n) if task is Task.BINARY else (k, n, 5)
    outputs = (
        gen.normal(size=shape) * np.array([1, 10, 60, 0.01]).reshape(-1, *[1] * (len(shape) - 1))
    ).astype(np.float32)
    classes = 2 if task is Task.BINARY else 5
    return outputs, np.arange(n) % classes


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
def test_every_metric_matches_scikit_learn_for_every_member(task):
    outputs, target = _case(task)
    scale = {"target_mean": 10.0, "target_std": 3.0} if task is Task.REGRESSION else {}
    names = metrics_for(task)
    assert DEVICE_METRICS & set(names)  # some on the device, the others through sklearn
    got = member_metrics(torch.from_numpy(outputs), target, task, names, **scale)
    for k in range(len(outputs)):
        want = score_outputs(outputs[k], target, task, names, **scale)
        assert list(got[k]) == names
        assert got[k] == pytest.approx(want, rel=1e-12, abs=1e-12)


def test_a_member_with_non_finite_outputs_diverged_alone():
    outputs, target = _case(Task.MULTICLASS)
    outputs[2, 7, 1] = np.nan
    got = member_metrics(torch.from_numpy(outputs), target, Task.MULTICLASS, ["accuracy"])
    assert isinstance(got[2], TrainingDiverged)
    assert all(isinstance(got[k], dict) for k in (0, 1, 3))


def test_ties_go_to_the_first_class_as_in_scikit_learn():
    outputs = torch.zeros(1, 4, 3)
    target = np.array([0, 1, 2, 0])
    got = member_metrics(outputs, target, Task.MULTICLASS, ["accuracy", "log_loss"])[0]
    assert got == pytest.approx(
        score_outputs(outputs[0].numpy(), target, Task.MULTICLASS, ["accuracy", "log_loss"])
    )
    assert got["accuracy"] == 0.5
