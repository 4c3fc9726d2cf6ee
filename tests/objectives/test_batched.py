"""BatchedObjective: K members in one vectorised call equal K separate Objective calls.

The contract tests are parametrized over the registries, so a new loss or weighting scheme is
checked under vmap (its hyperparameters as tensors) the moment it registers.
"""

from __future__ import annotations

import math

import pytest
import torch

from losstune._hyper import member_hyperparameters, structure_key
from losstune._registry import Registry
from losstune.objectives import (
    LOSSES,
    WEIGHTINGS,
    BatchedObjective,
    Objective,
    make_loss,
    make_weighting,
)
from losstune.objectives.batched import with_tensors
from losstune.objectives.losses.focal import Focal
from losstune.objectives.weighting.dynamic import Dynamic
from losstune.params import Choice, Fixed, Float, Int, Param
from losstune.task import Task

K, B, C = 3, 12, 3
TEMPERATURES = (0.5, 1.0, 2.0)
# deferred's start and dynamic's warm-up are searched at low/mid/high = 0.5/0.7/0.9 and
# 0/0.1/0.2: 0.15 and 0.6 fall between members, 0 and 1 before and after all of them
PROGRESS = (0.0, 0.15, 0.6, 1.0)
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _cases(registry: Registry) -> list[object]:
    return [
        pytest.param(name, task, id=f"{name}-{task.value}")
        for name, member in registry.items()
        for task in sorted(member.tasks)
    ]


def _three_values(param: Param) -> list[object]:
    """Low, mid and high of a range; a choice's options, cycled to three."""
    if isinstance(param, Float):
        mid = math.sqrt(param.low * param.high) if param.log else (param.low + param.high) / 2
        return [param.low, mid, param.high]
    if isinstance(param, Int):
        return [param.low, (param.low + param.high) // 2, param.high]
    if isinstance(param, Choice):
        return [param.options[k % len(param.options)] for k in range(K)]
    assert isinstance(param, Fixed)
    return [param.value] * K


def _member_params(cls) -> list[dict[str, object]]:
    values = {name: _three_values(param) for name, param in cls.space().items()}
    return [{name: v[k] for name, v in values.items()} for k in range(K)]


def _counts(task: Task) -> torch.Tensor | None:
    if task is Task.REGRESSION:
        return None
    return torch.tensor([50, 10]) if task is Task.BINARY else torch.tensor([60, 25, 5])


def _data(
    task: Task, seed: int, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs ``(K, B[, C])`` and a different target ``(K, B)`` for every member."""
    gen = torch.Generator().manual_seed(seed)
    shape = (K, B, C) if task is Task.MULTICLASS else (K, B)
    outputs = 2 * torch.randn(shape, generator=gen, dtype=dtype)
    if task is Task.REGRESSION:
        target = torch.randn(K, B, generator=gen, dtype=dtype)
    else:
        classes = 2 if task is Task.BINARY else C
        base = torch.arange(B) % classes  # every class present
        target = torch.stack([base[torch.randperm(B, generator=gen)] for _ in range(K)])
    return outputs.to(device), target.to(device)


def _check_matches_members(
    objectives: list[Objective],
    outputs: torch.Tensor,
    target: torch.Tensor,
    progress: float,
    device: str = "cpu",
) -> torch.Tensor:
    """Values and gradients of the batched call against each member's own Objective call."""
    batched = BatchedObjective(objectives, device=device)
    out = outputs.detach().clone().requires_grad_()
    values = batched(out, target, progress)
    (grad,) = torch.autograd.grad(values.sum(), out)

    ref_out = outputs.detach().clone().requires_grad_()
    targets = [target] * len(objectives) if target.ndim == 1 else list(target)
    expected = torch.stack(
        [obj(ref_out[k], targets[k], progress) for k, obj in enumerate(objectives)]
    )
    (ref_grad,) = torch.autograd.grad(expected.sum(), ref_out)

    tol = {"rtol": 1e-5, "atol": 1e-6} if outputs.dtype == torch.float32 else {}
    assert values.shape == (len(objectives),)
    assert values.dtype == outputs.dtype
    torch.testing.assert_close(values, expected, **tol)
    torch.testing.assert_close(grad, ref_grad, **tol)
    return values


def _default_loss(task: Task) -> str:
    return "mse" if task is Task.REGRESSION else "cross_entropy"


# --- contract: every registered member, its hyperparameters varied across K members ---------


@pytest.mark.parametrize(("name", "task"), _cases(LOSSES))
def test_every_loss_matches_its_members(name: str, task: Task) -> None:
    cls = LOSSES.get(name)
    temperatures = TEMPERATURES if cls.softmax_based else (1.0,) * K
    objectives = [
        Objective(cls(**params), make_weighting("none"), tau, class_counts=_counts(task))
        for params, tau in zip(_member_params(cls), temperatures, strict=True)
    ]
    outputs, target = _data(task, seed=0)
    _check_matches_members(objectives, outputs, target, progress=0.5)


@pytest.mark.parametrize("progress", PROGRESS)
@pytest.mark.parametrize(("name", "task"), _cases(WEIGHTINGS))
def test_every_weighting_matches_its_members(name: str, task: Task, progress: float) -> None:
    cls = WEIGHTINGS.get(name)
    loss = make_loss(_default_loss(task))
    objectives = [
        Objective(loss, cls(**params), class_counts=_counts(task)) for params in _member_params(cls)
    ]
    outputs, target = _data(task, seed=1)
    _check_matches_members(objectives, outputs, target, progress)


# --- hyperparameter paths the spaces do not reach ---------------------------------------------


def test_binary_focal_alpha_varies_per_member_and_none_is_its_own_kind() -> None:
    counts = _counts(Task.BINARY)
    objectives = [
        Objective(Focal(gamma=2.0, alpha=0.25), make_weighting("none"), 0.5, counts),
        Objective(Focal(gamma=1.0), make_weighting("none"), 1.0, counts),
        Objective(Focal(gamma=0.0, alpha=0.9), make_weighting("none"), 2.0, counts),
    ]
    outputs, target = _data(Task.BINARY, seed=2)
    _check_matches_members(objectives, outputs, target, progress=0.0)


def test_zero_beta_gives_unit_class_weights_inside_a_population() -> None:
    counts = _counts(Task.MULTICLASS)
    objectives = [
        Objective(
            make_loss("cross_entropy"),
            make_weighting("effective_number", {"beta": b}),
            class_counts=counts,
        )
        for b in (0.0, 0.99, 0.9999)
    ]
    outputs, target = _data(Task.MULTICLASS, seed=3)
    values = _check_matches_members(objectives, outputs, target, progress=0.0)
    unweighted = torch.nn.functional.cross_entropy(outputs[0], target[0])
    torch.testing.assert_close(values[0], unweighted)


def test_beta_near_one_keeps_full_precision_with_large_class_counts() -> None:
    # float32 would round beta = 0.9999 to 0.99989998 and move these weights by ~1e-4
    counts = torch.tensor([50_000, 5_000, 500])
    objectives = [
        Objective(
            make_loss("cross_entropy"), make_weighting(name, {"beta": b}), class_counts=counts
        )
        for name, b in (("effective_number", 0.9999), ("deferred", 0.9999), ("deferred", 0.999))
    ]
    outputs, target = _data(Task.MULTICLASS, seed=10)
    _check_matches_members(objectives, outputs, target, progress=1.0)


def test_dynamic_member_with_equal_losses_gets_unit_weights_while_others_do_not() -> None:
    objectives = [
        Objective(make_loss("cross_entropy"), Dynamic(temperature=t, warmup=0.0))
        for t in (0.3, 1.0, 3.0)
    ]
    outputs, target = _data(Task.MULTICLASS, seed=4)
    outputs[1] = 0.0  # every row of member 1 has the loss log(C)
    values = _check_matches_members(objectives, outputs, target, progress=0.5)
    torch.testing.assert_close(values[1], torch.tensor(math.log(C)))


# --- populations of several kinds ------------------------------------------------------------


def _mixed(task: Task) -> list[Objective]:
    counts = _counts(task)
    if task is Task.REGRESSION:
        recipes = [
            ("mse", {}, "none", {}, 1.0),
            ("huber", {"delta": 0.3}, "dynamic", {"temperature": 0.5, "warmup": 0.0}, 1.0),
            ("log_cosh", {}, "none", {}, 1.0),
            ("huber", {"delta": 2.0}, "dynamic", {"temperature": 2.0, "warmup": 0.0}, 1.0),
            ("mae", {}, "dynamic", {"direction": "down_hard", "warmup": 0.0}, 1.0),
        ]
    else:
        recipes = [
            ("cross_entropy", {}, "none", {}, 0.5),
            ("focal", {"gamma": 1.0}, "inverse_frequency", {"rho": 0.5}, 1.0),
            ("label_smoothing", {"eps": 0.1}, "dynamic", {"temperature": 0.5, "warmup": 0.0}, 2.0),
            ("cross_entropy", {}, "none", {}, 2.0),  # same kind as member 0, not adjacent
            ("focal", {"gamma": 3.0}, "deferred", {"start": 0.3}, 0.7),
            ("logit_adjusted", {"tau": 0.5}, "effective_number", {"beta": 0.9999}, 1.5),
            ("focal", {"gamma": 0.5}, "inverse_frequency", {"rho": 1.0}, 1.3),
        ]
    return [
        Objective(make_loss(loss, lp), make_weighting(w, wp), tau, class_counts=counts)
        for loss, lp, w, wp, tau in recipes
    ]


def _mixed_data(task: Task, members: int, seed: int, **kwargs) -> tuple[torch.Tensor, ...]:
    outputs, target = _data(task, seed, **kwargs)
    rows = torch.arange(members) % K
    return outputs[rows], target[rows]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("task", list(Task), ids=lambda t: t.value)
def test_mixed_population_keeps_member_order(task: Task, dtype: torch.dtype, device: str) -> None:
    objectives = _mixed(task)
    outputs, target = _mixed_data(task, len(objectives), seed=5, dtype=dtype, device=device)
    values = _check_matches_members(objectives, outputs, target, 0.5, device=device)
    assert values.device.type == device


@pytest.mark.parametrize("task", list(Task), ids=lambda t: t.value)
def test_shared_target(task: Task) -> None:
    objectives = _mixed(task)
    outputs, target = _mixed_data(task, len(objectives), seed=6)
    _check_matches_members(objectives, outputs, target[0], progress=0.5)


def test_single_kind_with_shared_target() -> None:
    objectives = [Objective(make_loss("gce", {"q": q}), make_weighting("none")) for q in (0.1, 1.0)]
    outputs, target = _data(Task.MULTICLASS, seed=7)
    _check_matches_members(objectives, outputs[:2], target[0], progress=0.0)


def test_select_returns_the_chosen_members_in_that_order() -> None:
    objectives = _mixed(Task.MULTICLASS)
    batched = BatchedObjective(objectives)
    outputs, target = _mixed_data(Task.MULTICLASS, 3, seed=8)
    for keep in ([5, 0, 3], torch.tensor([5, 0, 3])):
        chosen = batched.select(keep)
        assert len(chosen) == 3
        assert chosen.objectives == (objectives[5], objectives[0], objectives[3])
        expected = torch.stack(
            [objectives[i](outputs[j], target[j], 0.5) for j, i in enumerate([5, 0, 3])]
        )
        torch.testing.assert_close(chosen(outputs, target, 0.5), expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        batched.select([4])(outputs[:1], target[:1], 0.1),
        objectives[4](outputs[0], target[0], 0.1).reshape(1),
    )


def test_select_refuses_indices_outside_the_population() -> None:
    batched = BatchedObjective(_mixed(Task.BINARY))
    with pytest.raises(ValueError, match=r"indices \[7\].*0\.\.6"):
        batched.select([0, 7])
    with pytest.raises(ValueError, match="at least one member"):
        batched.select([])


# --- errors ----------------------------------------------------------------------------------


def test_empty_population_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        BatchedObjective([])


def test_members_of_different_datasets_are_refused() -> None:
    loss, none = make_loss("cross_entropy"), make_weighting("none")
    with pytest.raises(ValueError, match=r"member 1 has class_counts=\[40, 20\]"):
        BatchedObjective(
            [
                Objective(loss, none, class_counts=torch.tensor([50, 10])),
                Objective(loss, none, class_counts=torch.tensor([40, 20])),
            ]
        )
    with pytest.raises(ValueError, match="member 1 has class_counts=None"):
        BatchedObjective(
            [Objective(loss, none, class_counts=torch.tensor([50, 10])), Objective(loss, none)]
        )
    same = [torch.tensor([50, 10]), torch.tensor([50.0, 10.0], dtype=torch.float64)]
    assert len(BatchedObjective([Objective(loss, none, class_counts=c) for c in same])) == 2


def test_outputs_and_target_of_the_wrong_shape_are_refused() -> None:
    batched = BatchedObjective(_mixed(Task.MULTICLASS)[:3])
    outputs, target = _data(Task.MULTICLASS, seed=9)
    with pytest.raises(ValueError, match=r"one row per member.*got \(2, 12, 3\)"):
        batched(outputs[:2], target)
    with pytest.raises(ValueError, match=r"one row per member.*got \(3,\)"):
        batched(outputs[:, 0, 0], target)
    with pytest.raises(ValueError, match=r"target must be.*got \(2, 12\)"):
        batched(outputs, target[:2])


def test_outputs_on_another_device_than_the_hyperparameters_are_refused() -> None:
    batched = BatchedObjective(_mixed(Task.MULTICLASS)[:3], device="meta")
    outputs, target = _data(Task.MULTICLASS, seed=9)
    with pytest.raises(ValueError, match="outputs are on cpu.*device='cpu'"):
        batched(outputs, target)


# --- helpers ---------------------------------------------------------------------------------


def test_structure_key_separates_code_paths_not_values() -> None:
    assert structure_key(Focal(gamma=1.0)) == structure_key(Focal(gamma=4.0))
    assert structure_key(Focal(gamma=1.0)) != structure_key(Focal(gamma=1.0, alpha=0.25))
    assert structure_key(Dynamic(direction="up_hard")) != structure_key(
        Dynamic(direction="down_hard")
    )
    prepared = make_loss("logit_adjusted", {"tau": 0.5}).prepare(torch.tensor([5, 1]))
    assert structure_key(prepared) == structure_key(make_loss("logit_adjusted", {"tau": 2.0}))
    assert structure_key(make_loss("mse")) != structure_key(make_loss("mae"))
    assert len({structure_key(Focal(gamma=g)) for g in (0.0, 1.0)}) == 1  # hashable


def test_member_hyperparameters_are_the_float_fields() -> None:
    assert member_hyperparameters(Dynamic(w_max=3.0)) == {
        "temperature": 1.0,
        "w_max": 3.0,
        "warmup": 0.1,
    }
    assert member_hyperparameters(Focal(gamma=2.0)) == {"gamma": 2.0}
    assert member_hyperparameters(Focal(gamma=2.0, alpha=0.5)) == {"gamma": 2.0, "alpha": 0.5}
    assert member_hyperparameters(make_loss("logit_adjusted").prepare(torch.tensor([5, 1]))) == {
        "tau": 1.0
    }


def test_with_tensors_copies_without_touching_the_original() -> None:
    focal = Focal(gamma=2.0)
    copy = with_tensors(focal, {"gamma": torch.tensor(0.0)})
    assert focal.gamma == 2.0 and isinstance(copy.gamma, torch.Tensor)
    logits, target = torch.tensor([[1.0, -1.0]]), torch.tensor([1])
    ce = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(copy(logits, target), ce)
