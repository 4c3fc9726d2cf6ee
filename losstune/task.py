"""The kinds of supervised problem losstune trains for."""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    """Binary and multiclass classification, or regression on one real target."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION

    @classmethod
    def parse(cls, value: str | Task) -> Task:
        """``Task`` from its name, with an error that lists the valid names."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(t.value for t in cls)
            raise ValueError(f"Unknown task {value!r}; use one of: {valid}.") from None


CLASSIFICATION = frozenset({Task.BINARY, Task.MULTICLASS})
ALL_TASKS = frozenset(Task)
