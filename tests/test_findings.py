"""Spine-chart comparisons and findings on constructed data, where the right answer is known.

Each case builds monthly rows in the export contract (force, CSPs) and checks what the
profile concludes and what sentence, if any, the findings say about it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from measures.core import export, findings, pipeline, profile, registry

FORCE, AREA, OTHER = "E23999999", "E22999991", "E22999992"
FIRST, LAST = dt.date(2025, 1, 1), dt.date(2025, 12, 1)
RATE = registry.Measure(
    id="test_rate", title="Reported test crime", theme="Protecting people from harm", definition="constructed",
    unit="per 1,000 residents", polarity="neutral", method="rate_per_1000", query="hidden_crime_monthly",
    frequency="monthly", page="hidden-crimes", source="constructed", licence="none", caveats="none",
    disclosure_control=True)
PROPORTION = registry.Measure(
    id="test_share", title="Test calls answered in time", theme="Accessible: contacting the police",
    definition="constructed", unit="%", polarity="higher_is_better", method="proportion",
    query="calls_101_abandoned", frequency="monthly", page="calls-101", source="constructed", licence="none",
    caveats="none", disclosure_control=False)


def monthly_frame(measure: registry.Measure, areas: dict[str, tuple[list[float | None], float]],
                  first: dt.date = FIRST, illustrative: bool | None = None) -> pd.DataFrame:
    """Rows per month: `areas` maps a code to (numerators by month, None = no row, and a denominator).

    The force row is the sum of the CSP rows of each month (as the queries build it). Its rows are
    illustrative as loaded: by default the test rate's are, the proportion's are not.
    """
    records = []
    for code, (numerators, denominator) in areas.items():
        for index, numerator in enumerate(numerators):
            if numerator is None:
                continue  # a month with no data has no row
            start = pd.Timestamp(first) + pd.DateOffset(months=index)
            records.append({"area_code": code, "area_name": f"Area {code[-1]}", "area_type": "csp",
                            "period_start": start, "period_end": start + pd.offsets.MonthEnd(0),
                            "numerator": float(numerator), "denominator": float(denominator)})
    frame = pd.DataFrame(records)
    force = frame.groupby(["period_start", "period_end"], as_index=False)[["numerator", "denominator"]].sum()
    force = force.assign(area_code=FORCE, area_name="Test force", area_type="force")
    frame = pd.concat([force, frame], ignore_index=True)
    frame = pipeline.add_signals(export.add_values(frame, measure), measure)  # as the pipeline does
    flag = measure.id == RATE.id if illustrative is None else illustrative
    return frame.assign(measure_id=measure.id, unit=measure.unit, suppressed=False, illustrative=flag)


def row_for(measure: registry.Measure, frame: pd.DataFrame, area: str = AREA, public: bool = False,
            first: dt.date = FIRST, last: dt.date = LAST) -> profile.ProfileRow:
    return profile.profile_row(measure, frame, area, FORCE, first, last, public)


def sentence(row: profile.ProfileRow, name: str = "Testham") -> str | None:
    return findings.finding(row, name, profile.period_label(FIRST, LAST))


def test_significantly_higher_at_99_8_is_said_with_the_values_and_no_verdict_for_a_neutral_measure():
    # Area: 600 events over 12 months among 10,000 residents = 60.0 per 1,000; the other CSP pulls the force
    # to (600 + 1,200) / 50,000 = 36.0 per 1,000.
    frame = monthly_frame(RATE, {AREA: ([50] * 12, 10_000), OTHER: ([100] * 12, 40_000)})
    row = row_for(RATE, frame)
    assert row.status == "ok"
    assert row.value == pytest.approx(60.0)
    assert row.force_value == pytest.approx(36.0)
    assert (row.comparison, row.confidence, row.judgement) == ("higher", 0.998, "higher")
    text = sentence(row)
    assert "Testham's rate of reported test crime (60.0 per 1,000 residents in 12 months)" in text
    assert "is significantly higher than the force's (36.0; 99.8% limits)" in text
    assert "better" not in text and "worse" not in text  # neutral: more reports are not judged
    assert text.endswith("(illustrative data, not official statistics).")


def test_a_difference_significant_only_at_95_percent_is_worded_as_such():
    # 408 events among 10,000 (40.8 per 1,000) against a force of (408 + 1,392) / 50,000 = 36.0 per 1,000:
    # outside the area's 95% interval (36.9 to 45.0) but inside its 99.8% interval (34.8 to 47.4).
    frame = monthly_frame(RATE, {AREA: ([34] * 12, 10_000), OTHER: ([116] * 12, 40_000)})
    row = row_for(RATE, frame)
    assert row.lower_95 > row.force_value > row.lower_998
    assert (row.comparison, row.confidence) == ("higher", 0.95)
    text = sentence(row)
    assert "significant at 95% but not at the stricter 99.8% limits" in text
    assert "significantly higher" not in text


def test_no_significant_difference_and_no_signal_says_nothing():
    frame = monthly_frame(RATE, {AREA: ([30, 31] * 6, 10_000), OTHER: ([121, 119] * 6, 40_000)})
    row = row_for(RATE, frame)
    assert row.comparison == "similar" and row.run is None
    assert sentence(row) is None
    assert profile.comparison_text(row) == "● Similar to the force"


def test_polarity_turns_lower_into_worse_for_a_higher_is_better_measure_and_says_so():
    # 700 of 1,000 calls answered in time against 1,800 of 2,000 (90%) elsewhere: the force is 2,500 / 3,000.
    frame = monthly_frame(PROPORTION, {AREA: ([70] * 10, 100), OTHER: ([180] * 10, 200)})
    row = row_for(PROPORTION, frame, last=dt.date(2025, 10, 1))
    assert row.value == pytest.approx(70.0)
    assert (row.comparison, row.confidence, row.judgement) == ("lower", 0.998, "worse")
    text = sentence(row)
    assert "Testham's share of test calls answered in time (70.0%)" in text
    assert "significantly lower than the force's (83.3%; 99.8% limits), which is worse for this measure" in text
    assert "illustrative" not in text  # official data is not called illustrative
    assert profile.comparison_text(row) == "✖ Worse than the force (99.8%)"


def test_a_rising_run_is_claimed_only_when_the_trend_rule_fires():
    # Two years alternating 40 / 60 (mean 50, wide limits), then 7 points each higher than the last,
    # crossing the mean so that the shift rule does not fire first.
    history = [40, 60] * 12 + [46, 47, 48, 49, 51, 52, 53]
    start = dt.date(2023, 6, 1)
    measure = replace(RATE, polarity="lower_is_better")
    frame = monthly_frame(measure, {AREA: (history, 1_000), OTHER: ([500] * len(history), 10_000)}, first=start,
                          illustrative=False)
    last = dt.date(2025, 12, 1)
    row = row_for(measure, frame, first=dt.date(2025, 1, 1), last=last)
    assert row.run is not None and (row.run.kind, row.run.direction, row.run.points) == ("trend", 1, 7)
    assert row.signal == "concern"
    text = findings.finding(row, "Testham", "2025")
    assert "has risen for 6 months in a row to Dec 2025 (7 points each higher than the one before), a concern" in text

    flat = [40, 60] * 12 + [46, 47, 48, 49, 51, 50, 53]  # one step down breaks the run
    frame = monthly_frame(measure, {AREA: (flat, 1_000), OTHER: ([500] * len(flat), 10_000)}, first=start)
    row = row_for(measure, frame, first=dt.date(2025, 1, 1), last=last)
    assert row.run is None
    text = findings.finding(row, "Testham", "2025")
    assert text is None or "risen" not in text


def test_suppressed_figures_get_no_value_no_comparison_and_no_finding():
    # 3 events a month (a small count) in the area: in public mode every month is suppressed.
    frame = monthly_frame(RATE, {AREA: ([3] * 12, 2_000), OTHER: ([100] * 12, 40_000)})
    public_frame = pipeline.suppress(frame, RATE)
    row = row_for(RATE, public_frame, public=True)
    assert row.status == "suppressed"
    assert pd.isna(row.value)
    assert row.comparison == "not compared" and row.signal == "not assessed"
    assert sentence(row) is None
    assert profile.value_text(row) == "suppressed"
    assert findings.not_assessed([row]) == {"suppressed": ["Reported test crime"], "no data": []}
    # The same area in the analyst's version has a value (36 events in 2,000 residents = 18.0 per 1,000).
    analyst = row_for(RATE, frame)
    assert analyst.status == "ok" and analyst.value == pytest.approx(18.0)


def test_one_suppressed_month_suppresses_the_period_so_it_cannot_be_worked_out():
    counts = [20] * 11 + [2]
    frame = pipeline.suppress(monthly_frame(RATE, {AREA: (counts, 10_000), OTHER: ([100] * 12, 40_000)}), RATE)
    period = profile.period_values(frame, RATE, FIRST, LAST, public=True)
    mine = period[period["area_code"] == AREA].iloc[0]
    assert bool(mine["suppressed"]) and pd.isna(mine["numerator"]) and pd.isna(mine["value"])
    # Secondary suppression hid the other CSP's December too, so its period is suppressed as well.
    other = period[period["area_code"] == OTHER].iloc[0]
    assert bool(other["suppressed"])


def test_no_data_in_the_period_is_no_data_not_zero():
    counts = [50] * 6 + [None] * 6  # the area's data stops in June
    frame = monthly_frame(RATE, {AREA: (counts, 10_000), OTHER: ([100] * 12, 40_000)})
    row = row_for(RATE, frame, first=dt.date(2025, 7, 1), last=LAST)
    assert row.status == "no data"
    assert profile.value_text(row) == "no data"
    assert sentence(row) is None
    assert row.latest_available == pd.Timestamp(2025, 6, 1)


def test_months_with_no_data_add_nothing_to_the_period():
    counts = [60, None, 60, None, 60, 60, 60, 60, 60, 60, 60, 60]  # two months missing: 600 events in 10 months
    frame = monthly_frame(RATE, {AREA: (counts, 10_000), OTHER: ([100] * 12, 40_000)})
    row = row_for(RATE, frame)
    assert len(row.periods) == 10
    assert row.value == pytest.approx(60.0)
    assert row.value_unit == "per 1,000 residents in 10 months"


def test_the_force_is_not_compared_with_itself():
    frame = monthly_frame(RATE, {AREA: ([50] * 12, 10_000), OTHER: ([100] * 12, 40_000)})
    row = row_for(RATE, frame, area=FORCE)
    assert row.status == "ok" and row.comparison == "not compared"
    assert sentence(row, "Test force") is None


def test_spine_positions_put_the_force_in_the_middle_and_better_on_the_right():
    frame = monthly_frame(PROPORTION, {AREA: ([70] * 10, 100), OTHER: ([180] * 10, 200)})
    row = row_for(PROPORTION, frame, last=dt.date(2025, 10, 1))
    table = profile.spine_table([row], "Testham")
    from measures.render import charts

    positions = charts.spine_positions(table)
    assert positions["x_value"].iloc[0] < 0.5 < positions["x_csp_max"].iloc[0]  # worse (lower) on the left
    mirrored = profile.spine_table([replace(row, measure=replace(PROPORTION, polarity="lower_is_better"))], "Testham")
    assert charts.spine_positions(mirrored)["x_value"].iloc[0] > 0.5  # lower is better: now on the right


def test_reoffending_cohorts_older_than_the_period_use_the_latest_year_of_cohorts():
    cohort = replace(PROPORTION, id="test_cohort", frequency="quarterly_cohort", polarity="lower_is_better")
    starts = pd.date_range("2022-01-01", "2024-04-01", freq="QS")  # the latest cohort starts in Apr 2024
    frame = pd.DataFrame({"period_start": starts, "area_code": AREA})
    assert profile.measure_window(frame, cohort, FIRST, LAST) == (dt.date(2023, 7, 1), dt.date(2024, 4, 1))
    # A period with a cohort inside it keeps its own months; monthly measures always do.
    assert profile.measure_window(frame, cohort, dt.date(2024, 1, 1), LAST) == (dt.date(2024, 1, 1), LAST)
    assert profile.measure_window(frame, PROPORTION, FIRST, LAST) == (FIRST, LAST)
    # Nothing starts by the period's end: nothing to fall back on.
    assert profile.measure_window(frame, cohort, dt.date(2020, 1, 1), dt.date(2020, 12, 1)) == (
        dt.date(2020, 1, 1), dt.date(2020, 12, 1))


ROLLING = replace(RATE, id="test_rolling", frequency="rolling_year", polarity="lower_is_better",
                  disclosure_control=False)


def rolling_frame(years: list[tuple[str, str]], areas: dict[str, list[float | None]]) -> pd.DataFrame:
    """Rolling-year rows (10,000 residents an area) with the force as the sum, as the pipeline gives them."""
    records = [{"area_code": code, "area_name": f"Area {code[-1]}", "area_type": "csp", "period_start": pd.Timestamp(s),
                "period_end": pd.Timestamp(e), "numerator": float(n), "denominator": 10_000.0}
               for code, numerators in areas.items() for (s, e), n in zip(years, numerators, strict=True)
               if n is not None]
    frame = pd.DataFrame(records)
    force = frame.groupby(["period_start", "period_end"], as_index=False)[["numerator", "denominator"]].sum()
    frame = pd.concat([force.assign(area_code=FORCE, area_name="Test force", area_type="force"), frame],
                      ignore_index=True)
    frame = pipeline.add_signals(export.add_values(frame, ROLLING), ROLLING)
    return frame.assign(measure_id=ROLLING.id, unit=ROLLING.unit, suppressed=False, illustrative=False)


def test_a_rolling_year_finding_names_its_year_and_claims_no_run():
    years = [("2023-01-01", "2023-12-31"), ("2024-01-01", "2024-12-31"), ("2024-07-01", "2025-06-30")]
    frame = rolling_frame(years, {AREA: [800, 900, 1000], OTHER: [400, 400, 400]})
    row = row_for(ROLLING, frame)  # Jan to Dec 2025: the year ending Jun 2025 ends in it
    assert (row.status, row.value, row.judgement) == ("ok", pytest.approx(100.0), "worse")
    assert row.run is None and row.signal == pipeline.NOT_ASSESSED_ROLLING  # a rise over 3 overlapping years is no trend
    text = sentence(row)
    assert text is not None and text.startswith(
        "In the year ending Jun 2025, Testham's rate of reported test crime (100 per 1,000 residents) is "
        "significantly higher than the force's"), text
    assert "Over Jan 2025" not in text and "months" not in text and "series" not in text


def test_a_period_no_rolling_year_ends_in_reads_the_latest_year_before_it():
    years = [("2023-01-01", "2023-12-31"), ("2024-01-01", "2024-12-31")]
    frame = rolling_frame(years, {AREA: [800, 900], OTHER: [400, 400]})
    assert profile.measure_window(frame, ROLLING, FIRST, LAST) == (dt.date(2024, 12, 1), dt.date(2024, 12, 1))
    assert profile.measure_window(frame, ROLLING, dt.date(2024, 6, 1), LAST) == (dt.date(2024, 6, 1), LAST)
    assert profile.measure_window(frame, ROLLING, dt.date(2020, 1, 1), dt.date(2020, 12, 1)) == (
        dt.date(2020, 1, 1), dt.date(2020, 12, 1))  # nothing ends by then: no data, nothing guessed
    row = row_for(ROLLING, frame)
    assert row.value == pytest.approx(90.0) and row.value_unit == "per 1,000 residents in the year ending Dec 2024"
    assert [f"{p:%Y-%m}" for p in row.sparkline["period_start"]] == ["2023-01", "2024-01"]  # editions, no gaps
