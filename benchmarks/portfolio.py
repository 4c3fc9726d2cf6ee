"""Portfolio benchmark: record a pool of configurations on many cases, then build the
per-regime warm-start portfolio that ``losstune.search`` enqueues after the default recipe.

Two steps. ``record`` trains every candidate of the pool (``benchmarks/portfolio_pool.py``:
the default recipe, hand-picked robust configs for the MLP and LightGBM, and seeded random
configs of the default space) on every case (``benchmarks/portfolio_cases.py``: small
registered datasets, clean and damaged, each with its regime) and split seed, one CSV row per
run (``benchmarks/portfolio_record.py``; resumable, lockable, stoppable). ``build`` turns the
runs into normalised regrets and picks each regime's members greedily
(``benchmarks/portfolio_build.py``), writes the portfolio YAML and, for a build on every
dataset, the report with leave-one-dataset-out regrets (``benchmarks/portfolio_report.py``).

Recording 26 cases x 3 seeds x 37 (classification) / 28 (regression) candidates, 2,862
runs, took about 34 minutes with ``--jobs 2`` on a shared 2-core machine.

Usage::

    python -m benchmarks.portfolio record --seeds 0,1,2 --jobs 2   # every case
    python -m benchmarks.portfolio record --only digits,wine --seeds 0 --candidates 'cls-mlp-*'
    python -m benchmarks.portfolio build                           # losstune/spaces/portfolio.yaml
    python -m benchmarks.portfolio build --leave-out digits --out /tmp/no-digits.yaml
"""

from __future__ import annotations

import argparse
import fnmatch
import logging
import shlex
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks.portfolio_cases import CASES, VARIANTS
from benchmarks.portfolio_pool import EPOCHS, KINDS, Candidate, build_pool

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "docs" / "benchmarks" / "portfolio-runs.csv"
POOL = REPO / "docs" / "benchmarks" / "portfolio-pool.csv"
REPORT = REPO / "docs" / "benchmarks" / "portfolio.md"
SHIPPED = REPO / "losstune" / "spaces" / "portfolio.yaml"
COMMAND = ["python", "-m", "benchmarks.portfolio"]
DEFAULT_MEMBER = {"classification": "cls-mlp-default", "regression": "reg-mlp-default"}
"""The default recipe's candidate of each kind: the baseline every portfolio must beat."""

logger = logging.getLogger("losstune.benchmarks")


def run_record(args: argparse.Namespace) -> Path:
    """Write the pool and record (or resume recording) the runs of the command line."""
    from benchmarks.portfolio_record import RecordPlan, record, write_pool

    pools = {
        k: build_pool(k, epochs=EPOCHS, n_random=args.random, seed=args.pool_seed) for k in KINDS
    }
    for kind, pool in pools.items():
        logger.info(
            "%s pool: %d candidates, %d dropped", kind, len(pool.candidates), len(pool.dropped)
        )
        for name, reason in pool.dropped:
            logger.warning("  dropped %s: %s", name, reason)
    write_pool(args.pool, [c for p in pools.values() for c in p.candidates])
    chosen = {k: _matching(p.candidates, args.candidates) for k, p in pools.items()}
    plan = RecordPlan(
        cases=_cases(args.only, args.variants),
        seeds=tuple(int(s) for s in _names(args.seeds)),
        pools=chosen,
        csv=args.runs,
        jobs=args.jobs,
        threads=args.threads,
        device=args.device,
        stop_file=args.stop_file,
    )
    started = time.perf_counter()
    written = record(plan)
    logger.info("%d rows written in %.0f s: %s", written, time.perf_counter() - started, args.runs)
    return args.runs


def run_build(args: argparse.Namespace, argv: Sequence[str]) -> Path:
    """Build the portfolio of the runs (without ``--leave-out``'s dataset), write its YAML
    and, for a build on every dataset, the report."""
    from benchmarks import portfolio_build as pb
    from benchmarks.portfolio_record import read_pool
    from benchmarks.provenance import commit

    candidates = {c.name: c for c in read_pool(args.pool)}
    runs = read_runs(args.runs, candidates.values())
    pools = {k: [c.name for c in candidates.values() if c.kind == k] for k in KINDS}
    regrets = pb.regrets(runs, pools, score=args.score, reference=args.reference)
    for dataset, variant, seed in regrets.dropped:
        logger.warning("incomplete, left out: %s / %s seed %d", dataset, variant, seed)
    if args.leave_out:
        regrets = regrets.without(args.leave_out)
    portfolio = pb.build(regrets, args.size)
    seeds = sorted({s for seeds in regrets.cases["seeds"] for s in seeds})
    built_by = shlex.join([*COMMAND, "build", *argv])
    document = pb.portfolio_document(
        portfolio,
        candidates,
        built_by=built_by,
        built_from={
            "runs": _relative(args.runs),
            "commit": commit(),
            "cases": len(regrets.cases),
            "seeds": seeds,
            "left_out": args.leave_out,
        },
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(pb.dump_yaml(document))
    logger.info("portfolio: %s (%d members)", args.out, len(portfolio.members))
    if not args.leave_out and args.report is not None:
        from benchmarks.portfolio_report import write_report

        lodo = pb.leave_one_out(regrets, args.size, DEFAULT_MEMBER)
        other = next(r for r in pb.REFERENCES if r != args.reference)
        alternative = pb.regrets(runs, pools, score=args.score, reference=other)
        write_report(
            args.report,
            runs=runs,
            regrets=regrets,
            portfolio=portfolio,
            lodo=lodo,
            candidates=candidates,
            built_by=built_by,
            out=_relative(args.out),
            size=args.size,
            recorded_by=args.recorded_by,
            alternative=(other, pb.build(alternative, args.size)),
        )
        logger.info("report: %s", args.report)
    return args.out


def read_runs(path: Path, candidates: Iterable[Candidate]) -> pd.DataFrame:
    """The rows of the runs CSV whose candidate and config are in the pool (older configs
    of a renamed or edited candidate are left out), with typed columns, in :data:`CASES`'s
    order (then any other case, by name).

    Raises:
        FileNotFoundError: no runs CSV at ``path``.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"No runs file {path}; run `record` first.")
    rows = pd.read_csv(
        path,
        keep_default_na=False,
        na_values=["nan", "NaN", ""],
        dtype={"error": str, "config_id": str, "candidate": str, "dataset": str},
    )
    ids = {(c.name, c.config_id) for c in candidates}
    mine = [(n, i) in ids for n, i in zip(rows["candidate"], rows["config_id"], strict=True)]
    stale = len(rows) - sum(mine)
    if stale:
        logger.warning("%s: %d rows of configs no longer in the pool left out", path, stale)
    order = {
        (c.dataset, v): i for i, (c, v) in enumerate((c, v) for c in CASES for v in c.variants)
    }
    rows = rows[mine].copy()
    rows["_case"] = [
        order.get(k, len(order)) for k in zip(rows["dataset"], rows["variant"], strict=True)
    ]
    rows = rows.sort_values(["_case", "dataset", "variant", "seed"], kind="stable").drop(
        columns="_case"
    )
    rows["error"] = rows["error"].fillna("").astype(str)
    rows["greater_is_better"] = rows["greater_is_better"].astype(str).str.lower() == "true"
    return rows


def _cases(only: str | None, variants: str | None) -> tuple[tuple[str, str], ...]:
    """The ``(dataset, variant)`` pairs of :data:`CASES` narrowed by ``--only`` and
    ``--variants``; exits naming an unknown dataset or variant."""
    known = [c.dataset for c in CASES]
    datasets = _names(only) if only else tuple(known)
    wanted = _names(variants) if variants else None
    unknown = [d for d in datasets if d not in known] + [
        v for v in wanted or () if v not in VARIANTS
    ]
    if unknown:
        raise SystemExit(
            f"Unknown dataset(s) or variant(s) {unknown}; datasets {', '.join(known)}; "
            f"variants {', '.join(VARIANTS)}."
        )
    pairs = tuple(
        (c.dataset, v)
        for c in CASES
        if c.dataset in datasets
        for v in c.variants
        if wanted is None or v in wanted
    )
    if not pairs:
        raise SystemExit("No case left after --only / --variants.")
    return pairs


def _matching(candidates: Sequence[Candidate], patterns: str | None) -> tuple[Candidate, ...]:
    """The candidates whose name matches one of the comma-separated shell ``patterns``."""
    if not patterns:
        return tuple(candidates)
    wanted = _names(patterns)
    return tuple(c for c in candidates if any(fnmatch.fnmatchcase(c.name, p) for p in wanted))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The subcommand and its options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("record", help="train every candidate on every case and seed")
    rec.add_argument("--only", help="comma-separated datasets (default: every case's)")
    rec.add_argument("--variants", help="comma-separated variants (default: each dataset's)")
    rec.add_argument("--seeds", default="0,1", help="comma-separated split seeds (default 0,1)")
    rec.add_argument("--candidates", help="comma-separated names or patterns ('cls-lgb-*')")
    rec.add_argument("--random", type=int, default=12, help="random configs per kind (12)")
    rec.add_argument("--pool-seed", type=int, default=0, help="RandomSampler seed (0)")
    rec.add_argument("--jobs", type=int, default=1, help="processes at once (default 1)")
    rec.add_argument("--threads", type=int, default=1, help="torch threads per process (1)")
    rec.add_argument("--device", default="cpu", help="torch device (default cpu)")
    rec.add_argument("--runs", type=Path, default=RUNS, help=f"default {_relative(RUNS)}")
    rec.add_argument("--pool", type=Path, default=POOL, help=f"default {_relative(POOL)}")
    rec.add_argument("--stop-file", type=Path, help="stop before the next run once it exists")
    bld = commands.add_parser("build", help="build the portfolio YAML (and the report)")
    bld.add_argument("--size", type=int, default=12, help="members per regime, 8..16 (12)")
    bld.add_argument("--leave-out", help="build without this dataset's cases (needs --out)")
    bld.add_argument("--score", default="test_score", choices=("test_score", "valid_score"))
    bld.add_argument(
        "--reference",
        default="worst",
        choices=("worst", "median"),
        help="what normalises to 0: the pool's worst score (default) or its median",
    )
    bld.add_argument("--runs", type=Path, default=RUNS, help=f"default {_relative(RUNS)}")
    bld.add_argument("--pool", type=Path, default=POOL, help=f"default {_relative(POOL)}")
    bld.add_argument("--out", type=Path, help=f"the YAML (default {_relative(SHIPPED)})")
    bld.add_argument(
        "--report", type=Path, default=REPORT, help=f"the Markdown (default {_relative(REPORT)})"
    )
    bld.add_argument("--no-report", dest="report", action="store_const", const=None)
    bld.add_argument("--recorded-by", default="", help="how the runs were recorded (report)")
    args = parser.parse_args(list(argv))
    if args.command == "record":
        for name in ("jobs", "threads"):
            if getattr(args, name) < 1:
                raise SystemExit(f"--{name} must be >= 1; got {getattr(args, name)}.")
        if args.random < 0:
            raise SystemExit(f"--random must be >= 0; got {args.random}.")
    else:
        if not 8 <= args.size <= 16:
            raise SystemExit(f"--size must be in 8..16; got {args.size}.")
        if args.leave_out and args.out is None:
            raise SystemExit("--leave-out needs --out: the shipped portfolio uses every dataset.")
        args.out = args.out or SHIPPED
    return args


def main(argv: Sequence[str] | None = None) -> Path:
    """Run the subcommand of the command line; return the file it wrote."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    from benchmarks.quality import log_progress

    log_progress()
    if args.command == "record":
        return run_record(args)
    return run_build(args, argv[1:])


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def _relative(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


if __name__ == "__main__":
    main()
