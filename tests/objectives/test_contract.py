"""Contract tests every registered loss and weighting scheme must pass.

Parametrized over the registries, so a new member is covered the moment it registers: output
shape, finite values and gradients at extreme outputs, search ranges inside the valid domain,
out-of-domain values refused by name, and (losses) training a tiny linear model reduces it.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from losstune._hyper import Domain
from losstune._registry import Registry
from losstune.objectives import LOSSES, WEIGHTINGS, Objective, make_weighting
from losstune.objectives.weighting.class_weights import ClassWeighting
from losstune.params import Choice, Fixed, Float, Int
from losstune.task import Task

N, K = 12, 3


def _outputs(task: Task, gen: torch.Generator) -> torch.Tensor:
    shape = (N, K) if task is Task.MULTICLASS else (N,)
    return torch.randn(shape, generator=gen, dtype=torch.float64)


def _target(task: Task, gen: torch.Generator) -> torch.Tensor:
    if task is Task.REGRESSION:
        return torch.randn(N, generator=gen, dtype=torch.float64)
    classes = 2 if task is Task.BINARY else K
    return torch.arange(N) % classes  # every class present


def _counts(task: Task) -> torch.Tensor | None:
    if task is Task.REGRESSION:
        return None
    return torch.tensor([50, 10]) if task is Task.BINARY else torch.tensor([60, 25, 5])


def _cases(registry: Registry) -> list[object]:
    return [
        pytest.param(name, task, id=f"{name}-{task.value}")
        for name, member in registry.items()
        for task in sorted(member.tasks)
    ]


def _domains(cls) -> dict[str, Domain]:
    return {
        f.name: domain
        for f in dataclasses.fields(cls)
        for domain in f.metadata.values()
        if isinstance(domain, Domain)
    }


def _out_of_domain(domain: Domain) -> list[object]:
    if domain.choices is not None:
        return ["not-a-choice"]
    bad: list[object] = []
    if domain.low is not None:
        bad.append(domain.low if domain.low_open else domain.low - 1)
    if domain.high is not None:
        bad.append(domain.high if domain.high_open else domain.high + 1)
    if not domain.optional:
        bad.append(None)
    return bad


def _space_values(param) -> list[object]:
    if isinstance(param, Float | Int):
        return [param.low, param.high]
    if isinstance(param, Choice):
        return list(param.options)
    assert isinstance(param, Fixed)
    return [param.value]


def _check_space(cls) -> None:
    for name, param in cls.space().items():
        assert name in cls.hyperparameter_names(), f"{cls.name}: space names unknown {name!r}"
        for value in _space_values(param):
            assert getattr(cls(**{name: value}), name) == value


def _check_refuses_bad_values(cls) -> None:
    for name, domain in _domains(cls).items():
        for value in _out_of_domain(domain):
            with pytest.raises(ValueError, match=repr(name)):
                cls(**{name: value})


# --- losses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "task"), _cases(LOSSES))
def test_loss_is_per_sample_and_finite(name: str, task: Task) -> None:
    gen = torch.Generator().manual_seed(0)
    loss = LOSSES.get(name)().prepare(_counts(task))(_outputs(task, gen), _target(task, gen))
    assert loss.shape == (N,)
    assert torch.isfinite(loss).all()
    if task.is_classification:
        assert (loss >= -1e-12).all()


def _temperature_cases() -> list[object]:
    return [
        pytest.param(name, task, temperature, id=f"{name}-{task.value}-tau{temperature}")
        for name, member in LOSSES.items()
        for task in sorted(member.tasks)
        for temperature in ((1.0, 0.25) if member.softmax_based else (1.0,))
    ]


def _settings(cls) -> list[dict[str, object]]:
    """The defaults, then each searched hyperparameter at each end of its search range."""
    return [{}] + [
        {name: value} for name, param in cls.space().items() for value in _space_values(param)
    ]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("name", "task", "temperature"), _temperature_cases())
def test_loss_gradients_finite_at_extreme_outputs(
    name: str, task: Task, temperature: float, dtype: torch.dtype
) -> None:
    gen = torch.Generator().manual_seed(1)
    signs = torch.sign(_outputs(task, gen))
    target = _target(task, gen)
    target = target.to(dtype) if task is Task.REGRESSION else target
    cls = LOSSES.get(name)
    for params in _settings(cls):
        outputs = (1e4 * signs).to(dtype).requires_grad_()
        objective = Objective(
            cls(**params), make_weighting("none"), temperature, class_counts=_counts(task)
        )
        value = objective(outputs, target)
        value.backward()
        assert torch.isfinite(value), params
        assert torch.isfinite(outputs.grad).all(), params


@pytest.mark.parametrize(("name", "task"), _cases(LOSSES))
def test_loss_decreases_when_training_a_linear_model(name: str, task: Task) -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(64, 4, generator=gen)
    direction = torch.randn(4, K, generator=gen)
    if task is Task.REGRESSION:
        target = x @ direction[:, 0]
    elif task is Task.BINARY:
        target = (x @ direction[:, 0] > 0).long()
    else:
        target = (x @ direction).argmax(dim=1)
    counts = None if task is Task.REGRESSION else torch.bincount(target, minlength=2)
    loss = LOSSES.get(name)().prepare(counts)
    model = torch.nn.Linear(4, K if task is Task.MULTICLASS else 1)
    torch.nn.init.zeros_(model.weight)
    torch.nn.init.zeros_(model.bias)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def objective() -> torch.Tensor:
        outputs = model(x)
        return loss(outputs if task is Task.MULTICLASS else outputs.squeeze(1), target).mean()

    start = objective().item()
    for _ in range(50):
        optimizer.zero_grad()
        objective().backward()
        optimizer.step()
    assert objective().item() < 0.9 * start


@pytest.mark.parametrize("name", LOSSES.names())
def test_loss_space_lies_inside_the_valid_domain(name: str) -> None:
    _check_space(LOSSES.get(name))


@pytest.mark.parametrize("name", LOSSES.names())
def test_loss_refuses_out_of_domain_values_by_name(name: str) -> None:
    _check_refuses_bad_values(LOSSES.get(name))


# --- weighting schemes ----------------------------------------------------------------------


@pytest.mark.parametrize("progress", [0.0, 0.5, 1.0])
@pytest.mark.parametrize(("name", "task"), _cases(WEIGHTINGS))
def test_weights_are_per_sample_finite_and_non_negative(
    name: str, task: Task, progress: float
) -> None:
    gen = torch.Generator().manual_seed(3)
    scheme = WEIGHTINGS.get(name)()
    target = _target(task, gen)
    for losses in (
        torch.rand(N, generator=gen),
        torch.zeros(N),
        torch.where(torch.arange(N) % 2 == 0, 1e4, 0.0),
        torch.full((N,), 1e4),
    ):
        weights = scheme(losses, target, class_counts=_counts(task), progress=progress)
        assert weights.shape == (N,)
        assert weights.dtype == losses.dtype
        assert torch.isfinite(weights).all()
        assert (weights >= 0).all()
        assert weights.sum() > 0


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_class_weighting_without_counts_says_what_is_missing(name: str) -> None:
    scheme = WEIGHTINGS.get(name)()
    target = torch.arange(N) % 2
    if not isinstance(scheme, ClassWeighting):
        weights = scheme(torch.rand(N), target, class_counts=None, progress=1.0)
        assert weights.shape == (N,)
        return
    for progress in (0.0, 1.0):
        with pytest.raises(ValueError, match="class_counts"):
            scheme(torch.rand(N), target, class_counts=None, progress=progress)


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_weighting_space_lies_inside_the_valid_domain(name: str) -> None:
    _check_space(WEIGHTINGS.get(name))


@pytest.mark.parametrize("name", WEIGHTINGS.names())
def test_weighting_refuses_out_of_domain_values_by_name(name: str) -> None:
    _check_refuses_bad_values(WEIGHTINGS.get(name))


def test_every_member_declares_its_tasks() -> None:
    for registry in (LOSSES, WEIGHTINGS):
        for name, member in registry.items():
            assert member.tasks and member.tasks <= set(Task), name
