"""Passwords in storage and tracking URLs: hidden when shown, left out when stored."""

from __future__ import annotations

import importlib.util

import pytest

from losstune.urls import (
    has_password,
    mask_password,
    mask_passwords,
    missing_driver,
    with_driver,
    without_password,
)

# url, as shown, as stored for others
URLS = [
    (
        "postgresql://user:s3cret@db:5432/losstune",
        "postgresql://user:***@db:5432/losstune",
        "postgresql://user@db:5432/losstune",
    ),
    (
        "postgresql+psycopg2://user:s3cret@db/x?sslmode=require",
        "postgresql+psycopg2://user:***@db/x?sslmode=require",
        "postgresql+psycopg2://user@db/x?sslmode=require",
    ),
    # an unescaped @ or / in the password is hidden whole
    ("postgresql://user:p@ss/w0rd@db/x", "postgresql://user:***@db/x", "postgresql://user@db/x"),
    # Azure-style user names hold an @
    ("postgresql://me@srv:s3cret@db/x", "postgresql://me@srv:***@db/x", "postgresql://me@srv@db/x"),
    ("postgresql://db/x?password=s3cret", "postgresql://db/x?password=***", "postgresql://db/x"),
    (
        "postgresql://db/x?password=s3cret&sslmode=require",
        "postgresql://db/x?password=***&sslmode=require",
        "postgresql://db/x?sslmode=require",
    ),
    ("https://me:t0ken@mlflow:5000", "https://me:***@mlflow:5000", "https://me@mlflow:5000"),
    # left alone: no password
    ("postgresql://user@db:5432/x", "postgresql://user@db:5432/x", "postgresql://user@db:5432/x"),
    ("http://mlflow:5000/a@b", "http://mlflow:5000/a@b", "http://mlflow:5000/a@b"),
    ("sqlite:////runs/a:b@c/mlflow.db", "sqlite:////runs/a:b@c/mlflow.db", "sqlite:////runs/a:b@c/mlflow.db"),
    ("/home/me/losstune-runs", "/home/me/losstune-runs", "/home/me/losstune-runs"),
    ("file:///tmp/mlruns", "file:///tmp/mlruns", "file:///tmp/mlruns"),
    ("databricks://profile", "databricks://profile", "databricks://profile"),
]  # fmt: skip


@pytest.mark.parametrize(("url", "shown", "stored"), URLS)
def test_passwords_are_masked_when_shown_and_left_out_when_stored(url, shown, stored):
    assert mask_password(url) == shown
    assert without_password(url) == stored
    assert has_password(url) == (stored != url)
    for secret in ("s3cret", "t0ken", "p@ss"):
        assert secret not in shown and secret not in stored


def test_urls_inside_a_message_are_masked():
    message = "cannot open 'postgresql://u:s3cret@db/x' (also https://a:t0ken@h:1/x), giving up"
    assert mask_passwords(message) == (
        "cannot open 'postgresql://u:***@db/x' (also https://a:***@h:1/x), giving up"
    )


def test_missing_driver_names_what_to_install():
    if importlib.util.find_spec("pg8000") is None:
        assert missing_driver("postgresql+pg8000://u:p@db/x") == "pg8000"
    # installed, or no database URL at all
    assert missing_driver(with_driver("postgresql://u@db/x")) is None
    assert missing_driver("sqlite:///x.db") is None
    assert missing_driver("http://mlflow:5000") is None
    assert missing_driver("/tmp/mlruns") is None
