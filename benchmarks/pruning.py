"""Pruning benchmark: how many epochs each pruning rule saves, and what it costs in regret.

Two steps. ``record`` trains full-length trials of the default search space on real datasets
once (configurations from Optuna's ``RandomSampler``, no pruning) and saves every learning
curve to ``benchmarks/data/pruning-curves.json.gz`` (``benchmarks/pruning_record.py``).
``replay`` drives a real in-memory Optuna study per dataset, rule and shuffled trial order,
reporting the recorded values epoch by epoch and asking the rule whether to prune
(``benchmarks/pruning_replay.py``), then writes ``docs/benchmarks/pruning.md`` with a CSV and
a plot (``benchmarks/pruning_report.py``). The replay needs no training; what costs time is
the curve pruner's forecasts (about 12 minutes on one core for 6 datasets x 50 orders). Replay
rows are appended to the CSV as they finish and rows already there (same recorded curves and
seed) are not replayed again, so a long replay can run in pieces (``--datasets``) and an
interrupted one resumes.

Usage::

    python benchmarks/pruning.py record                      # ~30 minutes on one core
    python benchmarks/pruning.py record --datasets digits,concrete --trials 20
    python benchmarks/pruning.py replay                      # docs/benchmarks/pruning.md
    python benchmarks/pruning.py replay --orders 10 --rules none,median,asha
    python benchmarks/pruning.py replay --datasets digits,satimage   # a piece of the replay
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks.provenance import commit, machine

REPO = Path(__file__).resolve().parents[1]
CURVES = REPO / "benchmarks" / "data" / "pruning-curves.json.gz"
REPORT = REPO / "docs" / "benchmarks" / "pruning.md"
DATASETS = ("digits", "satimage", "phoneme", "page-blocks0", "concrete", "ames")

logger = logging.getLogger("losstune.benchmarks")


def run_record(args: argparse.Namespace, argv: Sequence[str]) -> Path:
    """Record (or resume recording) the curves of the command line."""
    from benchmarks.pruning_curves import CurveSet
    from benchmarks.pruning_record import RecordPlan, record, summarize_record

    plan = RecordPlan(
        datasets=_names(args.datasets),
        trials=args.trials,
        epochs=args.epochs,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
    )
    started = time.perf_counter()
    provenance: dict[str, Any] = {
        "command": shlex.join(["python", "benchmarks/pruning.py", *argv]),
        "machine": machine(),
        "commit": commit(),
        "written": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    }
    curves = record(plan, args.out, provenance)
    provenance["wall_s"] = round(time.perf_counter() - started, 1)
    curves = CurveSet(curves.datasets, {**curves.provenance, **provenance})
    curves.save(args.out)
    for line in summarize_record(curves):
        logger.info(line)
    logger.info("curves: %s (%d bytes)", args.out, args.out.stat().st_size)
    return args.out


def run_replay(args: argparse.Namespace, argv: Sequence[str]) -> Path:
    """Replay the recorded curves under every rule (resuming the rows already in the CSV)
    and write the report."""
    from benchmarks import pruning_report as report
    from benchmarks.pruning_curves import load_curves
    from benchmarks.pruning_replay import replay_all
    from benchmarks.pruning_rules import RULES, available, ordered_names

    curves = load_curves(args.curves)
    rules = _names(args.rules) if args.rules else tuple(ordered_names())
    unknown = [r for r in rules if r not in RULES]
    if unknown:
        raise SystemExit(f"Unknown rules {unknown}; choose from {', '.join(RULES.names())}.")
    missing_rules = [r for r in rules if not available(r)]
    if missing_rules:
        logger.warning("rules %s cannot be built here (not importable); left out", missing_rules)
        rules = tuple(r for r in rules if r not in missing_rules)
    datasets = _names(args.datasets) if args.datasets else tuple(curves.datasets)
    missing = [d for d in datasets if d not in curves.datasets]
    if missing:
        raise SystemExit(
            f"Datasets {missing} are not in {args.curves}; it has {', '.join(curves.datasets)}."
        )
    csv = args.out.with_suffix(".csv")
    fingerprints = {name: data.fingerprint for name, data in curves.datasets.items()}
    stored = _stored_rows(csv, fingerprints, args.seed)
    done = set(zip(stored["dataset"], stored["rule"], stored["order"], strict=True))

    def save(batch: list[dict[str, object]]) -> None:
        frame = pd.DataFrame(batch)
        frame["curves"] = frame["dataset"].map(fingerprints)
        frame.to_csv(csv, mode="a", header=not csv.exists(), index=False, float_format="%.6g")

    started = time.perf_counter()
    csv.parent.mkdir(parents=True, exist_ok=True)
    new = replay_all(
        [curves.datasets[d] for d in datasets],
        rules,
        args.orders,
        seed=args.seed,
        done=done,
        on_rows=save,
    )
    wall = time.perf_counter() - started
    rows = pd.concat([stored, new], ignore_index=True) if len(stored) else new
    rows = rows[
        rows["dataset"].isin(datasets) & rows["rule"].isin(rules) & (rows["order"] < args.orders)
    ]
    resumed = len(rows) - len(new)
    header = [
        f"Command: `{shlex.join(['python', 'benchmarks/pruning.py', *argv])}`",
        "",
        f"Machine: {machine()}; losstune commit {commit()}. Written "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; this invocation replayed {len(new)} of the "
        f"{len(rows)} rows in {wall:.0f} s"
        + (
            f" (the other {resumed} were resumed from `{csv.name}`, replayed earlier from the "
            "same recorded curves and seed)."
            if resumed
            else "."
        )
        + " Wall times (seconds per epoch, ms per decision) come from a machine that may be "
        "shared with other jobs: compare them within this page only.",
        "",
        f"Curves: `{_relative(args.curves)}`, recorded by "
        f"`{curves.provenance.get('command', 'unknown')}` (commit "
        f"{curves.provenance.get('commit', 'unknown')}, "
        f"{curves.provenance.get('written', 'unknown')}, "
        f"{curves.provenance.get('wall_s', 'unknown')} s on "
        f"{curves.provenance.get('machine', 'unknown')}).",
    ]
    out = report.write(
        rows, [curves.datasets[d] for d in datasets], args.out, header, missing_rules
    )
    logger.info("report: %s (rows: %s)", out, csv)
    return out


def _stored_rows(csv: Path, fingerprints: dict[str, str], seed: int) -> pd.DataFrame:
    """Rows of ``csv`` replayed from the same recorded curves (per dataset) and seed; other
    rows are dropped from the CSV (they would mix two recordings)."""
    if not csv.exists():
        return pd.DataFrame(columns=["dataset", "rule", "order"])
    rows = pd.read_csv(csv)
    mine = (rows["curves"] == rows["dataset"].map(fingerprints)) & (rows["seed"] == seed)
    if not mine.all():
        logger.warning(
            "%s: %d rows of other recorded curves or seed dropped", csv, int((~mine).sum())
        )
        rows[mine].to_csv(csv, index=False, float_format="%.6g")
    return rows[mine].drop(columns="curves").reset_index(drop=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The subcommand and its options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="train full-length trials and save their curves")
    rec.add_argument("--datasets", default=",".join(DATASETS), help="names from losstune.datasets")
    rec.add_argument("--trials", type=int, default=80, help="trials per dataset (default 80)")
    rec.add_argument("--epochs", type=int, default=30, help="epochs per trial (default 30)")
    rec.add_argument("--seed", type=int, default=0, help="sampler, split and training seed")
    rec.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    rec.add_argument("--device", default="cpu", help="torch device (default cpu)")
    rec.add_argument("--out", type=Path, default=CURVES, help=f"default {_relative(CURVES)}")
    rep = commands.add_parser("replay", help="replay the curves under every rule; write report")
    rep.add_argument("--curves", type=Path, default=CURVES, help=f"default {_relative(CURVES)}")
    rep.add_argument("--datasets", help="a subset of the recorded datasets (default all)")
    rep.add_argument("--rules", help="comma-separated rule names (default all)")
    rep.add_argument("--orders", type=int, default=50, help="shuffled trial orders (default 50)")
    rep.add_argument("--seed", type=int, default=0, help="seeds the orders and the rules")
    rep.add_argument("--out", type=Path, default=REPORT, help=f"default {_relative(REPORT)}")
    args = parser.parse_args(list(argv))
    for name in ("trials", "epochs", "threads", "orders"):
        if getattr(args, name, 1) < 1:
            raise SystemExit(f"--{name} must be >= 1; got {getattr(args, name)}.")
    return args


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the subcommand of the command line; return the file it wrote."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    if args.command == "record":
        return run_record(args, argv)
    return run_replay(args, argv)


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


if __name__ == "__main__":
    main()
