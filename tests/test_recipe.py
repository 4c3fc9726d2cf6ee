import pytest
import yaml

from losstune.objectives import LOSSES
from losstune.optim import OPTIMIZERS
from losstune.recipe import Component, Provenance, Recipe, RecipeError, Score
from losstune.task import Task


def full_recipe() -> Recipe:
    return Recipe(
        task="multiclass",
        metric="balanced_accuracy",
        loss=Component("focal", {"gamma": 1.5}),
        model=Component("mlp", {"width": 64, "depth": 1, "bias_init": "log_prior"}),
        temperature=0.5,
        weighting=Component("inverse_frequency", {"rho": 0.5}),
        optimizer=Component("lion", {"lr": 1e-4}),
        wrapper=Component("sam", {"rho": 0.1}),
        schedule=Component("wsd"),
        batch_size=64,
        epochs=7,
        seed=3,
        provenance=Provenance(
            dataset_fingerprint="abc",
            score=Score("balanced_accuracy", 0.8, 0.75, 0.85, 3),
        ),
    )


def test_yaml_round_trip_keeps_every_field(tmp_path):
    recipe = full_recipe()
    path = recipe.save(tmp_path / "sub" / "recipe.yaml")
    loaded = Recipe.load(path)
    assert loaded == recipe
    assert loaded.task is Task.MULTICLASS
    assert loaded.provenance.score.mean == 0.8
    data = yaml.safe_load(path.read_text())
    assert data["schema_version"] == 1
    # defaults are written out, so the file alone reproduces the run
    assert data["loss"] == {"name": "focal", "params": {"gamma": 1.5, "alpha": None}}
    assert (
        data["optimizer"]["params"]["lr"] == 1e-4 and "weight_decay" in data["optimizer"]["params"]
    )
    assert not list(tmp_path.glob("sub/.*tmp"))


def test_default_recipe_is_what_users_do_today():
    clf = Recipe.default("binary", metric="accuracy")
    assert clf.loss.name == "cross_entropy" and clf.weighting.name == "none"
    assert clf.optimizer.name == "adamw" and clf.optimizer.params["lr"] == 1e-3
    assert clf.schedule.name == "cosine" and clf.wrapper is None
    reg = Recipe.default(Task.REGRESSION)
    assert reg.loss.name == "mse" and reg.metric == "rmse"


def test_component_shorthand_and_missing_params_in_yaml():
    text = "schema_version: 1\ntask: binary\nmetric: roc_auc\nloss: gce\noptimizer: {name: sgd}\n"
    recipe = Recipe.from_yaml(text)
    assert recipe.loss == Component("gce", LOSSES.get("gce")().params())
    assert recipe.optimizer == Component("sgd", OPTIMIZERS.get("sgd")().params())


BASE = "schema_version: 1\ntask: binary\nmetric: accuracy\nloss: cross_entropy\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "colour: red\n", r"unknown key\(s\) \['colour'\]"),
        (BASE.replace("schema_version: 1", "schema_version: 9"), r"schema_version is 9"),
        (BASE.replace("schema_version: 1\n", ""), r"schema_version is None"),
        (BASE + "epochs: 0\n", r"recipe.epochs must be an integer >= 1; got 0"),
        (BASE + "batch_size: 12.5\n", r"recipe.batch_size must be an integer"),
        (BASE + "seed: -1\n", r"recipe.seed must be an integer >= 0"),
        (BASE + "temperature: 0\n", r"temperature must be a positive number; got 0"),
        (
            BASE.replace("loss: cross_entropy", "loss: crossentropy"),
            r"Did you mean 'cross_entropy'",
        ),
        (BASE.replace("loss: cross_entropy", "loss: mse"), r"'mse' does not apply to binary"),
        (BASE + "optimizer: {name: adamw, params: {lr: -1}}\n", r"recipe.optimizer: .*'lr'"),
        (BASE + "optimizer: {name: adamw, params: {learning_rate: 0.1}}\n", r"learning_rate"),
        (BASE + "loss: {name: focal, params: {gamma: -2}}\n", r"'gamma' must be >= 0"),
        (BASE + "model: {name: mlp, params: {dropout: 1.0}}\n", r"'dropout' must be < 1.0"),
        (BASE + "model: {name: mlp, paramz: {}}\n", r"unknown key\(s\) \['paramz'\]"),
        (BASE.replace("metric: accuracy", "metric: rmse"), r"'rmse' does not apply to binary"),
        (BASE.replace("task: binary", "task: ranking"), r"Unknown task 'ranking'"),
        (BASE.replace("loss: cross_entropy\n", ""), r"recipe.loss is missing"),
        ("- just\n- a list\n", r"must be a mapping"),
        ("task: [unclosed\n", r"not valid YAML"),
        (BASE + "provenance: {score: {metric: accuracy, mean: 1}}\n", r"provenance.score"),
    ],
)
def test_bad_recipes_are_refused_with_the_field_named(text, message):
    with pytest.raises(RecipeError, match=message):
        Recipe.from_yaml(text)


def test_regression_refuses_temperature_and_log_prior_bias():
    with pytest.raises(RecipeError, match="not softmax-based"):
        Recipe.default("regression").replace(temperature=2.0)
    with pytest.raises(RecipeError, match="log_prior"):
        Recipe.default("regression").replace(model=Component("mlp", {"bias_init": "log_prior"}))


def test_load_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        Recipe.load(tmp_path / "nope.yaml")


def test_transfer_provenance_round_trips_and_predicts_the_same(tmp_path):
    from losstune.recipe import TransferRecord
    from losstune.scaling.steplaw import StepLawPoint, fit_step_law

    noise = iter([1.1, 0.9, 1.0, 1.2, 0.8, 1.0, 0.95, 1.05])
    fit = fit_step_law(
        [
            StepLawPoint(n, d, 1e-3 * next(noise), 64 * (d / 1e4) ** 0.5 * next(noise))
            for n in (3e3, 9e3)
            for d in (1e4, 2e4)
        ]
    )
    record = TransferRecord(fit, 8.5e4, 4e4, fit.predict_lr(8.5e4, 4e4), fit.predict_batch(4e4))
    recipe = full_recipe().replace(provenance=Provenance(transfer=record))
    loaded = Recipe.load(recipe.save(tmp_path / "recipe.yaml"))
    assert loaded == recipe
    assert loaded.provenance.transfer.fit.predict_lr(8.5e4, 4e4) == record.lr
    data = recipe.to_dict()
    del data["provenance"]["transfer"]["fit"]["lr"]["residual_sd"]
    with pytest.raises(RecipeError, match=r"recipe.provenance.transfer: PowerLaw.from_dict"):
        Recipe.from_dict(data)
    data["provenance"]["transfer"] = {"fit": {}, "colour": 1}
    with pytest.raises(RecipeError, match=r"unknown key\(s\) \['colour'\]"):
        Recipe.from_dict(data)
