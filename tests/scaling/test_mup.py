"""μP: the rules against hand-computed cases from Microsoft's ``mup`` package (version 1.0.0;
file and line cited at each case), learning-rate transfer on a real dataset, and the standard
parametrisation left as it was. The coordinate check across widths 64-2048 is in
``tests/runners/torch/test_coord_check.py``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from losstune.models.mlp import MLP
from losstune.optim import OPTIMIZERS, make_optimizer_factory
from losstune.scaling.mup import (
    UPDATE_RULES,
    GroupScale,
    MuReadout,
    WidthShape,
    mup_init_,
    mup_param_groups,
    width_multiplier,
    width_shape,
)

# a hidden matrix, the first layer's weight, the readout's weight, a hidden bias and the
# readout's bias of an MLP 16 times wider than its base (64 -> 1024 units, 20 features, 5 classes)
HIDDEN = width_shape((1024, 1024), (64, 64))
FIRST = width_shape((1024, 20), (64, 20))
READOUT = width_shape((5, 1024), (5, 64))
HIDDEN_BIAS = width_shape((1024,), (64,))
READOUT_BIAS = width_shape((5,), (5,))
SHAPES = {
    "hidden": HIDDEN,
    "first": FIRST,
    "readout": READOUT,
    "hidden_bias": HIDDEN_BIAS,
    "readout_bias": READOUT_BIAS,
}


# -- width shapes (mup/infshape.py) ------------------------------------------------------------


def test_width_shapes_mark_the_dimensions_that_differ_from_the_base():
    assert HIDDEN == WidthShape((16.0, 16.0)) and HIDDEN.n_width_dims == 2
    assert FIRST == WidthShape((16.0, None)) and FIRST.n_width_dims == 1
    assert READOUT == WidthShape((None, 16.0)) and READOUT_BIAS.n_width_dims == 0
    # InfShape.width_mult: the multiplier of the last width dimension (infshape.py 62-67, 80-83)
    assert (FIRST.width_mult, READOUT.width_mult, READOUT_BIAS.width_mult) == (16.0, 16.0, 1.0)
    # fanin_fanout_mult_ratio (infshape.py 73-75): fan-in 1024/64 over fan-out 2048/64
    assert width_shape((2048, 1024), (64, 64)).fan_in_fan_out_ratio == 0.5


def test_width_multiplier_and_bad_shapes_are_refused_by_name():
    assert width_multiplier(1024, 64) == 16.0
    with pytest.raises(ValueError, match="base_width must be a whole number >= 1; got 0"):
        width_multiplier(64, 0)
    with pytest.raises(ValueError, match=r"shape \(4, 4\) cannot be compared"):
        width_shape((4, 4), (4,))
    with pytest.raises(ValueError, match="at most 2 width dimensions"):
        UPDATE_RULES.get("adam")(width_shape((8, 8, 8), (4, 4, 4)))


# -- learning-rate rules (mup/optim.py) --------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # MuAdam, optim.py 59-68: matrix-like (2 width dims) lr / width_mult, wd * width_mult
        (
            "adam",
            {
                "hidden": (1 / 16, 16),
                "first": (1, 1),
                "readout": (1, 1),
                "hidden_bias": (1, 1),
                "readout_bias": (1, 1),
            },
        ),
        # MuSGD, optim.py 102-116: vector-like (1 width dim) lr * width_mult, wd / width_mult;
        # matrix-like lr / (fan-in over fan-out multiplier) = 1 for a square hidden matrix
        (
            "sgd",
            {
                "hidden": (1, 1),
                "first": (16, 1 / 16),
                "readout": (16, 1 / 16),
                "hidden_bias": (16, 1 / 16),
                "readout_bias": (1, 1),
            },
        ),
        # Adafactor and Muon: hidden matrices at lr / sqrt(width_mult) (see their docstrings)
        ("adafactor", {"hidden": (1 / 4, 4), "first": (1, 1), "readout": (1, 1)}),
        ("muon", {"hidden": (1 / 4, 4), "first": (1, 1), "readout": (1, 1)}),
    ],
)
def test_rules_match_hand_computed_cases(rule, expected):
    for kind, (lr, weight_decay) in expected.items():
        scale = UPDATE_RULES.get(rule)(SHAPES[kind])
        assert (scale.lr, scale.weight_decay) == pytest.approx((lr, weight_decay)), kind


def test_sgd_rule_on_a_non_square_hidden_matrix():
    # fan-out 2048 (x32), fan-in 1024 (x16): ratio 0.5, so MuSGD doubles lr and halves wd
    scale = UPDATE_RULES.get("sgd")(width_shape((2048, 1024), (64, 64)))
    assert (scale.lr, scale.weight_decay) == (2.0, 0.5)


@pytest.mark.parametrize("rule", UPDATE_RULES.names())
def test_every_rule_is_the_identity_at_the_base_width_and_finite_elsewhere(rule):
    """μP equals the standard parametrisation at the base width, whatever the optimizer."""
    for shape in ((64, 64), (64, 20), (5, 64), (64,), (5,)):
        assert UPDATE_RULES.get(rule)(width_shape(shape, shape)) == GroupScale()
    for kind, shape in SHAPES.items():
        scale = UPDATE_RULES.get(rule)(shape)
        assert 0 < scale.lr < math.inf and 0 < scale.weight_decay < math.inf, kind
        assert scale.lr * scale.weight_decay == pytest.approx(1.0), kind  # lr * wd is kept


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_names_a_registered_update_rule(name):
    assert OPTIMIZERS.get(name).update_rule in UPDATE_RULES


def test_param_groups_of_an_mlp_four_times_its_base_width():
    factory = MLP(width=256, depth=2, parametrization="mup", base_width=64)
    module = factory.build(20, 5)
    groups = mup_param_groups(module, factory.base_shapes(20, 5), "adam", lr=1e-3, weight_decay=0.1)
    named = {id(p): n for n, p in module.named_parameters()}
    table = {named[id(p)]: (g["lr"], g["weight_decay"]) for g in groups for p in g["params"]}
    assert table == {
        "0.weight": (1e-3, 0.1),
        "0.bias": (1e-3, 0.1),
        "3.weight": (2.5e-4, pytest.approx(0.4)),
        "3.bias": (1e-3, 0.1),
        "6.weight": (1e-3, 0.1),
        "6.bias": (1e-3, 0.1),
    }
    assert len(groups) == 2


def test_param_groups_refuse_a_missing_rule_or_wrong_base_shapes():
    factory = MLP(width=128, parametrization="mup")
    module = factory.build(4, 2)
    base = factory.base_shapes(4, 2)
    with pytest.raises(ValueError, match="declares no μP update rule"):
        mup_param_groups(module, base, None, lr=1e-3)
    with pytest.raises(KeyError, match="Unknown μP update rule 'adan'"):
        mup_param_groups(module, base, "adan", lr=1e-3)
    with pytest.raises(ValueError, match=r"missing \['6.bias'\]"):
        mup_param_groups(module, {k: v for k, v in base.items() if k != "6.bias"}, "adam", 1e-3)


# -- initialisation and readout (mup/shape.py, mup/layer.py) -----------------------------------


def test_init_rescales_like_set_base_shapes():
    """shape.py 186-191: MuReadout weight and bias * sqrt(width_mult) (layer.py 49-51), other
    Linear biases * sqrt(fan-in multiplier) (layer.py 80-83); every weight else as torch's."""
    torch.manual_seed(0)
    standard = MLP(width=1024, depth=2, dropout=0.0).build(20, 5)
    factory = MLP(width=1024, depth=2, dropout=0.0, parametrization="mup", base_width=64)
    torch.manual_seed(0)
    mup = factory.build(20, 5)
    sp, mp = dict(standard.named_parameters()), dict(mup.named_parameters())
    for name in ("0.weight", "0.bias", "3.weight"):
        torch.testing.assert_close(mp[name], sp[name], rtol=0, atol=0)
    torch.testing.assert_close(mp["3.bias"], sp["3.bias"] * 4.0)
    torch.testing.assert_close(mp["6.weight"], sp["6.weight"] * 4.0)
    assert torch.count_nonzero(mp["6.bias"]) == 0  # the head bias is set by bias_init

    torch.manual_seed(0)
    zeroed = MuReadout(1024, 5, width_mult=16.0, readout_zero_init=True)
    mup_init_(nn.Sequential(zeroed), {"0.weight": (5, 64), "0.bias": (5,)})
    assert torch.count_nonzero(zeroed.weight) == 0 and torch.count_nonzero(zeroed.bias) == 0


def test_readout_divides_its_input_by_the_width_multiplier():
    """layer.py 54-56: ``Linear(output_mult * x / width_mult)``; the bias is not divided."""
    readout = MuReadout(3, 2, width_mult=4.0, output_mult=2.0)
    with torch.no_grad():
        readout.weight.copy_(torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 1.0]]))
        readout.bias.copy_(torch.tensor([10.0, 20.0]))
    out = readout(torch.tensor([[2.0, 4.0, 6.0]]))
    # x * 2 / 4 = [1, 2, 3]: [1 + 4 + 9, 0 - 2 + 3] + bias
    torch.testing.assert_close(out, torch.tensor([[24.0, 21.0]]))
    with pytest.raises(ValueError, match="width_mult must be a finite number > 0; got 0"):
        MuReadout(3, 2, width_mult=0)


# -- the standard parametrisation is unchanged ---------------------------------------------------


def _reference_mlp(n_features: int, width: int, depth: int, n_outputs: int) -> nn.Module:
    """The MLP as it was built before μP existed."""
    layers: list[nn.Module] = []
    fan_in = n_features
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.ReLU(), nn.Dropout(0.1)]
        fan_in = width
    head = nn.Linear(fan_in, n_outputs)
    with torch.no_grad():
        head.bias.zero_()
    return nn.Sequential(*layers, head)


def test_standard_parametrisation_builds_the_same_model_and_one_group():
    x = torch.randn(32, 12, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(7)
    reference = _reference_mlp(12, 96, 3, 4).eval()
    factory = MLP(width=96, depth=3)
    torch.manual_seed(7)
    module = factory.build(12, 4).eval()
    assert [type(m) for m in module] == [type(m) for m in reference]
    torch.testing.assert_close(module(x), reference(x), rtol=0, atol=0)
    optimizer_factory = make_optimizer_factory("adamw", {"lr": 3e-3})
    optimizer = optimizer_factory.build(factory.parameter_groups(module, optimizer_factory))
    assert [g["lr"] for g in optimizer.param_groups] == [3e-3]
    assert len(optimizer.param_groups[0]["params"]) == 8


@pytest.mark.parametrize("optimizer", ["adamw", "sgd", "muon"])
def test_mup_at_the_base_width_is_the_standard_parametrisation(optimizer):
    x = torch.randn(16, 12, generator=torch.Generator().manual_seed(1))
    hp = {"lr": 1e-2, "weight_decay": 1e-3}
    outputs = []
    for parametrization in ("standard", "mup"):
        factory = MLP(width=64, depth=2, dropout=0.0, parametrization=parametrization)
        torch.manual_seed(3)
        module = factory.build(12, 3)
        opt_factory = make_optimizer_factory(optimizer, hp)
        opt = opt_factory.build(factory.parameter_groups(module, opt_factory))
        assert {g["lr"] for g in opt.param_groups} == {1e-2}
        for _ in range(3):
            opt.zero_grad()
            module(x).square().mean().backward()
            opt.step()
        outputs.append(module(x))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=0, atol=0)


# -- learning-rate transfer on a real dataset --------------------------------------------------


def _best_lr_exponent(dataset, width: int, exponents: range, seeds: tuple[int, ...]) -> int:
    """The lr exponent (lr = 2**e) of the lowest validation log-loss, averaged over seeds."""
    from losstune.recipe import Component, Recipe
    from losstune.runners import TrainingDiverged, train

    losses = {}
    for exponent in exponents:
        per_seed = []
        for seed in seeds:
            recipe = Recipe.default(dataset.task, metric="log_loss").replace(
                epochs=5,
                seed=seed,
                model=Component("mlp", {"width": width, "dropout": 0.0, "parametrization": "mup"}),
                optimizer=Component("adamw", {"lr": 2.0**exponent, "weight_decay": 0.0}),
                schedule=Component("constant"),
            )
            try:
                per_seed.append(train(recipe, dataset).valid_metrics["log_loss"])
            except TrainingDiverged:
                per_seed.append(math.inf)
        losses[exponent] = float(np.mean(per_seed))
    return min(losses, key=losses.__getitem__)


@pytest.mark.slow
def test_best_learning_rate_transfers_from_width_64_to_1024_on_digits():
    """AdamW, 5 epochs, lr grid 2^-11..2^-5, mean over 2 seeds. Measured: μP best 2^-8 at both
    widths; the standard parametrisation's best moves from 2^-8 to 2^-11 (8x)."""
    import losstune.datasets as ltd

    digits = ltd.load("digits", seed=0)
    exponents = range(-11, -4)
    narrow = _best_lr_exponent(digits, 64, exponents, seeds=(0, 1))
    wide = _best_lr_exponent(digits, 1024, exponents, seeds=(0, 1))
    assert abs(narrow - wide) <= 1, f"best lr 2^{narrow} at width 64, 2^{wide} at width 1024"
    assert narrow not in (exponents[0], exponents[-1]), "the optimum must lie inside the grid"
