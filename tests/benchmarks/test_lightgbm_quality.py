"""The LightGBM family benchmark: its case selection, run plan, paired statistics and goal
checks on hand-made numbers, the tuner's exact trial budget, and a tiny run end to end."""

import math
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import lightgbm_quality as lq
from benchmarks.contenders import Budget
from benchmarks.quality import Config
from benchmarks.quality_report import Paired, average_ranks, seed_differences, summarize


def test_cases_are_every_variant_that_applies_and_classification_only():
    cases = lq.select_cases(["wine", "breast_cancer"], ["clean", "noise40"])
    assert [(c.dataset, c.variant, c.damaged) for c in cases] == [
        ("wine", "clean", False),
        ("wine", "noise40", True),
        ("breast_cancer", "clean", False),
        ("breast_cancer", "noise40", True),
    ]
    with pytest.raises(SystemExit, match="classification"):
        lq.select_cases(["wine", "diabetes"], ["clean"])


def test_default_cases_meet_the_issue_coverage():
    cases = lq.select_cases(lq.DATASETS, lq.CASE_VARIANTS)
    assert lq.coverage(cases, lq.MIN_SEEDS).met
    assert not lq.coverage(cases, lq.MIN_SEEDS - 1).met
    assert not lq.coverage(cases[:5], lq.MIN_SEEDS).met  # 5 cases
    clean = [c for c in cases if not c.damaged]
    assert not lq.coverage(clean * 3, lq.MIN_SEEDS).met  # no damaged case


def _config(tmp_path: Path, seeds: int = 2) -> Config:
    budget = Budget(n_trials=3, time_budget_s=None, epochs=2, top_k=1, final_seeds=1)
    return Config(("a", "b"), ("clean", "noise40"), lq.RUN_ORDER, seeds, budget, tmp_path / "x.md")


def test_plan_runs_seed_by_seed_and_skips_rows_done(tmp_path):
    config = _config(tmp_path)
    cases = [lq.Case("a", "clean", False), lq.Case("a", "noise40", True)]
    done = {config.key_of("a", "clean", 0, c) for c in lq.RUN_ORDER}
    jobs = lq.plan(config, cases, done)
    assert len(jobs) == 3 * len(lq.RUN_ORDER)
    assert [j.seed for j in jobs] == sorted(j.seed for j in jobs)  # seed 0 first
    assert (jobs[0].dataset, jobs[0].variant, jobs[0].seed) == ("a", "noise40", 0)
    assert [j.contender for j in jobs[: len(lq.RUN_ORDER)]] == list(lq.RUN_ORDER)


def test_paired_summary():
    p = Paired.of([0.02, 0.01, 0.03, -0.01, 0.0, math.nan])
    assert (p.n, p.wins, p.ties, p.losses) == (5, 3, 1, 1)
    assert p.mean == pytest.approx(0.01)
    assert p.low < p.mean < p.high
    assert p.win_rate == pytest.approx(0.7)
    assert 0.0 < p.p_value <= 1.0
    assert Paired.of([0.01] * 4).low == pytest.approx(0.01)  # no spread, no width
    assert math.isnan(Paired.of([0.0, 0.0]).p_value)  # nothing to rank
    assert Paired.of([]).n == 0 and math.isnan(Paired.of([]).mean)


def _rows(scores: dict) -> pd.DataFrame:
    """CSV-like rows (labelled contenders) from {(dataset, variant, key): [score per seed]}."""
    return pd.DataFrame(
        [
            {
                "dataset": d,
                "variant": v,
                "contender": lq.LABELS[c],
                "seed": seed,
                "damaged": v != "clean",
                "task": "multiclass",
                "metric": "accuracy",
                "greater_is_better": True,
                "valid_score": s,
                "test_score": s,
                "seconds": 1.0,
                "n_trials": 4,
                "error": "",
            }
            for (d, v, c), values in scores.items()
            for seed, s in enumerate(values)
        ]
    )


SCORES = {
    # damaged 1: the family search clearly above the tuner; the two-family search tied
    ("a", "noise40", lq.FAMILY): [0.80, 0.81, 0.82],
    ("a", "noise40", lq.TUNER): [0.70, 0.71, 0.72],
    ("a", "noise40", lq.MLP): [0.75, 0.76, 0.77],
    ("a", "noise40", lq.BOTH): [0.76, 0.77, 0.78],
    # damaged 2: above again; the two-family search beaten by both the tuner and the MLP
    ("b", "noise40", lq.FAMILY): [0.62, 0.63, 0.64],
    ("b", "noise40", lq.TUNER): [0.60, 0.61, 0.62],
    ("b", "noise40", lq.MLP): [0.70, 0.71, 0.72],
    ("b", "noise40", lq.BOTH): [0.50, 0.51, 0.52],
    # clean: the family search below the tuner (not counted by goal a); the two-family
    # search beaten by the MLP only
    ("a", "clean", lq.FAMILY): [0.80, 0.80, 0.80],
    ("a", "clean", lq.TUNER): [0.90, 0.90, 0.90],
    ("a", "clean", lq.MLP): [0.95, 0.95, 0.95],
    ("a", "clean", lq.BOTH): [0.89, 0.90, 0.91],
}


def test_goal_checks_on_hand_made_numbers():
    rows = _rows(SCORES)
    summary = summarize(rows)
    a = lq.family_beats_tuner(summary, rows)
    assert a.met and "over 2 damaged cases" in a.evidence and "win rate 100%" in a.evidence
    table = lq.beaten_by_both(summary).set_index(["dataset", "variant"])
    assert table["beaten_by_both"].to_dict() == {
        ("a", "noise40"): False,
        ("b", "noise40"): True,
        ("a", "clean"): False,
    }
    b = lq.never_beaten_by_both(lq.beaten_by_both(summary))
    assert b.met is False and "b / noise40" in b.evidence
    ranks = average_ranks(summary, [lq.LABELS[c] for c in lq.RUN_ORDER if c != lq.LGB_DEFAULT])
    assert ranks[lq.LABELS[lq.MLP]] == pytest.approx(5 / 3)  # 3rd, 1st, 1st of 4
    diffs = seed_differences(rows, lq.LABELS[lq.FAMILY], lq.LABELS[lq.TUNER], damaged=True)
    assert len(diffs) == 6 and diffs.to_numpy() == pytest.approx([0.1] * 3 + [0.02] * 3)


def test_goal_a_not_met_when_the_interval_reaches_zero():
    scores = {k: v for k, v in SCORES.items() if k[1] == "noise40"}
    scores[("b", "noise40", lq.FAMILY)] = [0.40, 0.41, 0.42]  # far below the tuner
    rows = _rows(scores)
    assert lq.family_beats_tuner(summarize(rows), rows).met is False


COST_OUTPUT = """\
mode                                wall s / round   CPU s / round     ratio (wall, CPU)
built-in multiclass                         0.0564          0.1119          1.00x, 1.00x
cross_entropy, closed form                  0.0687          0.1341          1.22x, 1.20x
cross_entropy, derived                      0.1650          0.3278          2.93x, 2.93x
  grad_hess alone, closed form              0.0125          0.0243
goal: a custom round <= 3x the built-in one
"""


def test_cost_ratios_and_their_check():
    assert lq.cost_ratios(COST_OUTPUT) == {
        "cross_entropy, closed form": (1.22, 1.20),
        "cross_entropy, derived": (2.93, 2.93),
    }
    check = lq.cost_check(COST_OUTPUT)
    assert check.met and "cross_entropy, derived: 2.93x wall" in check.evidence
    assert lq.cost_check(COST_OUTPUT.replace("2.93x, 2.93x", "3.10x, 2.95x")).met is False
    assert lq.cost_check(None).status == "NOT EVALUATED"


@pytest.mark.slow
def test_lightgbm_tuner_spends_the_whole_budget(tmp_path):
    from benchmarks.contenders.lightgbm_tuned import run
    from benchmarks.quality_cases import load_clean

    data = load_clean("breast_cancer", 0)
    budget = Budget(n_trials=12, time_budget_s=None, epochs=1)
    # allocate(12) gives the second feature_fraction step 1 trial, out of range here
    result = run(data, metric="accuracy", budget=budget, seed=0, workdir=tmp_path)
    assert result.n_trials == 12


@pytest.mark.slow
def test_tiny_run_writes_report_and_resumes(tmp_path):
    out = tmp_path / "lightgbm.md"
    tiny = "--datasets breast_cancer --variants clean,noise40 --seeds 1 --trials 2 --epochs 2"
    argv = [*tiny.split(), "--top-k", "1", "--jobs", "2", "--out", str(out)]
    assert lq.main(argv) == out
    rows = pd.read_csv(out.with_suffix(".csv"))
    assert len(rows) == 2 * len(lq.RUN_ORDER)
    assert (rows["error"].isna()).all(), rows["error"].dropna().tolist()
    assert rows["load1"].notna().all()
    page = out.read_text()
    for label in lq.LABELS.values():
        assert f"| {label} |" in page
    assert "**NOT MET**: at least 6 cases" in page  # 2 cases, 1 seed
    assert "python benchmarks/lightgbm_quality.py --datasets breast_cancer" in page
    assert "## Aggregate comparisons" in page and "Not measured" in page
    assert out.with_suffix(".png").exists()

    lq.main(argv)  # resumes: nothing is re-run
    assert len(pd.read_csv(out.with_suffix(".csv"))) == len(rows)
