"""Dataset in, preprocessed seeded splits out.

``load_dataset`` reads a CSV/Parquet file, a DataFrame, NumPy arrays or a scikit-learn
``Bunch``; infers the task (``infer_task``); checks the data (``DataError`` names the fix);
splits it by seed (stratified for classification); and preprocesses it with a
``ColumnTransformer`` fitted on the training split only, into a :class:`Dataset`.
``diagnose`` measures its faults (duplicates, imbalance, label noise, heavy-tailed targets)
as a :class:`DataDiagnosis`.
"""

from losstune.data.dataset import Dataset
from losstune.data.diagnosis import DataDiagnosis, diagnose
from losstune.data.errors import DataError, DataFileNotFoundError, DataWarning
from losstune.data.load import load_dataset
from losstune.data.profile import ColumnReport
from losstune.data.task import infer_task

__all__ = [
    "ColumnReport",
    "DataDiagnosis",
    "DataError",
    "DataFileNotFoundError",
    "DataWarning",
    "Dataset",
    "diagnose",
    "infer_task",
    "load_dataset",
]
