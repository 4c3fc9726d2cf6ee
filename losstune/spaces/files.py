"""A search-space file: ``base`` narrowed by the ``path: override`` lines of a YAML file
(:mod:`losstune.spaces.overrides` has the format), then held to the recipe's domains
(:func:`losstune.spaces.domains.check_space`), so every mistake fails when the file is
loaded, not in every trial."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from losstune.spaces.domains import check_space
from losstune.spaces.overrides import apply_overrides
from losstune.spaces.paths import SpaceError
from losstune.spaces.space import SearchSpace


def load_space(path: str | os.PathLike[str], base: SearchSpace) -> SearchSpace:
    """``base`` narrowed by the overrides in the YAML file at ``path`` (see the module doc).

    Example:
        >>> space = load_space("space.yaml", default_space("binary"))  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise SpaceError(f"No search-space file at {str(path)!r}; check the path.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpaceError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SpaceError(
            f"{path}: a search-space file must be a mapping of 'path: override' lines; "
            f"got a {type(data).__name__}."
        )
    try:
        space = apply_overrides(base, data)
        check_space(space)
    except SpaceError as err:
        raise SpaceError(f"{path}: {err}") from None
    return space
