"""Contract tests of the batched optimizers, parametrized over ``BATCHED_OPTIMIZERS``.

K members with different hyperparameters, two parameter groups each (learning rate and weight
decay scaled per group, as μP makes them) and a schedule each (warm-up, cosine, one-cycle, which
cycles momentum) step their stacked parameters through one batched optimizer; the reference is
K separate torch optimizers and schedulers built by the members' own factories and schedules,
fed the same gradients. The members of a new batched optimizer go in ``CASES`` (a test fails
until they do).
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from losstune.optim import OPTIMIZERS, make_optimizer_factory, make_schedule
from losstune.runners.torch.batched.optimizers import (
    BATCHED_OPTIMIZERS,
    BatchedSGD,
    batchable_optimizer,
    make_batched_optimizer,
)
from losstune.runners.torch.batched.schedules import schedule_tables

K = 3
STEPS = 20
SHAPES = [(4, 3), (3,), (2, 2, 2)]
GROUP_OF = [0, 1, 0]  # parameter j's group
GROUP_SCALES = [(1.0, 1.0), (0.25, 4.0)]  # a group's (lr, weight decay) multipliers
NO_GRAD = (3, 2)  # (step, parameter) without a gradient: torch skips the parameter
SCHEDULES = [
    make_schedule("constant", {"warmup": 0.2}),
    make_schedule("cosine", {"warmup": 0.1, "min_lr_ratio": 0.1}),
    make_schedule("onecycle", {"pct_start": 0.3}),
]

# name -> case -> K members' hyperparameters (member 2 runs one-cycle, so it needs momentum)
CASES: dict[str, dict[str, list[dict[str, object]]]] = {
    "adamw": {
        "adamw": [
            {"lr": 1e-2, "weight_decay": 0.01},
            {"lr": 3e-2, "weight_decay": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6},
            {"lr": 5e-3, "weight_decay": 0.0, "beta1": 0.95, "beta2": 0.98, "eps": 1e-7},
        ]
    },
    "lion": {
        "lion": [
            {"lr": 1e-3, "weight_decay": 0.1},
            {"lr": 3e-3, "weight_decay": 0.0, "beta1": 0.8, "beta2": 0.95},
            {"lr": 5e-4, "weight_decay": 1.0, "beta1": 0.95, "beta2": 0.999},
        ]
    },
    "sgd": {
        "sgd": [
            {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.01},
            {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3},
            {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.0},
        ],
        "sgd-nesterov": [
            {"lr": 0.1, "momentum": 0.3, "nesterov": True, "weight_decay": 0.01},
            {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
            {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.0},
        ],
    },
}
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.gpu,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
        ],
    ),
]
ALL_CASES = [
    pytest.param(name, members, id=case)
    for name in BATCHED_OPTIMIZERS.names()
    for case, members in CASES.get(name, {}).items()
]


def test_every_batched_optimizer_has_cases():
    assert sorted(CASES) == BATCHED_OPTIMIZERS.names()


@pytest.mark.parametrize("name", BATCHED_OPTIMIZERS.names())
def test_mirrors_a_registered_optimizer(name):
    assert name in OPTIMIZERS and batchable_optimizer(name)
    fields = OPTIMIZERS.get(name).hyperparameter_names()
    batched = BATCHED_OPTIMIZERS.get(name)
    assert set(batched.float_fields) <= set(fields)
    assert batched.momentum_field in batched.float_fields


def test_unbatched_optimizers_are_not_batchable():
    assert not batchable_optimizer("muon") and not batchable_optimizer("no-such-optimizer")


class Population:
    """The stacked initial parameters and per-step gradients of K members."""

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        gen = torch.Generator().manual_seed(seed)
        self.init = [torch.randn(K, *shape, generator=gen).to(device) for shape in SHAPES]
        self.grads: list[list[Tensor | None]] = [
            [torch.randn(K, *shape, generator=gen).to(device) for shape in SHAPES]
            for _ in range(STEPS)
        ]
        step, param = NO_GRAD
        self.grads[step][param] = None


def single_runs(factories, population: Population) -> list[list[list[Tensor]]]:
    """``[k][t][j]``: member k's parameter j after step t, trained alone by torch."""
    runs = []
    for k, (factory, schedule) in enumerate(zip(factories, SCHEDULES, strict=True)):
        params = [x[k].clone().requires_grad_() for x in population.init]
        groups = [
            {
                "params": [p for p, g in zip(params, GROUP_OF, strict=True) if g == group],
                "lr": factory.lr * lr_scale,
                "weight_decay": factory.weight_decay * wd_scale,
            }
            for group, (lr_scale, wd_scale) in enumerate(GROUP_SCALES)
        ]
        optimizer = factory.build(groups)
        scheduler = schedule.build(optimizer, STEPS)
        history = []
        for grads in population.grads:
            for p, g in zip(params, grads, strict=True):
                p.grad = None if g is None else g[k].clone()
            optimizer.step()
            scheduler.step()
            history.append([p.detach().clone() for p in params])
        runs.append(history)
    return runs


def batched(factories, population: Population):
    """Stacked parameters, their batched optimizer and the schedules' tables."""
    params = [x.clone().requires_grad_() for x in population.init]
    per_group = [
        (
            torch.tensor([f.lr * GROUP_SCALES[g][0] for f in factories], dtype=torch.float64),
            torch.tensor([f.weight_decay * GROUP_SCALES[g][1] for f in factories]),
        )
        for g in GROUP_OF
    ]
    optimizer = make_batched_optimizer(
        params, factories, [lr for lr, _ in per_group], [wd for _, wd in per_group]
    )
    lr_table, momentum_table = schedule_tables(SCHEDULES, factories, STEPS)
    return params, optimizer, lr_table, momentum_table


def step_batched(optimizer, params, grads, lr_table, momentum_table, t, members=None) -> None:
    for p, g in zip(params, grads, strict=True):
        p.grad = None if g is None else g[members].clone() if members is not None else g.clone()
    momentum = None if momentum_table is None else momentum_table[:, t]
    optimizer.step(lr_table[:, t], momentum)


def assert_members_match(params, singles, t, members) -> None:
    for row, k in enumerate(members):
        for j, p in enumerate(params):
            torch.testing.assert_close(
                p.detach()[row],
                singles[k][t][j],
                rtol=1e-5,
                atol=1e-7,
                msg=f"member {k}, parameter {j}, step {t}",
            )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(("name", "members"), ALL_CASES)
def test_matches_separate_torch_optimizers(name, members, device):
    """On CUDA torch's reference takes its multi-tensor (foreach) path."""
    factories = [make_optimizer_factory(name, hp) for hp in members]
    population = Population(device=device)
    singles = single_runs(factories, population)
    params, optimizer, lr_table, momentum_table = batched(factories, population)
    assert momentum_table is not None  # one-cycle cycles the third member's momentum
    for t, grads in enumerate(population.grads):
        step_batched(optimizer, params, grads, lr_table, momentum_table, t)
        assert_members_match(params, singles, t, range(K))
    for p, start in zip(params, population.init, strict=True):
        assert (p.detach() - start).abs().amin() > 0  # every member's every coordinate moved


@pytest.mark.parametrize(("name", "members"), ALL_CASES)
def test_select_keeps_members_on_their_own_runs(name, members):
    factories = [make_optimizer_factory(name, hp) for hp in members]
    population = Population(seed=1)
    singles = single_runs(factories, population)
    params, optimizer, lr_table, momentum_table = batched(factories, population)
    for t in range(5):
        step_batched(optimizer, params, population.grads[t], lr_table, momentum_table, t)
    keep = torch.tensor([0, 2])
    params = [p.detach()[keep].clone().requires_grad_() for p in params]
    optimizer.select(keep, params)
    assert optimizer.factories == (factories[0], factories[2])
    lr_table = lr_table[keep]
    momentum_table = None if momentum_table is None else momentum_table[keep]
    for t in range(5, STEPS):
        grads = population.grads[t]
        step_batched(optimizer, params, grads, lr_table, momentum_table, t, members=keep)
        assert_members_match(params, singles, t, keep.tolist())


def test_zero_grad_drops_gradients():
    factories = [make_optimizer_factory("adamw")] * 2
    param = torch.zeros(2, 3, requires_grad=True)
    optimizer = make_batched_optimizer([param], factories, [torch.ones(2)], [torch.zeros(2)])
    param.grad = torch.ones(2, 3)
    optimizer.zero_grad()
    assert param.grad is None
    optimizer.step(torch.ones(2))  # no gradient: nothing moves
    assert param.detach().eq(0).all() and optimizer.state[0] == {}


def test_mixed_optimizers_are_refused():
    factories = [make_optimizer_factory("adamw"), make_optimizer_factory("lion")]
    param = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"only 'adamw' factories; got \['adamw', 'lion'\]"):
        make_batched_optimizer([param], factories, [torch.ones(2)], [torch.zeros(2)])


def test_disagreeing_nesterov_is_refused():
    factories = [make_optimizer_factory("sgd", {"nesterov": v}) for v in (False, True)]
    param = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"agree on 'nesterov'; got \[False, True\]"):
        BatchedSGD([param], factories, [torch.ones(2)], [torch.zeros(2)])


def test_unknown_optimizer_is_refused_listing_batched_ones():
    factories = [make_optimizer_factory("muon")] * 2
    param = torch.zeros(2, 3, requires_grad=True)
    names = ", ".join(BATCHED_OPTIMIZERS.names())
    with pytest.raises(ValueError, match=rf"'muon' has no batched form.*{names}"):
        make_batched_optimizer([param], factories, [torch.ones(2)], [torch.zeros(2)])


@pytest.mark.parametrize(
    ("lr", "params", "match"),
    [
        ([torch.ones(3)], [torch.zeros(2, 3)], r"lr\[0\] must have shape \(2,\)"),
        ([], [torch.zeros(2, 3)], "1 parameters but 0 lr"),
        ([torch.ones(2)], [torch.zeros(3, 3)], r"shape \(3, 3\) but there are 2 members"),
    ],
)
def test_mismatched_shapes_are_refused(lr, params, match):
    factories = [make_optimizer_factory("adamw")] * 2
    params = [p.requires_grad_() for p in params]
    with pytest.raises(ValueError, match=match):
        make_batched_optimizer(params, factories, lr, [torch.zeros(2)] * len(params))


def test_step_refuses_a_schedule_column_of_the_wrong_size():
    factories = [make_optimizer_factory("lion")] * 2
    param = torch.zeros(2, 3, requires_grad=True)
    optimizer = make_batched_optimizer([param], factories, [torch.ones(2)], [torch.zeros(2)])
    with pytest.raises(ValueError, match=r"lr_scale must have shape \(2,\)"):
        optimizer.step(torch.ones(3))
