"""The pruning benchmark's replay, rules, curve file and report, on hand-built curves (no
training), plus a smoke test of ``record`` on a tiny dataset."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import optuna
import pandas as pd
import pytest

from benchmarks.pruning import main
from benchmarks.pruning_curves import (
    CurveFileError,
    CurveSet,
    DatasetCurves,
    RecordedTrial,
    load_curves,
)
from benchmarks.pruning_replay import orders, replay, replay_all
from benchmarks.pruning_report import verdict
from benchmarks.pruning_rules import RULES, RayAshaPruner, available

E = 6


def trial(curve, state="complete", stopped=None, test=None, seconds=0.1):
    curve = tuple(float(v) for v in curve)
    valid = curve[-1] if state == "complete" else math.nan
    return RecordedTrial(
        {"id": len(curve)},
        curve,
        state,
        stopped or len(curve),
        valid,
        valid if test is None else test,
        seconds,
    )


def synthetic(greater_is_better: bool = True, name: str = "toy") -> DatasetCurves:
    """Twelve curves: steady ones that never cross, a late bloomer that starts worst and ends
    best (it crosses every other curve), and one that diverges in epoch 4."""
    x = np.arange(1, E + 1)
    steady = [0.3 + 0.04 * k + 0.01 * k * np.log(x) for k in range(10)]  # 0.3..0.82 at the end
    late = 0.05 + 0.15 * x  # 0.2 at epoch 1, 0.95 at epoch 6: the best final value
    curves = [trial(c) for c in steady] + [trial(late)]
    curves.append(trial([0.4, 0.45, 0.5], state="failed", stopped=4))
    if not greater_is_better:  # a loss: same ranking, lower is better
        curves = [
            RecordedTrial(
                t.config,
                tuple(2 - v for v in t.curve),
                t.state,
                t.stopped_epoch,
                2 - t.valid,
                2 - t.test,
                t.seconds_per_epoch,
            )
            for t in curves
        ]
    return DatasetCurves(
        name,
        "binary",
        "accuracy" if greater_is_better else "log_loss",
        greater_is_better,
        E,
        tuple(curves),
    )


def test_no_pruning_spends_every_epoch_with_zero_regret():
    data = synthetic()
    rows = replay_all([data], ["none"], n_orders=5, seed=0, log_every=0)
    assert len(rows) == 5
    assert (rows["epochs_fraction"] == 1.0).all()
    assert (rows["epochs"] == 11 * E + 4).all()  # the failed trial consumed 4 epochs
    assert (rows["regret"] == 0.0).all() and (rows["test_gap"] == 0.0).all()
    assert not rows["best_pruned"].any()
    assert (rows["n_failed"] == 1).all() and (rows["n_complete"] == 11).all()


def test_threshold_rule_prunes_the_late_bloomer_and_counts_its_epochs():
    data = synthetic()
    late = 10
    # the late bloomer (0.2 at epoch 1) is the only trial below 0.25 at epoch 1
    pruner = optuna.pruners.ThresholdPruner(lower=0.25)
    outcome = replay(data, pruner, list(range(len(data.trials))), study_name="t")
    assert outcome.n_pruned == 1 and outcome.best_pruned
    assert outcome.epochs == 10 * E + 1 + 4
    assert outcome.epochs_fraction == pytest.approx((10 * E + 5) / (11 * E + 4))
    second = data.trials[9].valid
    assert outcome.regret == pytest.approx(data.trials[late].valid - second)
    median = np.median([t.valid for t in data.trials if t.complete])
    assert outcome.normalised_regret == pytest.approx(
        outcome.regret / (data.trials[late].valid - median)
    )


def test_a_pruned_best_that_has_a_tied_twin_is_not_lost():
    twin = trial([0.9] * E)  # same final value as the late bloomer
    bloomer = trial([0.1, 0.3, 0.5, 0.7, 0.8, 0.9])
    data = DatasetCurves("tie", "binary", "accuracy", True, E, (bloomer, twin))
    outcome = replay(data, optuna.pruners.ThresholdPruner(lower=0.2), [0, 1], study_name="t")
    assert outcome.n_pruned == 1 and not outcome.best_pruned and outcome.regret == 0.0


def test_regret_sign_for_a_metric_to_minimise():
    data = synthetic(greater_is_better=False)
    pruner = optuna.pruners.ThresholdPruner(upper=1.75)  # prunes the late bloomer (1.8 at epoch 1)
    outcome = replay(data, pruner, list(range(len(data.trials))), study_name="t")
    assert outcome.best_pruned
    assert outcome.regret == pytest.approx(data.trials[9].valid - data.trials[10].valid)
    assert outcome.regret > 0


def test_nan_values_are_not_reported():
    curve = (0.5, math.nan, 0.7)
    data = DatasetCurves("nan", "binary", "accuracy", True, 3, (trial(curve),))
    outcome = replay(data, optuna.pruners.NopPruner(), [0], study_name="t")
    assert outcome.decisions == 2 and outcome.epochs == 3


def test_replay_rejects_a_bad_order():
    with pytest.raises(ValueError, match="distinct trial indices"):
        replay(synthetic(), optuna.pruners.NopPruner(), [0, 0], study_name="t")
    with pytest.raises(ValueError, match="no complete trial"):
        replay(synthetic(), optuna.pruners.NopPruner(), [11], study_name="t")  # the failed one


def test_orders_are_seeded_permutations_starting_with_the_recorded_one():
    first, *rest = orders(7, 4, seed=3)
    assert list(first) == list(range(7))
    assert all(sorted(o) == list(range(7)) for o in rest)
    assert [list(o) for o in orders(7, 4, seed=3)] == [list(o) for o in [first, *rest]]


@pytest.mark.parametrize("name", RULES.names())
def test_every_rule_replays_within_budget(name):
    if not available(name):
        pytest.skip(f"{name} cannot be built here")
    rule = RULES.get(name)
    data = synthetic()
    outcome = replay(data, rule.make(E, seed=0), list(range(12)), study_name=name)
    assert isinstance(rule.make(E, seed=0), optuna.pruners.BasePruner)
    assert 0 < outcome.epochs_fraction <= 1
    assert outcome.regret >= 0
    if rule.family == "baseline":
        assert outcome.epochs_fraction == 1.0
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        rule.make(0, seed=0)


def test_rank_rules_prune_on_many_bad_trials():
    x = np.arange(1, 31)
    good = [trial(0.9 - 0.3 / x)]
    bad = [trial(0.6 - 0.01 * k - 0.1 / x) for k in range(30)]  # each worse than the last
    data = DatasetCurves("many", "binary", "accuracy", True, 30, tuple(good + bad))
    for name in ("median", "successive_halving", "hyperband", "asha"):
        outcome = replay(data, RULES.get(name).make(30, seed=0), list(range(31)), study_name="m")
        assert outcome.epochs_fraction < 1, name


@pytest.mark.parametrize("mode", ["max", "min"])
def test_ray_asha_adapter_decides_as_rays_scheduler(mode):
    from ray.tune.schedulers import AsyncHyperBandScheduler, TrialScheduler

    rng = np.random.default_rng(0)
    values = rng.normal(size=(12, 10)).cumsum(axis=1)
    scheduler = AsyncHyperBandScheduler(
        metric="v", mode=mode, max_t=10, grace_period=1, reduction_factor=3
    )
    adapter = RayAshaPruner(max_t=10, grace_period=1, reduction_factor=3)
    direction = "maximize" if mode == "max" else "minimize"
    study = optuna.create_study(direction=direction, pruner=adapter)

    class RayTrial:
        def __init__(self, number):
            self.trial_id = str(number)

    stops = 0
    for number, row in enumerate(values):
        ray_trial, optuna_trial = RayTrial(number), study.ask()
        scheduler.on_trial_add(None, ray_trial)
        for step, value in enumerate(row, start=1):
            expected = scheduler.on_trial_result(
                None, ray_trial, {"training_iteration": step, "v": value}
            )
            optuna_trial.report(float(value), step)
            stop = optuna_trial.should_prune()
            if step < 10:  # at max_t Ray stops every trial as finished; we complete it
                assert stop == (expected == TrialScheduler.STOP), (number, step)
                stops += stop
            if stop or step == 10:
                break
        study.tell(optuna_trial, state=optuna.trial.TrialState.PRUNED)
    assert stops >= 3  # the comparison covered real stop decisions


def test_curve_file_round_trip(tmp_path):
    data = synthetic()
    path = CurveSet({"toy": data}, {"command": "x"}).save(tmp_path / "c.json.gz")
    back = load_curves(path).datasets["toy"]
    assert back.metric == "accuracy" and back.epochs == E and len(back.trials) == 12
    assert back.trials[10].curve == pytest.approx(data.trials[10].curve)
    assert back.trials[11].state == "failed" and math.isnan(back.trials[11].valid)


def _write(path, payload):
    with gzip.open(path, "wt") as f:
        json.dump(payload, f)
    return path


def test_loader_rejects_malformed_files(tmp_path):
    good = tmp_path / "good.json.gz"
    CurveSet({"toy": synthetic()}).save(good)
    with gzip.open(good, "rt") as f:
        payload = json.load(f)

    broken = json.loads(json.dumps(payload))
    del broken["datasets"][0]["trials"][3]["state"]
    with pytest.raises(CurveFileError, match=r"dataset 'toy', trial 3: 'state' is None"):
        load_curves(_write(tmp_path / "a.json.gz", broken))

    short = json.loads(json.dumps(payload))
    short["datasets"][0]["trials"][0]["curve"] = [0.5]
    with pytest.raises(CurveFileError, match=r"trial 0: a complete trial must have"):
        load_curves(_write(tmp_path / "b.json.gz", short))

    (tmp_path / "c.json.gz").write_text("not gzip")
    with pytest.raises(CurveFileError, match="not a gzipped JSON curves file"):
        load_curves(tmp_path / "c.json.gz")

    other = dict(payload, format="something-else")
    with pytest.raises(CurveFileError, match="not a 'losstune-pruning-curves' file"):
        load_curves(_write(tmp_path / "d.json.gz", other))


def _rows(rule, family, order, epochs, regret):
    return {
        "dataset": "d",
        "metric": "accuracy",
        "greater_is_better": True,
        "rule": rule,
        "family": family,
        "order": order,
        "epochs": 0,
        "epochs_fraction": epochs,
        "seconds_fraction": epochs,
        "incumbent": 0.0,
        "regret": regret,
        "normalised_regret": regret,
        "test_gap": 0.0,
        "best_pruned": regret > 0,
        "n_pruned": 0,
        "n_complete": 0,
        "n_failed": 0,
        "decisions": 10,
        "decision_ms": 0.1,
    }


def test_verdict_picks_the_best_rank_rule_and_checks_the_goal():
    rows = []
    for k in range(4):
        rows += [
            _rows("none", "baseline", k, 1.0, 0.0),
            _rows("median", "rank", k, 0.6, 0.02),
            _rows("asha", "rank", k, 0.3, 0.05),
            _rows("curve_a", "curve", k, 0.25, 0.01),  # half of median's epochs or fewer
            _rows("curve_b", "curve", k, 0.4, 0.0),  # regret fine, too many epochs
        ]
    result = verdict(pd.DataFrame(rows))
    assert result.best_rank == "median"
    assert result.best_rank_epochs == pytest.approx(0.6)
    met = {c.rule: c.met for c in result.checks}
    assert met == {"curve_a": True, "curve_b": False}
    assert result.checks[0].regret_difference[0] == pytest.approx(-0.01)
    assert result.suggested_default == "curve_a"  # fewest epochs at regret <= median's


def test_replay_command_writes_report_csv_and_plot(tmp_path):
    curves = CurveSet({"toy": synthetic(), "loss": synthetic(False, "loss")}, {"command": "t"})
    path = curves.save(tmp_path / "c.json.gz")
    out = tmp_path / "pruning.md"
    argv = ["replay", "--curves", str(path), "--orders", "3", "--rules", "none,median,asha"]
    assert main([*argv, "--out", str(out)]) == out
    page = out.read_text()
    assert "## Verdict" in page and "Best rank rule" in page
    assert "python benchmarks/pruning.py replay --curves" in page
    rows = pd.read_csv(out.with_suffix(".csv"))
    assert len(rows) == 2 * 3 * 3
    assert (rows.loc[rows["rule"] == "none", "epochs_fraction"] == 1.0).all()
    assert out.with_suffix(".png").stat().st_size > 0

    # a second run resumes from the CSV: nothing is replayed again, no row is duplicated
    main([*argv, "--out", str(out)])
    assert "replayed 0 of the 18 rows in" in out.read_text()
    assert "the other 18 were resumed" in out.read_text()
    assert len(pd.read_csv(out.with_suffix(".csv"))) == 18


def test_record_trains_two_trials_and_resumes(tmp_path, monkeypatch):
    from benchmarks import pruning_record
    from benchmarks.pruning_record import RecordPlan, record

    path = tmp_path / "curves.json.gz"
    plan = RecordPlan(("wine",), trials=2, epochs=2)
    curves = record(plan, path, {"command": "test"})
    wine = load_curves(path).datasets["wine"]
    assert wine.metric == "accuracy" and wine.greater_is_better and wine.epochs == 2
    assert len(wine.trials) == 2
    for t in wine.trials:
        assert t.state in ("complete", "failed") and "loss" in t.config
        if t.complete:
            assert len(t.curve) == 2 and t.curve[-1] == pytest.approx(t.valid, abs=1e-6)
    assert curves.datasets["wine"].trials[0].config == wine.trials[0].config

    def no_training(*args, **kwargs):
        raise AssertionError("a resumed recording must not train recorded trials")

    monkeypatch.setattr(pruning_record, "_train_one", no_training)
    again = record(plan, path)
    assert [t.curve for t in again.datasets["wine"].trials] == [t.curve for t in wine.trials]


def test_cached_forecasts_leave_curve_decisions_unchanged():
    from dataclasses import asdict

    from benchmarks.pruning_fitcache import cached_forecasts

    if not available("curve_0.05"):
        pytest.skip("the curve pruner cannot be built here")
    rng = np.random.default_rng(1)
    x = np.arange(1, 13)
    curves = [
        trial(a - b * x**-0.7 + rng.normal(0, 0.005, 12))
        for a, b in rng.uniform([0.6, 0.1], [0.95, 0.4], size=(8, 2))
    ]
    data = DatasetCurves("fc", "binary", "accuracy", True, 12, tuple(curves))
    rule = RULES.get("curve_0.05")

    def run():
        outcome = asdict(replay(data, rule.make(12, seed=0), list(range(8)), study_name="fc"))
        outcome.pop("decision_ms")
        return outcome

    plain = run()
    assert plain["n_pruned"] > 0  # the comparison covers real prune decisions
    with cached_forecasts() as cache:
        first, second = run(), run()
    assert cache.forecasts > 0 and cache.hits > 0
    assert first == plain and second == plain
