"""CurvePruner inside real in-memory Optuna studies."""

import optuna
import pytest

from losstune.scaling import CurvePruner
from losstune.scaling.pruning.optuna_pruner import FORECAST_ATTR, recorded

EPOCHS = 12

optuna.logging.set_verbosity(optuna.logging.WARNING)


def rising(final: float, epoch: int) -> float:
    """An accuracy curve that levels off at ``final``."""
    return final - 0.3 * epoch**-0.7


def run(pruner, finals, direction="maximize", curve=rising, max_epochs=None):
    """One trial per entry of ``finals`` (in order); returns the study."""

    def objective(trial):
        final = trial.suggest_float("final", -10.0, 10.0)
        if max_epochs is not None:
            trial.set_user_attr("max_epochs", max_epochs)
        for epoch in range(1, EPOCHS + 1):
            trial.report(curve(final, epoch), epoch)
            if trial.should_prune():
                assert recorded(trial)["stop"] is True  # readable from the live trial
                raise optuna.TrialPruned()
        return curve(final, EPOCHS)

    study = optuna.create_study(direction=direction, pruner=pruner)
    for final in finals:
        study.enqueue_trial({"final": final})
    study.optimize(objective, n_trials=len(finals))
    return study


def states(study):
    return [t.state.name for t in study.trials]


def test_prunes_a_hopeless_trial_and_keeps_good_ones():
    study = run(CurvePruner(n_startup_trials=2), [0.90, 0.85, 0.50, 0.92])
    assert states(study) == ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"]
    hopeless, good = study.trials[2], study.trials[3]
    assert hopeless.last_step == 5  # pruned as soon as it had min_points reports
    record = recorded(hopeless)
    assert record == hopeless.system_attrs[FORECAST_ATTR]
    assert record["stop"] is True and record["step"] == 5 and record["probability"] < 0.05
    assert record["horizon"] == EPOCHS  # "auto": the last step of complete trials
    assert record["incumbent"] == pytest.approx(rising(0.90, EPOCHS))
    assert record["q05"] <= record["mean"] <= record["q95"] < 0.6
    assert sum(record["weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert recorded(good)["stop"] is False and recorded(good)["step"] == EPOCHS - 1


def test_prunes_a_hopeless_loss_curve_when_minimizing():
    def falling(final, epoch):
        return final + 0.5 * epoch**-0.7

    study = run(CurvePruner(n_startup_trials=1), [0.3, 1.0, 0.25], "minimize", falling)
    assert states(study) == ["COMPLETE", "PRUNED", "COMPLETE"]


def test_nothing_is_pruned_before_n_startup_trials_complete():
    study = run(CurvePruner(n_startup_trials=3), [0.90, 0.85, 0.50, 0.40])
    assert states(study) == ["COMPLETE", "COMPLETE", "COMPLETE", "PRUNED"]
    # the third trial was still forecast (to be logged), without an incumbent
    assert recorded(study.trials[2])["probability"] is None


def test_without_a_horizon_nothing_is_forecast():
    study = run(CurvePruner(n_startup_trials=0), [0.5])
    assert states(study) == ["COMPLETE"] and recorded(study.trials[0]) is None


@pytest.mark.parametrize(
    "max_resource, max_epochs, horizon",
    [("auto", None, EPOCHS), ("auto", 40, 40), (25, 40, 25), (25, None, 25)],
)
def test_horizon_int_beats_the_trial_attribute_which_beats_auto(max_resource, max_epochs, horizon):
    # one forecast per trial, at the last step before the end
    pruner = CurvePruner(n_startup_trials=1, max_resource=max_resource, min_points=EPOCHS - 1)
    study = run(pruner, [0.9, 0.91], max_epochs=max_epochs)
    assert recorded(study.trials[1])["horizon"] == horizon


def test_decisions_are_reproducible_with_the_seed():
    first = run(CurvePruner(n_startup_trials=1, seed=3, min_points=EPOCHS - 1), [0.9, 0.89])
    second = run(CurvePruner(n_startup_trials=1, seed=3, min_points=EPOCHS - 1), [0.9, 0.89])
    assert recorded(first.trials[1]) == recorded(second.trials[1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(delta=0.0), "delta"),
        (dict(delta=1.0), "delta"),
        (dict(delta="0.1"), "delta"),
        (dict(min_points=4), "min_points"),
        (dict(min_points=5.5), "min_points"),
        (dict(n_startup_trials=-1), "n_startup_trials"),
        (dict(max_resource=0), "max_resource"),
        (dict(max_resource="max"), "max_resource"),
        (dict(max_resource=True), "max_resource"),
        (dict(seed=-1), "seed"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CurvePruner(**kwargs)


def test_repr_shows_the_settings():
    assert repr(CurvePruner(0.1, min_points=6)) == (
        "CurvePruner(delta=0.1, min_points=6, n_startup_trials=3, max_resource='auto', seed=0)"
    )
