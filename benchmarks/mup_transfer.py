"""μP width-transfer benchmark: validation loss against learning rate, standard vs μP.

On each dataset (``losstune.datasets.load(name, seed=0)``), for every width, parametrisation
(``model.mlp.parametrization``: ``standard`` or ``mup``, ``base_width`` 64), learning rate on a
log grid spaced by factors of 2, and seed, it trains a 2-hidden-layer MLP (no dropout) with
AdamW (no weight decay, constant learning rate, batch 128, cross-entropy) and records the
validation log-loss. The report gives the best learning rate per width, the ratio max/min of
the best learning rates per parametrisation (1 is perfect transfer), and what transferring the
narrowest width's best learning rate to the widest model costs in validation loss.

Rows are appended to the CSV as they finish and rows already there are skipped, so an
interrupted run resumes; ``--report-only`` rebuilds the page and plot from the CSV.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/mup_transfer.py      # docs/benchmarks/mup.md (+ .png, .csv)
    python benchmarks/mup_transfer.py --quick      # a minute: digits, widths 64 and 512, in /tmp
    python benchmarks/mup_transfer.py --report-only
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):  # run as a script: make `losstune` importable from the checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks.provenance import commit, machine
from benchmarks.rows import ReportFiles, append_row, read_rows
from losstune.runners.torch.coord_check import WIDTHS, coordinate_changes

if TYPE_CHECKING:
    from losstune.data import Dataset

REPO = Path(__file__).resolve().parents[1]
PARAMETRIZATIONS = ("standard", "mup")
COORD_OPTIMIZERS = {"adamw": 1e-2, "sgd": 0.1, "lion": 1e-3, "adafactor": 1e-2, "muon": 1e-2}
BASE_WIDTH = 64
KEY = ("dataset", "parametrization", "width", "lr_exponent", "seed", "epochs")
COLUMNS = (*KEY, "lr", "valid_log_loss", "valid_accuracy", "diverged", "seconds")


@dataclass(frozen=True)
class Config(ReportFiles):
    """One benchmark run: datasets, widths, the lr grid (``lr = 2**e``), seeds, epochs."""

    datasets: tuple[str, ...] = ("digits", "satimage")
    widths: tuple[int, ...] = (64, 256, 1024, 2048)
    exponents: tuple[int, ...] = tuple(range(-13, -3))
    seeds: tuple[int, ...] = (0, 1)
    epochs: int = 5
    out: Path = REPO / "docs" / "benchmarks" / "mup.md"


QUICK = Config(
    datasets=("digits",),
    widths=(64, 512),
    exponents=tuple(range(-12, -4)),
    seeds=(0,),
    out=Path(tempfile.gettempdir()) / "losstune-mup-quick.md",
)


def train_one(
    dataset: Dataset, parametrization: str, width: int, exponent: int, seed: int, epochs: int
) -> dict[str, object]:
    """Validation log-loss and accuracy of one run (``inf`` and ``diverged`` when it blew up)."""
    from losstune.recipe import Component, Recipe
    from losstune.runners import TrainingDiverged, train

    model = {"width": width, "depth": 2, "dropout": 0.0, "parametrization": parametrization}
    recipe = Recipe.default(dataset.task, metric="log_loss").replace(
        epochs=epochs,
        seed=seed,
        batch_size=128,
        model=Component("mlp", {**model, "base_width": BASE_WIDTH}),
        optimizer=Component("adamw", {"lr": 2.0**exponent, "weight_decay": 0.0}),
        schedule=Component("constant"),
    )
    started = time.perf_counter()
    try:
        valid = train(recipe, dataset).valid_metrics
        loss, accuracy, diverged = valid["log_loss"], valid["accuracy"], False
    except TrainingDiverged:
        loss, accuracy, diverged = math.inf, math.nan, True
    return {
        "lr": 2.0**exponent,
        "valid_log_loss": loss,
        "valid_accuracy": accuracy,
        "diverged": diverged,
        "seconds": round(time.perf_counter() - started, 3),
    }


def run(config: Config) -> None:
    """Train every missing (dataset, parametrisation, width, lr, seed) of ``config``."""
    import losstune.datasets as ltd

    done = {tuple(row[k] for k in KEY) for row in read_rows(config.csv)}
    for name in config.datasets:
        dataset = ltd.load(name, seed=0)
        for parametrization in PARAMETRIZATIONS:
            for width in config.widths:
                started = time.perf_counter()
                for exponent in config.exponents:
                    for seed in config.seeds:
                        key = (name, parametrization, width, exponent, seed, config.epochs)
                        if tuple(map(str, key)) in done:
                            continue
                        result = train_one(
                            dataset, parametrization, width, exponent, seed, config.epochs
                        )
                        append_row(config.csv, dict(zip(KEY, key, strict=True)) | result, COLUMNS)
                print(
                    f"{name} {parametrization} width {width}: "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean validation log-loss over seeds per dataset, parametrisation, width and lr."""
    return (
        rows.groupby(["dataset", "parametrization", "width", "lr_exponent"], sort=True)[
            "valid_log_loss"
        ]
        .mean()
        .reset_index()
    )


def best_lrs(summary: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, parametrisation and width: the lr exponent of the lowest mean loss."""
    best = summary.loc[
        summary.groupby(["dataset", "parametrization", "width"])["valid_log_loss"].idxmin()
    ]
    return best.rename(columns={"valid_log_loss": "best_loss"}).reset_index(drop=True)


def markdown(config: Config, rows: pd.DataFrame, header: list[str], plot_name: str) -> str:
    """The report page."""
    summary = summarize(rows)
    best = best_lrs(summary)
    grid = f"2^{min(config.exponents)} .. 2^{max(config.exponents)}"
    lines = [
        "# μP width transfer",
        "",
        *header,
        "",
        f"Setup: 2 hidden layers of `width` units (ReLU, no dropout), AdamW (no weight decay), "
        f"constant learning rate on the grid lr = {grid} (factor 2), batch 128, "
        f"{config.epochs} epochs, cross-entropy; validation log-loss averaged over seeds "
        f"{', '.join(map(str, config.seeds))} (the seed sets initialisation and shuffling; the "
        f"split is `losstune.datasets.load(name, seed=0)`). μP: `parametrization='mup'`, "
        f"`base_width={BASE_WIDTH}` (so width {BASE_WIDTH} is the same model in both).",
        "",
        f"![validation loss against learning rate]({plot_name})",
        "",
        "## Best learning rate per width",
        "",
        "| dataset | width | standard: best lr | loss | μP: best lr | loss |",
        "|---|---|---|---|---|---|",
    ]
    for (dataset, width), group in best.groupby(["dataset", "width"], sort=False):
        cells = []
        for parametrization in PARAMETRIZATIONS:
            row = group[group["parametrization"] == parametrization]
            if row.empty:
                cells += ["n/a", "n/a"]
            else:
                exponent, loss = int(row["lr_exponent"].iloc[0]), row["best_loss"].iloc[0]
                cells += [f"2^{exponent} = {2.0**exponent:.2g}", f"{loss:.3f}"]
        lines.append(f"| {dataset} | {width} | {' | '.join(cells)} |")
    lines += [
        "",
        "## Transfer",
        "",
        "Spread: ratio max/min of the best learning rates over the widths (1 = the best "
        "learning rate does not move). Transfer cost: validation loss of the widest model "
        "trained at the narrowest model's best learning rate, minus the widest model's best "
        "loss on the grid.",
        "",
        "| dataset | parametrization | best lr exponents (by width) | spread | transfer cost |",
        "|---|---|---|---|---|",
    ]
    for dataset, parametrization in _cases(best):
        group = best[(best["dataset"] == dataset) & (best["parametrization"] == parametrization)]
        group = group.sort_values("width")
        exponents = group["lr_exponent"].astype(int).tolist()
        spread = 2.0 ** (max(exponents) - min(exponents))
        narrow, wide = group.iloc[0], group.iloc[-1]
        curve = summary[
            (summary["dataset"] == dataset)
            & (summary["parametrization"] == parametrization)
            & (summary["width"] == wide["width"])
        ].set_index("lr_exponent")["valid_log_loss"]
        cost = curve.get(narrow["lr_exponent"], math.nan) - wide["best_loss"]
        by_width = ", ".join(
            f"{w}: {e}" for w, e in zip(group["width"].astype(int), exponents, strict=True)
        )
        lines.append(f"| {dataset} | {parametrization} | {by_width} | {spread:g}x | {cost:+.3f} |")
    lines += _reading(best)
    lines += _coordinate_section()
    lines += [
        "",
        "## What μP does per optimizer",
        "",
        "`losstune/scaling/mup.py`; each optimizer factory names its rule in `update_rule`. "
        "Init and readout are `mup`'s (`set_base_shapes` rescaling, `MuReadout`'s 1/width_mult "
        "multiplier), checked to give bit-identical parameters, outputs and parameter groups to "
        "`mup` 1.0.0 at widths 64, 256 and 1000.",
        "",
        "- AdamW, NAdam, RAdam (`adam`): `mup.MuAdam` — hidden matrices at lr / width_mult, "
        "weight decay x width_mult, everything else unchanged.",
        "- Lion (`adam`): a sign step moves each coordinate by lr, like Adam's normalised step.",
        "- SGD (`sgd`): `mup.MuSGD` — vector-like parameters (first layer, biases, readout "
        "weight) at lr x width_mult, square hidden matrices unchanged.",
        "- Adafactor (`adafactor`): torch scales its step by the parameter's RMS, which already "
        "shrinks as width_mult^-1/2 for hidden matrices, so lr / sqrt(width_mult) there.",
        "- Muon (`muon`): its matrix step has spectral norm 0.2 lr sqrt(max(fan_out, fan_in)) "
        "(`match_rms_adamw`); μP's spectral condition (Yang, Simon & Bernstein 2023) then asks "
        "for lr / sqrt(width_mult) on hidden matrices and nothing elsewhere.",
        "- SAM: a wrapper, left as is (its perturbation radius is not rescaled per layer).",
    ]
    diverged = rows[rows["diverged"].astype(str).str.lower() == "true"]
    lines += [
        "",
        f"Runs: {len(rows)} ({len(diverged)} diverged: their loss counts as infinite), "
        f"{pd.to_numeric(rows['seconds']).sum() / 60:.1f} min of training in all (wall-clock "
        "on one thread, summed over runs: longer on a busy machine). "
        f"Data: `{config.csv.name}`.",
        "",
    ]
    return "\n".join(lines)


def _reading(best: pd.DataFrame) -> list[str]:
    """Per dataset: how far the best lr moves, and which parametrisation's widest model wins."""
    lines = ["", "Reading:", ""]
    for dataset in dict.fromkeys(best["dataset"]):
        mine = best[best["dataset"] == dataset]
        widest = mine[mine["width"] == mine["width"].max()].set_index("parametrization")
        spread = {
            p: 2.0 ** (g["lr_exponent"].max() - g["lr_exponent"].min())
            for p, g in mine.groupby("parametrization")
        }
        if set(PARAMETRIZATIONS) <= set(widest.index):
            sp, mp = widest.loc["standard", "best_loss"], widest.loc["mup", "best_loss"]
            lines.append(
                f"- {dataset}: the best lr moves {spread['standard']:g}x across widths in "
                f"standard, {spread['mup']:g}x under μP. At width {int(mine['width'].max())}, "
                f"each at its own best lr, standard reaches {sp:.3f} and μP {mp:.3f} "
                f"({'μP' if mp < sp else 'standard'} better by {abs(sp - mp):.3f})."
            )
    return lines


def _coordinate_section() -> list[str]:
    from losstune.optim import OPTIMIZERS

    widths = ", ".join(map(str, WIDTHS))
    lines = [
        "",
        "## Coordinate check",
        "",
        f"Widths {widths}; mean |change| of the last hidden layer's activations (Δh) and of the "
        "output (Δout) after 4 full-batch steps on one fixed random batch (64 rows, 16 "
        "features, 10 classes, cross-entropy, no weight decay); the table gives max/min over "
        "the widths (1 = flat, what μP promises) and, in brackets, Δout at width 2048 over "
        "width 64 (above 1: grows with width): `losstune.runners.torch.coord_check`, asserted "
        "in `tests/runners/torch/test_coord_check.py`.",
        "",
        "| optimizer (lr) | μP update rule | standard Δh | standard Δout | μP Δh | μP Δout |",
        "|---|---|---|---|---|---|",
    ]
    for optimizer, lr in COORD_OPTIMIZERS.items():
        cells = []
        for parametrization in PARAMETRIZATIONS:
            changes = coordinate_changes(parametrization, optimizer, lr).tolist()
            hidden, out = ([row[i] for row in changes] for i in (0, 1))
            cells += [
                f"{max(hidden) / min(hidden):.2f}",
                f"{max(out) / min(out):.2f} ({out[-1] / out[0]:.2f})",
            ]
        rule = OPTIMIZERS.get(optimizer).update_rule
        lines.append(f"| {optimizer} ({lr:g}) | {rule} | {' | '.join(cells)} |")
    return lines


def _cases(best: pd.DataFrame) -> list[tuple[str, str]]:
    """(dataset, parametrisation) pairs present, standard before μP."""
    present = set(zip(best["dataset"], best["parametrization"], strict=True))
    datasets = dict.fromkeys(best["dataset"])
    return [(d, p) for d in datasets for p in PARAMETRIZATIONS if (d, p) in present]


def plot(config: Config, rows: pd.DataFrame, path: Path) -> Path:
    """Per dataset, two panels (standard, μP): mean validation loss against lr, one line per
    width, a dot at each width's best."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize(rows)
    best = best_lrs(summary)
    datasets = [d for d in config.datasets if d in set(summary["dataset"])]
    fig, axes = plt.subplots(
        len(datasets), 2, figsize=(10, 3.6 * len(datasets)), squeeze=False, sharex=True
    )
    colours = plt.get_cmap("viridis")
    for i, dataset in enumerate(datasets):
        mine = summary[summary["dataset"] == dataset]
        finite = mine["valid_log_loss"][mine["valid_log_loss"].map(math.isfinite)]
        top = min(float(finite.max()), 3 * float(finite.min())) if len(finite) else 1.0
        for j, parametrization in enumerate(PARAMETRIZATIONS):
            ax = axes[i][j]
            for k, width in enumerate(config.widths):
                curve = mine[
                    (mine["parametrization"] == parametrization) & (mine["width"] == width)
                ]
                if curve.empty:
                    continue
                colour = colours(k / max(len(config.widths) - 1, 1))
                ax.plot(
                    curve["lr_exponent"], curve["valid_log_loss"], color=colour, label=f"w {width}"
                )
                here = best[
                    (best["dataset"] == dataset)
                    & (best["parametrization"] == parametrization)
                    & (best["width"] == width)
                ]
                ax.plot(here["lr_exponent"], here["best_loss"], "o", color=colour)
            title = "standard" if parametrization == "standard" else f"μP (base width {BASE_WIDTH})"
            ax.set_title(f"{dataset}: {title}")
            ax.set_ylim(0.9 * float(finite.min()) if len(finite) else 0, top)
            ax.set_xlabel("log2 learning rate (AdamW)")
            ax.set_ylabel("validation log-loss")
            ax.grid(alpha=0.3)
            ax.legend(fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(config: Config, argv: Sequence[str], wall_s: float) -> Path:
    rows = _frame(config)
    plot(config, rows, config.png)
    config.out.write_text(markdown(config, rows, _header(argv, wall_s), config.png.name))
    return config.out


def main(argv: Sequence[str] | None = None) -> Path:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits, widths 64 and 512")
    parser.add_argument("--report-only", action="store_true", help="rebuild from the CSV")
    parser.add_argument("--out", type=Path, help="the Markdown page (CSV and PNG beside it)")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else Config()
    if args.out is not None:
        config = replace(config, out=args.out)
    import torch

    torch.set_num_threads(1)  # one core, as documented in the header
    started = time.perf_counter()
    if not args.report_only:
        run(config)
    return write_report(config, argv, time.perf_counter() - started)


def _header(argv: Sequence[str], wall_s: float) -> list[str]:

    import losstune

    rebuilt = "--report-only" in argv
    runs = [a for a in argv if a != "--report-only"]
    command = shlex.join(["python", "benchmarks/mup_transfer.py", *runs])
    when = (
        "rebuilt from the CSV (`--report-only`)"
        if rebuilt
        else f"this invocation took {wall_s:.0f} s (rows resumed from the CSV are not re-run)"
    )
    return [
        f"Command: `OMP_NUM_THREADS=1 {command}`",
        "",
        f"Machine: {machine()} (1 thread used), losstune "
        f"{losstune.__version__} (commit {commit()}), device cpu. Written "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {when}.",
    ]


def _frame(config: Config) -> pd.DataFrame:
    """The CSV rows of ``config``'s grid."""
    if not config.csv.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    rows = pd.read_csv(config.csv)
    mine = (
        rows["dataset"].isin(config.datasets)
        & rows["width"].isin(config.widths)
        & rows["lr_exponent"].isin(config.exponents)
        & rows["seed"].isin(config.seeds)
        & (rows["epochs"] == config.epochs)
    )
    return rows[mine].copy()


if __name__ == "__main__":
    print(main())
