import pytest

from losstune.models import MODELS
from losstune.objectives import LOSSES, WEIGHTINGS, temperature_space
from losstune.optim import OPTIMIZERS, SCHEDULES, WRAPPERS
from losstune.recipe import Recipe
from losstune.spaces import Choice, Fixed, default_space
from losstune.task import Task

TASKS = list(Task)


def usable(registry, task):
    return {name for name, member in registry.items() if task in member.tasks}


@pytest.mark.parametrize("task", TASKS)
def test_top_level_order(task):
    names = list(default_space(task).params)
    expected = ["model", "loss", "temperature", "weighting", "optimizer", "wrapper", "schedule"]
    if not task.is_classification:
        expected.remove("temperature")
    assert names == [*expected, "batch_size", "epochs"]


@pytest.mark.parametrize("task", TASKS)
def test_every_registered_member_that_applies_is_an_option(task):
    space = default_space(task)
    assert set(space["model"].options) == set(MODELS.names())
    assert set(space["loss"].options) == usable(LOSSES, task)
    assert set(space["weighting"].options) == usable(WEIGHTINGS, task)
    assert set(space["optimizer"].options) == set(OPTIMIZERS.names())
    assert set(space["schedule"].options) == set(SCHEDULES.names())
    assert space["wrapper"].options == ("none", *WRAPPERS.names())


@pytest.mark.parametrize(
    ("field", "registry"),
    [
        ("loss", LOSSES),
        ("weighting", WEIGHTINGS),
        ("optimizer", OPTIMIZERS),
        ("wrapper", WRAPPERS),
        ("schedule", SCHEDULES),
    ],
)
@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS])
def test_children_are_each_members_declared_ranges(task, field, registry):
    space = default_space(task)
    for name in space[field].options:
        if name in registry:
            expected = {f"{field}.{name}.{hp}": p for hp, p in registry.get(name).space().items()}
            found = {p: v for p, v in space.paths().items() if p.startswith(f"{field}.{name}.")}
            assert found == expected


@pytest.mark.parametrize("task", TASKS)
def test_option_lists_start_with_the_default_recipe(task):
    space, default = default_space(task), Recipe.default(task)
    fields = ("model", "loss", "weighting", "optimizer", "wrapper", "schedule")
    first = {field: space[field].options[0] for field in fields}
    assert first == {
        "model": default.model.name,
        "loss": default.loss.name,
        "weighting": "none",
        "optimizer": "adamw",
        "wrapper": "none",
        "schedule": "cosine",
    }
    assert first["model"] == "mlp"
    assert first["loss"] == ("mse" if task is Task.REGRESSION else "cross_entropy")


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS])
def test_classification_searches_the_temperature_of_softmax_losses(task):
    space = default_space(task)
    assert space["temperature"] == temperature_space()
    assert all(LOSSES.get(name).softmax_based for name in space["loss"].options)
    assert space["model.mlp.bias_init"] == Choice(("zero", "log_prior"))


def test_regression_space():
    space = default_space("regression")
    assert {"mse", "mae", "huber", "log_cosh"} <= set(space["loss"].options)
    assert "temperature" not in space.paths()
    assert "cross_entropy" not in space["loss"].options
    assert all(Task.REGRESSION in WEIGHTINGS.get(n).tasks for n in space["weighting"].options)
    assert "inverse_frequency" not in space["weighting"].options
    assert space["model.mlp.bias_init"] == Fixed("zero"), "log_prior needs classes"


def test_the_rest_is_fixed_or_a_short_list():
    space = default_space("binary", epochs=12)
    assert space["batch_size"] == Choice((32, 64, 128, 256, 512))
    assert space["epochs"] == Fixed(12)
    assert default_space("binary") == default_space(Task.BINARY)


# -- two model families ----------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_both_families_share_loss_temperature_and_weighting_and_only_the_mlp_has_torch_fields(
    task,
):
    space = default_space(task)
    assert space["model"].options == ("mlp", "lightgbm")
    assert set(space.when) == {"optimizer", "wrapper", "schedule", "batch_size", "epochs"}
    assert all(when.path == "model" and when.options == ("mlp",) for when in space.when.values())
    assert "loss" not in space.when and "weighting" not in space.when
    lightgbm = space.sample(lambda path, param: "lightgbm" if path == "model" else _first(param))
    assert "optimizer" not in lightgbm and "batch_size" not in lightgbm
    assert lightgbm["model.lightgbm.num_leaves"] == 8 and "loss" in lightgbm
    mlp = space.sample(lambda path, param: _first(param))
    assert mlp["optimizer"] == "adamw" and mlp["epochs"] == 30


def _first(param):
    if isinstance(param, Choice):
        return param.options[0]
    return param.value if isinstance(param, Fixed) else param.low


def test_models_narrows_the_families():
    only = default_space("binary", models=["lightgbm"])
    assert only["model"].options == ("lightgbm",)
    assert list(only.params) == ["model", "loss", "temperature", "weighting"] and not only.when
    assert default_space("binary", models=["mlp"]) == default_space("binary").restrict(
        "model", ["mlp"]
    )
    assert default_space("binary", models=["lightgbm", "mlp"])["model"].options == (
        "lightgbm",
        "mlp",
    )


@pytest.mark.parametrize(
    ("models", "error", "message"),
    [
        (["xgboost"], KeyError, r"Unknown model 'xgboost'"),
        (["lightgmb"], KeyError, r"Did you mean 'lightgbm'"),
        ([], ValueError, r"non-empty list of model families"),
        ("mlp", ValueError, r"non-empty list of model families"),
        (["mlp", "mlp"], ValueError, r"repeat"),
    ],
)
def test_bad_models_are_refused(models, error, message):
    with pytest.raises(error, match=message):
        default_space("binary", models=models)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("model", MODELS.names())
def test_each_familys_default_recipe_is_a_point_of_the_default_space(task, model):
    """So a search can enqueue it as its first trial (the baseline it is measured against)."""
    from losstune.spaces import recipe_in_space

    assert recipe_in_space(Recipe.default(task, model=model), default_space(task))
