import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_digits

from losstune.data import DataError, load_dataset
from losstune.data.longtail import long_tail_counts, with_long_tail


@pytest.fixture(scope="module")
def digits():
    return load_dataset(load_digits(), seed=0)


def test_profile_is_exponential_from_the_largest_class():
    counts = np.array([50, 100, 100, 80])  # ranks: code 1, code 2 (tie: lower code first), 3, 0
    keep = long_tail_counts(counts, 100.0)
    expected = np.rint(100 * 100.0 ** -(np.arange(4) / 3)).astype(int)  # [100, 22, 5, 1]
    assert keep.tolist() == [expected[3], expected[0], expected[1], expected[2]]
    assert long_tail_counts(np.array([10, 10]), 1e6).tolist() == [10, 1]  # at least 1 row
    assert long_tail_counts(np.array([10, 3]), 2.0).tolist() == [10, 3]  # never gains rows


@pytest.mark.parametrize("ratio", [5.0, 10.0, 50.0])
def test_train_split_realises_the_ratio(digits, ratio):
    lt = with_long_tail(digits, ratio, seed=0)
    counts = np.bincount(lt.y_train, minlength=10)
    assert np.array_equal(lt.class_counts, counts)
    assert counts.max() == digits.class_counts.max()  # the largest class keeps its rows
    assert counts.min() == max(1, round(counts.max() / ratio))  # the ratio, within rounding
    order = np.argsort(-digits.class_counts, kind="stable")
    assert np.all(np.diff(counts[order]) <= 0)  # the original ranking is kept
    assert len(lt.X_train) == len(lt.y_train) == counts.sum()


def test_ratio_1_keeps_training_and_validation_rows(digits):
    lt = with_long_tail(digits, 1, seed=0)
    assert np.array_equal(lt.y_train, digits.y_train) and np.array_equal(lt.y_valid, digits.y_valid)


def test_valid_follows_the_profile_and_test_is_balanced(digits):
    lt = with_long_tail(digits, 10.0, seed=0)
    order = np.argsort(-digits.class_counts, kind="stable")
    valid = np.bincount(lt.y_valid, minlength=10)
    assert np.all(np.diff(valid[order]) <= 0)
    assert valid[order[0]] / valid[order[-1]] == pytest.approx(10, rel=0.3)
    test = np.bincount(lt.y_test, minlength=10)
    assert set(test.tolist()) == {np.bincount(digits.y_test).min()}
    assert len(lt.X_test) == len(lt.y_test)


def test_kept_rows_are_rows_of_the_original(digits):
    lt = with_long_tail(digits, 10.0, seed=0)
    original = {
        row.tobytes(): label for row, label in zip(digits.X_train, digits.y_train, strict=True)
    }
    assert all(original[row.tobytes()] == y for row, y in zip(lt.X_train, lt.y_train, strict=True))


def test_same_seed_same_result_and_fingerprint_changes(digits):
    a, b = with_long_tail(digits, 10.0, seed=1), with_long_tail(digits, 10.0, seed=1)
    assert np.array_equal(a.y_train, b.y_train) and np.array_equal(a.X_train, b.X_train)
    assert a.fingerprint == b.fingerprint != digits.fingerprint
    other = with_long_tail(digits, 10.0, seed=2)
    assert not np.array_equal(other.X_train, a.X_train)
    assert other.fingerprint != a.fingerprint
    assert with_long_tail(digits, 20.0, seed=1).fingerprint != a.fingerprint


def test_refuses_regression_and_bad_ratios(digits):
    with pytest.raises(DataError, match="regression"):
        with_long_tail(load_dataset(load_diabetes(), seed=0), 10.0)
    for bad in (0.5, -1, float("nan"), True):
        with pytest.raises(DataError, match=rf"imbalance_ratio={bad!r}"):
            with_long_tail(digits, bad)
