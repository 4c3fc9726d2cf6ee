"""Errors every runner raises, importable without torch."""

from __future__ import annotations


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite (usually a learning rate that is too high)."""
