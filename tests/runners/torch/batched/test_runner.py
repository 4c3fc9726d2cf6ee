"""Batched training against one-trial training: same seeds, same data order, same numbers."""

import math

import numpy as np
import optuna
import pytest
import torch

from losstune.recipe import Component, Recipe
from losstune.runners import TrainingDiverged, TrainResult, train
from losstune.runners.torch.batched import group_recipes, train_batched, unbatchable_reason


def _base(dataset, optimizer: Component, **model) -> Recipe:
    params = {"width": 16, "depth": 2, "dropout": 0.0, **model}
    return Recipe.default(dataset.task).replace(
        model=Component("mlp", params), optimizer=optimizer, epochs=3, batch_size=64
    )


_CLASSIFICATION_MEMBERS = [
    {"loss": Component("cross_entropy"), "temperature": 1.0},
    {"loss": Component("focal", {"gamma": 2.5}), "temperature": 0.5,
     "weighting": Component("inverse_frequency", {"rho": 0.5})},
    {"loss": Component("label_smoothing", {"eps": 0.2}), "temperature": 2.0,
     "schedule": Component("onecycle", {"pct_start": 0.3})},
]  # fmt: skip
_REGRESSION_MEMBERS = [
    {"loss": Component("mse")},
    {"loss": Component("huber", {"delta": 0.5}), "schedule": Component("constant")},
    {"loss": Component("log_cosh"), "weighting": Component("dynamic", {"warmup": 0.2})},
]
_OPTIMIZERS = {
    "adamw": [{"lr": 3e-3, "weight_decay": 1e-2}, {"lr": 1e-3, "weight_decay": 0.0},
              {"lr": 5e-3, "weight_decay": 1e-4, "beta1": 0.8}],
    "sgd": [{"lr": 0.05, "momentum": 0.9, "nesterov": True},
            {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 1e-3},
            {"lr": 0.1, "momentum": 0.95, "nesterov": True}],
    "lion": [{"lr": 3e-4, "weight_decay": 0.1}, {"lr": 1e-4, "weight_decay": 0.5},
             {"lr": 5e-4, "weight_decay": 0.0, "beta2": 0.95}],
}  # fmt: skip


def _members(dataset, optimizer: str, **model) -> list[Recipe]:
    members = _REGRESSION_MEMBERS if dataset.task.value == "regression" else _CLASSIFICATION_MEMBERS
    return [
        _base(dataset, Component(optimizer, hp), **model).replace(**fields)
        for hp, fields in zip(_OPTIMIZERS[optimizer], members, strict=True)
    ]


def _assert_same_run(batched: TrainResult, alone: TrainResult) -> None:
    assert len(batched.history) == len(alone.history)
    for got, want in zip(batched.history, alone.history, strict=True):
        assert set(got) == set(want)
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=2e-4, abs=2e-5), key
    assert batched.valid_metrics == pytest.approx(alone.valid_metrics, rel=2e-4, abs=2e-5)
    assert batched.test_metrics == pytest.approx(alone.test_metrics, rel=2e-4, abs=2e-5)
    got = dict(batched.model.module.named_parameters())
    for name, want in alone.model.module.named_parameters():
        torch.testing.assert_close(got[name], want, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("optimizer", sorted(_OPTIMIZERS))
@pytest.mark.parametrize("data", ["wine", "cancer", "diabetes"])
def test_each_member_trains_as_it_would_alone(optimizer, data, request):
    dataset = request.getfixturevalue(data)
    recipes = _members(dataset, optimizer)
    assert len(group_recipes(recipes)) == 1  # one program, three loss families
    outcomes = train_batched(recipes, dataset, device="cpu")
    for recipe, outcome in zip(recipes, outcomes, strict=True):
        assert isinstance(outcome, TrainResult), outcome
        _assert_same_run(outcome, train(recipe, dataset, device="cpu"))


def test_mup_members_and_per_member_seeds_match_their_single_runs(wine):
    members = _members(wine, "adamw", width=32, parametrization="mup", base_width=16)
    recipes = [r.replace(seed=seed) for r, seed in zip(members, (0, 1, 0), strict=True)]
    outcomes = train_batched(recipes, wine, device="cpu")
    for recipe, outcome in zip(recipes, outcomes, strict=True):
        _assert_same_run(outcome, train(recipe, wine, device="cpu"))


def test_a_member_without_dropout_is_unchanged_by_its_neighbours_dropout(cancer):
    plain = _base(cancer, Component("adamw"))
    dropped = Component("mlp", {"width": 16, "depth": 2, "dropout": 0.5})
    recipes = [plain, plain.replace(model=dropped)]
    assert len(group_recipes(recipes)) == 1  # dropout is a per-member tensor
    outcomes = train_batched(recipes, cancer, device="cpu")
    _assert_same_run(outcomes[0], train(plain, cancer, device="cpu"))
    assert outcomes[1].history[-1]["train_loss"] != pytest.approx(
        outcomes[0].history[-1]["train_loss"], rel=1e-3
    )


def test_a_pruned_member_leaves_and_the_others_are_unaffected(wine):
    recipes = _members(wine, "adamw")
    seen = {i: [] for i in range(3)}

    def reporter(i):
        def report(epoch, metrics):
            seen[i].append(epoch)
            if i == 1 and epoch == 2:
                raise optuna.TrialPruned("pruned at 2")

        return report

    outcomes = train_batched(recipes, wine, reporters=[reporter(i) for i in range(3)], device="cpu")
    assert isinstance(outcomes[1], optuna.TrialPruned)
    assert seen == {0: [1, 2, 3], 1: [1, 2], 2: [1, 2, 3]}
    for i in (0, 2):
        _assert_same_run(outcomes[i], train(recipes[i], wine, device="cpu"))


def test_a_program_whose_members_are_all_pruned_stops(wine):
    recipes = _members(wine, "adamw")
    epochs = []

    def prune(epoch, metrics):
        epochs.append(epoch)
        raise optuna.TrialPruned(f"pruned at {epoch}")

    outcomes = train_batched(recipes, wine, reporters=[prune] * 3, device="cpu")
    assert all(isinstance(o, optuna.TrialPruned) for o in outcomes)
    assert epochs == [1, 1, 1]


def test_a_diverging_member_fails_alone(diabetes):
    # every learning rate a recipe accepts keeps a classifier finite; raw regression targets
    # with SGD at lr 10 overflow
    good = _base(diabetes, Component("sgd", {"lr": 0.01, "momentum": 0.9}))
    bad = good.replace(optimizer=Component("sgd", {"lr": 10.0, "momentum": 0.99}))
    outcomes = train_batched([good, bad], diabetes, device="cpu")
    assert isinstance(outcomes[1], TrainingDiverged)
    assert "lower the learning rate" in str(outcomes[1])
    _assert_same_run(outcomes[0], train(good, diabetes, device="cpu"))


def test_unbatchable_recipes_train_alone_and_groups_follow_structure(wine):
    adamw = _base(wine, Component("adamw"))
    recipes = [
        adamw,
        adamw.replace(optimizer=Component("radam")),
        adamw.replace(wrapper=Component("sam")),
        adamw.replace(model=Component("mlp", {"width": 24, "depth": 2, "dropout": 0.0})),
        adamw.replace(batch_size=32),
        adamw.replace(optimizer=Component("adamw", {"lr": 1e-2})),
    ]
    assert unbatchable_reason(recipes[1]) == "optimizer 'radam' has no batched form"
    assert unbatchable_reason(recipes[2]) == "optimizer wrapper 'sam' has no batched form"
    assert group_recipes(recipes) == [[0, 5], [1], [2], [3], [4]]
    outcomes = train_batched(recipes, wine, device="cpu")
    for recipe, outcome in zip(recipes, outcomes, strict=True):
        _assert_same_run(outcome, train(recipe, wine, device="cpu"))


def test_bad_input_is_refused(wine, diabetes):
    recipe = _base(wine, Component("adamw"))
    with pytest.raises(ValueError, match="2 recipes but 1 reporters"):
        train_batched([recipe, recipe], wine, reporters=[None])
    with pytest.raises(ValueError, match="regression"):
        train_batched([recipe], diabetes)


def test_outcomes_keep_the_order_of_the_recipes(wine):
    a = _base(wine, Component("adamw"))
    recipes = [a.replace(batch_size=32), a, a.replace(batch_size=32, seed=3)]
    outcomes = train_batched(recipes, wine, device="cpu")
    scores = [o.history[-1]["train_loss"] for o in outcomes]
    alone = [train(r, wine, device="cpu").history[-1]["train_loss"] for r in recipes]
    assert scores == pytest.approx(alone, rel=2e-4)
    assert all(math.isfinite(s) for s in scores) and len(set(np.round(scores, 6))) == 3
