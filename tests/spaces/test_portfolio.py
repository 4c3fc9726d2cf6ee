"""The warm-start portfolio: its file's shape, its members fitted to a space, and the one
shipped in the package."""

from __future__ import annotations

import pytest
import yaml

from losstune.recipe import Component, Recipe
from losstune.spaces import default_space, recipe_to_config
from losstune.spaces.portfolio import REGIMES, Portfolio, PortfolioError


def _doc(space, **orders):
    smoothed = Recipe.default("multiclass", "accuracy").replace(
        loss=Component("label_smoothing", {"eps": 0.1})
    )
    booster = Recipe.default("multiclass", "accuracy", model="lightgbm")
    members = {
        "smooth": {"config": recipe_to_config(smoothed, space), "note": "label smoothing"},
        "booster": {"config": recipe_to_config(booster, space)},
        "default": {"config": recipe_to_config(Recipe.default("multiclass", "accuracy"), space)},
    }
    return {"version": 1, "members": members, "orders": orders}


def test_members_are_fitted_to_the_space_skipped_when_it_cannot_hold_them():
    wide = default_space("multiclass", epochs=30)
    portfolio = Portfolio.from_dict(_doc(wide, noisy=["default", "smooth", "booster"]))
    narrow = default_space("multiclass", epochs=4, models=["mlp"])
    default = recipe_to_config(Recipe.default("multiclass", "accuracy").replace(epochs=4), narrow)
    chosen = portfolio.configs("noisy", narrow, limit=5, skip=default)
    # the default is already a trial; LightGBM is outside an MLP-only space
    assert [member.name for member, _ in chosen] == ["smooth"]
    ((_, config),) = chosen
    assert config["epochs"] == 4 and config["loss"] == "label_smoothing"
    assert narrow.contains(config)
    assert portfolio.configs("clean", narrow, limit=5) == []  # no order for this regime
    both = portfolio.configs("noisy", wide, limit=2)
    assert [member.name for member, _ in both] == ["default", "smooth"]  # the limit holds


def test_a_portfolio_file_round_trips_and_bad_ones_are_refused(tmp_path):
    space = default_space("multiclass", epochs=30)
    path = tmp_path / "portfolio.yaml"
    path.write_text(yaml.safe_dump(_doc(space, clean=["booster"])))
    loaded = Portfolio.load(path)
    assert loaded.order("clean")[0].config["model"] == "lightgbm"
    assert loaded.members["smooth"].note == "label smoothing"
    with pytest.raises(PortfolioError, match="unknown member"):
        Portfolio.from_dict(_doc(space, clean=["nope"]))
    with pytest.raises(PortfolioError, match="unknown regime"):
        Portfolio.from_dict(_doc(space, sunny=["smooth"]))
    with pytest.raises(PortfolioError, match="version: 1"):
        Portfolio.from_dict({"members": {}, "orders": {}})
    with pytest.raises(PortfolioError, match="Unknown regime"):
        loaded.order("stormy")
    with pytest.raises(PortfolioError, match="Cannot read"):
        Portfolio.load(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("members: [")
    with pytest.raises(PortfolioError, match="not valid YAML"):
        Portfolio.load(tmp_path / "bad.yaml")


def test_the_shipped_portfolio_orders_every_regime_with_configs_of_the_default_space():
    portfolio = Portfolio.load()
    assert portfolio.built_by.startswith("python -m benchmarks.portfolio")
    for regime in REGIMES:
        members = portfolio.order(regime)
        assert 1 <= len(members) <= 16, regime
        task = "regression" if regime.startswith("regression") else "multiclass"
        space = default_space(task, epochs=30)
        fitted = portfolio.configs(regime, space, limit=len(members))
        assert len(fitted) == len(members), (regime, [m.name for m in members])
