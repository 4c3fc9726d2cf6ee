"""Anytime performance of the searches: the test score of the best trial so far, against the
number of trials run.

After a search, its trials are replayed in the order they ran. After ``k`` trials the
*incumbent* is the complete trial with the best validation score among the first ``k`` (a
later trial takes over only when strictly better; pruned and failed trials never do). Each
distinct incumbent is re-trained once with :func:`losstune.train`, on the trial's own seed
(the search's), which gives the model the trial trained and so its test score; the
re-training's validation score is kept to check that it reproduces the trial's. Scores are
cached in the benchmark's work folder by recipe, dataset and device, so a resumed run or
another search that found the same configuration (every search's first trial is the default
recipe) does not train it again.

To compare datasets, a curve is normalised per case and seed by the default recipe's test
score there (the ``default`` contender, the same split): ``sign * (score - default) /
|default|``, positive when better than the default whatever the metric's direction. A case's
curve is the mean over the seeds every curve contender ran. A search that ran fewer trials
than the budget keeps its last incumbent to the end.

Example:
    >>> board = pd.DataFrame(
    ...     {"trial": [0, 1, 2, 3], "state": ["complete", "pruned", "complete", "complete"],
    ...      "value": [0.8, float("nan"), 0.9, 0.85]}
    ... )
    >>> incumbents(board, greater_is_better=True).tolist()
    [0.0, 0.0, 2.0, 2.0]
    >>> trials_to_reach([-0.1, 0.0, 0.2, 0.3], 0.15)
    3
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.contenders.base import TrialRecord
from losstune.data import Dataset

CASE = ["dataset", "variant"]
RUN = [*CASE, "seed"]
TRACE_COLUMNS = (
    "k",
    "trial",
    "state",
    "origin",
    "value",
    "incumbent",
    "incumbent_origin",
    "incumbent_valid",
    "incumbent_test",
    "rerun_valid",
)
"""The per-trial columns of the anytime CSV (after the quality benchmark's key)."""


def incumbents(trials: pd.DataFrame, greater_is_better: bool) -> pd.Series:
    """Per ``k = 1..len(trials)``: the trial number of the incumbent after the first ``k``
    trials (by trial number), NaN before the first complete one.

    ``trials`` has the columns ``trial``, ``state`` and ``value`` (a
    ``result.leaderboard()`` does, in any order).
    """
    ordered = trials.sort_values("trial")
    best, best_value, out = math.nan, math.nan, []
    for number, state, value in zip(
        ordered["trial"], ordered["state"], ordered["value"], strict=True
    ):
        value = float(value)
        if state == "complete" and not math.isnan(value):
            better = value > best_value if greater_is_better else value < best_value
            if math.isnan(best_value) or better:
                best, best_value = float(number), value
        out.append(best)
    return pd.Series(out, index=pd.RangeIndex(1, len(out) + 1, name="k"), dtype=float)


def trace(
    trials: Sequence[TrialRecord],
    greater_is_better: bool,
    scores: Callable[[str], tuple[float, float]],
) -> list[dict[str, object]]:
    """One row per trial (``k`` = 1, 2, ... in the order they ran) with its incumbent and
    the incumbent's re-trained scores: ``scores(config_json)`` returns (valid, test) and is
    called once per distinct incumbent configuration."""
    if not trials:
        return []
    frame = pd.DataFrame(
        {
            "trial": [t.number for t in trials],
            "state": [t.state for t in trials],
            "value": [t.value for t in trials],
        }
    )
    by_number = {t.number: t for t in trials}
    ordered = sorted(trials, key=lambda t: t.number)
    retrained: dict[str, tuple[float, float]] = {}
    rows = []
    for k, (record, incumbent) in enumerate(
        zip(ordered, incumbents(frame, greater_is_better), strict=True), start=1
    ):
        row: dict[str, object] = {
            "k": k,
            "trial": record.number,
            "state": record.state,
            "origin": record.origin,
            "value": record.value,
            "incumbent": math.nan,
            "incumbent_origin": "",
            "incumbent_valid": math.nan,
            "incumbent_test": math.nan,
            "rerun_valid": math.nan,
        }
        if not math.isnan(incumbent):
            best = by_number[int(incumbent)]
            if best.config not in retrained:
                retrained[best.config] = scores(best.config)
            valid, test = retrained[best.config]
            row.update(
                incumbent=best.number,
                incumbent_origin=best.origin,
                incumbent_valid=best.value,
                incumbent_test=test,
                rerun_valid=valid,
            )
        rows.append(row)
    return rows


@dataclass(frozen=True)
class RetrainScores:
    """Re-trains a trial's configuration on one case and seed, once per work folder.

    Attributes:
        dataset, metric, seed, device: the case (as the contenders saw it), its metric, the
            search's seed (every trial's training seed) and the torch device.
        folder: where the scores are cached, one small JSON file per recipe, dataset and
            device (None: no cache).
    """

    dataset: Dataset
    metric: str
    seed: int
    device: str = "cpu"
    folder: Path | None = None

    def __call__(self, config_json: str) -> tuple[float, float]:
        """(valid, test) scores of the configuration; NaN when it fails to train again."""
        from losstune.runners import TrainingDiverged, train
        from losstune.spaces import config_to_recipe

        recipe = config_to_recipe(
            json.loads(config_json),
            task=self.dataset.task,
            metric=self.metric,
            seed=self.seed,
        )
        key = recipe.to_yaml() + f"|{self.dataset.fingerprint}|{self.device}"
        path = None
        if self.folder is not None:
            name = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
            path = Path(self.folder) / f"{name}.json"
            if path.is_file():
                cached = json.loads(path.read_text())
                return float(cached["valid"]), float(cached["test"])
        try:
            result = train(recipe, self.dataset, device=self.device)
            scores = (float(result.valid_score), float(result.test_score))
        except (TrainingDiverged, ValueError, RuntimeError):
            scores = (math.nan, math.nan)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}")
            partial.write_text(json.dumps({"valid": scores[0], "test": scores[1]}))
            os.replace(partial, path)
        return scores


def normalised_curves(
    trace_rows: pd.DataFrame, rows: pd.DataFrame, n_trials: int, reference: str = "default"
) -> pd.DataFrame:
    """Per (dataset, variant, seed, contender) of ``trace_rows`` (the anytime CSV): the
    incumbent's test score after ``k = 1..n_trials`` trials, normalised by ``reference``'s
    test score on the same case and seed (``rows``: the benchmark's CSV); NaN before the
    first complete trial and where the reference has no score, the last value carried past
    a search's last trial. Columns ``1..n_trials``, indexed by the four keys."""
    ref = rows[(rows["contender"] == reference) & (rows["error"].fillna("") == "")]
    ref = ref.set_index(RUN)["test_score"].astype(float)
    ref = ref[~ref.index.duplicated(keep="last")]
    curves = {}
    for key, group in trace_rows.groupby([*RUN, "contender"], sort=False):
        group = group.sort_values("k").drop_duplicates("k", keep="last")
        tests = group.set_index("k")["incumbent_test"].astype(float)
        last = int(tests.index.max())
        tests = tests.reindex(range(1, n_trials + 1))
        if last < n_trials:  # a search that stopped early keeps its last incumbent
            tests.loc[last + 1 :] = tests.loc[last]
        base = float(ref.get(tuple(key[:3]), math.nan))
        sign = 1.0 if str(group["greater_is_better"].iloc[0]).lower() == "true" else -1.0
        curves[key] = relative(tests.to_numpy(), base, sign)
    index = pd.MultiIndex.from_tuples(list(curves), names=[*RUN, "contender"])
    return pd.DataFrame(list(curves.values()), index=index, columns=range(1, n_trials + 1))


def relative(scores: np.ndarray, reference: float, sign: float) -> np.ndarray:
    """``sign * (scores - reference) / |reference|``: NaN where the reference is 0 or NaN.

    Example:
        >>> relative(np.array([0.9, 1.1]), 1.0, 1.0).round(3).tolist()
        [-0.1, 0.1]
        >>> relative(np.array([0.9]), 1.0, -1.0).round(3).tolist()  # lower is better
        [0.1]
    """
    if math.isnan(reference) or reference == 0:
        return np.full(len(scores), math.nan)
    return sign * (np.asarray(scores, dtype=float) - reference) / abs(reference)


def case_curves(curves: pd.DataFrame, contenders: Sequence[str]) -> pd.DataFrame:
    """Per (dataset, variant, contender): the mean over the seeds of the normalised curves,
    counting only the seeds where every one of ``contenders`` has a curve (a paired
    comparison); cases without such a seed are left out."""
    wide = curves[curves.index.get_level_values("contender").isin(list(contenders))]
    if wide.empty:
        return wide
    have = wide.iloc[:, -1].notna().groupby(level=RUN).sum()
    full = have[have == len(contenders)].index
    keep = wide.index.droplevel("contender").isin(full)
    return wide[keep].groupby(level=[*CASE, "contender"], sort=False).mean()


def trials_to_reach(curve: Sequence[float], target: float) -> int | None:
    """The first ``k`` (1-based) where ``curve`` is at least ``target``; None if never
    (NaN never reaches, nor does anything reach a NaN target)."""
    if math.isnan(target):
        return None
    for k, value in enumerate(curve, start=1):
        if not math.isnan(value) and value >= target:
            return k
    return None


@dataclass(frozen=True)
class Reach:
    """How many trials ``first`` needs to reach ``second``'s score after ``at`` trials.

    Attributes:
        per_case: (dataset, variant) -> trials (None: not within the budget).
        median: the trials within which more than half of the cases reach it (the median
            case; None when not more than half reach it at all).
        on_mean: the same on the curves averaged over the cases.
    """

    per_case: Mapping[tuple[str, str], int | None]
    median: int | None
    on_mean: int | None


def reach(case_curves_: pd.DataFrame, first: str, second: str, at: int) -> Reach:
    """:class:`Reach` of ``first`` against ``second`` on the case curves of
    :func:`case_curves`."""
    per_case: dict[tuple[str, str], int | None] = {}
    if case_curves_.empty:
        return Reach(per_case, None, None)
    for case, group in case_curves_.groupby(level=CASE, sort=False):
        mine = group.droplevel(CASE)
        if first not in mine.index or second not in mine.index:
            continue
        target = float(mine.loc[second, at])
        per_case[(str(case[0]), str(case[1]))] = trials_to_reach(mine.loc[first].tolist(), target)
    means = mean_curves(case_curves_)
    on_mean = None
    if first in means.index and second in means.index:
        on_mean = trials_to_reach(means.loc[first].tolist(), float(means.loc[second, at]))
    return Reach(per_case, median_trials(list(per_case.values())), on_mean)


def median_trials(values: Sequence[int | None]) -> int | None:
    """The smallest ``t`` such that more than half of ``values`` are ``<= t`` (None counts
    as never): the middle value, the upper of the two middle ones for an even count; None
    when there are no values or not more than half reach at all.

    Example:
        >>> median_trials([1, 12, None, 4]), median_trials([3, 1, None])
        (12, 3)
    """
    if not values:
        return None
    ordered = sorted(values, key=lambda v: math.inf if v is None else v)
    return ordered[len(ordered) // 2]


def mean_curves(case_curves_: pd.DataFrame) -> pd.DataFrame:
    """Per contender: the mean over the cases of its case curves."""
    return case_curves_.groupby(level="contender", sort=False).mean()


def plot(
    panels: Mapping[str, pd.DataFrame],
    path: Path,
    *,
    target: str,
    marks: Mapping[str, int | None] | None = None,
) -> Path:
    """One panel per entry of ``panels`` (title -> case curves of :func:`case_curves`): each
    contender's mean curve over the cases, ``target``'s last value as a dotted line, and a
    vertical mark per panel at ``marks[title]`` (the median case's trials to reach it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    for ax, (title, curves) in zip(axes[0], panels.items(), strict=True):
        means = mean_curves(curves) if not curves.empty else pd.DataFrame()
        n_cases = curves.index.droplevel("contender").nunique() if not curves.empty else 0
        for name, values in means.iterrows():
            x = [*values.index, values.index[-1] + 0.5]  # the last value holds a little
            y = 100 * np.append(values.to_numpy(), values.iloc[-1])
            ax.step(x, y, where="post", label=str(name))
        if target in means.index:
            ax.axhline(100 * means.loc[target].iloc[-1], color="grey", linestyle=":", linewidth=1)
        mark = (marks or {}).get(title)
        if mark is not None:
            ax.axvline(mark, color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"{title} ({n_cases} cases)")
        ax.set_xlabel("trials")
        ax.set_ylabel("incumbent's test score vs default (%)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if len(means):
            ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
