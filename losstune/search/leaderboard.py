"""The leaderboard: one row per trial, best first, with the choices that define it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from losstune.search.lifecycle import trial_origin

_STATE_ORDER = {
    "complete": 0, "pruned": 1, "failed": 2, "interrupted": 3, "running": 4, "waiting": 5
}  # fmt: skip
SUMMARY = (
    "model",
    "loss",
    "temperature",
    "weighting",
    "optimizer",
    "lr",
    "wrapper",
    "schedule",
    "batch_size",
    "epochs",
)


def trial_state(trial: Any) -> str:
    """``complete``, ``pruned``, ``failed``, ``interrupted`` (a failed trial stopped by Ctrl-C
    or SIGTERM, retried on resume), ``running`` or ``waiting``, as MLflow tags say."""
    if trial.state.name == "FAIL" and trial.user_attrs.get("interrupted"):
        return "interrupted"
    return {
        "COMPLETE": "complete",
        "PRUNED": "pruned",
        "FAIL": "failed",
        "RUNNING": "running",
        "WAITING": "waiting",
    }[trial.state.name]


def leaderboard(trials: list[Any], greater_is_better: bool) -> pd.DataFrame:
    """A frame of ``trials`` (Optuna FrozenTrials): best complete trials first, then pruned,
    then failed. Columns: trial, state, value, epochs_run, max_epochs (the reports the
    trial's recipe asks for), duration_s, default (the default recipe's trial), origin
    (default, portfolio, transfer or sampler), the summary choices, then every parameter
    path."""
    from losstune.mlflow.naming import common_params  # imports mlflow: only when it runs

    rows = []
    for t in trials:
        params = dict(t.user_attrs.get("config") or t.params)
        row: dict[str, Any] = {
            "trial": t.number,
            "state": trial_state(t),
            "value": _value(t),
            "epochs_run": len(t.intermediate_values),
            # the reports its recipe asks for (an MLP's epochs; a booster's rounds / 10)
            "max_epochs": t.user_attrs.get("max_epochs"),
            "duration_s": t.duration.total_seconds() if t.duration else float("nan"),
            "default": bool(t.user_attrs.get("default_recipe", False)),
            "origin": trial_origin(t.user_attrs),
        }
        for name in SUMMARY:
            row[name] = params.get(name)
        row["lr"] = common_params(params).get("lr")  # the optimizer's, or LightGBM's own
        row.update({f"param:{k}": v for k, v in sorted(params.items())})
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_rank"] = frame["state"].map(_STATE_ORDER)
    sign = -1.0 if greater_is_better else 1.0
    frame["_key"] = sign * frame["value"]
    frame = frame.sort_values(["_rank", "_key", "trial"], na_position="last")
    return frame.drop(columns=["_rank", "_key"]).reset_index(drop=True)


def _value(trial: Any) -> float:
    """The objective value; for a pruned trial, its last reported value."""
    if trial.values:
        return float(trial.value)
    if trial.intermediate_values:
        return float(trial.intermediate_values[max(trial.intermediate_values)])
    return float("nan")
