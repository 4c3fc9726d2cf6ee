"""Throughput benchmark: trials per hour, one trial at a time vs batched vs process packing.

Side by side in one run, on one device, the same search space and the same data:

- ``one-at-a-time``: one process, Optuna ask → train → tell, as ``search()`` runs today;
- ``batched K``: one process, :func:`losstune.search.executors.batched.optimize_batched` asks K
  trials and trains them as one program (:func:`losstune.runners.torch.batched.train_batched`);
- ``packed W``: W Optuna worker processes sharing the device and one journal storage, each
  training one trial at a time (the mechanism behind Ray's fractional GPUs).

The data is generated (``make_classification``, covertype's shape: 54 features, 7 classes),
the model fixed (MLP, width 256, depth 3, batch 512; what the issue's anchor measured), and the
space is losstune's default with the model, batch size and optimizer family narrowed to
batchable ones (AdamW, SGD, Lion, no SAM): loss, weighting, temperature, schedule and every
continuous hyperparameter are searched. No pruning: every trial trains every epoch, so trials
per hour measure training throughput. MLflow is left out of every mode (its per-trial cost
is measured separately and reported), so the table compares the training engines.

GPU utilisation is sampled with ``nvidia-smi`` while each mode runs (where there is one).
A last section measures what dropping pruned members saves against keeping them masked.

Usage::

    python benchmarks/throughput.py --device cpu                  # this machine's CPU ratio
    python benchmarks/throughput.py --device cuda --rows 333334 --ks 16,64,256 --workers 8
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import optuna
import torch

from benchmarks.provenance import commit, machine

OUT = Path("docs/benchmarks/throughput.md")
SPACE = {
    "model": ["mlp"],
    "model.mlp.width": 256,
    "model.mlp.depth": 3,
    "model.mlp.bias_init": "zero",
    "batch_size": 512,
    "optimizer": ["adamw", "sgd", "lion"],
    "wrapper": ["none"],
}


@dataclass
class Row:
    mode: str
    members: int
    trials: int
    seconds: float
    gpu_util: float | None

    @property
    def per_hour(self) -> float:
        return self.trials / self.seconds * 3600


def dataset(rows: int, seed: int = 0):
    """Covertype-shaped synthetic data; the same in every process for the same arguments."""
    from sklearn.datasets import make_classification

    import losstune

    X, y = make_classification(
        n_samples=rows, n_features=54, n_informative=30, n_classes=7, random_state=seed
    )
    return losstune.load_dataset(X.astype(np.float32), y, task="multiclass", seed=seed)


def space(epochs: int):
    from losstune.spaces import default_space
    from losstune.spaces.overrides import apply_overrides

    return apply_overrides(default_space("multiclass", epochs=epochs), SPACE)


class _NoTracking:
    """Stands in for the MLflow tracker so every mode measures training alone."""

    run_id = "none"

    def start_trial(self, number, config, tags=None):
        return self

    def log_epoch(self, epoch, metrics):
        pass

    def end(self, *args, **kwargs):
        pass


def _context(data, epochs: int, device: str):
    from losstune.search.lifecycle import TrialContext

    return TrialContext(data, space(epochs), "accuracy", 0, device, _NoTracking())


def _study(seed: int, storage=None, name: str = "throughput") -> optuna.Study:
    return optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.NopPruner(),
        direction="maximize",
        load_if_exists=True,
    )


def one_at_a_time(data, epochs: int, trials: int, device: str) -> int:
    from losstune.search.lifecycle import run_trial

    context = _context(data, epochs, device)
    _study(0).optimize(lambda t: run_trial(t, context), n_trials=trials)
    return trials


def batched(data, epochs: int, trials: int, device: str, k: int) -> int:
    from losstune.search.executors.batched import Limits, optimize_batched

    optimize_batched(_study(0), _context(data, epochs, device), k, Limits(trials, None))
    return trials


def _packed_worker(args: tuple) -> tuple[float, float]:
    """One worker process: the wall-clock start and end of its trials."""
    rows, epochs, trials, device, journal, worker = args
    from losstune.search.lifecycle import run_trial

    torch.set_num_threads(1)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(journal))
    context = _context(dataset(rows), epochs, device)
    started = time.time()
    _study(worker, storage).optimize(lambda t: run_trial(t, context), n_trials=trials)
    return started, time.time()


PACKED_SPANS: list[tuple[float, float]] = []


def packed(rows: int, epochs: int, trials: int, device: str, workers: int) -> int:
    """Keeps every worker's training span in :data:`PACKED_SPANS` (start-up excluded)."""
    with tempfile.TemporaryDirectory() as tmp:
        journal = str(Path(tmp) / "journal.log")
        per_worker = -(-trials // workers)
        jobs = [(rows, epochs, per_worker, device, journal, w) for w in range(workers)]
        with mp.get_context("spawn").Pool(workers) as pool:
            PACKED_SPANS[:] = pool.map(_packed_worker, jobs)
    return per_worker * workers


class GpuSampler:
    """Mean ``utilization.gpu`` from ``nvidia-smi`` while the block runs (None without one)."""

    def __enter__(self) -> GpuSampler:
        self.values: list[float] = []
        self.proc = None
        if shutil.which("nvidia-smi"):
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                 "-lms", "250"],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        return self

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self.values.append(float(line.strip().split(",")[0]))
            except ValueError:
                continue

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()

    @property
    def mean(self) -> float | None:
        return float(np.mean(self.values)) if self.values else None


def timed(mode: str, members: int, run: Callable[[], int]) -> Row:
    with GpuSampler() as gpu:
        started = time.perf_counter()
        trials = run()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds = time.perf_counter() - started
    row = Row(mode, members, trials, seconds, gpu.mean)
    print(f"{mode:>14} x{members:<4} {trials:4d} trials {seconds:8.1f} s "
          f"{row.per_hour:10.0f} trials/h", flush=True)  # fmt: skip
    return row


def mlflow_seconds_per_trial(epochs: int, trials: int = 20) -> float:
    """What one trial's MLflow logging costs on a local SQLite store (start, epochs, end)."""
    from losstune.mlflow import SearchTracker, artifact_uri, local_tracking_uri

    with tempfile.TemporaryDirectory() as tmp:
        tracker = SearchTracker(
            local_tracking_uri(Path(tmp)),
            experiment="losstune/throughput",
            artifact_location=artifact_uri(Path(tmp)),
        )
        tracker.start_search("throughput", params={}, tags={})
        started = time.perf_counter()
        for number in range(trials):
            run = tracker.start_trial(number, {"loss": "cross_entropy", "lr": 1e-3})
            for epoch in range(1, epochs + 1):
                run.log_epoch(epoch, {"train_loss": 1.0, "valid_accuracy": 0.5})
            run.end("complete", 0.5, 1.0)
        seconds = (time.perf_counter() - started) / trials
        tracker.finish_search("FINISHED")
    return seconds


def drop_vs_mask(data, epochs: int, device: str, k: int) -> tuple[float, float]:
    """Seconds for a program of ``k`` members when half are pruned after epoch 1 (dropped and
    compacted) and when none are (what keeping them masked would cost)."""
    from losstune.runners.torch.batched import train_batched
    from losstune.spaces import config_to_recipe
    from losstune.spaces.optuna_adapter import suggest

    study = _study(1)
    shared = {"optimizer": "adamw"}
    recipes = []
    for _ in range(k):
        study.enqueue_trial(shared)
        config = suggest(study.ask(), space(epochs))
        recipes.append(config_to_recipe(config, task=data.task, metric="accuracy"))

    def prune_half(i: int):
        def report(epoch, metrics):
            if i % 2 and epoch == 1:
                raise optuna.TrialPruned()

        return report

    times = []
    for reporters in ([prune_half(i) for i in range(k)], None):
        started = time.perf_counter()
        train_batched(recipes, data, reporters=reporters, device=device)
        times.append(time.perf_counter() - started)
    return times[0], times[1]


def report(rows: Sequence[Row], args, command: str, mlflow_s: float, drop: tuple) -> str:
    base = next(r for r in rows if r.mode == "one-at-a-time").per_hour
    packed_rows = [r for r in rows if r.mode == "packed, start-up excluded"]
    pack = packed_rows[0].per_hour if packed_rows else None
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "CPU"
    lines = [
        "# Throughput: trials per hour, batched vs one at a time vs process packing",
        "",
        f"Command: `{command}`  ",
        f"Commit: {commit()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  ",
        f"Machine: {machine()}; device: {device}",
        "",
        f"Data: {args.rows} generated rows × 54 features, 7 classes (60% train); MLP width 256, "
        f"depth 3, batch 512, {args.epochs} epochs per trial, no pruning. Space: losstune's "
        "default, narrowed to that model and batch size and to the batchable optimizers "
        "(AdamW, SGD, Lion; no SAM). Sampler: random (seeded). MLflow off in every mode.",
        "",
        "| mode | members / workers | trials | seconds | trials per hour | vs one at a time "
        "| vs packing | GPU util % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        vs_pack = f"{r.per_hour / pack:.2f}×" if pack else "–"
        util = f"{r.gpu_util:.0f}" if r.gpu_util is not None else "n/a"
        lines.append(
            f"| {r.mode} | {r.members} | {r.trials} | {r.seconds:.1f} | {r.per_hour:.0f} | "
            f"{r.per_hour / base:.2f}× | {vs_pack} | {util} |"
        )
    pruned, full = drop
    lines += [
        "",
        f"MLflow logging (local SQLite store, one trial of {args.epochs} epochs): "
        f"{mlflow_s * 1000:.0f} ms per trial, a ceiling of {3600 / mlflow_s:.0f} trials per "
        "hour for one process that logs every trial.",
        "",
        f"Dropping pruned members: a program of {args.drop_k} members where half are pruned "
        f"after epoch 1 of {args.epochs} took {pruned:.1f} s; with none pruned (the cost of "
        f"keeping pruned members masked) {full:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=8, help="trials one at a time")
    parser.add_argument("--ks", default="4,16", help="batch sizes K, comma-separated")
    parser.add_argument("--batches", type=int, default=2, help="programs per K")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--drop-k", type=int, default=16)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    command = "python benchmarks/throughput.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )
    logging.getLogger("optuna").setLevel(logging.WARNING)
    data = dataset(args.rows)
    # warm up kernels and allocator once, outside every timing
    batched(data, 1, 2, args.device, 2)
    rows = [
        timed(
            "one-at-a-time", 1, lambda: one_at_a_time(data, args.epochs, args.trials, args.device)
        )
    ]
    for k in (int(v) for v in args.ks.split(",")):
        rows.append(
            timed(
                "batched",
                k,
                lambda k=k: batched(data, args.epochs, k * args.batches, args.device, k),
            )
        )
    packed_trials = max(args.trials, 2 * args.workers)
    rows.append(
        timed("packed", args.workers,
              lambda: packed(args.rows, args.epochs, packed_trials, args.device, args.workers))
    )  # fmt: skip
    span = max(end for _, end in PACKED_SPANS) - min(start for start, _ in PACKED_SPANS)
    rows.append(Row("packed, start-up excluded", args.workers, rows[-1].trials, span, None))
    mlflow_s = mlflow_seconds_per_trial(args.epochs)
    drop = drop_vs_mask(data, args.epochs, args.device, args.drop_k)
    text = report(rows, args, command, mlflow_s, drop)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
