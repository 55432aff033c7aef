"""Staging models (queries/staging/): a shared step written once, as a view every query reads."""

from __future__ import annotations

import re

import pandas as pd

from measures.data import config, db, store
from measures.paths import DEFAULT_DATA_DIR

CALLS_QUERIES = ("calls_101_abandoned", "calls_101_mean_wait", "calls_101_answered_within")


def test_the_101_measures_read_one_staging_model_that_sums_the_published_calls() -> None:
    con = db.connect(DEFAULT_DATA_DIR)
    assert "calls_101_area_month" in db.tables(con)
    for name in CALLS_QUERIES:  # the join and the sums are not written again in the measure queries
        code = re.sub(r"--[^\n]*", "", db.load_sql(name))
        assert "calls_101_area_month" in code and "calls_101_monthly" not in code, name
    force = config.load_force().code
    staged = con.cursor().execute("select * from calls_101_area_month where force_code = $force order by all",
                                  {"force": force}).df()
    raw = pd.read_parquet(store.table_path(DEFAULT_DATA_DIR, "calls_101_monthly"))
    raw = raw.merge(config.areas()[["area_code", "force_code"]], on="area_code").query("force_code == @force")
    raw["month"], staged["month"] = pd.to_datetime(raw["month"]), pd.to_datetime(staged["month"])
    direct = raw.groupby(["month", "area_code"])[["calls", "abandoned", "answered", "answered_within_20min"]].sum()
    got = staged.set_index(["month", "area_code"])[direct.columns]
    pd.testing.assert_frame_equal(got.sort_index(), direct.sort_index(), check_dtype=False, check_index_type=False)
    assert len(staged) and (staged["calls"] > 0).all()
