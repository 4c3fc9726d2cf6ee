"""Small frames with the mess real tables have: missing values, text and bool columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def mixed_frame() -> pd.DataFrame:
    """300 rows: numeric with NaN, a city column with a rare value and NaN, a bool, a label."""
    rng = np.random.default_rng(7)
    n = 300
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(1),
            "income": rng.lognormal(10, 1, n),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n, p=[0.5, 0.3, 0.2]).astype(object),
            "member": rng.random(n) < 0.4,
            "label": rng.choice(["churn", "stay"], n, p=[0.3, 0.7]),
        }
    )
    frame.loc[[3, 50, 120], "age"] = np.nan
    frame.loc[[7, 80], "city"] = None
    frame.loc[11, "city"] = "Brest"
    return frame
