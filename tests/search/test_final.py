import pytest
from sklearn.datasets import load_diabetes, load_wine

from losstune.data import load_dataset
from losstune.metrics import get_metric
from losstune.recipe import Component, Recipe
from losstune.search.final import same_recipe, select_final


@pytest.fixture(scope="module")
def wine():
    return load_dataset(load_wine())


def test_default_among_candidates_is_trained_once_and_frame_marks_the_winner(wine):
    default = Recipe.default(wine.task, metric="accuracy").replace(epochs=3)
    other = default.replace(loss=Component("focal"), seed=9)
    calls = []
    selection = select_final(
        [other, default],
        default,
        wine,
        (1, 2),
        get_metric("accuracy", wine.task),
        on_done=lambda: calls.append(1),
    )
    assert len(calls) == 6  # 2 candidates x 2 seeds + 2 advances for the reused default
    assert selection.default is selection.candidates[1]
    frame = selection.frame()
    assert len(frame) == 4 and frame["selected"].sum() == 2 and frame["is_default"].sum() == 2
    winner = max(selection.candidates, key=lambda run: run.valid_mean)
    assert selection.best is winner
    expected = selection.best.test_score().mean - selection.default.test_score().mean
    assert selection.margin == pytest.approx(expected)
    assert selection.best.recipe.seed == 1  # the recipe re-trains on its first seed


def test_margin_is_positive_when_lower_is_better_and_the_recipe_wins():
    data = load_dataset(load_diabetes())
    default = Recipe.default(data.task).replace(
        epochs=2, optimizer=Component("adamw", {"lr": 1e-4})
    )
    better = default.replace(epochs=40, optimizer=Component("adamw", {"lr": 3e-3}))
    selection = select_final([better], default, data, (1,), get_metric("rmse", data.task))
    assert selection.best.test_score().mean < selection.default.test_score().mean
    assert selection.margin > 0


def test_same_recipe_ignores_seed_and_provenance(wine):
    a = Recipe.default(wine.task, metric="accuracy")
    assert same_recipe(a, a.replace(seed=5))
    assert not same_recipe(a, a.replace(temperature=2.0))
    with pytest.raises(ValueError, match="at least one candidate"):
        select_final([], a, wine, (1,), get_metric("accuracy", wine.task))
