"""Replay recorded trials under a pruning rule by driving a real in-memory Optuna study.

For one dataset, one rule and one order of its recorded trials: each trial is ``ask``-ed,
its recorded validation values are reported epoch by epoch (an undefined, NaN value is
skipped, as a search skips it), and after each report ``should_prune`` decides. A pruned
trial is told PRUNED and has consumed the epochs it reported; a trial that reaches its end
is told its final validation value (COMPLETE) or, when it diverged, FAIL, having consumed
the epochs up to the one it failed in. The replay's outcome is the epochs spent, the final
incumbent (best complete trial) and whether the no-pruning best was lost.

Example:
    >>> from benchmarks.pruning_curves import DatasetCurves, RecordedTrial
    >>> good = RecordedTrial({}, (0.6, 0.8), "complete", 2, 0.8, 0.8, 0.1)
    >>> bad = RecordedTrial({}, (0.5, 0.6), "complete", 2, 0.6, 0.6, 0.1)
    >>> data = DatasetCurves("toy", "binary", "accuracy", True, 2, (good, bad))
    >>> outcome = replay(data, optuna.pruners.NopPruner(), [1, 0], study_name="toy")
    >>> outcome.epochs_fraction, outcome.regret, outcome.best_pruned
    (1.0, 0.0, False)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from benchmarks.pruning_curves import DatasetCurves


@dataclass(frozen=True)
class ReplayOutcome:
    """What one replay of one trial order under one rule cost and found.

    Attributes:
        epochs: epochs consumed by all trials.
        epochs_fraction: ``epochs`` over the epochs of the same trials with no pruning.
        seconds_fraction: the same in recorded training seconds (trials differ in cost).
        incumbent: the best final validation value of the trials that completed.
        regret: how much worse ``incumbent`` is than the no-pruning best (metric units,
            0 is best); NaN if no trial completed.
        normalised_regret: ``regret`` over the gap between the no-pruning best and the median
            final value of the complete trials (1 = ending with a median trial).
        test_gap: the test value of the no-pruning best minus that of ``incumbent``, signed
            so that > 0 means the pruned search's pick tests worse.
        best_pruned: every trial holding the no-pruning best value was pruned.
        n_pruned, n_complete, n_failed: how the trials ended.
        decisions: ``should_prune`` calls; ``decision_ms``: their mean wall time.
    """

    epochs: int
    epochs_fraction: float
    seconds_fraction: float
    incumbent: float
    regret: float
    normalised_regret: float
    test_gap: float
    best_pruned: bool
    n_pruned: int
    n_complete: int
    n_failed: int
    decisions: int
    decision_ms: float


def replay(
    curves: DatasetCurves,
    pruner: optuna.pruners.BasePruner,
    order: Sequence[int],
    *,
    study_name: str,
    sampler_seed: int = 0,
) -> ReplayOutcome:
    """Replay ``curves.trials`` in ``order`` (indices; a permutation or a subset) under
    ``pruner`` (see the module doc)."""
    _check_order(order, len(curves.trials))
    study = optuna.create_study(
        study_name=study_name,
        direction=curves.direction,
        pruner=pruner,
        sampler=optuna.samplers.RandomSampler(seed=sampler_seed),
    )
    epochs = n_pruned = n_failed = decisions = 0
    seconds = decision_s = 0.0
    pruned_indices: set[int] = set()
    complete: list[int] = []
    for index in order:
        recorded = curves.trials[index]
        trial = study.ask()
        stopped_at = None
        for epoch, value in enumerate(recorded.curve, start=1):
            if math.isnan(value):
                continue
            trial.report(value, step=epoch)
            started = time.perf_counter()
            prune = trial.should_prune()
            decision_s += time.perf_counter() - started
            decisions += 1
            if prune:
                stopped_at = epoch
                break
        if stopped_at is not None:
            study.tell(trial, state=TrialState.PRUNED)
            used = stopped_at
            n_pruned += 1
            pruned_indices.add(index)
        elif recorded.complete:
            study.tell(trial, recorded.valid)
            used = recorded.stopped_epoch
            complete.append(index)
        else:
            study.tell(trial, state=TrialState.FAIL)
            used = recorded.stopped_epoch
            n_failed += 1
        epochs += used
        seconds += used * recorded.seconds_per_epoch
    full = [curves.trials[i] for i in order]
    full_epochs = sum(t.stopped_epoch for t in full)
    full_seconds = sum(t.stopped_epoch * t.seconds_per_epoch for t in full)
    reference = _reference(curves, order)
    incumbent, test = _incumbent(curves, complete)
    regret = _regret(curves, reference.best, incumbent)
    return ReplayOutcome(
        epochs=epochs,
        epochs_fraction=epochs / full_epochs,
        seconds_fraction=seconds / full_seconds if full_seconds > 0 else math.nan,
        incumbent=incumbent,
        regret=regret,
        normalised_regret=regret / reference.spread if reference.spread > 0 else math.nan,
        test_gap=_regret(curves, reference.best_test, test),
        best_pruned=bool(reference.best_indices) and reference.best_indices <= pruned_indices,
        n_pruned=n_pruned,
        n_complete=len(complete),
        n_failed=n_failed,
        decisions=decisions,
        decision_ms=1000 * decision_s / decisions if decisions else math.nan,
    )


def orders(n_trials: int, n_orders: int, seed: int) -> list[np.ndarray]:
    """``n_orders`` seeded permutations of ``range(n_trials)``; the first is the recorded
    order, so one replay always follows the sampler's own sequence."""
    if n_trials < 1 or n_orders < 1:
        raise ValueError(f"n_trials and n_orders must be >= 1; got {n_trials}, {n_orders}.")
    rng = np.random.default_rng(seed)
    return [np.arange(n_trials)] + [rng.permutation(n_trials) for _ in range(n_orders - 1)]


def replay_all(
    datasets: Iterable[DatasetCurves],
    rules: Sequence[str],
    n_orders: int,
    seed: int = 0,
    *,
    done: Container[tuple[str, str, int]] = frozenset(),
    on_rows: Callable[[list[dict[str, object]]], None] | None = None,
    log_every: int = 10,
    timed_orders: int = 1,
) -> pd.DataFrame:
    """Every dataset x order x rule not in ``done`` (``(dataset, rule, order)`` keys); one
    row per replay (the :class:`ReplayOutcome` fields plus ``dataset``, ``metric``,
    ``greater_is_better``, ``rule``, ``family``, ``order``, ``seed`` and ``cached``).
    ``on_rows`` gets each order's rows as soon as they exist (to save them).

    Every rule sees the same orders of a dataset, so rules are compared order by order; the
    pruner of order ``k`` is seeded with ``seed + k``. Curve rules reuse memoised forecasts
    (``benchmarks/pruning_fitcache.py``: the same decisions, in less time) except in the
    first ``timed_orders`` orders, whose ``decision_ms`` is the honest cost of a decision.
    ``log_every``: log progress every that many orders (0: never).
    """
    import contextlib
    import logging

    from benchmarks.pruning_fitcache import cached_forecasts
    from benchmarks.pruning_rules import RULES

    logger = logging.getLogger("losstune.benchmarks")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    chosen = [RULES.get(name) for name in rules]
    curve_rules = any(rule.family == "curve" for rule in chosen)
    rows = []
    for data in datasets:
        started = time.perf_counter()
        permutations = orders(len(data.trials), n_orders, seed)
        with cached_forecasts() if curve_rules else contextlib.nullcontext() as cache:
            for k, order in enumerate(permutations):
                todo = [r for r in chosen if (data.dataset, r.name, k) not in done]
                if not todo:
                    continue
                if cache is not None:
                    cache.new_order()
                batch = []
                for rule in todo:
                    cached = rule.family == "curve" and k >= timed_orders
                    if cache is not None:
                        cache.enabled = cached
                    pruner = rule.make(data.epochs, seed=seed + k)
                    outcome = replay(data, pruner, order, study_name=f"{data.dataset}-order{k}")
                    batch.append(
                        {
                            "dataset": data.dataset,
                            "metric": data.metric,
                            "greater_is_better": data.greater_is_better,
                            "rule": rule.name,
                            "family": rule.family,
                            "order": k,
                            "seed": seed,
                            "cached": cached,
                            **asdict(outcome),
                        }
                    )
                rows += batch
                if on_rows is not None:
                    on_rows(batch)
                if log_every and ((k + 1) % log_every == 0 or k + 1 == len(permutations)):
                    logger.info(
                        "%s: %d/%d orders in %.0f s",
                        data.dataset,
                        k + 1,
                        len(permutations),
                        time.perf_counter() - started,
                    )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class _Reference:
    best: float
    best_test: float
    spread: float
    best_indices: frozenset[int]


def _reference(curves: DatasetCurves, order: Sequence[int]) -> _Reference:
    """The no-pruning outcome of the trials in ``order``: best value, its test value, the
    best-to-median gap and which trials hold the best value."""
    complete = [i for i in order if curves.trials[i].complete]
    if not complete:
        raise ValueError(
            f"The order holds no complete trial of {curves.dataset!r}, so there is no "
            "no-pruning incumbent to measure regret against; include a complete trial."
        )
    values = np.array([curves.trials[i].valid for i in complete])
    best = float(values.max() if curves.greater_is_better else values.min())
    holders = frozenset(i for i, v in zip(complete, values, strict=True) if v == best)
    _, best_test = _incumbent(curves, complete)
    spread = abs(best - float(np.median(values)))
    return _Reference(best, best_test, spread, holders)


def _incumbent(curves: DatasetCurves, complete: Sequence[int]) -> tuple[float, float]:
    """The best final validation value among ``complete`` and the test value of the first
    trial (in ``complete``'s order) that holds it; NaN, NaN when none completed."""
    if not complete:
        return math.nan, math.nan
    pick = max if curves.greater_is_better else min
    best = pick(complete, key=lambda i: curves.trials[i].valid)
    return curves.trials[best].valid, curves.trials[best].test


def _regret(curves: DatasetCurves, best: float, value: float) -> float:
    gap = best - value
    return gap if curves.greater_is_better else -gap


def _check_order(order: Sequence[int], n: int) -> None:
    indices = list(order)
    if not indices:
        raise ValueError("order is empty; pass at least one trial index.")
    if len(set(indices)) != len(indices) or not all(0 <= int(i) < n for i in indices):
        raise ValueError(
            f"order must hold distinct trial indices in 0..{n - 1}; got {indices[:10]}..."
        )
