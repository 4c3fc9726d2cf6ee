"""Transfer benchmark: ``search(strategy="transfer")`` against a direct full-size search.

On real datasets (:mod:`losstune.datasets`), for split seeds ``0..S-1``, both strategies get
the same number of trials, the same epochs and the same full-size model (an MLP of width 256
and depth 2: fixed in the space of both); the direct search trains it in the standard
parametrisation, as users do today, the transfer search in μP. Seed ``s`` fixes the data
split and the search's seed; both re-train their top configurations on the same fresh seeds.

Per run it records the test score (mean over the final seeds), the compute of the search
phase and of the final re-training, counted as Σ over trained epochs of parameters × training
rows (pruned trials count the epochs they ran), and wall seconds (the trials' own, and the
whole call). The report compares them against the goal of issue 5: at most a quarter of the
compute, test score within the seed-to-seed spread.

Rows are appended to the CSV as they finish and rows already there are skipped, so an
interrupted run resumes.

Usage::

    python benchmarks/transfer.py                   # docs/benchmarks/transfer.md (+ .csv, .png)
    python benchmarks/transfer.py --datasets digits,phoneme --seeds 3 --trials 20 --epochs 20
    python benchmarks/transfer.py --report-only     # rebuild the report from the CSV
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks.provenance import commit, machine
from benchmarks.rows import ReportFiles, append_row, read_rows

REPO = Path(__file__).resolve().parents[1]
WIDTH, DEPTH = 256, 2
STRATEGIES = ("direct", "transfer")
KEY = ("dataset", "seed", "strategy", "trials", "epochs", "top_k", "final_seeds")
COLUMNS = (
    *KEY,
    "metric",
    "test_score",
    "default_score",
    "search_compute",
    "final_compute",
    "search_seconds",
    "wall_seconds",
    "epochs_trained",
    "optimizer",
    "loss",
    "lr",
    "batch_size",
    "predicted_lr",
    "predicted_lr_low",
    "predicted_lr_high",
    "predicted_batch",
    "alpha",
    "beta",
    "gamma",
    "lr_residual_sd",
)
GOAL_COMPUTE = 0.25

logger = logging.getLogger("losstune.benchmarks")


@dataclass(frozen=True)
class Config(ReportFiles):
    datasets: tuple[str, ...]
    seeds: int
    trials: int
    epochs: int
    top_k: int
    final_seeds: int
    out: Path

    def key_of(self, dataset: str, seed: int, strategy: str) -> tuple[str, ...]:
        values = (dataset, seed, strategy, self.trials, self.epochs, self.top_k, self.final_seeds)
        return tuple(str(v) for v in values)


def run_benchmark(config: Config) -> None:
    """Run every (dataset, seed, strategy) of ``config`` missing from its CSV."""
    import losstune.datasets as ltd

    done = {tuple(row[k] for k in KEY) for row in read_rows(config.csv)}
    for name in config.datasets:
        for seed in range(config.seeds):
            todo = [s for s in STRATEGIES if config.key_of(name, seed, s) not in done]
            if not todo:
                continue
            data = ltd.load(name, seed=seed)
            for strategy in todo:
                row = _run_one(config, data, name, ltd.info(name).metric, seed, strategy)
                append_row(config.csv, row, COLUMNS)
                logger.info(
                    "%s seed %d %s: test %.4f, search compute %.3g, %.0f s",
                    name,
                    seed,
                    strategy,
                    row["test_score"],
                    row["search_compute"],
                    row["wall_seconds"],
                )


def _run_one(config: Config, data, name: str, metric: str, seed: int, strategy: str) -> dict:
    import losstune
    from losstune.models import MODELS, n_outputs
    from losstune.spaces import default_space

    space = (
        default_space(data.task, epochs=config.epochs)
        .fix("model.mlp.width", WIDTH)
        .fix("model.mlp.depth", DEPTH)
    )
    with tempfile.TemporaryDirectory() as run_dir:
        started = time.perf_counter()
        result = losstune.search(
            data,
            space,
            metric=metric,
            n_trials=config.trials,
            seed=seed,
            run_dir=run_dir,
            top_k=config.top_k,
            n_seeds=config.final_seeds,
            device="cpu",
            strategy=strategy,
        )
        wall = time.perf_counter() - started
    full = MODELS.get("mlp")(width=WIDTH, depth=DEPTH).build(
        data.n_features, n_outputs(data.task, data.n_classes)
    )
    n_full = sum(p.numel() for p in full.parameters())
    rows = len(data.y_train)
    board = result.leaderboard()
    if strategy == "transfer":
        search_compute = float(result.stages["compute"].sum())
        search_seconds = float(result.stages["seconds"].sum())
        epochs_trained = int(result.stages["epochs_trained"].sum())
    else:
        search_compute = float(board["epochs_run"].sum()) * n_full * rows
        search_seconds = float(board["duration_s"].sum())
        epochs_trained = int(board["epochs_run"].sum())
    recipe = result.recipe
    record = recipe.provenance.transfer
    nan = float("nan")
    return {
        **dict(zip(KEY, config.key_of(name, seed, strategy), strict=True)),
        "metric": metric,
        "test_score": result.score.mean,
        "default_score": result.default_score.mean,
        "search_compute": search_compute,
        # every final run trains a full-size model (candidates and the default) on all rows
        "final_compute": float(len(result.final)) * config.epochs * n_full * rows,
        "search_seconds": search_seconds,
        "wall_seconds": wall,
        "epochs_trained": epochs_trained,
        "optimizer": recipe.torch.optimizer.name,
        "loss": recipe.loss.name,
        "lr": recipe.torch.optimizer.params.get("lr", nan),
        "batch_size": recipe.torch.batch_size,
        "predicted_lr": record.lr.value if record else nan,
        "predicted_lr_low": record.lr.low if record else nan,
        "predicted_lr_high": record.lr.high if record else nan,
        "predicted_batch": record.batch_size.value if record else nan,
        "alpha": record.fit.alpha if record else nan,
        "beta": record.fit.beta if record else nan,
        "gamma": record.fit.gamma if record else nan,
        "lr_residual_sd": record.fit.lr.residual_sd if record else nan,
    }


# -- the report ------------------------------------------------------------------------------


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset: scores over seeds, the paired gap, compute and time ratios."""
    from scipy import stats

    out = []
    for name, group in rows.groupby("dataset", sort=False):
        wide = group.pivot(index="seed", columns="strategy")
        direct, transfer = wide["test_score"]["direct"], wide["test_score"]["transfer"]
        gap = transfer - direct
        n = len(gap)
        half = (
            float(stats.t.ppf(0.975, n - 1) * gap.std(ddof=1) / n**0.5) if n > 1 else float("nan")
        )
        search_ratio = wide["search_compute"]["transfer"] / wide["search_compute"]["direct"]
        total = wide["search_compute"] + wide["final_compute"]
        wall_search = wide["search_seconds"]["transfer"] / wide["search_seconds"]["direct"]
        wall_total = wide["wall_seconds"]["transfer"] / wide["wall_seconds"]["direct"]
        spread = float(direct.std(ddof=1)) if n > 1 else float("nan")
        out.append(
            {
                "dataset": name,
                "metric": group["metric"].iloc[0],
                "seeds": n,
                "direct": float(direct.mean()),
                "transfer": float(transfer.mean()),
                "default": float(wide["default_score"]["direct"].mean()),
                "gap": float(gap.mean()),
                "gap_half_width": half,
                "seed_sd": spread,
                "compute_ratio_search": float(search_ratio.mean()),
                "compute_ratio_total": float((total["transfer"] / total["direct"]).mean()),
                "wall_ratio_search": float(wall_search.mean()),
                "wall_ratio_total": float(wall_total.mean()),
                "compute_ok": bool(search_ratio.mean() <= GOAL_COMPUTE),
                "score_ok": bool(abs(gap.mean()) <= spread),
            }
        )
    return pd.DataFrame(out)


def write_report(config: Config, rows: pd.DataFrame, argv: Sequence[str], wall_s: float) -> None:
    summary = summarise(rows)
    _plot(rows, summary, config.png)
    lines = [
        '# Transfer benchmark: `search(strategy="transfer")` vs a direct full-size search',
        "",
        *_header(config, argv, wall_s, float(rows["wall_seconds"].sum())),
        "",
        "## Verdict",
        "",
        *_verdict(summary),
        "",
        "## Per dataset",
        "",
        "Scores are test scores (mean over the final seeds), averaged over the split seeds. "
        "*gap* is transfer − direct, paired by seed, with a Student-t 95% half-width; "
        "*seed sd* is the standard deviation of the direct search's score over the split "
        "seeds (the seed-to-seed spread). Compute ratios are transfer / direct per seed, "
        "averaged; *search* counts the trials only, *total* adds the final re-training "
        "(the same for both strategies). Wall ratios: *search* sums the trials' own seconds, "
        "*total* is the whole `search()` call (trials, final re-training, MLflow logging).",
        "",
        "| dataset | metric | seeds | direct | transfer | default | gap (95%) | seed sd "
        "| compute search | compute total | wall search | wall total |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.dataset} | {r.metric} | {r.seeds} | {r.direct:.4f} | {r.transfer:.4f} "
            f"| {r.default:.4f} | {r.gap:+.4f} ± {r.gap_half_width:.4f} | {r.seed_sd:.4f} "
            f"| {r.compute_ratio_search:.3f} | {r.compute_ratio_total:.3f} "
            f"| {r.wall_ratio_search:.2f} | {r.wall_ratio_total:.2f} |"
        )
    lines += [
        "",
        f"![scores and compute]({config.png.name})",
        "",
        "## Every run",
        "",
        "Compute in units of 10⁹ parameter-row-epochs. For transfer runs: the fitted "
        "exponents α (N), β (D), γ (batch vs D), the residual sd of the lr law in log space, "
        "the predicted learning rate with its 95% prediction interval, and what the "
        "confirmation picked.",
        "",
        "| dataset | seed | strategy | test | search compute | final compute | trial s | "
        "wall s | optimizer | loss | lr | batch | predicted lr [95%] | pred. batch | α | β | γ "
        "| sd |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows.sort_values(["dataset", "seed", "strategy"]).itertuples():
        transfer = r.strategy == "transfer"
        lines.append(
            f"| {r.dataset} | {r.seed} | {r.strategy} | {r.test_score:.4f} "
            f"| {r.search_compute / 1e9:.2f} | {r.final_compute / 1e9:.2f} "
            f"| {r.search_seconds:.0f} | {r.wall_seconds:.0f} | {r.optimizer} | {r.loss} "
            f"| {r.lr:.3g} | {r.batch_size} "
            + (
                f"| {r.predicted_lr:.3g} [{r.predicted_lr_low:.2g}, {r.predicted_lr_high:.2g}] "
                f"| {r.predicted_batch:.0f} | {r.alpha:+.2f} | {r.beta:+.2f} | {r.gamma:+.2f} "
                f"| {r.lr_residual_sd:.2f} |"
                if transfer
                else "| | | | | | |"
            )
        )
    lines += ["", f"Raw rows: [{config.csv.name}]({config.csv.name}).", ""]
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text("\n".join(lines) + _reading(config.out))


def _reading(path: Path) -> str:
    """The hand-written ``## Reading`` section of the existing report (kept on rewrite)."""
    if not path.is_file():
        return ""
    text = path.read_text()
    start = text.find("\n## Reading")
    return text[start:] if start >= 0 else ""


def _verdict(summary: pd.DataFrame) -> list[str]:
    lines = []
    for r in summary.itertuples():
        compute = "meets" if r.compute_ok else "misses"
        score = "within" if r.score_ok else "outside"
        lines.append(
            f"- **{r.dataset}**: transfer used {r.compute_ratio_search:.0%} of the direct "
            f"search's compute ({compute} the ≤ {GOAL_COMPUTE:.0%} goal; "
            f"{r.compute_ratio_total:.0%} counting the final re-training both do) and scored "
            f"{r.gap:+.4f} {r.metric} against it, {score} the seed-to-seed spread "
            f"(sd {r.seed_sd:.4f}). Wall time of the trials: {r.wall_ratio_search:.0%}."
        )
    met = bool(len(summary)) and bool((summary["compute_ok"] & summary["score_ok"]).all())
    lines += [
        "",
        "**Verdict: "
        + (
            "the goal is met on every dataset** (at most a quarter of the compute, score "
            "within the seed-to-seed spread)."
            if met
            else "the goal is not met on every dataset** (see the lines above for which "
            "part fails where)."
        ),
    ]
    return lines


def _plot(rows: pd.DataFrame, summary: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    names = list(summary["dataset"])
    figure = Figure(figsize=(4.2 * len(names) + 4, 4), layout="constrained")
    axes = figure.subplots(1, len(names) + 1)
    for ax, name in zip(axes[:-1], names, strict=True):
        group = rows[rows["dataset"] == name]
        wide = group.pivot(index="seed", columns="strategy", values="test_score")
        for seed, pair in wide.iterrows():
            ax.plot([0, 1], [pair["direct"], pair["transfer"]], marker="o", label=f"seed {seed}")
        ax.set_xticks([0, 1], ["direct", "transfer"])
        ax.set_xlim(-0.4, 1.4)
        ax.set_ylabel(f"test {group['metric'].iloc[0]}")
        ax.set_title(name)
        ax.legend(fontsize="small")
    ax = axes[-1]
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], summary["compute_ratio_search"], 0.4, label="search")
    ax.bar([i + 0.2 for i in x], summary["compute_ratio_total"], 0.4, label="incl. final")
    ax.axhline(GOAL_COMPUTE, color="tab:red", linestyle="--", label="goal")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("compute, transfer / direct")
    ax.legend(fontsize="small")
    figure.savefig(path, dpi=110)


def _header(config: Config, argv: Sequence[str], wall_s: float, runs_s: float) -> list[str]:

    import losstune
    from losstune.search import TransferPlan

    plan = TransferPlan()
    confirm, per_proxy = plan.split(config.trials, len(plan.widths) * len(plan.fractions))
    command = shlex.join(["python", "benchmarks/transfer.py", *argv])
    command = command.replace(" --report-only", "")  # the command that makes the rows
    return [
        f"Command: `OMP_NUM_THREADS=1 {command}`",
        "",
        f"Machine: {machine()} (1 thread used), losstune "
        f"{losstune.__version__} (commit {commit()}), device cpu.",
        "",
        f"Budget: {config.trials} trials per search, {config.epochs} epochs per trial, final "
        f"selection top {config.top_k} x {config.final_seeds} seeds; {config.seeds} split "
        f"seeds (0..{config.seeds - 1}). Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; the "
        f"searches took {runs_s:.0f} s of wall time in all (summed from the CSV; this "
        f"invocation {wall_s:.0f} s, rows already in the CSV are not re-run).",
        "",
        f"Both searches: the default space with the MLP fixed at width {WIDTH}, depth {DEPTH}; "
        "TPE sampler, median pruner. Direct: standard parametrisation, all trials at full "
        f"size. Transfer (default `TransferPlan`): μP proxies of widths {plan.widths} on "
        f"{plan.fractions} of the training rows; trials split as {per_proxy} on the proxies "
        f"(explorer first) and {confirm} at full size; the N exponent of the lr law "
        f"{'fitted' if plan.alpha is None else f'held at {plan.alpha:g} (μP)'} (see "
        "`losstune/search/strategies/transfer.py`).",
        "",
        "Compute = Σ over trained epochs of the model's parameters × training rows (forward "
        "and backward cost per epoch up to a constant; evaluation passes are not counted).",
    ]


def _frame(config: Config) -> pd.DataFrame:
    if not config.csv.is_file():
        return pd.DataFrame(columns=list(COLUMNS))
    rows = pd.read_csv(config.csv)
    keep = (
        rows["dataset"].isin(config.datasets)
        & (rows["seed"] < config.seeds)
        & (rows["trials"] == config.trials)
        & (rows["epochs"] == config.epochs)
        & (rows["top_k"] == config.top_k)
        & (rows["final_seeds"] == config.final_seeds)
    )
    rows = rows[keep]
    complete = rows.groupby(["dataset", "seed"])["strategy"].transform("nunique") == 2
    return rows[complete].reset_index(drop=True)


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="digits,satimage")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--top-k", type=int, default=2)
    parser.add_argument("--final-seeds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "docs/benchmarks/transfer.md")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    config = Config(
        datasets=tuple(n.strip() for n in args.datasets.split(",") if n.strip()),
        seeds=args.seeds,
        trials=args.trials,
        epochs=args.epochs,
        top_k=args.top_k,
        final_seeds=args.final_seeds,
        out=args.out,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    _quiet()
    started = time.perf_counter()
    if not args.report_only:
        run_benchmark(config)
    rows = _frame(config)
    if rows.empty:
        raise SystemExit(
            f"No complete (dataset, seed) pair in {config.csv}; run without --report-only."
        )
    write_report(config, rows, argv, time.perf_counter() - started)
    print(f"wrote {config.out}")


def _quiet() -> None:
    import optuna
    import torch

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("losstune").setLevel(logging.ERROR)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="The default recipe lies outside")


if __name__ == "__main__":
    main()
