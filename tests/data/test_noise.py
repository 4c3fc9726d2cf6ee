import numpy as np
import pytest
from sklearn.datasets import load_digits

from losstune.data import DataError, load_dataset
from losstune.data.noise import flip_labels, pair_flip_labels, with_label_noise


@pytest.fixture(scope="module")
def digits():
    return load_dataset(load_digits(), seed=0)


def test_flip_labels_rate_and_never_keeps_a_flipped_label():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 1000)
    noisy = flip_labels(y, 10, 0.4, rng)
    assert abs(np.mean(noisy != y) - 0.4) < 0.02
    # flipped labels are spread over the other classes
    moved_from_0 = noisy[(y == 0) & (noisy != 0)]
    assert set(moved_from_0) == set(range(1, 10))


def test_train_and_valid_are_noisy_test_is_clean(digits):
    noisy = with_label_noise(digits, 0.4, seed=1)
    assert abs(np.mean(noisy.y_train != digits.y_train) - 0.4) < 0.06
    assert abs(np.mean(noisy.y_valid != digits.y_valid) - 0.4) < 0.1
    assert np.array_equal(noisy.y_test, digits.y_test)
    assert np.array_equal(noisy.class_counts, np.bincount(noisy.y_train, minlength=10))
    assert noisy.fingerprint != digits.fingerprint
    again = with_label_noise(digits, 0.4, seed=1)
    assert np.array_equal(again.y_train, noisy.y_train) and again.fingerprint == noisy.fingerprint


def test_bad_noise_arguments(digits):
    with pytest.raises(DataError, match=r"rate must be in \[0, 1\); got 1.5"):
        with_label_noise(digits, 1.5)
    with pytest.raises(DataError, match="Unknown split"):
        with_label_noise(digits, 0.1, splits=("training",))


def test_pair_flip_moves_class_c_to_c_plus_1_only():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 1000)
    noisy = pair_flip_labels(y, 10, 0.3, rng)
    flipped = noisy != y
    assert abs(flipped.mean() - 0.3) < 0.02
    assert np.array_equal(noisy[flipped], (y[flipped] + 1) % 10)
    for c in range(10):  # the rate holds per class, not only on average
        assert abs(flipped[y == c].mean() - 0.3) < 0.05


def test_class_dependent_noise_on_a_dataset(digits):
    noisy = with_label_noise(digits, 0.3, seed=1, kind="class_dependent")
    for split in ("train", "valid"):
        clean_y, noisy_y = getattr(digits, f"y_{split}"), getattr(noisy, f"y_{split}")
        moved = noisy_y != clean_y
        assert abs(moved.mean() - 0.3) < 0.1
        assert np.array_equal(noisy_y[moved], (clean_y[moved] + 1) % 10)
    assert np.array_equal(noisy.y_test, digits.y_test)
    assert np.array_equal(noisy.class_counts, np.bincount(noisy.y_train, minlength=10))


def test_fingerprint_depends_on_the_noise_kind(digits):
    symmetric = with_label_noise(digits, 0.2, seed=1)
    assert with_label_noise(digits, 0.2, seed=1, kind="symmetric").fingerprint == (
        symmetric.fingerprint
    )
    pair = with_label_noise(digits, 0.2, seed=1, kind="class_dependent")
    assert pair.fingerprint not in {symmetric.fingerprint, digits.fingerprint}
    with pytest.raises(DataError, match="Unknown noise kind 'asym'"):
        with_label_noise(digits, 0.2, kind="asym")
