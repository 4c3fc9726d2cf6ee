"""The portfolio builder's pure parts on hand-made runs (no training): normalisation, greedy
selection, leave-one-dataset-out, regimes, the YAML, the pool and the CLI's checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks import portfolio
from benchmarks import portfolio_build as pb
from benchmarks import portfolio_cases as cases
from benchmarks.portfolio_pool import Candidate, build_pool
from benchmarks.portfolio_record import RecordPlan, plan_jobs, read_pool, write_pool
from losstune.spaces.portfolio import REGIMES


def runs_frame(table, kind="classification", higher=True, regimes=None, seeds=(0,)):
    """Runs rows from ``{(dataset, variant): {candidate: score}}`` (the same on every seed)."""
    rows = []
    for (dataset, variant), scores in table.items():
        for seed in seeds:
            for name, score in scores.items():
                rows.append(
                    dict(
                        dataset=dataset,
                        variant=variant,
                        seed=seed,
                        candidate=name,
                        kind=kind,
                        regime=(regimes or {}).get((dataset, variant), "clean"),
                        metric="accuracy" if higher else "rmse",
                        greater_is_better=higher,
                        test_score=score,
                        valid_score=score,
                        error="" if score == score else "TrainingDiverged: nan",
                    )
                )
    return pd.DataFrame(rows)


def test_normalised_direction_and_failures():
    assert pb.normalised([0.9, 0.8, 0.85], True).tolist() == pytest.approx([1.0, 0.0, 0.5])
    # lower is better (RMSE): the smallest error is the best
    assert pb.normalised([1.0, 3.0, 2.0], False).tolist() == pytest.approx([1.0, 0.0, 0.5])
    assert pb.normalised([2.0, math.nan], False).tolist() == [1.0, 0.0]  # failed = worst
    assert pb.normalised([0.5, 0.5], True).tolist() == [1.0, 1.0]  # a tie: no regret
    assert pb.normalised([math.nan, math.nan], True).tolist() == [0.0, 0.0]
    median = pb.normalised([1.0, 2.0, 3.0, 4.0, 5.0], True, reference="median")
    assert median.tolist() == pytest.approx([0.0, 0.0, 0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="reference"):
        pb.normalised([1.0], True, reference="best")


def test_regrets_lower_is_better_mean_over_seeds_and_incomplete_cases_dropped():
    runs = runs_frame({("d", "clean"): {"a": 1.0, "b": 3.0, "c": 2.0}}, "regression", False,
                      seeds=(0, 1))  # fmt: skip
    runs.loc[(runs["seed"] == 1) & (runs["candidate"] == "a"), "test_score"] = 3.0
    partial = runs_frame({("e", "clean"): {"a": 1.0}}, "regression", False)
    got = pb.regrets(pd.concat([runs, partial]), {"regression": ["a", "b", "c"]})
    assert got.matrix.loc[("d", "clean")].tolist() == pytest.approx([0.5, 1.0, 0.25])
    assert got.cases.loc[("d", "clean"), "seeds"] == (0, 1)
    assert got.dropped == (("e", "clean", 0),)
    with pytest.raises(ValueError, match="No complete"):
        pb.regrets(partial, {"regression": ["a", "b"]})


def test_greedy_picks_the_obviously_best_first_and_its_curve_never_rises():
    matrix = np.array([[0.5, 0.0, 0.9], [0.5, 0.1, 0.0], [0.5, 0.0, 0.8]])
    order, curve = pb.greedy(matrix, 3)
    assert order[0] == 1  # best on average
    assert order[1] == 2  # fixes the only case where 1 is not perfect
    assert curve[:2] == pytest.approx([0.1 / 3, 0.0])
    rng = np.random.default_rng(0)
    for _ in range(20):
        _, curve = pb.greedy(rng.random((7, 12)), 12)
        assert all(b <= a + 1e-12 for a, b in zip(curve, curve[1:], strict=False))
    with pytest.raises(ValueError, match="size"):
        pb.greedy(matrix, 0)


def test_greedy_ties_go_to_lower_mean_then_to_the_pool_order():
    matrix = np.array([[0.0, 0.0, 0.0], [1.0, 0.5, 0.5]])
    assert pb.greedy(matrix, 1)[0] == [1]  # 1 and 2 tie on every count: the earlier one


def _two_datasets() -> pb.Regrets:
    table = {
        ("x", "clean"): {"good": 0.9, "ok": 0.8, "bad": 0.1},
        ("x", "noise20"): {"good": 0.5, "ok": 0.8, "bad": 0.1},
        ("y", "clean"): {"good": 0.9, "ok": 0.85, "bad": 0.2},
    }
    regimes = {("x", "noise20"): "noisy"}
    return pb.regrets(runs_frame(table, regimes=regimes), {"classification": ["good", "ok", "bad"]})


def test_leave_out_removes_the_dataset_and_regimes_fall_back():
    regrets = _two_datasets()
    out = regrets.without("x")
    assert set(out.cases.index.get_level_values("dataset")) == {"y"}
    with pytest.raises(KeyError, match="no cases|No cases"):
        regrets.without("z")
    built = pb.build(out, 2)
    assert built.fallback == {
        "noisy": "classification",
        "imbalanced": "classification",
        "regression": "none",
        "regression_outliers": "none",
    }
    assert built.orders["noisy"] == built.orders["clean"] == ("good", "ok")
    full = pb.build(regrets, 2)
    assert full.orders["noisy"][0] == "ok"
    lodo = pb.leave_one_out(regrets, 2, {"classification": "good"})
    row = lodo[(lodo["dataset"] == "x") & (lodo["regime"] == "noisy")].iloc[0]
    assert row["full@1"] == 0.0 and row["lodo@1"] > 0.0  # its own dataset made "ok" first
    assert row["lodo_fallback"] == "classification"
    # the default recipe runs first: default + k is never worse than the default alone
    assert (lodo["lodo+2"] <= lodo["default"] + 1e-12).all()
    assert (lodo["full+2"] <= lodo["full@2"] + 1e-12).all()


def test_yaml_round_trip(tmp_path):
    regrets = _two_datasets()
    built = pb.build(regrets, 2)
    configs = {
        "good": {"model": "mlp", "model.mlp.width": 256, "optimizer.adamw.lr": 0.00123456789},
        "ok": {"model": "lightgbm", "loss": "gce", "loss.gce.q": 0.7, "temperature": 1.0},
        "bad": {"model": "mlp"},
    }
    candidates = {
        n: Candidate(n, "classification", c, f"{n} one", "hand") for n, c in configs.items()
    }
    doc = pb.portfolio_document(
        built,
        candidates,
        built_by="python -m benchmarks.portfolio build",
        built_from={"runs": "r.csv", "commit": "abc", "cases": 3, "seeds": [0], "left_out": None},
    )
    back = yaml.safe_load(pb.dump_yaml(doc))
    assert back == doc
    assert list(back) == ["version", "built_by", "built_from", "members", "orders", "regret",
                          "fallback"]  # fmt: skip
    assert set(back["orders"]) == set(REGIMES)
    assert back["members"]["good"]["config"]["optimizer.adamw.lr"] == 0.00123456789
    for regime, order in back["orders"].items():
        assert set(order) <= set(back["members"]), regime
        assert len(back["regret"][regime]) == len(order)


def test_regimes_from_variants_and_from_the_data():
    assert cases.case_regime("noise20", None) == "noisy"  # type: ignore[arg-type]
    assert cases.case_regime("pairnoise20", None) == "noisy"  # type: ignore[arg-type]
    assert cases.case_regime("longtail50", None) == "imbalanced"  # type: ignore[arg-type]
    assert cases.case_regime("outliers5", None) == "regression_outliers"  # type: ignore[arg-type]


def test_target_outliers_damage_training_and_validation_only():
    from benchmarks.quality_cases import load_clean

    clean = load_clean("diabetes", 0)
    assert cases.case_regime("clean", clean) == "regression"
    damaged = cases.VARIANTS["outliers5"].damage(clean, 0)
    assert np.array_equal(damaged.y_test, clean.y_test)
    changed = np.mean(damaged.y_train != clean.y_train)
    assert changed == pytest.approx(0.05, abs=0.01)
    assert cases.data_regime(damaged) == "regression_outliers"
    assert damaged.fingerprint != clean.fingerprint
    assert not cases.VARIANTS["outliers5"].applies_to(load_clean("wine", 0))
    with pytest.raises(ValueError, match="regression"):
        cases.with_target_outliers(load_clean("wine", 0), 0.05)


def test_pool_is_valid_named_once_default_first_and_round_trips(tmp_path):
    from losstune.spaces import config_to_recipe

    pools = [build_pool(kind, n_random=4) for kind in ("classification", "regression")]
    for pool in pools:
        names = [c.name for c in pool.candidates]
        assert len(names) == len(set(names))
        assert pool.candidates[0].source == "default"
        assert {c.family for c in pool.candidates} == {"mlp", "lightgbm"}
        assert pool.dropped == ()
    default = pools[0].candidates[0]
    recipe = config_to_recipe(default.config, task="binary", metric="accuracy")
    assert (recipe.loss.name, recipe.torch.optimizer.name, recipe.torch.epochs) == (
        "cross_entropy",
        "adamw",
        30,
    )
    assert (
        build_pool("regression", n_random=4).candidates[-1].config_id
        == pools[1].candidates[-1].config_id
    )
    path = tmp_path / "pool.csv"
    write_pool(path, [c for p in pools for c in p.candidates])
    back = read_pool(path)
    assert [c.config_id for c in back] == [c.config_id for p in pools for c in p.candidates]


def test_record_plan_skips_rows_done_seed_by_seed(tmp_path):
    a = Candidate("a", "classification", {"model": "mlp"}, "", "hand")
    b = Candidate("b", "classification", {"model": "lightgbm"}, "", "hand")
    plan = RecordPlan(
        cases=(("wine", "clean"), ("wine", "noise20")),
        seeds=(0, 1),
        pools={"classification": (a, b)},
        csv=tmp_path / "runs.csv",
    )
    done = {("wine", "clean", "0", "a", a.config_id)}
    jobs = plan_jobs(plan, done, {"wine": "classification"})
    assert [(j.variant, j.seed, len(j.candidates)) for j in jobs] == [
        ("clean", 0, 1),
        ("noise20", 0, 2),
        ("clean", 1, 2),
        ("noise20", 1, 2),
    ]


def test_cli_checks_and_case_selection():
    with pytest.raises(SystemExit, match="8..16"):
        portfolio.parse_args(["build", "--size", "4"])
    with pytest.raises(SystemExit, match="--out"):
        portfolio.parse_args(["build", "--leave-out", "digits"])
    assert portfolio.parse_args(["build"]).out == portfolio.SHIPPED
    assert portfolio._cases("wine", "clean,longtail50") == (
        ("wine", "clean"),
        ("wine", "longtail50"),
    )
    with pytest.raises(SystemExit, match="Unknown"):
        portfolio._cases("nope", None)


def test_members_that_lower_the_curve_and_the_fill():
    built = pb.Portfolio(
        orders={"clean": ("a", "b", "c", "d")},
        regret={"clean": (0.3, 0.1, 0.1, 0.05)},
        cases={"clean": 2},
    )
    assert built.lowering("clean") == ("a", "b", "d")
    assert built.lowering("noisy") == ()
    assert built.members == ("a", "b", "c", "d")
