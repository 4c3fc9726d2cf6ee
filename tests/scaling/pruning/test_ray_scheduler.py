"""CurveStoppingScheduler: called directly with trial stand-ins, and in one real Tuner run."""

from types import SimpleNamespace

import pytest

ray = pytest.importorskip("ray")

from ray.tune.schedulers import TrialScheduler  # noqa: E402

from losstune.scaling import CurveStoppingScheduler  # noqa: E402

STOP, CONTINUE = TrialScheduler.STOP, TrialScheduler.CONTINUE
MAX_T = 20


def rising(final: float, step: int) -> float:
    return final - 0.3 * step**-0.7


def feed(scheduler, trial_id: str, final: float, steps=range(1, MAX_T + 1), complete=True):
    """Report the curve step by step; returns the decisions (stops at the first STOP)."""
    trial = SimpleNamespace(trial_id=trial_id)
    scheduler.on_trial_add(None, trial)
    decisions = []
    result = {}
    for step in steps:
        result = {"training_iteration": step, "acc": rising(final, step)}
        decisions.append(scheduler.on_trial_result(None, trial, result))
        if decisions[-1] == STOP:
            break
    if complete or decisions[-1] == STOP:  # Ray calls on_trial_complete after a STOP too
        scheduler.on_trial_complete(None, trial, result)
    return decisions


def test_stops_a_hopeless_trial_and_continues_good_ones():
    scheduler = CurveStoppingScheduler("acc", "max", max_t=MAX_T)
    assert set(feed(scheduler, "a", 0.90)) == {CONTINUE}  # no incumbent yet
    assert scheduler.incumbent == pytest.approx(rising(0.90, MAX_T))
    hopeless = feed(scheduler, "b", 0.50)
    assert hopeless == [CONTINUE] * 4 + [STOP]  # stopped at min_points
    assert scheduler.decisions["b"].stop and scheduler.decisions["b"].probability < 0.05
    assert set(feed(scheduler, "c", 0.92)) == {CONTINUE}
    # a stopped trial never becomes the incumbent; a better complete one does
    assert scheduler.incumbent == pytest.approx(rising(0.92, MAX_T))
    assert "1 stopped" in scheduler.debug_string()


def test_minimizing_a_loss():
    scheduler = CurveStoppingScheduler("acc", "min", max_t=MAX_T)
    feed(scheduler, "a", 0.20)  # a loss falling to ~0.2 - 0.3·20^-0.7... is better when lower
    assert feed(scheduler, "b", 0.90)[-1] == STOP


def test_results_without_the_metric_or_time_are_ignored():
    scheduler = CurveStoppingScheduler("acc", "max", max_t=MAX_T)
    feed(scheduler, "a", 0.9)
    trial = SimpleNamespace(trial_id="b")
    for step in range(1, 10):
        assert scheduler.on_trial_result(None, trial, {"training_iteration": step}) == CONTINUE
        assert scheduler.on_trial_result(None, trial, {"acc": 0.1}) == CONTINUE
    assert "b" not in scheduler.decisions


def test_metric_and_mode_can_come_from_tune_config():
    scheduler = CurveStoppingScheduler(max_t=MAX_T)
    with pytest.raises(ValueError, match="metric"):
        scheduler.on_trial_add(None, SimpleNamespace(trial_id="a"))
    assert scheduler.set_search_properties("acc", "max")
    assert not scheduler.set_search_properties("other", "min")  # already set
    feed(scheduler, "a", 0.9)
    assert feed(scheduler, "b", 0.4)[-1] == STOP


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mode="best"), "mode"),
        (dict(delta=0.0), "delta"),
        (dict(min_points=2), "min_points"),
        (dict(max_t=0), "max_t"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CurveStoppingScheduler("acc", **kwargs)


@pytest.mark.slow
def test_a_real_tuner_run_stops_the_hopeless_trials(tmp_path):
    from ray import tune

    def trainable(config):  # self-contained: Ray workers cannot import this test module
        for step in range(1, config["max_t"] + 1):
            tune.report({"acc": config["final"] - 0.3 * step**-0.7})

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(
            trainable,
            param_space={"final": tune.grid_search([0.9, 0.5, 0.92, 0.4]), "max_t": MAX_T},
            tune_config=tune.TuneConfig(
                metric="acc",
                mode="max",
                scheduler=CurveStoppingScheduler(max_t=MAX_T),
                max_concurrent_trials=1,
            ),
            run_config=tune.RunConfig(storage_path=str(tmp_path), verbose=0),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    iterations = {r.config["final"]: r.metrics["training_iteration"] for r in results if r.metrics}
    assert iterations == {0.9: MAX_T, 0.5: 5, 0.92: MAX_T, 0.4: 5}
