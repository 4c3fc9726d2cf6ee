"""The wins/ties/losses rule and the verdict of the quality report, on hand-made numbers."""

import math

import pandas as pd
import pytest

from benchmarks.contenders.lightgbm_tuned import STEPS, allocate
from benchmarks.quality_report import (
    Interval,
    compare,
    outcome,
    summarize,
    verdict,
    wins_ties_losses,
)


@pytest.mark.parametrize(
    ("ref", "other", "greater", "expected"),
    [
        ((0.90, 0.88, 0.92), (0.80, 0.78, 0.82), True, "win"),
        ((0.80, 0.78, 0.82), (0.90, 0.88, 0.92), True, "loss"),
        ((0.90, 0.85, 0.95), (0.88, 0.80, 0.90), True, "tie"),  # touching ends overlap
        ((0.90, 0.85, 0.95), (0.91, 0.90, 0.92), True, "tie"),  # one inside the other
        ((10.0, 9.0, 11.0), (20.0, 19.0, 21.0), False, "win"),  # lower RMSE wins
        ((20.0, 19.0, 21.0), (10.0, 9.0, 11.0), False, "loss"),
        ((0.9, 0.9, 0.9), (0.9, 0.9, 0.9), True, "tie"),  # one seed, equal scores
        ((0.9, 0.9, 0.9), (0.8, 0.8, 0.8), True, "win"),  # one seed, any difference counts
        ((math.nan,) * 3, (0.8, 0.7, 0.9), True, "loss"),  # every run failed
        ((0.8, 0.7, 0.9), (math.nan,) * 3, True, "win"),
    ],
)
def test_outcome(ref, other, greater, expected):
    assert outcome(Interval(*ref), Interval(*other), greater) == expected


def test_interval_of_leaves_failed_runs_out():
    interval = Interval.of([0.8, math.nan, 0.9])
    assert interval.mean == pytest.approx(0.85)
    assert interval.low < 0.8 and interval.high > 0.9
    assert math.isnan(Interval.of([math.nan]).mean)


def _rows(scores):
    """CSV-like rows from {(dataset, variant, contender): [test score per seed]}."""
    return pd.DataFrame(
        [
            {
                "dataset": d,
                "variant": v,
                "contender": c,
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


def test_compare_counts_and_verdict():
    rows = _rows(
        {
            # clean: losstune ties the baseline (overlap), beats the default
            ("a", "clean", "losstune"): [0.90, 0.91, 0.92],
            ("a", "clean", "tpe_lr_wd_bs"): [0.89, 0.91, 0.93],
            ("a", "clean", "default"): [0.70, 0.71, 0.72],
            # damaged 1: clear win over both
            ("a", "noise40", "losstune"): [0.80, 0.81, 0.82],
            ("a", "noise40", "tpe_lr_wd_bs"): [0.60, 0.61, 0.62],
            ("a", "noise40", "default"): [0.60, 0.60, 0.61],
            # damaged 2: clear loss to the default
            ("b", "noise40", "losstune"): [0.50, 0.51, 0.52],
            ("b", "noise40", "tpe_lr_wd_bs"): [0.40, 0.41, 0.42],
            ("b", "noise40", "default"): [0.70, 0.71, 0.72],
        }
    )
    comparison = compare(summarize(rows), "losstune")
    got = {(r.dataset, r.variant, r.contender): r.outcome for r in comparison.itertuples()}
    assert got == {
        ("a", "clean", "tpe_lr_wd_bs"): "tie",
        ("a", "clean", "default"): "win",
        ("a", "noise40", "tpe_lr_wd_bs"): "win",
        ("a", "noise40", "default"): "win",
        ("b", "noise40", "tpe_lr_wd_bs"): "win",
        ("b", "noise40", "default"): "loss",
    }
    table = wins_ties_losses(comparison).set_index("contender")
    assert table.loc["tpe_lr_wd_bs"].tolist() == ["0/1/0", "2/0/0", "2/1/0"]
    assert table.loc["default"].tolist() == ["1/0/0", "1/0/1", "2/0/1"]
    checks = verdict(comparison, "losstune", "tpe_lr_wd_bs", "default")
    assert [c.met for c in checks] == [True, True, False]


def test_verdict_without_damaged_cases_is_not_evaluated():
    rows = _rows(
        {
            ("a", "clean", "losstune"): [0.9, 0.9],
            ("a", "clean", "tpe_lr_wd_bs"): [0.9, 0.9],
            ("a", "clean", "default"): [0.9, 0.9],
        }
    )
    checks = verdict(compare(summarize(rows), "losstune"), "losstune", "tpe_lr_wd_bs", "default")
    assert [c.status for c in checks] == ["NOT EVALUATED", "MET", "MET"]


@pytest.mark.parametrize("n_trials", [1, 2, 3, 7, 20, 40, 68, 100, 250])
def test_lightgbm_tuner_budget_is_spent_exactly(n_trials):
    counts = allocate(n_trials)
    assert list(counts) == [name for name, _ in STEPS]
    assert sum(counts.values()) == n_trials
    assert counts["min_data_in_leaf"] <= 5
    if counts["feature_fraction_stage2"]:
        assert counts["feature_fraction"]  # stage 2 refines stage 1's value
    if n_trials == 68:
        assert counts == dict(STEPS)  # the tuner's own schedule
