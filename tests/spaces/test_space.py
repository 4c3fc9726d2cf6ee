import pickle
import random

import pytest

from losstune.spaces import Choice, Fixed, Float, Int, SearchSpace, SpaceError, When


@pytest.fixture
def space():
    return SearchSpace(
        {
            "loss": Choice(
                ("cross_entropy", "focal", "gce"),
                children={"focal": {"gamma": Float(0.0, 5.0)}, "gce": {"q": Float(0.1, 1.0)}},
            ),
            "optimizer": Choice(
                ("adamw", "sgd"),
                children={
                    "adamw": {"lr": Float(1e-4, 1e-2, log=True)},
                    "sgd": {
                        "lr": Float(1e-3, 0.3, log=True),
                        "nesterov": Choice((True, False)),
                    },
                },
            ),
            "model": Choice(
                ("mlp",),
                children={
                    "mlp": {"width": Int(32, 512, log=True), "act": Choice(("relu", "gelu"))}
                },
            ),
            "batch_size": Choice((64, 128, 256)),
            "epochs": Fixed(30),
        }
    )


def fixed_pick(choices):
    """Picks the given choices and the low end of every range."""

    def pick(path, param):
        if path in choices:
            return choices[path]
        if isinstance(param, Fixed):
            return param.value
        return param.options[0] if isinstance(param, Choice) else param.low

    return pick


def test_paths_flatten_every_branch_with_dotted_names(space):
    assert list(space.paths()) == [
        "loss",
        "loss.focal.gamma",
        "loss.gce.q",
        "optimizer",
        "optimizer.adamw.lr",
        "optimizer.sgd.lr",
        "optimizer.sgd.nesterov",
        "model",
        "model.mlp.width",
        "model.mlp.act",
        "batch_size",
        "epochs",
    ]
    assert space["loss.focal.gamma"] == Float(0.0, 5.0)


def test_walk_visits_only_the_chosen_options_children(space):
    visited = []

    def pick(path, param):
        visited.append(path)
        return fixed_pick({"loss": "focal", "optimizer": "sgd"})(path, param)

    config = space.sample(pick)
    assert visited == list(config)
    assert config == {
        "loss": "focal",
        "loss.focal.gamma": 0.0,
        "optimizer": "sgd",
        "optimizer.sgd.lr": 1e-3,
        "optimizer.sgd.nesterov": True,
        "model": "mlp",
        "model.mlp.width": 32,
        "model.mlp.act": "relu",
        "batch_size": 64,
        "epochs": 30,
    }
    assert space.contains(config)
    plain = space.sample(fixed_pick({"loss": "cross_entropy"}))
    assert not any(path.startswith("loss.") for path in plain)
    assert space.active_paths(plain) == list(plain)


def test_active_paths_need_the_choices(space):
    assert space.active_paths({"loss": "gce", "optimizer": "adamw", "model": "mlp"}) == [
        "loss",
        "loss.gce.q",
        "optimizer",
        "optimizer.adamw.lr",
        "model",
        "model.mlp.width",
        "model.mlp.act",
        "batch_size",
        "epochs",
    ]
    with pytest.raises(SpaceError, match=r"no value for the choice 'optimizer'"):
        space.active_paths({"loss": "gce"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"loss.focal.gamma": 7.0},
            r"gamma=7\.0 does not fit the space: 'loss\.focal\.gamma' is a float range \[0\.0, 5",
        ),
        ({"loss.gce.q": 0.5}, r"path\(s\) \['loss\.gce\.q'\] that are not active"),
        (
            {"batch_size": 100},
            r"batch_size=100 does not fit the space: 'batch_size' is a choice of 64, 128, 256\.",
        ),
        ({"epochs": 10}, r"epochs=10 does not fit the space: 'epochs' is fixed to 30\."),
        (
            {"model.mlp.width": 64.0},
            r"model\.mlp\.width=64\.0 does not fit the space: 'model\.mlp\.width' is an integer",
        ),
    ],
)
def test_validate_names_the_bad_path(space, change, message):
    config = space.sample(fixed_pick({"loss": "focal"}))
    with pytest.raises(SpaceError, match=message):
        space.validate({**config, **change})
    assert not space.contains({**config, **change})


def test_validate_reports_a_missing_path(space):
    config = space.sample(fixed_pick({"loss": "focal"}))
    del config["loss.focal.gamma"]
    with pytest.raises(SpaceError, match=r"no value for 'loss\.focal\.gamma'"):
        space.validate(config)


def test_restrict_keeps_options_in_the_given_order_with_their_children(space):
    narrowed = space.restrict("loss", ["gce", "cross_entropy"])
    assert narrowed["loss"].options == ("gce", "cross_entropy")
    assert "loss.gce.q" in narrowed.paths() and "loss.focal.gamma" not in narrowed.paths()
    assert "loss.focal.gamma" in space.paths(), "the original space is unchanged"
    assert narrowed.restrict("batch_size", [256])["batch_size"] == Choice((256,))


@pytest.mark.parametrize(
    ("path", "options", "message"),
    [
        (
            "loss",
            ["cross_entropy", "focl"],
            r"Unknown option 'focl' for 'loss'\. Did you mean 'focal'\?",
        ),
        (
            "loss",
            ["hinge"],
            r"Unknown option 'hinge' for 'loss'\. Valid options: cross_entropy, focal",
        ),
        ("batch_size", [100], r"Unknown option 100 for 'batch_size'"),
        ("loss", [], r"non-empty list"),
        ("loss", "focal", r"non-empty list"),
        ("loss", ["focal", "focal"], r"repeat"),
        ("loss.focal.gamma", [1.0], r"is a float range \[0\.0, 5\.0\], not a choice"),
        ("los", ["focal"], r"Unknown path 'los'\. Did you mean 'loss'\?"),
    ],
)
def test_restrict_refuses_what_is_not_there(space, path, options, message):
    with pytest.raises(SpaceError, match=message):
        space.restrict(path, options)


def test_set_replaces_a_range_or_adds_a_child(space):
    narrowed = space.set("loss.focal.gamma", Float(0.5, 3.0))
    assert narrowed["loss.focal.gamma"] == Float(0.5, 3.0)
    added = space.set("loss.focal.alpha", Fixed(0.25)).set("loss.cross_entropy.eps", Float(0, 1))
    assert list(added.paths())[:5] == [
        "loss",
        "loss.cross_entropy.eps",
        "loss.focal.gamma",
        "loss.focal.alpha",
        "loss.gce.q",
    ]
    config = added.sample(fixed_pick({"loss": "focal"}))
    assert config["loss.focal.alpha"] == 0.25
    with pytest.raises(SpaceError, match=r"Unknown path 'los\.focal\.gamma'\. Did you mean"):
        space.set("los.focal.gamma", Float(0, 1))
    with pytest.raises(SpaceError, match=r"Unknown option 'focl' for 'loss'.*'loss\.focl\.gamma'"):
        space.set("loss.focl.gamma", Float(0, 1))
    with pytest.raises(SpaceError, match=r"Unknown path 'seed'"):
        space.set("seed", Int(0, 3))
    with pytest.raises(TypeError, match=r"must be set to a Float"):
        space.set("loss.focal.gamma", (0, 1))


def test_fix_checks_the_value_against_the_old_parameter(space):
    assert space.fix("loss.focal.gamma", 2)["loss.focal.gamma"] == Fixed(2.0)
    assert space.fix("batch_size", 128)["batch_size"] == Fixed(128)
    assert space.fix("epochs", 40)["epochs"] == Fixed(40)
    assert space.fix("optimizer.sgd.nesterov", False)["optimizer.sgd.nesterov"] == Fixed(False)
    fixed_loss = space.fix("loss", "focal")
    assert fixed_loss["loss"] == Choice(("focal",), children={"focal": {"gamma": Float(0, 5)}})
    assert space.fix("loss", "cross_entropy")["loss"] == Fixed("cross_entropy")
    with pytest.raises(SpaceError, match=r"7 is outside 'loss\.focal\.gamma', a float range"):
        space.fix("loss.focal.gamma", 7)
    with pytest.raises(SpaceError, match=r"Unknown option 'focl' for 'loss'"):
        space.fix("loss", "focl")
    with pytest.raises(SpaceError, match=r"'epochs' is fixed to 30; 40\.5 is not a value"):
        space.fix("epochs", 40.5)
    with pytest.raises(SpaceError, match=r"outside 'model\.mlp\.width', an integer range"):
        space.fix("model.mlp.width", 64.5)


def test_a_fixed_choice_is_not_walked_further(space):
    fixed = space.fix("loss", "cross_entropy")
    config = fixed.sample(fixed_pick({}))
    assert config["loss"] == "cross_entropy" and fixed.contains(config)


def test_to_dict_is_plain_data_that_apply_reads_back(space):
    data = space.to_dict()
    assert data["loss"] == ["cross_entropy", "focal", "gce"]
    assert data["optimizer.adamw.lr"] == {"low": 1e-4, "high": 1e-2, "log": True}
    assert data["epochs"] == 30
    assert space.apply(data) == space
    narrowed = space.restrict("loss", ["focal"]).set("model.mlp.width", Int(64, 128))
    assert space.apply(narrowed.to_dict()) == narrowed


def test_spaces_are_values(space):
    assert pickle.loads(pickle.dumps(space)) == space
    assert space != space.fix("epochs", 10)
    assert space != SearchSpace(dict(reversed(space.params.items()))), "order is part of a space"
    with pytest.raises(TypeError):
        hash(space)
    text = repr(space)
    assert text.startswith("SearchSpace(\n  loss: a choice of 'cross_entropy', 'focal', 'gce'\n")
    assert "\n    loss.focal.gamma: a float range [0.0, 5.0]\n" in text
    assert "\n  epochs: fixed to 30\n)" in text


def test_space_constructor_refuses_bad_names_and_values():
    with pytest.raises(ValueError, match=r"without '\.'"):
        SearchSpace({"loss.focal": Float(0, 1)})
    with pytest.raises(TypeError, match=r"SearchSpace\['lr'\] must be a Float"):
        SearchSpace({"lr": 0.1})


def test_random_walks_always_give_valid_configs(space, pick_random):
    rng = random.Random(0)
    configs = [space.sample(pick_random(rng)) for _ in range(100)]
    assert all(space.contains(c) for c in configs)
    assert {c["loss"] for c in configs} == {"cross_entropy", "focal", "gce"}


# -- conditions (When): a top-level parameter active under a top-level choice -----------------


def _family_space():
    return SearchSpace(
        {
            "model": Choice(("mlp", "gbm"), children={"gbm": {"leaves": Int(2, 8)}}),
            "loss": Choice(("ce", "focal")),
            "batch_size": Choice((32, 64)),
        },
        when={"batch_size": When("model", ("mlp",))},
    )


def test_a_conditional_parameter_is_active_only_under_its_options():
    space = _family_space()
    picks = {"model": "gbm", "model.gbm.leaves": 4, "loss": "ce", "batch_size": 32}
    assert space.sample(lambda path, param: picks[path]) == {
        "model": "gbm",
        "model.gbm.leaves": 4,
        "loss": "ce",
    }
    assert space.contains({"model": "mlp", "loss": "ce", "batch_size": 64})
    with pytest.raises(SpaceError, match=r"not active"):
        space.validate({"model": "gbm", "model.gbm.leaves": 4, "loss": "ce", "batch_size": 64})
    with pytest.raises(SpaceError, match=r"no value for 'batch_size'"):
        space.validate({"model": "mlp", "loss": "ce"})
    assert "batch_size: a choice of 32, 64 (when model in ['mlp'])" in repr(space)


def test_conditions_survive_narrowing_and_go_with_the_last_option_that_meets_them():
    space = _family_space()
    assert space.restrict("loss", ["focal"]).when == space.when
    assert space.set("loss", Choice(("ce",))).when == space.when
    gbm = space.restrict("model", ["gbm"])
    assert "batch_size" not in gbm.paths() and gbm.when == {}
    assert space.fix("model", "mlp").when == space.when
    assert space != SearchSpace(space.params)  # the same parameters without the condition


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ({"nope": When("model", ("mlp",))}, r"not a top-level parameter"),
        ({"model": When("loss", ("ce",))}, r"must be a top-level choice .* before it"),
        ({"loss": When("batch_size", (32,))}, r"must be a top-level choice .* before it"),
    ],
)
def test_bad_conditions_are_refused(when, message):
    with pytest.raises(SpaceError, match=message):
        SearchSpace(_family_space().params, when=when)
