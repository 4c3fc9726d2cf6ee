"""Build a portfolio from recorded runs: normalised regret per case, then greedy selection.

Per case (dataset x variant) and split seed, each candidate's test score is normalised over
the pool, ``(score - worst) / (best - worst)`` in the metric's direction (a failed run scores
0, the worst), and its *regret* is ``1 - normalised``; a case's regret is the mean over its
seeds. Only case-seeds where every candidate of the task kind was recorded count (a stopped
record leaves partial ones out). Per regime, the greedy selection (zero-shot portfolios as in
AutoGluon, TabRepo and FLAML) repeatedly adds the candidate that most lowers the average over
the regime's cases of the best regret so far; its curve is that average after each member.
A regime with no cases takes the order of its task kind's pooled cases.

Everything here is pure (frames and arrays in, frames and arrays out): the CLI
(``benchmarks/portfolio.py``) reads the CSVs and writes the YAML.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.portfolio_cases import KIND_REGIMES
from benchmarks.portfolio_pool import Candidate
from losstune.spaces.portfolio import REGIMES

CASE = ["dataset", "variant"]
SCORES = ("test_score", "valid_score")
REFERENCES = ("worst", "median")

logger = logging.getLogger("losstune.benchmarks")


@dataclass(frozen=True)
class Regrets:
    """The regret of every candidate on every case of the runs.

    Attributes:
        matrix: one row per case (index ``dataset, variant``), one column per candidate
            (NaN where the candidate belongs to the other task kind).
        cases: per case, its ``kind``, ``regime``, ``metric`` and the ``seeds`` counted.
        dropped: ``(dataset, variant, seed)`` of case-seeds left out as incomplete.
    """

    matrix: pd.DataFrame
    cases: pd.DataFrame
    dropped: tuple[tuple[str, str, int], ...] = ()

    def without(self, dataset: str) -> Regrets:
        """These regrets with ``dataset``'s cases removed (leave-one-dataset-out).

        Raises:
            KeyError: ``dataset`` has no case here.
        """
        if dataset not in set(self.cases.index.get_level_values("dataset")):
            known = sorted(set(self.cases.index.get_level_values("dataset")))
            raise KeyError(f"No cases of dataset {dataset!r}; the runs have {known}.")
        keep = self.cases.index.get_level_values("dataset") != dataset
        return Regrets(self.matrix[keep], self.cases[keep], self.dropped)

    def of(self, kind: str, regime: str | None = None) -> pd.DataFrame:
        """The regret matrix of ``kind``'s cases (of ``regime`` only, when given) and
        candidates."""
        rows = self.cases["kind"] == kind
        if regime is not None:
            rows &= self.cases["regime"] == regime
        sub = self.matrix[rows.to_numpy()]
        return sub.loc[:, sub.notna().all(axis=0)] if len(sub) else sub


def normalised(
    scores: Sequence[float], greater_is_better: bool, reference: str = "worst"
) -> np.ndarray:
    """Scores mapped to [0, 1] within one case-seed: 1 for the best, 0 for the worst (or, with
    ``reference="median"``, for the median and below); NaN (a failed run) maps to 0. When
    every finite score ties, they all map to 1.

    Example:
        >>> normalised([0.9, 0.8, float("nan")], greater_is_better=True).tolist()
        [1.0, 0.0, 0.0]
        >>> normalised([1.0, 3.0, 2.0], greater_is_better=False).tolist()
        [1.0, 0.0, 0.5]
    """
    if reference not in REFERENCES:
        raise ValueError(f"reference must be one of {REFERENCES}; got {reference!r}.")
    values = np.asarray(scores, dtype=np.float64)
    values = values if greater_is_better else -values
    finite = np.isfinite(values)
    out = np.zeros(len(values))
    if not finite.any():
        return out
    best = values[finite].max()
    low = values[finite].min() if reference == "worst" else np.median(values[finite])
    if best <= low:
        out[finite] = 1.0 if reference == "worst" else (values[finite] >= best).astype(float)
        return out
    out[finite] = np.clip((values[finite] - low) / (best - low), 0.0, 1.0)
    return out


def regrets(
    runs: pd.DataFrame,
    pools: Mapping[str, Sequence[str]],
    *,
    score: str = "test_score",
    reference: str = "worst",
) -> Regrets:
    """The :class:`Regrets` of ``runs`` (rows of the runs CSV, parsed) for the candidates
    ``pools[kind]``; see the module doc.

    Raises:
        ValueError: ``score`` is not a score column, or no case-seed is complete.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}; got {score!r}.")
    columns = [name for kind in pools for name in pools[kind]]
    per_seed: dict[tuple[str, str], list[pd.Series]] = {}
    info: dict[tuple[str, str], dict[str, Any]] = {}
    dropped = []
    for (dataset, variant, seed), group in runs.groupby([*CASE, "seed"], sort=False):
        kind = str(group["kind"].iloc[0])
        pool = list(pools.get(kind, ()))
        group = group.drop_duplicates("candidate", keep="last").set_index("candidate")
        if not pool or not set(pool) <= set(group.index):
            dropped.append((str(dataset), str(variant), int(seed)))
            continue
        higher = bool(group["greater_is_better"].iloc[0])
        values = normalised(group.loc[pool, score].to_numpy(), higher, reference)
        per_seed.setdefault((dataset, variant), []).append(pd.Series(1.0 - values, index=pool))
        entry = info.setdefault(
            (dataset, variant),
            {"kind": kind, "metric": group["metric"].iloc[0], "regimes": [], "seeds": []},
        )
        entry["regimes"].append(str(group["regime"].iloc[0]))
        entry["seeds"].append(int(seed))
    if not per_seed:
        raise ValueError("No complete case-seed in the runs: record every candidate first.")
    rows, meta = [], []
    for case, series in per_seed.items():
        rows.append(pd.concat(series, axis=1).mean(axis=1).reindex(columns))
        regimes = info[case]["regimes"]
        regime = max(set(regimes), key=regimes.count)
        if len(set(regimes)) > 1:
            logger.warning(
                "case %s has regimes %s over its seeds; taking %s", case, regimes, regime
            )
        meta.append(
            {
                "kind": info[case]["kind"],
                "regime": regime,
                "metric": info[case]["metric"],
                "seeds": tuple(sorted(info[case]["seeds"])),
            }
        )
    index = pd.MultiIndex.from_tuples(list(per_seed), names=CASE)
    matrix = pd.DataFrame(rows, index=index, columns=columns)
    return Regrets(matrix, pd.DataFrame(meta, index=index), tuple(dropped))


def greedy(matrix: np.ndarray, size: int) -> tuple[list[int], list[float]]:
    """Greedy portfolio of ``matrix`` (cases x candidates regrets): the column indices, best
    first, and the average over cases of the best regret so far after each one.

    Each step adds the column that lowers that average most; ties go to the column with the
    lower mean regret, then to the earlier column (the pool's order, the default first).

    Example:
        >>> greedy(np.array([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]]), 2)
        ([1, 0], [0.5, 0.25])

    Raises:
        ValueError: ``matrix`` is empty or ``size`` < 1.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.size == 0:
        raise ValueError(f"greedy needs a non-empty cases x candidates matrix; got {matrix.shape}.")
    if size < 1:
        raise ValueError(f"size must be >= 1; got {size}.")
    mean = matrix.mean(axis=0)
    best = np.full(matrix.shape[0], np.inf)
    order: list[int] = []
    curve: list[float] = []
    for _ in range(min(size, matrix.shape[1])):
        left = [j for j in range(matrix.shape[1]) if j not in order]
        scores = [(float(np.minimum(best, matrix[:, j]).mean()), float(mean[j]), j) for j in left]
        value, _, pick = min(scores)
        order.append(pick)
        curve.append(value)
        best = np.minimum(best, matrix[:, pick])
    return order, curve


def curve_on(matrix: pd.DataFrame, order: Sequence[str]) -> list[float]:
    """The average over ``matrix``'s cases of the best regret among the first k members of
    ``order``, for k = 1..len(order)."""
    values = matrix.loc[:, list(order)].to_numpy(dtype=np.float64)
    return np.minimum.accumulate(values, axis=1).mean(axis=0).tolist()


@dataclass(frozen=True)
class Portfolio:
    """Per regime, its member order and regret curve; ``fallback`` names the regimes that
    had no cases and the task kind whose pooled cases ordered them."""

    orders: Mapping[str, tuple[str, ...]]
    regret: Mapping[str, tuple[float, ...]]
    cases: Mapping[str, int]
    fallback: Mapping[str, str] = field(default_factory=dict)

    def lowering(self, regime: str) -> tuple[str, ...]:
        """The members of ``regime`` whose addition lowered its regret curve (the first one
        always); the others only fill the order once the curve is flat, picked by their mean
        regret."""
        order, curve = self.orders.get(regime, ()), self.regret.get(regime, ())
        return tuple(
            name for k, name in enumerate(order) if k == 0 or curve[k] < curve[k - 1] - 1e-12
        )

    @property
    def members(self) -> tuple[str, ...]:
        """Every member once, in the order the regimes first name them."""
        return tuple(dict.fromkeys(m for regime in REGIMES for m in self.orders.get(regime, ())))


def build(regrets_: Regrets, size: int) -> Portfolio:
    """The greedy portfolio of every regime (see the module doc)."""
    orders, curves, counts, fallback = {}, {}, {}, {}
    for kind, regimes in KIND_REGIMES.items():
        pooled = regrets_.of(kind)
        for regime in regimes:
            matrix = regrets_.of(kind, regime)
            if len(matrix) == 0:
                if len(pooled) == 0:
                    orders[regime], curves[regime], counts[regime] = (), (), 0
                    fallback[regime] = "none"
                    continue
                matrix, fallback[regime] = pooled, kind
            picks, curve = greedy(matrix.to_numpy(), size)
            orders[regime] = tuple(matrix.columns[j] for j in picks)
            curves[regime] = tuple(curve)
            counts[regime] = len(matrix)
    return Portfolio(orders, curves, counts, fallback)


def leave_one_out(regrets_: Regrets, size: int, default: Mapping[str, str]) -> pd.DataFrame:
    """Leave-one-dataset-out: for every dataset and regime of its cases, the regret on that
    dataset's cases of the full portfolio's order (``full@k``) and of the order built without
    the dataset (``lodo@k``) after 1, 4 and ``size`` members; the same with ``default[kind]``
    (the default recipe, which a search runs first) ahead of the members (``full+k``,
    ``lodo+k``); and of the default recipe alone."""
    full = build(regrets_, size)
    records = []
    for dataset in dict.fromkeys(regrets_.cases.index.get_level_values("dataset")):
        out = build(regrets_.without(dataset), size)
        mine = regrets_.cases.index.get_level_values("dataset") == dataset
        for regime in dict.fromkeys(regrets_.cases.loc[mine, "regime"]):
            kind = regrets_.cases.loc[mine, "kind"].iloc[0]
            rows = regrets_.of(kind, regime)
            rows = rows[rows.index.get_level_values("dataset") == dataset]
            base = default[kind]
            record = {
                "dataset": dataset,
                "regime": regime,
                "cases": len(rows),
                "default": float(rows[base].mean()),
                "lodo_fallback": out.fallback.get(regime, ""),
            }
            for name, order in (("full", full.orders[regime]), ("lodo", out.orders[regime])):
                alone, after = curve_on(rows, order), curve_on(rows, [base, *order])[1:]
                for k in sorted({1, min(4, size), size}):
                    record[f"{name}@{k}"] = alone[min(k, len(alone)) - 1]
                    record[f"{name}+{k}"] = after[min(k, len(after)) - 1]
            records.append(record)
    return pd.DataFrame(records)


def portfolio_document(
    portfolio: Portfolio,
    candidates: Mapping[str, Candidate],
    *,
    built_by: str,
    built_from: Mapping[str, Any],
) -> dict[str, Any]:
    """The portfolio YAML's content (version 1): provenance, members with config and note,
    orders and regret curves per regime, and the fallback of regimes without cases (an empty
    mapping when every regime had cases)."""
    document: dict[str, Any] = {
        "version": 1,
        "built_by": built_by,
        "built_from": dict(built_from),
        "members": {
            name: {"config": dict(candidates[name].config), "note": candidates[name].note}
            for name in portfolio.members
        },
        "orders": {regime: list(portfolio.orders.get(regime, ())) for regime in REGIMES},
        "regret": {
            regime: [round(v, 4) for v in portfolio.regret.get(regime, ())] for regime in REGIMES
        },
    }
    document["fallback"] = dict(portfolio.fallback)
    return document


def dump_yaml(document: Mapping[str, Any]) -> str:
    """``document`` as YAML: block mappings, flow style for lists and the flat configs."""
    import yaml

    return yaml.safe_dump(
        dict(document), sort_keys=False, default_flow_style=None, width=100, allow_unicode=True
    )
