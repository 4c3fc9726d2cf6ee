import numpy as np
import pytest
from sklearn.datasets import load_digits

from losstune.data import DataError, load_dataset
from losstune.data.noise import flip_labels, with_label_noise


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
