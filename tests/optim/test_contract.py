"""Contract tests every registered optimizer, alone and wrapped by every registered wrapper,
must pass; search spaces and field domains of optimizers, wrappers and schedules.

Parametrized over the registries, so a new member is covered the moment it registers: it
reduces a small least-squares problem, its search space names real fields whose bounds
construct, out-of-domain values are refused by name, it follows every registered schedule, and
its state survives ``state_dict``/``load_state_dict`` and ``copy.deepcopy``.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import pytest
import torch

from losstune._hyper import Domain
from losstune._registry import UnknownNameError
from losstune.optim import (
    OPTIMIZERS,
    SCHEDULES,
    WRAPPERS,
    create_optimizer,
    make_optimizer_factory,
    make_schedule,
    make_wrapper,
)
from losstune.params import Choice, Fixed, Float, Int

CASES = [
    pytest.param(name, wrapper, id=name if wrapper is None else f"{wrapper}-{name}")
    for name in OPTIMIZERS.names()
    for wrapper in [None, *WRAPPERS.names()]
]
MEMBERS = [
    pytest.param(cls, id=f"{kind}-{name}")
    for kind, registry in (
        ("optimizer", OPTIMIZERS),
        ("wrapper", WRAPPERS),
        ("schedule", SCHEDULES),
    )
    for name, cls in registry.items()
]


def _build(name, wrapper, params, **hyperparameters) -> torch.optim.Optimizer:
    optimizer = make_optimizer_factory(name, hyperparameters).build(params)
    return optimizer if wrapper is None else make_wrapper(wrapper).wrap(optimizer)


def _domains(cls) -> dict[str, Domain]:
    return {
        f.name: domain
        for f in dataclasses.fields(cls)
        for domain in f.metadata.values()
        if isinstance(domain, Domain)
    }


def _out_of_domain(domain: Domain) -> list[object]:
    if domain.kind is bool:
        return [None, "yes"]
    bad: list[object] = [None, "1e-3"]
    if domain.low is not None:
        bad.append(domain.low if domain.low_open else domain.low - 1)
    if domain.high is not None:
        bad.append(domain.high if domain.high_open else domain.high + 1)
    return bad


def _space_values(param) -> list[object]:
    if isinstance(param, Float | Int):
        return [param.low, param.high]
    if isinstance(param, Choice):
        return list(param.options)
    assert isinstance(param, Fixed)
    return [param.value]


@pytest.mark.parametrize(("name", "wrapper"), CASES)
def test_reduces_least_squares(name, wrapper, problem, closure_for):
    """200 full-batch steps at the top of the searched lr range (defaults are tuned for longer
    runs of real models) at least halve the mean squared error."""
    x, y, model = problem
    lr = OPTIMIZERS.get(name).space()["lr"].high
    optimizer = _build(name, wrapper, model.parameters(), lr=lr)
    closure = closure_for(x, y, model, optimizer)
    start = closure().item()
    for _ in range(200):
        optimizer.step(closure)
    end = closure().item()
    assert math.isfinite(end)
    assert end < 0.5 * start, f"{name}: MSE {start:.4f} -> {end:.4f}"


@pytest.mark.parametrize("cls", MEMBERS)
def test_space_names_fields_and_its_bounds_construct(cls):
    space = cls.space()
    assert space, f"{cls.name} searches nothing"
    assert set(space) <= set(cls.hyperparameter_names())
    for field, param in space.items():
        for value in _space_values(param):
            assert getattr(cls.from_params({field: value}), field) == value


@pytest.mark.parametrize("cls", MEMBERS)
def test_defaults_are_valid_and_out_of_domain_values_are_refused_by_name(cls):
    cls()
    for field, domain in _domains(cls).items():
        for bad in _out_of_domain(domain):
            with pytest.raises((ValueError, TypeError), match=repr(field)):
                cls.from_params({field: bad})


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_negative_lr_is_a_value_error_naming_lr(name):
    with pytest.raises(ValueError, match=r"'lr' must be >= 1e-08; got -0.001"):
        make_optimizer_factory(name, {"lr": -1e-3})


@pytest.mark.parametrize("schedule", SCHEDULES.names())
@pytest.mark.parametrize(("name", "wrapper"), CASES)
def test_follows_every_schedule(name, wrapper, schedule, problem, closure_for, multipliers):
    """Every group's lr follows the schedule exactly as it does on plain SGD, and training
    under it stays finite."""
    x, y, model = problem
    fields = SCHEDULES.get(schedule).hyperparameter_names()
    plan = make_schedule(schedule, {"warmup": 0.1} if "warmup" in fields else {})
    optimizer = _build(name, wrapper, model.parameters())
    closure = closure_for(x, y, model, optimizer)
    seen = multipliers(plan, 20, optimizer, closure)
    expected = [group[0] for group in multipliers(plan, 20)]
    for step, groups in enumerate(seen):
        assert groups == pytest.approx([expected[step]] * len(groups), rel=1e-9), step
    assert math.isfinite(closure().item())


@pytest.mark.parametrize("schedule", SCHEDULES.names())
@pytest.mark.parametrize(("name", "wrapper"), CASES)
def test_param_groups_keep_their_own_lr_under_every_schedule(
    name, wrapper, schedule, problem, closure_for, multipliers
):
    """Built over two parameter groups at different learning rates (as μP builds them), every
    optimizer keeps each group's lr and every schedule keeps their ratio at every step."""
    x, y, model = problem
    groups = [{"params": [model.weight], "lr": 1e-2}, {"params": [model.bias], "lr": 1e-3}]
    optimizer = _build(name, wrapper, groups)
    assert sorted(g["lr"] for g in optimizer.param_groups) == [1e-3, 1e-2]
    fields = SCHEDULES.get(schedule).hyperparameter_names()
    plan = make_schedule(schedule, {"warmup": 0.1} if "warmup" in fields else {})
    seen = multipliers(plan, 20, optimizer, closure_for(x, y, model, optimizer))
    for step, (first, second) in enumerate(seen):
        assert first == pytest.approx(second, rel=1e-9), step


@pytest.mark.parametrize(("name", "wrapper"), CASES)
def test_state_dict_round_trips(name, wrapper, problem, closure_for):
    """A fresh optimizer loading the state dict of a trained one takes the same next steps."""
    x, y, model = problem
    optimizer = _build(name, wrapper, model.parameters())
    closure = closure_for(x, y, model, optimizer)
    for _ in range(3):
        optimizer.step(closure)
    twin = copy.deepcopy(model)
    twin_optimizer = _build(name, wrapper, twin.parameters())
    twin_optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # as if saved
    twin_closure = closure_for(x, y, twin, twin_optimizer)
    for _ in range(3):
        optimizer.step(closure)
        twin_optimizer.step(twin_closure)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.mark.parametrize(("name", "wrapper"), CASES)
def test_deepcopy_keeps_the_state(name, wrapper, problem, closure_for):
    x, y, model = problem
    optimizer = _build(name, wrapper, model.parameters())
    optimizer.step(closure_for(x, y, model, optimizer))
    twin, twin_optimizer = copy.deepcopy((model, optimizer))
    for net, opt in ((model, optimizer), (twin, twin_optimizer)):
        for _ in range(3):
            opt.step(closure_for(x, y, net, opt))
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_create_optimizer_builds_by_name():
    optimizer = create_optimizer("adamw", torch.nn.Linear(2, 1).parameters(), lr=3e-4)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.param_groups[0]["lr"] == 3e-4
    with pytest.raises(UnknownNameError, match=r"Did you mean .*'adamw'"):
        create_optimizer("adamv", torch.nn.Linear(2, 1).parameters())
