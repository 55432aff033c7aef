"""Logic of the measure page: the control chart of one area (signals from measures.core.pipeline), a sentence each."""

from __future__ import annotations

import pandas as pd

from measures.core import pipeline, registry, vocabulary


def area_series(frame: pd.DataFrame, area_code: str) -> pd.DataFrame:
    rows = frame[(frame["area_code"] == area_code)].copy()
    rows["period_start"] = pd.to_datetime(rows["period_start"])
    return rows.sort_values("period_start")


frequency_alias = pipeline.frequency_alias  # one calendar step, the pipeline's


def signal_words(measure: registry.Measure, series: pd.DataFrame) -> list[str]:
    """Each calendar period's signal meaning from the pipeline's rows ("none" for a gap)."""
    rows = series.set_index("period_start")["signal_meaning"]
    calendar = pipeline.calendar(series["period_start"], pipeline.series_frequency(measure, series))
    return [str(w) if isinstance(w, str) and w else "none" for w in rows.reindex(calendar)]


def control_summary(measure: registry.Measure, area_name: str, series: pd.DataFrame, words: list[str]) -> str:
    present = series.dropna(subset=["value"])
    if present.empty:
        return f"No values to chart for {area_name}."
    signals = [w for w in words if w not in ("none", pipeline.NOT_ASSESSED)]
    last = str(present["signal_meaning"].iloc[-1] or "none") if "signal_meaning" in present else words[-1]
    text = (f"{measure.title} for {area_name} over {len(present)} periods with data; "
            f"the latest is {present['value'].iloc[-1]:.2f} {measure.unit}.")
    if last not in ("none", pipeline.NOT_ASSESSED):
        text += f" The latest period shows a signal of {last} ({present['signal'].iloc[-1]})."
    elif signals:
        text += f" {len(signals)} period(s) show a signal; the latest does not."
    else:
        text += " No period shows a signal: the variation is consistent with chance."
    if "trial_limits" in present and bool(present["trial_limits"].fillna(False).astype(bool).iloc[-1]):
        text += f" The limits are {vocabulary.TRIAL_LIMITS}."
    if "baseline_start" in present and present["baseline_start"].notna().any():
        start = pd.Timestamp(present["baseline_start"].iloc[-1])
        if start > pd.Timestamp(present["period_start"].min()):
            reasons = [c for c in measure.change_points if pd.Timestamp(f"{c['period']}-01") == start]
            text += (f" Limits from {start:%b %Y}, a new baseline"
                     + (f" ({reasons[0]['reason']})" if reasons else "") + ".")
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
    from measures.core.export import COLUMNS

    table = series[[c for c in COLUMNS if c in series]].copy()
    for column in ("period_start", "period_end"):
        table[column] = pd.to_datetime(table[column]).dt.strftime("%Y-%m-%d")
    return table


def target_sentence(measure: registry.Measure, series: pd.DataFrame) -> str:
    """The target of the latest period with a value and its assurance, in words (or that there is none),
    from the pipeline's `target` and `assurance` columns: what every measure page says beside the signal."""
    present = series.dropna(subset=["value"])
    if present.empty or "target" not in present or pd.isna(present["target"].iloc[-1]) or measure.target is None:
        return "No target is stated for this measure and area."
    latest = present.iloc[-1]
    label = vocabulary.assurance_label(str(latest.get("assurance") or ""))
    return (f"Target: {measure.target.text()}. Assurance at "
            f"{vocabulary.period_label(pd.Timestamp(latest['period_start']), measure.frequency)}: {label}.")


def target_line(series: pd.DataFrame) -> float | None:
    """The target to draw on the area's chart: the one its latest rows carry (None where none applies)."""
    if "target" not in series or series["target"].notna().sum() == 0:
        return None
    return float(series["target"].dropna().iloc[-1])
