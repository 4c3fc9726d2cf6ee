"""A search budget: a number of trials, a wall-clock duration, or both."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


@dataclass(frozen=True)
class Budget:
    """Stop after ``n_trials`` finished trials in the study, or after ``timeout`` seconds,
    whichever comes first (``None``: no limit of that kind; at least one must be set)."""

    n_trials: int | None = None
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.n_trials is None and self.timeout is None:
            raise ValueError("A budget needs n_trials, a timeout or both; e.g. 40 or '10m'.")
        if self.n_trials is not None and (
            isinstance(self.n_trials, bool)
            or not isinstance(self.n_trials, int)
            or self.n_trials < 1
        ):
            raise ValueError(f"n_trials must be a whole number >= 1; got {self.n_trials!r}.")
        if self.timeout is not None and not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds; got {self.timeout!r}.")


def parse_duration(text: str) -> float:
    """Seconds in ``"90s"``, ``"10m"``, ``"1.5h"`` (a bare number is seconds)."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"Cannot read the duration {text!r}; write e.g. '90s', '10m' or '2h'.")
    seconds = float(match.group(1)) * _SECONDS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise ValueError(f"A duration must be positive; got {text!r}.")
    return seconds


def make_budget(
    budget: int | str | None = None, n_trials: int | None = None, timeout: float | str | None = None
) -> Budget:
    """Combine ``search()``'s ``budget`` (a trial count or a duration such as ``"10m"``) with
    explicit ``n_trials`` / ``timeout``; with nothing given, 40 trials."""
    if isinstance(budget, bool):
        raise ValueError(f"budget must be a trial count or a duration; got {budget!r}.")
    if isinstance(budget, int) or (isinstance(budget, str) and budget.strip().isdigit()):
        if n_trials is not None:
            raise ValueError("Give the trial count once: as budget or as n_trials, not both.")
        n_trials = int(budget)
    elif budget is not None:
        if timeout is not None:
            raise ValueError("Give the duration once: as budget or as timeout, not both.")
        timeout = parse_duration(budget)
    if isinstance(timeout, str):
        timeout = parse_duration(timeout)
    if n_trials is None and timeout is None:
        n_trials = 40
    return Budget(n_trials=n_trials, timeout=timeout)
