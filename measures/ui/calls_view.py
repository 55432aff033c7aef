"""Logic of the 101 calls page: each chart's figure, its one-sentence summary and its data.

The page (app_pages/calls_101.py) only reads the filters and draws what these functions return. Each part
and table is built once per area (or selected CSP) and period and shared by every session (app.figure, which
keys on the data version, configuration, force and mode too).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from measures.core import measure_view, pipeline, registry, scorecard, vocabulary
from measures.data import config, published
from measures.render import charts
from measures.render.measure_parts import ChartPart
from measures.ui import app

MEAN_WAIT = "calls_101_mean_wait"
ANSWERED_20 = "calls_101_answered_within_20min"
ABANDONED = "calls_101_abandoned"
UNKNOWN_LABEL = "Unassigned / unknown caller CSP"


def months() -> list[dt.date]:
    """Months with 101 data for the force (the period picker's options)."""
    def build() -> tuple[dt.date, ...]:
        return tuple(sorted({pd.Timestamp(p).date() for p in app.measure(MEAN_WAIT)["period_start"]}))

    return list(app.figure("calls_months", (), build))


def _window(frame: pd.DataFrame, area_code: str, first: dt.date, last: dt.date) -> pd.DataFrame:
    series = measure_view.area_series(frame, area_code)
    return series[(series["period_start"] >= pd.Timestamp(first)) & (series["period_start"] <= pd.Timestamp(last))]


def illustrative(first: dt.date, last: dt.date) -> bool:
    """Whether the page shows illustrative rows: any of its measures' rows in the period (every area, as the
    charts by CSP show them), as loaded (pipeline.illustrative)."""
    def build() -> bool:
        frames = [app.measure(m.id) for m in registry.members("calls_101")]
        return pipeline.illustrative(*(f[(pd.to_datetime(f["period_start"]) >= pd.Timestamp(first))
                                         & (pd.to_datetime(f["period_start"]) <= pd.Timestamp(last))] for f in frames))

    return app.figure("calls_illustrative", (first, last), build)


def _iso_dates(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    for column in ("period_start", "period_end"):
        if column in table:
            table[column] = pd.to_datetime(table[column]).dt.strftime("%Y-%m-%d")
    return table


def _published_table(points: pd.DataFrame, measure_id: str) -> pd.DataFrame:
    return pd.DataFrame({
        "series": "published figure", "measure_id": measure_id, "period_start": points["period_start"],
        "period_end": points["period_end"], "value": points["value"], "definition_note": points["definition_note"],
        "source_url": points["source_url"], "source_date": points["source_date"],
    })


def _in_window(points: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    if points.empty:
        return points
    return points[(points["period_end"] >= pd.Timestamp(first))
                  & (points["period_start"] <= pd.Timestamp(last) + pd.offsets.MonthEnd(0))]


def wait_control(area: config.Area, first: dt.date, last: dt.date) -> ChartPart:
    """XmR chart of the monthly mean wait, with the target line and (for the force) the published figures."""
    return app.figure("calls_wait_control", (area.code, first, last), lambda: _wait_control(area, first, last))


def _wait_control(area: config.Area, first: dt.date, last: dt.date) -> ChartPart:
    force = app.force()
    measure = registry.get(MEAN_WAIT)
    series = _window(app.measure(MEAN_WAIT), area.code, first, last)
    file_name = f"101_mean_wait_{area.code}_{first:%Y-%m}_{last:%Y-%m}.csv"
    if series["value"].notna().sum() < 3:
        return ChartPart(None, f"Too few months with answered calls for {area.name} to draw a control chart.",
                         measure_view.figures_table(series), file_name)
    words = measure_view.signal_words(measure, series)
    target = measure_view.target_line(series)
    shown = pipeline.illustrative(series)
    fig = charts.control_chart(series, f"101 calls: mean wait to answer, {area.name}", "minutes",
                               illustrative=shown, target=target)
    points = published.points(MEAN_WAIT, force.code)  # force-wide figures: marked on the force's chart only
    points = _in_window(points[points["kind"] == "figure"], first, last) if area.code == force.code else points.iloc[0:0]
    charts.add_published_points(fig, points, first, last, "minutes")

    summary = measure_view.control_summary(measure, area.name, series, words)
    summary += f" Latest month: {vocabulary.signal_label(scorecard.latest_signal(series.iloc[-1])[0])}."
    summary += " " + measure_view.target_sentence(measure, series)
    if target is not None:
        judged = series[series["target"].notna() & series["value"].notna()]
        summary += (f" The dashed line is the target of {target:g} minutes; {int((judged['value'] > target).sum())} "
                    f"of the {len(judged)} months it applies to were above it.")
    if len(points):
        summary += (f" {len(points)} published figure(s) are marked in black (hover for the source and date); "
                    "their definitions differ from this measure's.")
    elif area.code != force.code:
        summary += " Published figures are force-wide, so they are marked on the force's chart only."

    table = measure_view.figures_table(series)
    table["series"] = "measured"
    table = pd.concat([table, _iso_dates(_published_table(points, MEAN_WAIT))], ignore_index=True)
    return ChartPart(fig, summary, table, file_name, shown)


def answered_and_abandoned(area: config.Area, first: dt.date, last: dt.date) -> ChartPart:
    """Percent answered within 20 minutes and percent abandoned, each with its 95% (Wilson) interval."""
    return app.figure("calls_answered_abandoned", (area.code, first, last),
                      lambda: _answered_and_abandoned(area, first, last))


def _answered_and_abandoned(area: config.Area, first: dt.date, last: dt.date) -> ChartPart:
    force = app.force()
    answered = _window(app.measure(ANSWERED_20), area.code, first, last)
    abandoned = _window(app.measure(ABANDONED), area.code, first, last)
    file_name = f"101_answered_abandoned_{area.code}_{first:%Y-%m}_{last:%Y-%m}.csv"
    table = pd.concat([measure_view.figures_table(answered), measure_view.figures_table(abandoned)], ignore_index=True)
    if answered.empty and abandoned.empty:
        return ChartPart(None, f"No 101 calls recorded for {area.name} in this period.", table, file_name)
    fig = charts.interval_lines({"% answered within 20 minutes": answered, "% abandoned": abandoned},
                                f"101 calls answered within 20 minutes and abandoned, {area.name}", "% of calls received",
                                first, last, illustrative=pipeline.illustrative(answered, abandoned))
    marked = 0
    if area.code == force.code:
        for measure_id, name in ((ANSWERED_20, "published: answered in 20 min"), (ABANDONED, "published: abandoned")):
            points = _in_window(published.points(measure_id, force.code), first, last)
            charts.add_published_points(fig, points, first, last, "%", name=name)
            table = pd.concat([table, _iso_dates(_published_table(points, measure_id))], ignore_index=True)
            marked += len(points)
    latest = answered.dropna(subset=["value"]).iloc[-1] if answered["value"].notna().any() else None
    latest_abandoned = abandoned.dropna(subset=["value"]).iloc[-1] if abandoned["value"].notna().any() else None
    parts = []
    if latest is not None:
        parts.append(f"In {latest['period_start']:%B %Y}, {latest['value']:.1f}% of {area.name}'s 101 calls were "
                     f"answered within 20 minutes (95% interval {latest['lower_95']:.1f}% to {latest['upper_95']:.1f}%)")
    if latest_abandoned is not None:
        parts.append(f"{latest_abandoned['value']:.1f}% were abandoned ({latest_abandoned['lower_95']:.1f}% "
                     f"to {latest_abandoned['upper_95']:.1f}%)")
    summary = " and ".join(parts) + "; shaded bands are 95% intervals."
    if marked:
        summary += f" {marked} published figure(s) are marked in black (hover for the source)."
    return ChartPart(fig, summary, table, file_name, pipeline.illustrative(answered, abandoned))


def weekday_hour(first: dt.date, last: dt.date) -> ChartPart:
    """Mean wait by weekday and hour of the call over the period (force-wide)."""
    return app.figure("calls_weekday_hour", (first, last), lambda: _weekday_hour(first, last))


def _weekday_hour(first: dt.date, last: dt.date) -> ChartPart:
    frame = app.run("calls_101_weekday_hour", **{"from": first, "to": last})
    file_name = f"101_wait_by_weekday_hour_{first:%Y-%m}_{last:%Y-%m}.csv"
    table = frame.assign(weekday_name=frame["weekday"].map(dict(enumerate(charts.WEEKDAYS))))
    if frame["mean_wait"].notna().sum() == 0:
        return ChartPart(None, "No answered 101 calls in this period, so there are no waits to show.", table, file_name)
    fig = charts.heatmap(frame, "mean_wait", f"101 calls: mean wait by weekday and hour, {first:%b %Y} to {last:%b %Y}",
                         "minutes", illustrative=pipeline.illustrative(frame))
    ranked = frame.dropna(subset=["mean_wait"]).sort_values("mean_wait")
    low, high = ranked.iloc[0], ranked.iloc[-1]
    summary = (f"Across the force from {first:%b %Y} to {last:%b %Y}, the longest mean wait was on "
               f"{charts.WEEKDAYS[int(high['weekday'])]}s at {int(high['hour']):02d}:00 ({high['mean_wait']:.1f} minutes) "
               f"and the shortest on {charts.WEEKDAYS[int(low['weekday'])]}s at {int(low['hour']):02d}:00 "
               f"({low['mean_wait']:.1f} minutes); darker cells are shorter waits.")
    return ChartPart(fig, summary, table, file_name, pipeline.illustrative(frame))


def _caller_csps(first: dt.date, last: dt.date) -> pd.DataFrame:
    """Calls by the caller's CSP, most first, then the unassigned bar: the same whichever CSP is selected."""
    def build() -> pd.DataFrame:
        frame = app.run("calls_101_by_caller_csp", force=app.force().code, **{"from": first, "to": last}).copy()
        frame["label"] = frame["area_name"].where(frame["area_type"] != "unassigned", UNKNOWN_LABEL)
        frame["mean_wait"] = (frame["wait_minutes_sum"] / frame["answered"]).round(2)
        frame["percent_abandoned"] = (100 * frame["abandoned"] / frame["calls"]).round(1)
        return pd.concat([frame[frame["area_type"] == "csp"].sort_values("calls", ascending=False),
                          frame[frame["area_type"] == "unassigned"]], ignore_index=True)

    return app.figure("calls_caller_csps", (first, last), build).copy(deep=False)


def by_caller_csp(first: dt.date, last: dt.date, selected: str) -> ChartPart:
    """Calls received by the caller's CSP; calls with no known CSP are their own bar."""
    return app.figure("calls_by_caller_csp", (first, last, selected), lambda: _by_caller_csp(first, last, selected))


def _by_caller_csp(first: dt.date, last: dt.date, selected: str) -> ChartPart:
    frame = _caller_csps(first, last)
    file_name = f"101_calls_by_caller_csp_{first:%Y-%m}_{last:%Y-%m}.csv"
    table = frame.drop(columns=["label", "wait_minutes_sum"])
    if frame.empty:
        return ChartPart(None, "No 101 calls in this period.", table, file_name)
    fig = charts.caller_csp_bars(frame, "calls", f"101 calls by the caller's CSP, {first:%b %Y} to {last:%b %Y}",
                                 "calls received", selected=selected, illustrative=pipeline.illustrative(frame))
    total = int(frame["calls"].sum())
    unknown = int(frame.loc[frame["area_type"] == "unassigned", "calls"].sum())
    top = frame[frame["area_type"] == "csp"].iloc[0] if (frame["area_type"] == "csp").any() else None
    summary = f"{total:,} calls from {first:%b %Y} to {last:%b %Y}"
    if top is not None:
        summary += f"; the most came from {top['area_name']} ({int(top['calls']):,})"
    summary += (f"; {unknown:,} ({unknown / total:.0%}) had no known caller CSP and are counted in their own "
                "hatched bar. Click a CSP's bar to select it.")
    return ChartPart(fig, summary, table, file_name, pipeline.illustrative(frame))


def targets(area: config.Area, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Each 101 measure with a target for the area: its latest month in the period, value, target, variation
    and assurance (their keys, for vocabulary's icons and words), from the pipeline's rows."""
    return app.figure("calls_targets", (area.code, first, last), lambda: _targets(area, first, last))


def _targets(area: config.Area, first: dt.date, last: dt.date) -> pd.DataFrame:
    rows = []
    for measure in registry.members("calls_101"):
        series = _window(app.measure(measure.id), area.code, first, last).dropna(subset=["value"])
        if measure.target is None or series.empty or pd.isna(series["target"].iloc[-1]):
            continue
        latest = series.iloc[-1]
        rows.append({"Measure": measure.title, "Month": f"{pd.Timestamp(latest['period_start']):%b %Y}",
                     "Value": scorecard.format_value(latest["value"], measure.unit),
                     "Target": measure.target.text(),
                     "Met this month": "yes" if measure.target.passes(float(latest["value"])) else "no",
                     "Variation": scorecard.latest_signal(latest)[0], "Assurance": str(latest["assurance"])})
    return pd.DataFrame(rows)


def targets_html(frame: pd.DataFrame) -> str:
    """The targets table as HTML, the variation and assurance each with its icon and words (never colour alone)."""
    from html import escape

    head = "".join(f"<th>{escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(row[c]))}</td>" for c in ("Measure", "Month", "Value", "Target", "Met this month"))
        + f"<td>{vocabulary.signal_html(row['Variation'])}</td><td>{vocabulary.assurance_html(row['Assurance'])}</td></tr>"
        for _, row in frame.iterrows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
