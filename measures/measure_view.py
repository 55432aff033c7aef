"""Logic of the measure page: a control chart for one area, areas compared, a sentence each."""

from __future__ import annotations

import pandas as pd

from measures import registry, stats


def area_series(frame: pd.DataFrame, area_code: str) -> pd.DataFrame:
    rows = frame[(frame["area_code"] == area_code)].copy()
    rows["period_start"] = pd.to_datetime(rows["period_start"])
    return rows.sort_values("period_start")


def frequency_alias(measure: registry.Measure) -> str:
    return "QS" if measure.frequency == "quarterly_cohort" else "MS"


def control(measure: registry.Measure, series: pd.DataFrame) -> tuple[stats.XmRResult, list[str]]:
    """XmR over calendar periods (gaps as NaN) and each point's signal read through polarity."""
    full = series.set_index("period_start")["value"].astype("float64").reindex(
        pd.date_range(series["period_start"].min(), series["period_start"].max(), freq=frequency_alias(measure)))
    result = stats.xmr(full.to_numpy())
    words = []
    for index in range(len(full)):
        direction = int(result.direction[index]) if (
            result.outside_limits[index] or result.shift[index] or result.trend[index]) else 0
        words.append(stats.interpret_signal(direction, measure.polarity) if direction else "none")
    return result, words


def control_summary(measure: registry.Measure, area_name: str, series: pd.DataFrame, words: list[str]) -> str:
    present = series.dropna(subset=["value"])
    if present.empty:
        return f"No values to chart for {area_name}."
    signals = [w for w in words if w != "none"]
    last = words[-1]
    text = (f"{measure.title} for {area_name} over {len(present)} periods with data; "
            f"the latest is {present['value'].iloc[-1]:.2f} {measure.unit}.")
    if last != "none":
        text += f" The latest period shows a signal of {last}."
    elif signals:
        text += f" {len(signals)} period(s) show a signal; the latest does not."
    else:
        text += " No period shows a signal: the variation is consistent with chance."
    return text


def latest_by_area(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Timestamp | None]:
    """The CSPs' values in the latest period that has a force value."""
    if frame.empty:
        return frame, None
    frame = frame.copy()
    frame["period_start"] = pd.to_datetime(frame["period_start"])
    latest = frame["period_start"].max()
    rows = frame[(frame["period_start"] == latest)]
    return rows, latest


def figures_table(series: pd.DataFrame) -> pd.DataFrame:
    """The export columns for one area, dates as ISO text (what the download holds)."""
    from measures.export import COLUMNS

    table = series[[c for c in COLUMNS if c in series]].copy()
    for column in ("period_start", "period_end"):
        table[column] = pd.to_datetime(table[column]).dt.strftime("%Y-%m-%d")
    return table
