from pathlib import Path

import pytest
import yaml

from losstune.objectives import LOSSES
from losstune.optim import OPTIMIZERS
from losstune.recipe import (
    FIELD_DOMAINS,
    MAX_FILE_BYTES,
    Component,
    Provenance,
    Recipe,
    RecipeError,
    Score,
    TorchTraining,
)
from losstune.task import Task


def full_recipe() -> Recipe:
    return Recipe(
        task="multiclass",
        metric="balanced_accuracy",
        loss=Component("focal", {"gamma": 1.5}),
        model=Component("mlp", {"width": 64, "depth": 1, "bias_init": "log_prior"}),
        temperature=0.5,
        weighting=Component("inverse_frequency", {"rho": 0.5}),
        torch=TorchTraining(
            optimizer=Component("lion", {"lr": 1e-4}),
            wrapper=Component("sam", {"rho": 0.1}),
            schedule=Component("wsd"),
            batch_size=64,
            epochs=7,
        ),
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
    assert data["schema_version"] == 2
    # defaults are written out, so the file alone reproduces the run
    assert data["loss"] == {"name": "focal", "params": {"gamma": 1.5, "alpha": None}}
    optimizer = data["torch"]["optimizer"]
    assert optimizer["params"]["lr"] == 1e-4 and "weight_decay" in optimizer["params"]
    assert not list(tmp_path.glob("sub/.*tmp"))


def test_default_recipe_is_what_users_do_today():
    clf = Recipe.default("binary", metric="accuracy")
    assert clf.loss.name == "cross_entropy" and clf.weighting.name == "none"
    training = clf.torch
    assert training is not None and training.batch_size == 128 and training.epochs == 30
    assert training.optimizer.name == "adamw" and training.optimizer.params["lr"] == 1e-3
    assert training.schedule.name == "cosine" and training.wrapper is None
    reg = Recipe.default(Task.REGRESSION)
    assert reg.loss.name == "mse" and reg.metric == "rmse"


def test_component_shorthand_and_missing_params_in_yaml():
    text = "schema_version: 1\ntask: binary\nmetric: roc_auc\nloss: gce\noptimizer: {name: sgd}\n"
    recipe = Recipe.from_yaml(text)
    assert recipe.loss == Component("gce", LOSSES.get("gce")().params())
    assert recipe.torch.optimizer == Component("sgd", OPTIMIZERS.get("sgd")().params())


BASE = "schema_version: 1\ntask: binary\nmetric: accuracy\nloss: cross_entropy\n"
SCORE = "{metric: accuracy, mean: 0.9, low: 0.8, high: 1.0, n_seeds: 3}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "colour: red\n", r"unknown key\(s\) \['colour'\]"),
        (BASE.replace("schema_version: 1", "schema_version: 9"), r"schema_version is 9"),
        (BASE.replace("schema_version: 1\n", ""), r"schema_version is None"),
        (BASE + "epochs: 0\n", r"recipe.torch.epochs must be an integer in \[1, 10000\]; got 0"),
        (BASE + "epochs: 100000000\n", r"recipe.torch.epochs must be an integer in \[1, 10000\]"),
        (BASE + "batch_size: 12.5\n", r"recipe.torch.batch_size must be an integer"),
        (BASE + "batch_size: 10000000\n", r"recipe.torch.batch_size must be an integer in \[1, "),
        (BASE + "seed: -1\n", r"recipe.seed must be an integer in \[0, 4294967295\]; got -1"),
        (BASE + f"seed: {2**70}\n", rf"recipe.seed must be .*; got {2**70}"),
        (BASE + "seed: 2**70\n", r"recipe.seed must be .*; got '2\*\*70'"),
        (BASE + "seed: true\n", r"recipe.seed must be an integer"),
        (BASE + "temperature: 0\n", r"temperature must be a number in \[0.01, 100\]; got 0"),
        (BASE + "temperature: 1.0e+30\n", r"temperature must be a number in \[0.01, 100\]"),
        (BASE + "temperature: 1.0e-30\n", r"temperature must be a number in \[0.01, 100\]"),
        (BASE.replace("schema_version: 1", "schema_version: true"), r"schema_version is True"),
        (BASE.replace("schema_version: 1", "schema_version: 1.0"), r"schema_version is 1.0"),
        (
            BASE + f"model: {{name: mlp, params: {{width: {10**12}}}}}\n",
            r"'width' must be <= 65536",
        ),
        (
            BASE + f"model: {{name: mlp, params: {{width: {10**400}}}}}\n",
            r"'width' must be <= 65536",
        ),
        (
            BASE + "model: {name: mlp, params: {width: 65536, depth: 4}}\n",
            r"recipe.model: mlp: depth=4 layers of width=65536 .* lower the width or the depth",
        ),
        (BASE + "wrapper: {name: sam, params: {rho: 1.0e+9}}\n", r"'rho' must be <= 5"),
        (BASE + "loss: {name: focal, params: {gamma: 1.0e+30}}\n", r"'gamma' must be <= 20"),
        (
            BASE + f"loss: {{name: focal, params: {{gamma: {10**400}}}}}\n",
            r"'gamma' must be a number in \[0, 20\]; got an integer too large for a float",
        ),
        (BASE + "loss: null\n", r"recipe.loss cannot be null"),
        (BASE + "schedule: null\n", r"recipe.torch.schedule cannot be null"),
        (BASE + "optimizer: {name: [adamw]}\n", r"recipe.torch.optimizer.name must be a name"),
        (BASE.replace("metric: accuracy", "metric: [accuracy]"), r"recipe.metric must be a metric"),
        (
            BASE.replace("loss: cross_entropy", "loss: crossentropy"),
            r"Did you mean 'cross_entropy'",
        ),
        (BASE.replace("loss: cross_entropy", "loss: mse"), r"'mse' does not apply to binary"),
        (BASE + "optimizer: {name: adamw, params: {lr: -1}}\n", r"recipe.torch.optimizer: .*'lr'"),
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
        (BASE + "provenance: {score: " + SCORE.replace("0.9", "high") + "}\n", r"Score.mean must"),
        (BASE + "provenance: {score: " + SCORE.replace("0.9", "'0.9'") + "}\n", r"Score.mean must"),
        (BASE + "provenance: {score: " + SCORE.replace("3}", "0}") + "}\n", r"Score.n_seeds must"),
        (BASE + "provenance: {search_id: [1, 2]}\n", r"recipe.provenance.search_id must be text"),
        (
            BASE
            + "provenance: {transfer: {fit: 1, n_params: 1, samples: 1, lr: 1, batch_size: 1}}\n",
            r"recipe.provenance.transfer",
        ),
        ("a: " + "[" * 5000 + "]" * 5000 + "\n", r"nests too deeply"),
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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)), r"is not UTF-8 text \(byte 0x80 at offset 128\)"),
        (b"\x00\x01\x02", r"not valid YAML"),
        (b"x" * (MAX_FILE_BYTES + 1), r"a recipe is a small YAML file"),
        ((BASE + f"seed: {2**70}\n").encode(), r"recipe.seed must be an integer in \[0, "),
    ],
)
def test_load_refuses_files_that_are_not_recipes_with_a_recipe_error(tmp_path, content, message):
    path = tmp_path / "recipe.yaml"
    path.write_bytes(content)
    with pytest.raises(RecipeError, match=message):
        Recipe.load(path)


def test_load_of_an_unreadable_file_is_a_recipe_error(tmp_path, monkeypatch):
    path = Recipe.default("binary", "accuracy").save(tmp_path / "recipe.yaml")

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(RecipeError, match=r"recipe.yaml' cannot be read: Permission denied"):
        Recipe.load(path)


def test_field_domains_are_bounded_and_hold_the_defaults():
    defaults = Recipe.default("binary", "accuracy")
    for name, domain in FIELD_DOMAINS.items():
        assert domain.bounded, name
        holder = defaults.torch if name in ("batch_size", "epochs") else defaults
        assert domain.contains(getattr(holder, name)), name
        assert not domain.contains(domain.high + 1), name
    assert FIELD_DOMAINS["seed"].high == 2**32 - 1, "NumPy's RandomState takes seeds < 2**32"
    assert Recipe.default("binary", "accuracy").replace(seed=2**32 - 1).seed == 2**32 - 1


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


# -- schema v2: the torch block belongs to torch-trained families ------------------------------


def test_a_version_1_file_is_read_into_the_torch_block_and_written_as_version_2(tmp_path):
    text = BASE + "optimizer: {name: lion, params: {lr: 1.0e-4}}\nbatch_size: 64\nepochs: 7\n"
    recipe = Recipe.from_yaml(text)
    assert recipe.torch == TorchTraining(
        optimizer=Component("lion", {"lr": 1e-4}), batch_size=64, epochs=7
    )
    data = yaml.safe_load(recipe.save(tmp_path / "r.yaml").read_text())
    assert data["schema_version"] == 2 and "optimizer" not in data and "epochs" not in data
    assert data["torch"]["batch_size"] == 64 and data["torch"]["epochs"] == 7
    assert Recipe.load(tmp_path / "r.yaml") == recipe


def test_a_lightgbm_recipe_has_no_torch_block_and_refuses_one():
    recipe = Recipe.default("binary", "accuracy", model="lightgbm")
    assert recipe.torch is None and "torch" not in recipe.to_dict()
    assert recipe.model.params["num_leaves"] == 31 and recipe.max_epochs == 100  # 1000 / 10
    assert Recipe.from_yaml(recipe.to_yaml()) == recipe
    with pytest.raises(RecipeError, match=r"recipe.torch: the 'lightgbm' model does not train"):
        recipe.replace(torch=TorchTraining())
    with pytest.raises(RecipeError, match=r"\['epochs'\] belong to a torch-trained model"):
        recipe.replace(epochs=3)
    with pytest.raises(RecipeError, match=r"the 'lightgbm' model has no optimizer"):
        recipe.build("optimizer")
    text = recipe.to_yaml() + "torch: {epochs: 3}\n"
    with pytest.raises(RecipeError, match=r"recipe.torch: the 'lightgbm' model does not train"):
        Recipe.from_yaml(text)


def test_replace_routes_the_torch_fields_into_the_torch_block():
    recipe = Recipe.default("binary", "accuracy").replace(epochs=5, batch_size=32, seed=2)
    assert recipe.torch.epochs == 5 and recipe.torch.batch_size == 32 and recipe.seed == 2
    assert recipe.max_epochs == 5 and recipe.build("schedule").name == "cosine"
    with pytest.raises(RecipeError, match=r"recipe.torch.epochs must be an integer"):
        recipe.replace(epochs=0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.replace("1", "2", 1) + "epochs: 3\n", r"unknown key\(s\) \['epochs'\]"),
        (BASE.replace("1", "2", 1) + "torch: [1]\n", r"recipe.torch must be a mapping"),
        (BASE.replace("1", "2", 1) + "torch: {epoch: 3}\n", r"recipe.torch: unknown key"),
        (BASE.replace("1", "2", 1) + "torch: {optimizer: null}\n", r"optimizer cannot be null"),
        (
            BASE + "model: {name: lightgbm, params: {num_leaves: 1}}\n",
            r"'num_leaves' must be >= 2",
        ),
        (BASE + "model: {name: lightgbm}\nepochs: 3\n", r"'lightgbm' model does not train"),
    ],
)
def test_bad_version_2_recipes_name_the_field(text, message):
    with pytest.raises(RecipeError, match=message):
        Recipe.from_yaml(text)
