"""Tests of ``benchmarks/`` (the repository's benchmark scripts, not part of the package).

``tests/`` has no ``__init__.py``, so pytest imports this folder as the top-level package
``benchmarks``, the same name as the repository's ``benchmarks/`` folder. Adding that folder
to this package's path makes ``benchmarks.contenders``, ``benchmarks.quality`` and the rest
importable from these tests as they are from the scripts.
"""

from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[2] / "benchmarks"))  # noqa: F821
