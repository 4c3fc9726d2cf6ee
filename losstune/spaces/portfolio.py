"""The warm-start portfolio: configurations that won on the project's own benchmark runs.

A search starts with the default recipe, then the first members of the portfolio for its
data's regime (:attr:`losstune.data.DataDiagnosis.regime`: ``clean``, ``noisy``,
``imbalanced``, ``regression``, ``regression_outliers``), then its sampler. The members and
their order per regime were chosen offline by greedy portfolio construction (each next
member lowers the average normalised regret across the recorded cases the most; see
``benchmarks/portfolio.py``, which rebuilds ``portfolio.yaml`` from the recorded runs).

A member is a flat configuration (Optuna parameter name -> value), as a trial records it.
:meth:`Portfolio.configs` fits the members to a given space: the space's fixed values
(``epochs``) replace the member's, and a member the space cannot hold (a model family left
out, a loss outside a narrowed choice) is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from losstune.params import Fixed
from losstune.spaces.space import SearchSpace

PORTFOLIO_FILE = "portfolio.yaml"
"""The portfolio shipped in the package, next to this module."""

REGIMES = ("clean", "noisy", "imbalanced", "regression", "regression_outliers")


class PortfolioError(ValueError):
    """A portfolio file that cannot be read or has the wrong shape; says what and where."""


@dataclass(frozen=True)
class Member:
    """One configuration of the portfolio, with its name and a note on what it is."""

    name: str
    config: Mapping[str, Any]
    note: str = ""


@dataclass(frozen=True)
class Portfolio:
    """Named members and, per regime, the order to try them in.

    Attributes:
        members: name -> :class:`Member`.
        orders: regime -> member names, best first.
        built_by: the command that built it (to rebuild it as results accumulate).
        built_from: what it was built from (runs file, commit, cases, a left-out dataset).
    """

    members: Mapping[str, Member]
    orders: Mapping[str, tuple[str, ...]]
    built_by: str = ""
    built_from: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for regime, names in self.orders.items():
            if regime not in REGIMES:
                raise PortfolioError(
                    f"The portfolio orders an unknown regime {regime!r}; regimes are "
                    f"{', '.join(REGIMES)}."
                )
            unknown = [name for name in names if name not in self.members]
            if unknown:
                raise PortfolioError(
                    f"The portfolio's {regime!r} order names unknown member(s) {unknown}."
                )

    @classmethod
    def from_dict(cls, data: Any, where: str = "the portfolio") -> Portfolio:
        """A portfolio from its YAML mapping; :class:`PortfolioError` naming ``where`` when
        the shape is wrong."""
        if not isinstance(data, Mapping) or data.get("version") != 1:
            raise PortfolioError(f"{where} must be a mapping with version: 1.")
        members, orders = data.get("members"), data.get("orders")
        if not isinstance(members, Mapping) or not isinstance(orders, Mapping):
            raise PortfolioError(f"{where} needs the mappings 'members' and 'orders'.")
        parsed: dict[str, Member] = {}
        for name, item in members.items():
            if not isinstance(item, Mapping) or not isinstance(item.get("config"), Mapping):
                raise PortfolioError(f"{where}: member {name!r} needs a 'config' mapping.")
            parsed[str(name)] = Member(str(name), dict(item["config"]), str(item.get("note", "")))
        ordered: dict[str, tuple[str, ...]] = {}
        for regime, names in orders.items():
            if not isinstance(names, list):
                raise PortfolioError(f"{where}: order {regime!r} must be a list of members.")
            ordered[str(regime)] = tuple(str(name) for name in names)
        return cls(
            parsed,
            ordered,
            built_by=str(data.get("built_by", "")),
            built_from=dict(data.get("built_from") or {}),
        )

    @classmethod
    def load(cls, path: str | Path | None = None) -> Portfolio:
        """The portfolio at ``path``, or the one shipped in the package."""
        if path is None:
            text = resources.files("losstune.spaces").joinpath(PORTFOLIO_FILE).read_text()
            where = f"losstune/spaces/{PORTFOLIO_FILE}"
        else:
            try:
                text = Path(path).read_text()
            except OSError as err:
                raise PortfolioError(f"Cannot read the portfolio {path}: {err}") from None
            where = str(path)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise PortfolioError(f"{where} is not valid YAML: {err}") from None
        return cls.from_dict(data, where)

    def order(self, regime: str) -> tuple[Member, ...]:
        """The members to try for ``regime``, best first (none for an unordered regime)."""
        if regime not in REGIMES:
            raise PortfolioError(f"Unknown regime {regime!r}; regimes are {', '.join(REGIMES)}.")
        return tuple(self.members[name] for name in self.orders.get(regime, ()))

    def configs(
        self,
        regime: str,
        space: SearchSpace,
        limit: int,
        skip: Mapping[str, Any] | None = None,
    ) -> list[tuple[Member, dict[str, Any]]]:
        """Up to ``limit`` members for ``regime`` that ``space`` holds, each with its config
        fitted to the space (its fixed values set), best first; a config equal to ``skip``
        (the default recipe's, already a trial) is left out."""
        fixed = {path: p.value for path, p in space.paths().items() if isinstance(p, Fixed)}
        chosen: list[tuple[Member, dict[str, Any]]] = []
        seen = [dict(skip)] if skip is not None else []
        for member in self.order(regime):
            if len(chosen) >= limit:
                break
            config = {k: v for k, v in member.config.items() if k not in fixed}
            config = {**config, **{k: v for k, v in fixed.items() if _active(space, k, config)}}
            if space.contains(config) and config not in seen:
                chosen.append((member, config))
                seen.append(config)
        return chosen


def _active(space: SearchSpace, path: str, config: Mapping[str, Any]) -> bool:
    """Whether the fixed ``path`` is active under ``config``'s choices (a fixed value under
    a model family the member did not choose is not part of its config)."""
    try:
        return path in space.active_paths({**config, path: None})
    except ValueError:
        return False
