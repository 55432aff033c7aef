"""Charts the reoffending and hidden-crimes pages share: a trend, CSP bars, a funnel plot, a map, a table.

Each builder returns a ChartPart: the figure (None when there is too little to draw), the
one-sentence summary under it, and the data behind it (what its CSV download holds). Pages cache the
parts and share them between sessions (measures.ui.app.figure), so nothing here changes what it is given.
Suppressed values (public mode: counts of 1 to 4) stay empty in numbers and read
"suppressed" in words: never a 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from measures.core import comparison, measure_view, pipeline, registry, scorecard, vocabulary
from measures.data import config
from measures.render import charts

CSP_COLUMNS = ["area_code", "area_name", "numerator", "denominator", "value", "lower_95", "upper_95", "suppressed",
               "suppression", pipeline.ILLUSTRATIVE]
MAP_TOOLTIP = "<b>{area_name}</b><br/>{value_text}<br/>{interval_text}<br/>{outcome_text}"


@dataclass(frozen=True)
class ChartPart:
    """One chart of a page: what to draw, the sentence under it, and the data behind it (CSV). Read only:
    pages share one part between sessions (app.figure)."""

    figure: go.Figure | None
    summary: str
    table: pd.DataFrame
    file_name: str
    illustrative: bool = False  # whether any row it shows is illustrative (pipeline.illustrative of those rows)
    overlay: charts.Overlay | None = None  # drawn over a figure shared by every area (the selected CSP)


def value_text(value: float, suppressed: bool, unit: str, digits: int = 2) -> str:
    """A value in words: "suppressed" and "no data" are never written as 0."""
    if suppressed:
        return "suppressed"
    if value is None or pd.isna(value):
        return "no data"
    return f"{value:,.{digits}f} {unit}"


def csp_rows(period_rows: pd.DataFrame, force: config.Force) -> pd.DataFrame:
    """One row per CSP of the force (in the force's order), with its values or empty ones where it has no row."""
    rows = pd.DataFrame({"area_code": [a.code for a in force.csps], "area_name": [a.name for a in force.csps]})
    found = period_rows.reindex(columns=[c for c in CSP_COLUMNS if c != "area_name"])
    rows = rows.merge(found, on="area_code", how="left")
    rows["suppressed"] = rows["suppressed"].astype("boolean").fillna(False).astype(bool)
    rows["suppression"] = rows["suppression"].astype("object").where(rows["suppressed"], "").fillna("")
    rows[pipeline.ILLUSTRATIVE] = rows[pipeline.ILLUSTRATIVE].astype("boolean").fillna(False).astype(bool)
    for column in ("numerator", "denominator", "value", "lower_95", "upper_95"):
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype("float64")
    return rows


@dataclass(frozen=True)
class Compared:
    """One period's CSPs against the force value: what the funnel plot and the map of them share whichever
    CSP is selected. Pages build it once per period and share it (app.figure): read only."""

    rows: pd.DataFrame  # csp_rows
    force_value: float | None
    points: pd.DataFrame | None  # comparison.funnel_points of the rows; None without a force value
    curves: pd.DataFrame | None  # comparison.funnel_curves over the points' denominators; None without points


def compare(measure: registry.Measure, rows: pd.DataFrame, force_value: float | None) -> Compared:
    """The CSP rows with their funnel points and curves (the limits' root finding is most of a funnel's CPU)."""
    if force_value is None:
        return Compared(rows, force_value, None, None)
    points = comparison.funnel_points(rows, force_value, measure.method, measure.polarity)
    curves = None if pd.isna(force_value) or points.empty else comparison.funnel_curves(
        force_value, measure.method, points["denominator"].min(), points["denominator"].max())
    return Compared(rows, force_value, points, curves)


def figures_table(rows: pd.DataFrame, unit: str, period_text: str) -> pd.DataFrame:
    """The CSP rows as a download/table: numbers empty where suppressed, and the value in words."""
    table = rows[CSP_COLUMNS].copy()
    table.insert(0, "period", period_text)
    table["unit"] = unit
    table["value_text"] = [value_text(v, s, unit) for v, s in zip(table["value"], table["suppressed"], strict=True)]
    table["suppression"] = [vocabulary.suppression_text(k) if s else "" for k, s in
                            zip(table["suppression"], table["suppressed"], strict=True)]
    for column in ("value", "lower_95", "upper_95"):
        table[column] = table[column].round(4)
    return table


def display_table(rows: pd.DataFrame, force_row: pd.Series | None, unit: str, count_label: str,
                  denominator_label: str) -> pd.DataFrame:
    """What the page's table shows: one line per area, every figure in words ("suppressed", never 0)."""
    lines = []
    if force_row is not None:
        lines.append({"area": force_row["area_name"], "suppressed": False, "suppression": "", **force_row[
            ["numerator", "denominator", "value", "lower_95", "upper_95"]].to_dict()})
    lines += [{"area": r.area_name, "suppressed": r.suppressed, "suppression": r.suppression, "numerator": r.numerator,
               "denominator": r.denominator, "value": r.value, "lower_95": r.lower_95, "upper_95": r.upper_95}
              for r in rows.itertuples()]
    table = pd.DataFrame(lines)

    def count(value: float, suppressed: bool) -> str:
        return "suppressed" if suppressed else "no data" if pd.isna(value) else f"{value:,.0f}"

    return pd.DataFrame({
        "Area": table["area"],
        count_label: [count(v, s) for v, s in zip(table["numerator"], table["suppressed"], strict=True)],
        denominator_label: ["suppressed" if s and pd.isna(v) else count(v, False)
                            for v, s in zip(table["denominator"], table["suppressed"], strict=True)],
        f"Value ({unit})": [value_text(v, s, "") .strip() for v, s in zip(table["value"], table["suppressed"],
                                                                           strict=True)],
        "95% interval": ["" if s or pd.isna(lo) else f"{lo:,.2f} to {hi:,.2f}"
                         for lo, hi, s in zip(table["lower_95"], table["upper_95"], table["suppressed"], strict=True)],
        "Note": [vocabulary.suppression_text(k) if s else "" for k, s in
                 zip(table["suppression"], table["suppressed"], strict=True)],
    })


def trend_part(measure: registry.Measure, series: pd.DataFrame, area_name: str, title: str,
               file_name: str) -> ChartPart:
    """The selected area's values over time: an XmR control chart, or, where some periods are
    suppressed, the values with those periods marked (control limits over a series with its small
    values removed would mislead)."""
    freq = pipeline.series_frequency(measure, series)
    table = measure_view.figures_table(series)
    flagged = pipeline.illustrative(series)
    if series.empty or series["value"].notna().sum() == 0 and not series["suppressed"].any():
        return ChartPart(None, f"No values for {area_name} in this period.", table, file_name)
    suppressed = list(series.loc[series["suppressed"].astype(bool), "period_start"])
    if suppressed:
        fig = charts.period_line(series, title, measure.unit, freq, flagged)
        charts.mark_suppressed(fig, suppressed)
        shown = int(series["value"].notna().sum())
        summary = (f"{measure.title} for {area_name}: {shown} period(s) with a value shown and {len(suppressed)} "
                   "suppressed (marked S: fewer than 5, or hidden to protect another small count); no control limits "
                   "are drawn because limits computed with the hidden values would give them away.")
        return ChartPart(fig, summary, table, file_name, flagged)
    withheld = series.loc[series["value"].notna(), "signal_meaning"] if "signal_meaning" in series else None
    if withheld is not None and len(withheld) and withheld.isin(pipeline.NOT_CHARTED).all():
        fig = charts.period_line(series, title, measure.unit, freq, flagged)
        why = ("the rolling years overlap (each shares months with the next), so they are not independent points"
               if withheld.eq(pipeline.NOT_ASSESSED_ROLLING).all() else "its baseline includes a suppressed period")
        summary = f"{measure.title} for {area_name}: no control limits are drawn for this series, because {why}."
        return ChartPart(fig, summary, table, file_name, flagged)
    if series["value"].notna().sum() < 3:
        return ChartPart(None, f"Too few periods with data for {area_name} to draw a control chart.", table, file_name)
    words = measure_view.signal_words(measure, series)
    fig = charts.control_chart(series, title, measure.unit, freq, flagged, measure_view.target_line(series))
    summary = measure_view.control_summary(measure, area_name, series, words)
    summary += f" Latest period: {vocabulary.signal_label(scorecard.latest_signal(series.iloc[-1])[0])}."
    summary += " " + measure_view.target_sentence(measure, series)
    return ChartPart(fig, summary, table, file_name, flagged)


def bars_part(measure: registry.Measure, rows: pd.DataFrame, force_value: float | None, selected: str | None,
              title: str, period_text: str, file_name: str) -> ChartPart:
    """Each CSP's value with its 95% interval against the force value (dashed line)."""
    fig = charts.csp_interval_bars(rows, title, measure.unit, force_value, selected, pipeline.illustrative(rows))
    shown = rows.dropna(subset=["value"])
    if shown.empty:
        summary = f"No CSP has a value for {period_text}."
    else:
        high, low = shown.loc[shown["value"].idxmax()], shown.loc[shown["value"].idxmin()]
        compared = comparison_words(shown, force_value)
        summary = (f"{measure.title}, {period_text}: highest in {high['area_name']} "
                   f"({value_text(high['value'], False, measure.unit)}), lowest in {low['area_name']} "
                   f"({value_text(low['value'], False, measure.unit)})")
        summary += f"; force {value_text(force_value, False, measure.unit)}{compared}." if force_value is not None \
            else "."
    summary += suppressed_sentence(rows)
    return ChartPart(fig, summary, figures_table(rows, measure.unit, period_text), file_name, pipeline.illustrative(rows))


def suppressed_sentence(rows: pd.DataFrame) -> str:
    """' Suppressed: Exeter (fewer than 5), Torbay (hidden to protect another small count).', or ''."""
    hidden = rows[rows["suppressed"]]
    if hidden.empty:
        return ""
    named = [f"{r.area_name} ({vocabulary.suppression_text(r.suppression)})" for r in hidden.itertuples()]
    return f" Suppressed: {', '.join(named)}."


def comparison_words(shown: pd.DataFrame, force_value: float | None) -> str:
    """How many CSP intervals lie wholly above or below the force value."""
    if force_value is None or pd.isna(force_value):
        return ""
    from measures.core import stats

    compared = stats.compare_to_benchmark(shown["value"], shown["lower_95"], shown["upper_95"], force_value)
    above, below = int((compared == "higher").sum()), int((compared == "lower").sum())
    return f"; {above} CSP interval(s) lie wholly above the force value and {below} wholly below"


def funnel_part(measure: registry.Measure, compared: Compared, selected: str | None, title: str, x_title: str,
                file_name: str) -> ChartPart:
    """Funnel plot of the CSPs against the force value; suppressed CSPs are left out and named."""
    rows, force_value = compared.rows, compared.force_value
    left_out = rows.loc[rows["value"].isna(), "area_name"].tolist()
    empty_table = figures_table(rows, measure.unit, "")
    if force_value is None or pd.isna(force_value) or compared.points is None:
        return ChartPart(None, "There is no force value to compare the CSPs with.", empty_table, file_name)
    points = compared.points
    summary = comparison.funnel_summary(points, force_value, measure.unit, left_out)
    if points.empty or compared.curves is None:
        return ChartPart(None, summary, empty_table, file_name)
    shown = pipeline.illustrative(rows)
    fig = charts.funnel_plot(points, compared.curves, force_value, title, x_title, measure.unit, selected, shown)
    table = points[["area_code", "area_name", "numerator", "denominator", "value", "lower_95", "upper_95",
                    "lower_998", "upper_998", "outcome", "label"]].copy()
    table.insert(4, "force_value", force_value)
    left = rows.loc[rows["value"].isna(), ["area_code", "area_name"]].assign(
        label=[value_text(np.nan, s, "") for s in rows.loc[rows["value"].isna(), "suppressed"]])
    table = pd.concat([table, left], ignore_index=True)
    return ChartPart(fig, summary, table, file_name, shown)


def map_part(measure: registry.Measure, rows: pd.DataFrame, selected: str | None, title_text: str,
             file_name: str, outcomes: pd.DataFrame | None = None) -> ChartPart:
    """CSP choropleth (cividis) of the value; the tooltip reads "suppressed" or "no data", never 0."""
    values = rows[["area_code", "area_name", "value"]].copy()
    values["value_text"] = [value_text(v, s, measure.unit) for v, s in zip(rows["value"], rows["suppressed"],
                                                                             strict=True)]
    values["interval_text"] = [vocabulary.suppression_text(k) if s else "" if pd.isna(lo) else
                               f"95% interval {lo:,.2f} to {hi:,.2f}" for lo, hi, s, k in
                               zip(rows["lower_95"], rows["upper_95"], rows["suppressed"], rows["suppression"],
                                   strict=True)]
    labels = dict(zip(outcomes["area_code"], outcomes["label"], strict=True)) if outcomes is not None else {}
    values["outcome_text"] = [labels.get(code, "") for code in values["area_code"]]
    # The view depends on nothing the user chooses, so it is the same on every run and the map never jumps.
    deck = charts.csp_map(values, "value", MAP_TOOLTIP, selected=selected, unit=measure.unit)
    shown = rows.dropna(subset=["value"])
    if shown.empty:
        summary = f"No CSP has a value to map ({title_text})."
    else:
        high, low = shown.loc[shown["value"].idxmax()], shown.loc[shown["value"].idxmin()]
        summary = (f"{measure.title} by CSP, {title_text}: {high['area_name']} has the highest "
                   f"({value_text(high['value'], False, measure.unit)}) and {low['area_name']} the lowest "
                   f"({value_text(low['value'], False, measure.unit)}); on the colour bar ({measure.unit}) yellow is "
                   "highest and dark purple lowest, and hatched areas have no value to show.")
    summary += suppressed_sentence(rows)
    shown = pipeline.illustrative(rows)
    if shown:  # a map has no title to carry the label, so its sentence does
        summary = f"{charts.ILLUSTRATIVE_NOTE}. {summary}"
    return ChartPart(deck, f"{summary} {charts.CLICK_NOTE}", figures_table(rows, measure.unit, title_text),
                     file_name, shown)
