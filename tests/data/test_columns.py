"""Text columns that would lose data as categories: dates, numbers with strays, free text.

Each is detected, treated inside the fitted preprocessor (so raw rows at prediction time are
read the same way), reported in ``Dataset.profile`` and, where data is lost, warned about.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from losstune.data import DataWarning, infer_task, load_dataset
from losstune.data.columns import ColumnKind, plan_column
from losstune.data.split import split_rows
from losstune.data.task import encode_target

N = 300


def _frame(**columns: object) -> pd.DataFrame:
    """``columns`` plus a learnable binary label ``y``, ``N`` rows, a fixed seed."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=N), **columns})
    return frame.assign(y=np.where(frame["x"] > 0, "yes", "no"))


def _dates(fmt: str = "%Y-%m-%d", hours: bool = False) -> pd.Series:
    rng = np.random.default_rng(5)
    stamps = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, N), unit="D")
    if hours:
        stamps += pd.to_timedelta(rng.integers(0, 24 * 60, N), unit="min")
    return pd.Series(stamps).dt.strftime(fmt).astype(object)


def _quiet_load(frame: pd.DataFrame, **kwargs: object):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        return load_dataset(frame, target="y", **kwargs)


def _test_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The raw feature rows of the test split that ``load_dataset(frame, target="y")`` cuts."""
    codes, classes = encode_target(frame["y"], infer_task(frame["y"]))
    strata = pd.Categorical.from_codes(codes, classes)
    split = split_rows(len(frame), test_size=0.2, valid_size=0.2, seed=0, strata=strata)
    return frame.drop(columns="y").iloc[split.test]


# -- dates ---------------------------------------------------------------------------------


def test_text_dates_become_days_month_day_and_weekday_without_a_warning():
    frame = _frame(signup=_dates())
    frame.loc[0, "signup"] = "2024-02-29"
    ds = _quiet_load(frame)

    names = ("signup_days_since_1970", "signup_month", "signup_day", "signup_weekday")
    assert ds.feature_names == ("x", *names)
    dates = ds.preprocessor.named_transformers_["dates"][0]
    assert dates.formats == ("%Y-%m-%d",)
    np.testing.assert_array_equal(
        dates.transform(frame[["signup"]].iloc[:1]), [[19782.0, 2.0, 29.0, 3.0]]
    )
    (report,) = [r for r in ds.profile if r.column == "signup"]
    assert report.kind is ColumnKind.DATE and report.features == names
    assert report.treatment == (
        "dates as text (%Y-%m-%d) parsed into days_since_1970, month, day, weekday"
    )


def test_day_first_dates_are_read_day_first():
    frame = _frame(signup=_dates("%d/%m/%Y"))
    frame.loc[0, "signup"] = "13/04/2021"
    ds = _quiet_load(frame)
    dates = ds.preprocessor.named_transformers_["dates"][0]
    assert dates.formats == ("%d/%m/%Y",)
    np.testing.assert_array_equal(dates.transform(frame[["signup"]].iloc[:1])[0, 1:3], [4, 13])


def test_times_of_day_add_an_hour_feature():
    frame = _frame(seen=_dates("%Y-%m-%d %H:%M:%S", hours=True))
    frame.loc[0, "seen"] = "2021-04-13 18:30:00"
    ds = _quiet_load(frame)
    assert ds.feature_names[-1] == "seen_hour"
    dates = ds.preprocessor.named_transformers_["dates"][0]
    np.testing.assert_allclose(
        dates.transform(frame[["seen"]].iloc[:1]), [[18730.770833333332, 4, 13, 1, 18.5]]
    )


@pytest.mark.parametrize("tz", [None, "Europe/Paris"])
def test_datetime_columns_get_the_same_features(tz):
    stamps = pd.to_datetime(_dates()).dt.tz_localize(tz)
    ds = _quiet_load(_frame(signup=stamps))
    as_text = _quiet_load(_frame(signup=_dates()))
    assert ds.feature_names == as_text.feature_names
    np.testing.assert_array_equal(ds.X_train, as_text.X_train)  # in the column's wall time
    assert ds.profile[1].treatment.startswith("datetime parsed into days_since_1970")


def test_dates_that_do_not_parse_are_missing_and_warned_about():
    frame = _frame(signup=_dates())
    frame.loc[[4, 9], "signup"] = "soon"
    frame.loc[11, "signup"] = "2021-02-30"
    with pytest.warns(DataWarning, match=r"'signup' holds dates in format '%Y-%m-%d', but 3 row"):
        ds = load_dataset(frame, target="y")
    assert "3 row(s) of 'soon', '2021-02-30' read as missing" in ds.profile[1].treatment
    assert np.isfinite(ds.X_train).all()


def test_a_column_of_month_names_or_years_is_not_a_date():
    assert plan_column("m", pd.Series(["Jan", "Feb", "Mar"] * 10)).kind is ColumnKind.CATEGORICAL
    assert plan_column("y", pd.Series(["2019", "2020"] * 10)).kind is ColumnKind.CATEGORICAL


# -- numbers with stray strings --------------------------------------------------------------


def test_stray_strings_in_a_numeric_column_are_missing_and_named():
    rng = np.random.default_rng(1)
    amount = pd.Series(rng.normal(100, 10, N).round(2).astype(str), dtype=object)
    amount[[3, 9]] = "?"
    amount[5] = "n/a "
    frame = _frame(amount=amount)
    with pytest.warns(
        DataWarning,
        match=r"Column 'amount' holds numbers, but 3 row\(s\) hold '\?', 'n/a '; read them as "
        r"missing \(imputed with the median\)\. Fix:",
    ):
        ds = load_dataset(frame, target="y")

    assert ds.feature_names == ("x", "amount")
    step = ds.preprocessor.named_transformers_["numbers_in_text"]
    imputed = step.transform(frame[["amount"]].iloc[[3, 5, 9]])
    median = step[-1].transform(step[1].statistics_.reshape(1, -1))
    np.testing.assert_allclose(imputed, np.repeat(median, 3, axis=0))
    assert ds.profile[1].kind is ColumnKind.NUMBERS_IN_TEXT
    assert (
        ds.profile[1].treatment == "numbers stored as text; 3 row(s) of '?', 'n/a ' read as missing"
    )


def test_a_column_with_many_non_numbers_stays_categorical():
    values = pd.Series(["1", "2", "3", "other"] * 25, dtype=object)  # 25% are not numbers
    assert plan_column("code", values).kind is ColumnKind.CATEGORICAL


def test_numbers_stored_as_text_stay_categories_when_few_and_become_numbers_when_many():
    codes = pd.Series(["01", "02", "03"] * 100, dtype=object)
    assert plan_column("code", codes).kind is ColumnKind.CATEGORICAL
    many = pd.Series([f"{v:.3f}" for v in np.linspace(0, 1, N)], dtype=object)
    ds = _quiet_load(_frame(price=many))
    assert ds.feature_names == ("x", "price")
    assert ds.profile[1].treatment == "numbers stored as text"


# -- free text -------------------------------------------------------------------------------


def test_free_text_is_dropped_with_a_warning():
    frame = _frame(comment=[f"called on day {i}, asked about the bill" for i in range(N)])
    with pytest.warns(DataWarning, match=r"Dropped column 'comment'.*300 distinct values.*Fix:"):
        ds = load_dataset(frame, target="y")
    assert ds.feature_names == ("x",)
    assert ds.profile[1].kind is ColumnKind.TEXT and ds.profile[1].features == ()
    assert ds.preprocessor.transform(frame.iloc[:2]).shape == (2, 1)


def test_a_category_with_many_levels_but_repeats_is_kept():
    frame = _frame(shop=[f"shop{i % 60}" for i in range(N)])  # 60 levels, 5 rows each
    ds = _quiet_load(frame)
    assert ds.profile[1].kind is ColumnKind.CATEGORICAL
    assert ds.profile[1].treatment.endswith("rare ones grouped as infrequent)")
    assert len(ds.profile[1].features) == 32  # max_categories
    assert ds.profile[1].features[-1] == "shop_infrequent_sklearn"


# -- all together, as a deployed model sees them ----------------------------------------------


def _messy() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    amount = pd.Series(rng.normal(100, 10, N).round(2).astype(str), dtype=object)
    amount[[3, 9]] = "?"
    return _frame(
        signup=_dates(),
        amount=amount,
        comment=[f"note {i}" for i in range(N)],
        city=rng.choice(["Paris", "Lyon", "Nice"], N).astype(object),
    )


def test_the_fitted_preprocessor_reproduces_the_features_from_raw_rows():
    frame = _messy()
    with pytest.warns(DataWarning):
        ds = load_dataset(frame, target="y")
    raw = _test_rows(frame)
    np.testing.assert_array_equal(ds.preprocessor.transform(raw).astype(np.float32), ds.X_test)
    np.testing.assert_array_equal(ds.transform(raw), ds.X_test)
    deployed = pickle.loads(pickle.dumps(ds.preprocessor))
    np.testing.assert_array_equal(deployed.transform(raw).astype(np.float32), ds.X_test)


def test_raw_rows_with_new_bad_values_are_imputed_not_refused():
    frame = _messy()
    with pytest.warns(DataWarning):
        ds = load_dataset(frame, target="y")
    new = frame.drop(columns="y").iloc[[0, 0]].copy()
    new["signup"] = ["not a date", None]
    new["amount"] = ["lots", "inf"]
    new["comment"] = ["anything", "at all"]
    out = ds.transform(new)
    assert out.shape == (2, ds.n_features) and np.isfinite(out).all()
    assert ds.transform(new.iloc[[0]])[0].tolist() == ds.transform(new.iloc[[1]])[0].tolist()


def test_ordinary_columns_are_unchanged(mixed_frame):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        ds = load_dataset(mixed_frame, target="label")
    assert [r.kind.value for r in ds.profile] == ["numeric", "numeric", "categorical"] + [
        "categorical"
    ]
    assert [name for name, *_ in ds.preprocessor.transformers] == ["numeric", "categorical"]
    assert not any(r.special for r in ds.profile)
