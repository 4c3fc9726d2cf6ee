"""The warm-start benchmark: anytime curves from hand-made trials, trials-to-reach, the
Nemenyi critical difference against Demšar's table, leave-one-dataset-out portfolios, the
goal checks on hand-made numbers, the run plan, and a tiny run end to end."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from benchmarks import quality_anytime as anytime
from benchmarks import quality_portfolios as qp
from benchmarks import quality_ranks as ranks
from benchmarks import warm_start as ws
from benchmarks import warm_start_report as wr
from benchmarks.contenders import Budget
from benchmarks.contenders.base import TrialRecord
from benchmarks.portfolio_pool import Candidate
from benchmarks.quality import Config
from benchmarks.quality_report import summarize


def test_incumbents_of_a_fake_leaderboard_best_first():
    board = pd.DataFrame(  # as result.leaderboard() orders it: best complete first
        {
            "trial": [3, 0, 4, 1, 2],
            "state": ["complete", "complete", "complete", "pruned", "failed"],
            "value": [0.9, 0.8, 0.9, 0.95, math.nan],
        }
    )
    got = anytime.incumbents(board, greater_is_better=True)
    # the pruned trial's 0.95 never counts; trial 4 ties trial 3, which keeps it
    assert got.index.tolist() == [1, 2, 3, 4, 5]
    assert got.tolist() == [0.0, 0.0, 0.0, 3.0, 3.0]
    lower = anytime.incumbents(board.assign(state="complete", value=[3, 5, 1, 4, 9]), False)
    assert lower.tolist() == [0.0, 1.0, 1.0, 3.0, 4.0]
    late = pd.DataFrame({"trial": [0, 1], "state": ["pruned", "complete"], "value": [1.0, 0.5]})
    assert np.isnan(anytime.incumbents(late, True).iloc[0])


def test_trace_retrains_each_distinct_incumbent_once():
    trials = [
        TrialRecord(0, "complete", 0.80, "default", '{"a": 0}'),
        TrialRecord(1, "complete", 0.70, "portfolio", '{"a": 1}'),
        TrialRecord(2, "complete", 0.85, "portfolio", '{"a": 2}'),
        TrialRecord(3, "pruned", math.nan, "sampler", '{"a": 3}'),
        TrialRecord(4, "complete", 0.85, "sampler", '{"a": 2}'),  # same config, not better
    ]
    calls = []

    def scores(config):
        calls.append(config)
        return 0.5, {'{"a": 0}': 0.6, '{"a": 2}': 0.7}[config]

    rows = anytime.trace(trials, True, scores)
    assert calls == ['{"a": 0}', '{"a": 2}']
    assert [r["incumbent"] for r in rows] == [0, 0, 2, 2, 2]
    assert [r["incumbent_test"] for r in rows] == [0.6, 0.6, 0.7, 0.7, 0.7]
    assert [r["origin"] for r in rows][:3] == ["default", "portfolio", "portfolio"]
    assert rows[2]["incumbent_origin"] == "portfolio" and rows[0]["rerun_valid"] == 0.5
    assert anytime.trace([], True, scores) == []


def _trace(curves: dict) -> pd.DataFrame:
    """Anytime rows from {(dataset, variant, seed, contender): [incumbent test per k]}."""
    return pd.DataFrame(
        [
            {"dataset": d, "variant": v, "seed": s, "contender": c, "k": k,
             "greater_is_better": True, "incumbent_test": value}
            for (d, v, s, c), values in curves.items()
            for k, value in enumerate(values, start=1)
        ]
    )  # fmt: skip


def _rows(scores: dict, damaged=("noise40",)) -> pd.DataFrame:
    """Benchmark rows from {(dataset, variant, contender): [test score per seed]}."""
    return pd.DataFrame(
        [
            {"dataset": d, "variant": v, "seed": seed, "contender": c, "damaged": v in damaged,
             "task": "multiclass", "metric": "accuracy", "greater_is_better": True,
             "valid_score": s, "test_score": s, "seconds": 1.0, "n_trials": 4, "error": "",
             "note": ""}
            for (d, v, c), values in scores.items()
            for seed, s in enumerate(values)
        ]
    )  # fmt: skip


def test_normalised_curves_carry_on_pair_and_reach():
    rows = _rows({("a", "clean", "default"): [0.5, 0.8], ("b", "clean", "default"): [0.5]})
    trace = _trace(
        {
            ("a", "clean", 0, "losstune"): [0.5, 0.6],  # stopped after 2 of 4 trials
            ("a", "clean", 0, "tpe_lr_wd_bs"): [0.4, 0.5, 0.55, 0.55],
            ("a", "clean", 1, "losstune"): [0.8, 0.8, 0.8, 0.88],
            ("a", "clean", 1, "tpe_lr_wd_bs"): [0.8, 0.8, 0.8, 0.8],
            ("b", "clean", 0, "losstune"): [0.5, 0.5, 0.5, 0.5],  # no TPE curve: unpaired
        }
    )
    curves = anytime.normalised_curves(trace, rows, n_trials=4)
    assert curves.loc[("a", "clean", 0, "losstune")].tolist() == pytest.approx([0, 0.2, 0.2, 0.2])
    assert curves.loc[("a", "clean", 1, "losstune"), 4] == pytest.approx(0.1)
    cases = anytime.case_curves(curves, ["losstune", "tpe_lr_wd_bs"])
    assert set(cases.index.get_level_values("dataset")) == {"a"}
    assert cases.loc[("a", "clean", "losstune")].tolist() == pytest.approx([0, 0.1, 0.1, 0.15])
    assert cases.loc[("a", "clean", "tpe_lr_wd_bs"), 4] == pytest.approx(0.05)
    got = anytime.reach(cases, "losstune", "tpe_lr_wd_bs", at=4)
    assert got.per_case == {("a", "clean"): 2} and got.median == 2 and got.on_mean == 2


def test_trials_to_reach_and_the_median_case():
    assert anytime.trials_to_reach([math.nan, 0.1, 0.3], 0.2) == 3
    assert anytime.trials_to_reach([0.1, 0.2], 0.3) is None
    assert anytime.trials_to_reach([0.1], math.nan) is None
    assert anytime.median_trials([3, 1, 8]) == 3
    assert anytime.median_trials([1, 5, None, 2]) == 5  # more than half (3 of 4) within 5
    assert anytime.median_trials([1, None, None, 2]) is None  # only half ever reach it
    assert anytime.median_trials([1, None, None]) is None
    assert anytime.median_trials([]) is None


def test_critical_difference_against_demsar_table():
    # Demšar (2006), Table 5: q_0.05 = 2.569 for k = 4 and 1.960 for k = 2
    assert ranks.critical_difference(4, 10) == pytest.approx(2.569 * math.sqrt(20 / 60), abs=1e-3)
    assert ranks.critical_difference(2, 6) == pytest.approx(1.960 * math.sqrt(6 / 36), abs=1e-3)
    with pytest.raises(ValueError):
        ranks.critical_difference(1, 10)
    average = pd.Series({"a": 1.0, "b": 1.5, "c": 3.0, "d": 3.2})
    assert ranks.cliques(average, 1.0) == [("a", "b"), ("c", "d")]
    assert ranks.cliques(average, 3.0) == [("a", "b", "c", "d")]
    assert ranks.cliques(average, 0.1) == []


def test_friedman_matches_scipy_without_ties():
    from scipy.stats import friedmanchisquare

    rng = np.random.default_rng(0)
    matrix = pd.DataFrame([rng.permutation(4) + 1.0 for _ in range(9)])
    expected = friedmanchisquare(*(matrix[c] for c in matrix)).pvalue
    assert ranks.friedman_p(matrix) == pytest.approx(expected)


def _candidates():
    return [
        Candidate("good", "classification", {"model": "mlp", "x": 1}, "good", "hand"),
        Candidate("ok", "classification", {"model": "mlp", "x": 2}, "ok", "hand"),
    ]


def test_lodo_portfolio_leaves_the_dataset_out_and_is_built_once(tmp_path, monkeypatch, write_runs):
    scores = {"x": {"good": 0.9, "ok": 0.5}, "y": {"good": 0.2, "ok": 0.8}}
    runs, pool = write_runs(tmp_path, _candidates(), scores)
    assert qp.leave_out("x", qp.recorded_datasets(runs)) == "x"
    assert qp.leave_out("z", ["x", "y"]) is None
    folder = tmp_path / "work"
    path = qp.build_lodo("x", runs=runs, pool=pool, folder=folder)
    doc = yaml.safe_load(path.read_text())
    assert doc["built_from"]["left_out"] == "x" and doc["built_from"]["cases"] == 1
    assert doc["orders"]["clean"][0] == "ok"  # y alone: "ok" wins there
    other = qp.build_lodo("z", runs=runs, pool=pool, folder=folder)  # never recorded
    assert yaml.safe_load(other.read_text())["built_from"]["left_out"] is None
    assert qp.provenance(other)["cases"] == 2

    from benchmarks import portfolio as builder

    monkeypatch.setattr(builder, "main", lambda argv: pytest.fail("built twice"))
    assert qp.build_lodo("x", runs=runs, pool=pool, folder=folder) == path
    plan = qp.PortfolioPlan(runs=runs, pool=pool, folder=folder)
    assert plan.path_for("x") == path and "leave-one-dataset-out" in plan.describe()
    assert qp.PortfolioPlan(qp.SHIPPED).path_for("x") is None
    with pytest.raises(FileNotFoundError, match="record the runs first"):
        qp.build_lodo("x", runs=tmp_path / "none.csv", pool=pool, folder=folder)


SCORES = {
    # losstune clearly above TPE on both damaged cases, tied with the default on clean data
    ("a", "noise40", "default"): [0.50, 0.52, 0.54],
    ("a", "noise40", "tpe_lr_wd_bs"): [0.60, 0.61, 0.62],
    ("a", "noise40", "losstune_cold"): [0.65, 0.66, 0.67],
    ("a", "noise40", "losstune"): [0.70, 0.71, 0.72],
    ("b", "noise40", "default"): [0.70, 0.70, 0.70],
    ("b", "noise40", "tpe_lr_wd_bs"): [0.72, 0.73, 0.74],
    ("b", "noise40", "losstune_cold"): [0.73, 0.74, 0.75],
    ("b", "noise40", "losstune"): [0.78, 0.79, 0.80],
    ("a", "clean", "default"): [0.90, 0.91, 0.92],
    ("a", "clean", "tpe_lr_wd_bs"): [0.91, 0.91, 0.91],
    ("a", "clean", "losstune_cold"): [0.91, 0.91, 0.91],
    ("a", "clean", "losstune"): [0.90, 0.92, 0.91],
}


def test_goal_checks_on_hand_made_numbers():
    rows = _rows(SCORES)
    a = wr.goal_a(rows)
    # two damaged cases: the interval is above 0, but no Wilcoxon p below 0.05 with n = 2
    assert a.met is False and "over 2 damaged cases" in a.evidence and "100%" in a.evidence
    p = wr.paired(rows, "losstune", "tpe_lr_wd_bs", damaged=True)
    expected = np.mean([np.mean([0.1 / 0.5, 0.1 / 0.52, 0.1 / 0.54]), 0.06 / 0.7])
    assert p.mean == pytest.approx(expected) and p.low > 0
    c = wr.goal_c(summarize(rows), rows)
    assert c.met is True and "losses: none" in c.evidence
    worse = _rows({**SCORES, ("a", "clean", "losstune"): [0.80, 0.81, 0.82]})
    c = wr.goal_c(summarize(worse), worse)
    assert c.met is False and "a / clean" in c.evidence
    d = wr.goal_d(rows, ("default", "losstune"), "flaml")
    assert d.met is None and "not measured" in d.evidence
    reach = anytime.Reach({("a", "noise40"): 4, ("b", "noise40"): 30}, 4, 6)
    assert wr.goal_b(reach, 40).met is True
    assert wr.goal_b(anytime.Reach({("a", "x"): None}, None, None), 40).met is False


def _config(tmp_path, contenders=ws.RUN_ORDER) -> Config:
    budget = Budget(n_trials=40, time_budget_s=None, epochs=30)
    return Config(("wine",), ("clean",), tuple(contenders), 2, budget, tmp_path / "ws.md")


def test_plan_runs_seed_by_seed_and_flaml_waits_for_losstune(tmp_path):
    config = _config(tmp_path, ("losstune", "flaml"))
    cases = [ws.Case("wine", "clean", False, 178)]
    done = {config.key_of("wine", "clean", 0, "losstune"): {}}
    jobs = ws.plan(config, cases, done)
    assert [(j.seed, j.contender) for j in jobs] == [(0, "flaml"), (1, "losstune"), (1, "flaml")]
    assert ws.ready(jobs[0], config, done) and not ws.ready(jobs[2], config, done)
    alone = _config(tmp_path, ("flaml",))
    assert ws.ready(ws.Job("wine", "clean", 1, "flaml"), alone, {})


def test_defaults_are_the_cli_budget_and_small_datasets():
    args = ws.parse_args([])
    assert (args.trials, args.epochs, args.top_k, args.final_seeds) == (40, 30, 3, 3)
    assert args.seeds >= wr.MIN_SEEDS and args.portfolio == qp.LODO
    config = ws.make_config(args)
    assert config.anytime and set(ws.RUN_ORDER[:4]) <= set(config.contenders)
    cases = ws.select_cases(ws.DATASETS, ws.CASE_VARIANTS)
    assert all(c.rows < wr.SMALL_ROWS for c in cases)
    assert (len(cases), sum(c.damaged for c in cases)) == (19, 12)


@pytest.mark.slow
def test_tiny_run_end_to_end(tmp_path, portfolio_files):
    runs, pool = portfolio_files
    out = tmp_path / "ws.md"
    tiny = "--datasets wine --variants clean --seeds 1 --trials 3 --epochs 1 --top-k 1"
    argv = [*tiny.split(), "--final-seeds", "1", "--out", str(out), "--work", str(tmp_path / "w")]
    argv += ["--contenders", "default,tpe_lr_wd_bs,losstune_cold,losstune"]
    argv += ["--portfolio-runs", str(runs), "--portfolio-pool", str(pool)]
    assert ws.main(argv) == out
    rows = pd.read_csv(out.with_suffix(".csv"))
    assert rows["error"].isna().all(), rows["error"].dropna().tolist()
    warm = rows[rows["contender"] == "losstune"].iloc[0]
    assert warm["note"].startswith("portfolio=wine-")
    built = qp.provenance(tmp_path / "w" / "portfolios" / warm["note"].split()[0][10:])
    assert built["left_out"] == "wine"
    steps = pd.read_csv(tmp_path / "ws-anytime.csv")
    assert set(steps["contender"]) == {"tpe_lr_wd_bs", "losstune_cold", "losstune"}
    assert (steps.groupby("contender")["k"].max() == 3).all()
    origins = steps.groupby("contender")["origin"].apply(list).to_dict()
    assert origins["losstune"][:2] == ["default", "portfolio"]
    assert "portfolio" not in origins["losstune_cold"]
    page = out.read_text()
    for heading in ("## Verdict", "## Anytime performance", "## Average rank"):
        assert heading in page
    assert "leave-one-dataset-out" in page and "(d)" in page
    assert (tmp_path / "ws-anytime.png").exists() and (tmp_path / "ws-cd.png").exists()

    ws.main(argv)  # resumes: nothing is re-run
    assert len(pd.read_csv(out.with_suffix(".csv"))) == len(rows)
    assert len(pd.read_csv(tmp_path / "ws-anytime.csv")) == len(steps)
