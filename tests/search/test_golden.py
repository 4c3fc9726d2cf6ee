"""Golden tests: what a search leaves behind, pinned before ``losstune/search/`` is refactored.

Four small searches on scikit-learn's wine data (sequential, batched, Ray Tune, transfer),
each run once. For each, :func:`_snapshot` reads what a user can see through public entry
points only — the Optuna studies in ``result.storage``, the MLflow parent and nested runs,
the leaderboard, the saved recipe — and reduces it to names, structure and the values fixed
by the inputs (no scores, no winner, no ids, paths or times: those are replaced by
placeholders such as ``{run_dir}`` and ``{parent_run_id}``). :func:`_check_golden` compares
it with ``tests/search/golden/<kind>.json`` field by field.

Refresh the golden files after an intended change with
``LOSSTUNE_UPDATE_GOLDEN=1 pytest tests/search/test_golden.py`` and review the diff.

Some things depend on the trials' scores (Ray's ASHA decides which trials are pruned from
them; a transfer search's later stages copy the explorer's best configuration): for those
kinds (:data:`SCORE_DEPENDENT`) such fields are left out of the snapshot or compared loosely.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine

import losstune

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("LOSSTUNE_UPDATE_GOLDEN") == "1"

COMMON = dict(metric="accuracy", n_trials=6, epochs=3, top_k=2, n_seeds=2, seed=0)
KINDS = {
    "sequential": {},
    "batched": {"batch_trials": 3},
    "ray": {"backend": "ray", "max_concurrent_trials": 1},
    # the default TransferPlan has 4 proxies: 8 trials is the least it accepts
    # (2 confirmation, 3 explorer, 1 per other proxy)
    "transfer": {"strategy": "transfer", "n_trials": 8},
}
# kinds where which trials are pruned (ASHA on Ray) or which configuration the later stages
# copy (transfer) follows from the trials' scores
SCORE_DEPENDENT = {"ray", "transfer"}
# the leaderboard's order of trial states
STATES = ("complete", "pruned", "failed", "running", "waiting")


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine(), seed=0)


@pytest.fixture(scope="module", params=list(KINDS))
def searched(request, wine, tmp_path_factory):
    """``(kind, result, run_dir)``: each kind's search, run once for the module."""
    kind = request.param
    if kind == "ray":
        request.getfixturevalue("local_ray")
    run_dir = tmp_path_factory.mktemp(f"golden-{kind}")
    result = losstune.search(wine, **{**COMMON, **KINDS[kind]}, run_dir=run_dir)
    return kind, result, run_dir


# -- reading what a search left behind ------------------------------------------------------


class _Normalizer:
    """Replaces what differs between runs (paths, ids, pids, hashes) by placeholders."""

    def __init__(self, result: Any, run_dir: Path, fingerprint: str) -> None:
        self.pairs = [
            (str(Path(run_dir).resolve()), "{run_dir}"),
            (str(run_dir), "{run_dir}"),
            (result.mlflow_run_id, "{parent_run_id}"),
        ]
        self.fingerprint = fingerprint
        self.host = re.compile(rf"{re.escape(socket.gethostname())} \(pid \d+\)")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if not isinstance(value, str):
            return value
        for old, new in self.pairs:
            value = value.replace(old, new)
        # the default study name: losstune-<data hash>-<metric>-<space/seed hash>
        value = re.sub(r"losstune-[0-9a-f]{10}-([a-z0-9_]+)-[0-9a-f]{8}", r"{study:\1}", value)
        value = re.sub(r"-transfer-[0-9a-f]{6}", "-transfer-{plan}", value)
        value = value.replace(self.fingerprint, "{fingerprint}")
        # a dataset without a file is named <target>-<fingerprint[:10]>
        value = value.replace(self.fingerprint[:10], "{fingerprint:10}")
        # the parent run's name ends with its start: <dataset> <metric> YYYY-MM-DD HH:MM
        value = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "{date}", value)
        value = re.sub(r"models:/m-[0-9a-f]+", "models:/{model_id}", value)
        # a local store's model URI is its artifacts' path: <run_dir>/artifacts/models/m-<id>/...
        value = re.sub(r"/models/m-[0-9a-f]+/", "/models/{model_id}/", value)
        return self.host.sub("{host} (pid {pid})", value)


def _by_state(items: list[tuple[str, set[str]]]) -> dict[str, list[str]]:
    """``{state: sorted union of the keys of the items in that state}``, states that occur."""
    out: dict[str, set[str]] = {}
    for state, keys in items:
        out.setdefault(state, set()).update(keys)
    return {s: sorted(out[s]) for s in sorted(out, key=_state_order)}


def _state_order(state: str) -> int:
    return STATES.index(state) if state in STATES else len(STATES)


def _union(sets: list[set[str]]) -> list[str]:
    return sorted(set().union(*sets)) if sets else []


def _common(sets: list[set[str]]) -> list[str]:
    return sorted(set.intersection(*sets)) if sets else []


def _optuna_state(trial: optuna.trial.FrozenTrial) -> str:
    return {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}.get(
        trial.state.name, trial.state.name.lower()
    )


def _studies(result: Any, norm: _Normalizer, strict: bool) -> dict[str, Any]:
    """Every study in ``result.storage``: its trial count, study and trial attribute keys."""
    out: dict[str, Any] = {}
    for name in sorted(optuna.get_all_study_names(storage=result.storage)):
        study = optuna.load_study(study_name=name, storage=result.storage)
        trials = study.get_trials(deepcopy=False)
        states = [(_optuna_state(t), set(t.user_attrs)) for t in trials]
        entry: dict[str, Any] = {
            "n_trials": len(trials),
            "direction": study.direction.name,
            "user_attr_keys": sorted(study.user_attrs),
            "trial_attr_keys": _union([keys for _, keys in states]),
            "trial_attr_keys_in_every_trial": _common([keys for _, keys in states]),
            "first_trial_attr_keys": sorted(trials[0].user_attrs) if trials else [],
            "trial_attr_keys_by_state": _by_state(
                [(s, k) for (s, k), t in zip(states, trials, strict=True) if t.number != 0]
            ),
        }
        if strict:
            counts = Counter(state for state, _ in states)
            entry["states"] = {s: counts[s] for s in sorted(counts, key=_state_order)}
        out[norm(name)] = entry
    return out


def _artifacts(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    files = []
    for item in client.list_artifacts(run_id, path):
        files += _artifacts(client, run_id, item.path) if item.is_dir else [item.path]
    return sorted(files)


def _mlflow(result: Any, norm: _Normalizer, strict: bool) -> dict[str, Any]:
    client = MlflowClient(result.tracking_uri)
    parent = client.get_run(result.mlflow_run_id)
    experiment = client.get_experiment(parent.info.experiment_id)
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    metrics = sorted(parent.data.metrics)
    out: dict[str, Any] = {
        "experiment": norm(experiment.name),
        "experiment.tags": norm(dict(sorted(experiment.tags.items()))),
        "parent_runs": [norm(p.info.run_id) for p in parents],
        "parent.status": parent.info.status,
        "parent.run_name": norm(parent.info.run_name),
        "parent.params": norm(
            {k: v for k, v in sorted(parent.data.params.items()) if not k.startswith("recipe.")}
        ),
        # the selected recipe's values: its fields (which hyperparameters follow from the
        # winner, not pinned)
        "parent.recipe_params": sorted(
            k for k in parent.data.params if k.startswith("recipe.") and k.count(".") == 1
        ),
        "parent.inputs": [
            norm({"name": d.dataset.name, "digest": d.dataset.digest, "tags": len(d.tags)})
            for d in parent.inputs.dataset_inputs
        ],
        "parent.tags": norm(dict(sorted(parent.data.tags.items()))),
        "parent.metrics": [m for m in metrics if not m.startswith("importance.")],
        "parent.artifacts": _artifacts(client, result.mlflow_run_id),
    }
    if strict:  # fANOVA over the completed trials: which exist follows from the pruning
        out["parent.importance_metrics"] = [m for m in metrics if m.startswith("importance.")]

    def run_name(child: Any) -> str:  # which trials ASHA prunes follows from the scores
        name = child.info.run_name
        return name if strict else name.removesuffix(" (pruned)")

    params = [set(c.data.params) for c in children]
    tags = [(c.data.tags.get("state", "?"), set(c.data.tags)) for c in children]
    child_metrics = [(c.data.tags.get("state", "?"), set(c.data.metrics)) for c in children]
    out.update(
        {
            "children.count": len(children),
            "children.parent_run_ids": sorted(
                {norm(c.data.tags["mlflow.parentRunId"]) for c in children}
            ),
            "children.run_names": sorted(run_name(c) for c in children),
            "children.statuses": sorted({c.info.status for c in children}),
            "children.trial_number_tag_by_run_name": {
                run_name(c): c.data.tags.get("optuna.trial_number")
                for c in sorted(children, key=run_name)
            },
            "children.param_keys": _union(params),
            "children.param_keys_in_every_run": _common(params),
            "children.tag_keys": _union([keys for _, keys in tags]),
            "children.tag_keys_by_state": _by_state(tags),
            "children.metric_names": _union([keys for _, keys in child_metrics]),
            "children.metric_names_by_state": _by_state(child_metrics),
            "children.artifacts": _union(
                [set(_artifacts(client, c.info.run_id)) for c in children]
            ),
        }
    )
    if any("stage" in c.data.params for c in children):
        out["children.stage_param_by_run_name"] = {
            run_name(c): c.data.params.get("stage") for c in sorted(children, key=run_name)
        }
    if strict:
        out["children.states"] = sorted(state for state, _ in tags)
    return out


def _leaderboard(result: Any, children_common: list[str], strict: bool) -> dict[str, Any]:
    board = result.leaderboard()
    lead = [c for c in board.columns if not c.startswith("param:")]
    params = [c for c in board.columns if c.startswith("param:")]
    out: dict[str, Any] = {
        "leaderboard.rows": len(board),
        "leaderboard.columns": lead,
        "leaderboard.dtypes": {c: str(board[c].dtype) for c in lead},
        "leaderboard.trials": sorted(int(t) for t in board["trial"]),
        "leaderboard.default_trials": sorted(int(t) for t in board.loc[board["default"], "trial"]),
        "leaderboard.param_columns_after_the_others": board.columns[: len(lead)].tolist() == lead,
        # the always-sampled paths; which conditional ones a transfer search's confirmation
        # trials carry depends on the explorer's winner
        "leaderboard.param_columns_of_every_trial": sorted(
            c for c in params if c.removeprefix("param:") in children_common
        ),
    }
    if strict:
        out["leaderboard.param_columns"] = params  # in order of first use, trial by trial
        out["leaderboard.states"] = sorted(board["state"])
    return out


def _recipe(result: Any, run_dir: Path, norm: _Normalizer) -> dict[str, Any]:
    path = result.recipe.save(Path(run_dir) / "golden-recipe.yaml")
    data = yaml.safe_load(Path(path).read_text())
    provenance = data.get("provenance") or {}
    transfer = provenance.get("transfer")
    return {
        "recipe.keys": list(data),
        "recipe.provenance_keys": list(provenance),
        "recipe.provenance.search_id": norm(provenance.get("search_id")),
        "recipe.provenance.mlflow_run_id": norm(provenance.get("mlflow_run_id")),
        "recipe.provenance.dataset_fingerprint": norm(provenance.get("dataset_fingerprint")),
        "recipe.provenance.score_keys": list(provenance.get("score") or {}),
        "recipe.provenance.default_score_keys": list(provenance.get("default_score") or {}),
        "recipe.provenance.transfer_keys": None if transfer is None else list(transfer),
        "recipe.task_metric_epochs": [data.get("task"), data.get("metric"), data.get("epochs")],
    }


def _snapshot(kind: str, result: Any, run_dir: Path, fingerprint: str) -> dict[str, Any]:
    """Everything pinned for one search, as JSON-able ``{field: value}``."""
    strict = kind not in SCORE_DEPENDENT
    norm = _Normalizer(result, run_dir, fingerprint)
    snap: dict[str, Any] = {
        "result.study_name": norm(result.study_name),
        "result.study().study_name": norm(result.study().study_name),
        "result.storage": norm(result.storage),
        "result.tracking_uri": norm(result.tracking_uri),
        "result.final.columns": list(result.final.columns),
        # whether the default is one of the top_k follows from the scores: not its row count
        "result.final.rows_per_candidate": sorted(
            set(result.final.groupby("candidate").size().tolist())
        ),
        "result.final.selected_rows": int(result.final["selected"].sum()),
        "result.final.default_rows": int(result.final["is_default"].sum()),
        "result.stages.columns": list(result.stages.columns),
        "result.stages.rows": len(result.stages),
        "result.score.n_seeds": result.score.n_seeds,
        "result.default_score.n_seeds": result.default_score.n_seeds,
    }
    snap.update({f"optuna.{k}": v for k, v in _studies(result, norm, strict).items()})
    mlflow = _mlflow(result, norm, strict)
    snap.update(mlflow)
    snap.update(_leaderboard(result, mlflow["children.param_keys_in_every_run"], strict))
    snap.update(_recipe(result, run_dir, norm))
    return snap


# -- comparing ------------------------------------------------------------------------------


def _dump(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, indent=2, sort_keys=sort_keys, default=str)


def _loose_equal(field: str, golden: Any, actual: Any) -> bool:
    """For a score-dependent kind, a per-state mapping only has to agree on the states that
    occur in both runs (and may not show a state the golden run never had)."""
    if field.endswith("_by_state") and isinstance(golden, dict) and isinstance(actual, dict):
        return set(actual) <= set(golden) and all(actual[s] == golden[s] for s in actual)
    if field.startswith("optuna.") and isinstance(golden, dict) and isinstance(actual, dict):
        keys = set(golden) | set(actual)
        return all(
            _loose_equal(k, golden.get(k), actual.get(k))
            if k.endswith("_by_state")
            else golden.get(k) == actual.get(k)
            for k in keys
        )
    return golden == actual


def _check_golden(kind: str, snapshot: dict[str, Any]) -> None:
    """Compare ``snapshot`` with ``golden/<kind>.json`` (or write it when updating); fail with
    one readable diff per differing field, each naming the kind and the field."""
    path = GOLDEN / f"{kind}.json"
    snapshot = json.loads(_dump(snapshot))  # tuples -> lists, as the file holds them
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(_dump(snapshot) + "\n")
        return
    assert path.exists(), f"{path} is missing: run with LOSSTUNE_UPDATE_GOLDEN=1 to write it"
    golden = json.loads(path.read_text())
    loose = kind in SCORE_DEPENDENT
    problems = []
    for field in sorted(set(golden) | set(snapshot)):
        if field not in snapshot:
            problems.append(f"[{kind}] {field}: in the golden file, missing now")
            continue
        if field not in golden:
            problems.append(f"[{kind}] {field}: new, not in the golden file: {snapshot[field]!r}")
            continue
        want, got = golden[field], snapshot[field]
        if (loose and _loose_equal(field, want, got)) or want == got:
            continue
        diff = difflib.unified_diff(
            _dump(want, sort_keys=True).splitlines(),
            _dump(got, sort_keys=True).splitlines(),
            "golden",
            "now",
            lineterm="",
            n=2,
        )
        problems.append(f"[{kind}] {field} differs:\n" + "\n".join(diff))
    if problems:
        pytest.fail(
            f"{len(problems)} field(s) of the {kind!r} search differ from {path.name} "
            "(LOSSTUNE_UPDATE_GOLDEN=1 rewrites it after an intended change):\n\n"
            + "\n\n".join(problems),
            pytrace=False,
        )


# -- tests ----------------------------------------------------------------------------------


def test_search_matches_its_golden_snapshot(searched, wine):
    kind, result, run_dir = searched
    _check_golden(kind, _snapshot(kind, result, run_dir, wine.fingerprint))


def test_every_trial_has_one_nested_run_under_the_parent(searched):
    kind, result, _ = searched
    client = MlflowClient(result.tracking_uri)
    experiment = client.get_run(result.mlflow_run_id).info.experiment_id
    runs = client.search_runs([experiment], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert [p.info.run_id for p in parents] == [result.mlflow_run_id]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {result.mlflow_run_id}
    n_trials = KINDS[kind].get("n_trials", COMMON["n_trials"])
    assert len(children) == n_trials
    assert sorted(int(c.data.tags["optuna.trial_number"]) for c in children) == list(
        range(n_trials)
    )
    # the final selection: the top_k configurations, plus the default unless among them
    candidates = result.final["candidate"].nunique()
    assert COMMON["top_k"] <= candidates <= COMMON["top_k"] + 1
    assert len(result.final) == candidates * COMMON["n_seeds"]
    # the leaderboard is the result's study (for transfer: its confirmation stage)
    board = result.leaderboard()
    assert len(board) == len(result.study().trials)
    # importances name searched parameters, as the nested runs log them
    names = set().union(*(c.data.params for c in children))
    parent = client.get_run(result.mlflow_run_id)
    importances = {
        m.removeprefix("importance.") for m in parent.data.metrics if m.startswith("importance.")
    }
    assert importances <= names
