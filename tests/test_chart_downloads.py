"""The CSV under every chart (app.chart_csv, built when its button is clicked)."""

from __future__ import annotations

import io

import pandas as pd

from measures.ui import app


def test_a_charts_csv_labels_generated_rows_and_neutralises_formulas() -> None:
    table = pd.DataFrame({"area_name": ['=HYPERLINK("http://evil.example/","click")', "Exeter"],
                          "value": [-1.5, 2.0], "illustrative": [True, False]})
    read = pd.read_csv(io.StringIO(app.chart_csv(table, illustrative=True)), keep_default_na=False)
    assert read["area_name"].tolist() == ['\'=HYPERLINK("http://evil.example/","click")', "Exeter"]
    assert read["value"].tolist() == [-1.5, 2.0]  # numbers stay numbers, negative ones included
    assert read["note"].tolist() == [app.ILLUSTRATIVE_LABEL, ""]  # only the generated row says so


def test_a_real_charts_csv_has_no_illustrative_note() -> None:
    table = pd.DataFrame({"area_name": ["Exeter"], "value": [2.0]})
    assert "note" not in pd.read_csv(io.StringIO(app.chart_csv(table, illustrative=False))).columns
