"""Muon + AdamW: who steps which parameter, one ``param_groups`` view, state round trips."""

from __future__ import annotations

import copy

import pytest
import torch

from losstune.optim import make_optimizer_factory, make_schedule
from losstune.optim.optimizers.muon import MuonWithAdamW


def _model() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def _train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(32, 4, generator=gen), torch.randn(32, generator=gen)
    for _ in range(steps):
        optimizer.zero_grad()
        ((model(x).squeeze(1) - y) ** 2).mean().backward()
        optimizer.step()


def _ids(optimizer: torch.optim.Optimizer) -> set[int]:
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


def test_matrices_go_to_muon_and_the_rest_to_adamw():
    model = _model()
    optimizer = make_optimizer_factory("muon").build(model.parameters())
    inner = optimizer.inner
    assert isinstance(inner["muon"], torch.optim.Muon)
    assert isinstance(inner["adamw"], torch.optim.AdamW)
    assert _ids(inner["muon"]) == {id(model[0].weight), id(model[2].weight)}
    assert _ids(inner["adamw"]) == {id(model[0].bias), id(model[2].bias)}
    assert inner["muon"].param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"


def test_param_groups_are_the_inner_group_dicts_so_schedules_reach_both():
    model = _model()
    optimizer = make_optimizer_factory("muon", {"lr": 0.01}).build(model.parameters())
    inner_groups = [g for opt in optimizer.inner.values() for g in opt.param_groups]
    assert all(a is b for a, b in zip(optimizer.param_groups, inner_groups, strict=True))
    scheduler = make_schedule("linear").build(optimizer, total_steps=4)
    _train(model, optimizer, 1)
    scheduler.step()
    assert [g["lr"] for g in inner_groups] == pytest.approx([0.01 * 2 / 3] * 2)


def test_state_dict_round_trips_both_inner_states():
    model = _model()
    optimizer = make_optimizer_factory("muon").build(model.parameters())
    _train(model, optimizer, 3)
    saved = copy.deepcopy(optimizer.state_dict())
    assert "momentum_buffer" in optimizer.state[model[0].weight]
    assert "exp_avg" in optimizer.state[model[0].bias]

    twin = copy.deepcopy(model)
    twin_optimizer = make_optimizer_factory("muon").build(twin.parameters())
    twin_optimizer.load_state_dict(saved)
    assert all(opt.state is twin_optimizer.state for opt in twin_optimizer.inner.values())
    inner_groups = [g for opt in twin_optimizer.inner.values() for g in opt.param_groups]
    assert all(a is b for a, b in zip(twin_optimizer.param_groups, inner_groups, strict=True))
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        for key, value in optimizer.state[p].items():
            torch.testing.assert_close(twin_optimizer.state[q][key], value)
    _train(model, optimizer, 2)
    _train(twin, twin_optimizer, 2)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_a_model_without_biases_has_no_adamw_half():
    layer = torch.nn.Linear(3, 2, bias=False)
    optimizer = MuonWithAdamW(layer.parameters())
    assert list(optimizer.inner) == ["muon"]


def test_groups_given_as_dicts_keep_their_options_on_both_halves():
    model = _model()
    optimizer = MuonWithAdamW(
        [{"params": model[0].parameters(), "lr": 0.1}, {"params": model[2].parameters()}],
        lr=1e-3,
    )
    assert sorted(g["lr"] for g in optimizer.param_groups) == [1e-3, 1e-3, 0.1, 0.1]
