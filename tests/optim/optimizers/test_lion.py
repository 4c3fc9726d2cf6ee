"""Lion against a hand-computed step and a direct transcription of the paper's update."""

from __future__ import annotations

import torch

from losstune.optim import make_optimizer_factory
from losstune.optim.optimizers.lion import Lion


def _paper_lion(p, m, grads, lr, b1, b2, wd):
    """Algorithm 2 of arXiv:2302.06675, written out: returns p and m after every gradient."""
    for g in grads:
        c = b1 * m + (1 - b1) * g
        p = p - lr * (torch.sign(c) + wd * p)
        m = b2 * m + (1 - b2) * g
    return p, m


def test_one_step_by_hand():
    """p = [1, -2, 0.5, 0], m = [0.5, -1, 0.2, 0], g = [-1, 2, -0.1, 0.3], lr 0.1, wd 0.5.

    c = 0.9 m + 0.1 g = [0.35, -0.7, 0.17, 0.03], so sign(c) = [1, -1, 1, 1] (the opposite of
    sign(g) in the first three places: b1 and b2 must not be swapped).
    p - 0.1 (sign(c) + 0.5 p) = [0.85, -1.8, 0.375, -0.1];
    m = 0.99 m + 0.01 g = [0.485, -0.97, 0.197, 0.003].
    """
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64))
    optimizer = Lion([p], lr=0.1, betas=(0.9, 0.99), weight_decay=0.5)
    optimizer.state[p]["exp_avg"] = torch.tensor([0.5, -1.0, 0.2, 0.0], dtype=torch.float64)
    p.grad = torch.tensor([-1.0, 2.0, -0.1, 0.3], dtype=torch.float64)
    optimizer.step()
    expected_p = torch.tensor([0.85, -1.8, 0.375, -0.1], dtype=torch.float64)
    expected_m = torch.tensor([0.485, -0.97, 0.197, 0.003], dtype=torch.float64)
    torch.testing.assert_close(p.detach(), expected_p)
    torch.testing.assert_close(optimizer.state[p]["exp_avg"], expected_m)


def test_first_step_moves_every_coordinate_by_lr_against_the_gradient_sign():
    p = torch.nn.Parameter(torch.tensor([0.3, -0.7]))
    optimizer = make_optimizer_factory("lion", {"lr": 0.01, "weight_decay": 0.0}).build([p])
    p.grad = torch.tensor([5.0, -1e-4])
    optimizer.step()
    torch.testing.assert_close(p.detach(), torch.tensor([0.29, -0.69]))


def test_matches_the_paper_update_over_several_steps():
    gen = torch.Generator().manual_seed(3)
    start = torch.randn(3, 5, generator=gen, dtype=torch.float64)
    grads = [torch.randn(3, 5, generator=gen, dtype=torch.float64) for _ in range(8)]
    hp = {"lr": 3e-2, "b1": 0.8, "b2": 0.95, "wd": 0.3}
    p = torch.nn.Parameter(start.clone())
    optimizer = Lion([p], lr=hp["lr"], betas=(hp["b1"], hp["b2"]), weight_decay=hp["wd"])
    for g in grads:
        p.grad = g.clone()
        optimizer.step()
    expected_p, expected_m = _paper_lion(start, torch.zeros_like(start), grads, **hp)
    torch.testing.assert_close(p.detach(), expected_p)
    torch.testing.assert_close(optimizer.state[p]["exp_avg"], expected_m)


def test_factory_passes_its_hyperparameters():
    factory = make_optimizer_factory(
        "lion", {"lr": 2e-4, "beta1": 0.85, "beta2": 0.98, "weight_decay": 0.3}
    )
    group = factory.build([torch.nn.Parameter(torch.zeros(2))]).param_groups[0]
    assert (group["lr"], group["betas"], group["weight_decay"]) == (2e-4, (0.85, 0.98), 0.3)
