"""search(strategy="transfer"): the budget split, the proxies' data, refusals, and one tiny
end-to-end search on digits whose recipe, MLflow run and plots carry the step-law fit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits

import losstune
from losstune.models import MODELS
from losstune.recipe import Recipe
from losstune.search.strategies.transfer import TransferPlan, training_subset
from losstune.spaces import Fixed, default_space

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def digits():
    return losstune.load_dataset(load_digits(), seed=0)


@pytest.mark.parametrize(
    ("n_trials", "confirm", "per_proxy"),
    [(20, 2, [9, 3, 3, 3]), (8, 2, [3, 1, 1, 1]), (40, 4, [18, 6, 6, 6])],
)
def test_the_trials_are_split_between_confirmation_and_proxies(n_trials, confirm, per_proxy):
    assert TransferPlan().split(n_trials, 4) == (confirm, per_proxy)
    assert confirm + sum(per_proxy) == n_trials


def test_too_few_trials_name_the_minimum():
    with pytest.raises(ValueError, match=r"over 4 proxies needs n_trials >= 8; got 7"):
        TransferPlan().split(7, 4)
    assert TransferPlan().split(4, 1) == (2, [2])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"widths": ()}, "widths must be whole numbers"),
        ({"widths": (0, 32)}, "widths must be whole numbers"),
        ({"fractions": (0.5, 1.0)}, r"fractions must be shares .* in \(0, 1\)"),
        ({"confirm_share": 1.0}, "confirm_share must be in"),
        ({"max_lr_factor": 0.5}, "max_lr_factor must be >= 1"),
        ({"alpha": float("nan")}, "alpha must be a finite number or None"),
    ],
)
def test_bad_plans_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TransferPlan(**kwargs)


def test_training_subset_is_seeded_stratified_and_leaves_valid_and_test(digits):
    half = training_subset(digits, 0.5, seed=3)
    again = training_subset(digits, 0.5, seed=3)
    other = training_subset(digits, 0.5, seed=4)
    assert len(half.y_train) == len(digits.y_train) // 2
    np.testing.assert_array_equal(half.X_train, again.X_train)
    assert not np.array_equal(half.X_train, other.X_train)
    np.testing.assert_array_equal(half.X_valid, digits.X_valid)
    np.testing.assert_array_equal(half.y_test, digits.y_test)
    # stratified: every class keeps half its rows, to within one
    assert np.all(np.abs(half.class_counts - digits.class_counts / 2) <= 1)
    np.testing.assert_array_equal(half.class_counts, np.bincount(half.y_train, minlength=10))
    assert half.fingerprint != digits.fingerprint != other.fingerprint
    assert training_subset(digits, 1.0) is digits
    with pytest.raises(ValueError, match="fraction must be in"):
        training_subset(digits, 0.0)


def test_bad_strategy_names_the_choices(digits, tmp_path):
    message = r"Unknown strategy 'transferred'. Did you mean 'transfer'\?"
    with pytest.raises(ValueError, match=message):
        losstune.search(digits, n_trials=8, run_dir=tmp_path, strategy="transferred")


@pytest.mark.parametrize(
    ("changes", "kwargs", "message"),
    [
        ({"model.mlp.parametrization": Fixed("standard")}, {}, "needs model.mlp.parametrization"),
        ({}, {"timeout": "1m"}, "pass n_trials"),
        ({}, {"n_trials": 5}, "needs n_trials >= 8; got 5"),
        ({}, {"models": ["lightgbm"]}, "which only the 'mlp' model has"),
    ],
)
def test_transfer_refuses_what_it_cannot_do_before_training(
    digits, tmp_path, changes, kwargs, message
):
    space = default_space(digits.task, epochs=2)
    for path, param in changes.items():
        space = space.set(path, param)
    with pytest.raises(ValueError, match=message):
        losstune.search(
            digits,
            space,
            metric="accuracy",
            run_dir=tmp_path,
            strategy="transfer",
            **{"n_trials": 8, **kwargs},
        )
    assert not (tmp_path / "optuna.db").exists()  # refused before any study was made


@pytest.fixture(scope="module")
def transfer_search(digits, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = losstune.search(
            digits,
            metric="accuracy",
            n_trials=8,
            epochs=3,
            top_k=1,
            n_seeds=1,
            run_dir=run_dir,
            device="cpu",
            strategy="transfer",
        )
    return result, run_dir, [str(w.message) for w in caught]


@pytest.mark.slow
def test_transfer_says_it_leaves_the_other_families_out(transfer_search):
    result, _, caught = transfer_search
    assert result.recipe.model.name == "mlp"
    assert any("searches the 'mlp' model only and leaves out 'lightgbm'" in m for m in caught)


@pytest.mark.slow
def test_the_recipe_is_the_full_mup_mlp_at_the_predicted_size(transfer_search, digits):
    result, _, _ = transfer_search
    recipe, record = result.recipe, result.recipe.provenance.transfer
    assert record is not None and record.fit.n_points == 4
    assert record.fit.lr.fixed == ("alpha",) and record.fit.alpha == 0.0  # μP, by default
    assert any("μP" in note for note in record.fit.notes)
    model = recipe.model.params
    assert (model["width"], model["depth"], model["parametrization"]) == (256, 2, "mup")
    full = MODELS.get("mlp")(width=256, depth=2).build(digits.n_features, 10)
    assert record.n_params == sum(p.numel() for p in full.parameters())
    assert record.samples == len(digits.y_train) * 3
    assert {p.samples for p in record.fit.points} == {
        len(training_subset(digits, f).y_train) * 3 for f in (0.25, 0.5)
    }
    # the confirmation searched the lr within x/÷2 of the prediction (and inside its interval,
    # and the optimizer's range), and the batch sizes next to the predicted one
    lr = recipe.torch.optimizer.params["lr"]
    allowed = default_space(digits.task)[f"optimizer.{recipe.torch.optimizer.name}.lr"]
    center = min(max(record.lr.value, allowed.low), allowed.high)
    assert center / 2 * (1 - 1e-9) <= lr <= center * 2 * (1 + 1e-9)
    if center == record.lr.value:
        assert record.lr.low * (1 - 1e-9) <= lr <= record.lr.high * (1 + 1e-9)
    sizes = (32, 64, 128, 256, 512)
    below = max([b for b in sizes if b <= record.batch_size.value], default=32)
    above = min([b for b in sizes if b >= record.batch_size.value], default=512)
    assert recipe.torch.batch_size in {below, above}
    assert list(result.stages["trials"]) == [3, 1, 1, 1, 2]
    assert result.stages["compute"].iloc[:4].sum() < result.stages["compute"].iloc[4]


@pytest.mark.slow
def test_the_parent_run_has_the_fit_plots_and_the_recipe_with_its_fit(transfer_search):
    result, run_dir, _ = transfer_search
    client = MlflowClient(result.tracking_uri)
    plots = {a.path for a in client.list_artifacts(result.mlflow_run_id, "plots")}
    assert {"plots/steplaw_lr.png", "plots/steplaw_batch.png", "plots/history.png"} <= plots
    for name in ("steplaw_lr", "steplaw_batch"):
        path = client.download_artifacts(result.mlflow_run_id, f"plots/{name}.png", str(run_dir))
        with open(path, "rb") as handle:
            assert handle.read(8) == PNG
    recipe_file = client.download_artifacts(result.mlflow_run_id, "recipe.yaml", str(run_dir))
    loaded = Recipe.load(recipe_file)
    assert loaded == result.recipe and loaded.provenance.transfer is not None
    parent = client.get_run(result.mlflow_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.params["strategy"] == "transfer"
    record = result.recipe.provenance.transfer
    assert parent.data.metrics["predicted_lr"] == pytest.approx(record.lr.value)
    assert parent.data.metrics["steplaw.alpha"] == pytest.approx(record.fit.alpha)
    runs = client.search_runs([parent.info.experiment_id], max_results=100)
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == result.mlflow_run_id]
    names = sorted(r.info.run_name.removesuffix(" (pruned)") for r in children)
    assert names == [f"trial-{n:04d}" for n in range(8)]
    stages = [r.data.params["stage"] for r in children]
    assert stages.count("full") == 2 and stages.count("proxy-w64-f0.5") == 3
