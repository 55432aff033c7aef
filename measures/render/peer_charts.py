"""Charts of a CSP against its most similar CSPs: ranked values, a funnel plot, a national map.

Each builder returns a measure_parts.ChartPart: the figure (None when there is nothing to draw),
a one-sentence summary (the chart's text alternative) and the table behind it with human column
names (what the page shows and its CSV download holds). The values come from
measures.core.peer_comparison (the pipeline's window values); nothing here computes one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from measures.core import comparison, peer_comparison, registry
from measures.core.profile import period_label
from measures.data import config
from measures.render import charts, geo
from measures.render.measure_parts import ChartPart

ROLE_WORDS = {"area": "the area", "similar": "similar CSP", "force": "its force", "national": "England and Wales"}
MAP_TOOLTIP = "<b>{area_name}</b><br/>{value_text}<br/>{interval_text}"
AREA_COLOUR, SIMILAR_COLOUR = charts.OKABE_ITO[1], charts.OKABE_ITO[0]


def number(value: float) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.2f}"


def _state(row: pd.Series) -> str:
    """Why a row has no value, in words (never a 0)."""
    if bool(row["suppressed"]):
        return "suppressed"
    if row.get("not_comparable"):
        return f"not compared: {row['not_comparable']}"
    return "no data" if pd.isna(row["value"]) else ""


def human_table(group: pd.DataFrame, measure: registry.Measure) -> pd.DataFrame:
    """The group as a table with human column names; a missing value stays empty and says why."""
    denominator = "Residents (mean over the period)" if measure.method == "rate_per_1000" else "Denominator"
    table = pd.DataFrame({
        "Area": group["area_name"],
        "Code": group["area_code"],
        "Compared as": group["role"].map(ROLE_WORDS),
        "Similarity rank (1 = most similar)": group["rank_among_similar"],
        "Count": group["numerator"],
        denominator: group["denominator"].round(0),
        f"Value ({measure.unit})": group["value"].round(3),
        "95% interval, lower": group["lower_95"].round(3),
        "95% interval, upper": group["upper_95"].round(3),
        "Note": [_state(row) for _, row in group.iterrows()],
    })
    if "position" in group:
        table["Position"] = group["position"]
    return table


def _reference(group: pd.DataFrame, role: str) -> pd.Series | None:
    rows = group[group["role"] == role]
    return None if rows.empty or pd.isna(rows["value"].iloc[0]) else rows.iloc[0]


def position_sentence(group: pd.DataFrame, measure: registry.Measure, first: dt.date, last: dt.date) -> str:
    """One sentence: the area's value, its position among its similar CSPs, the force and national values."""
    area = group[group["role"] == "area"].iloc[0]
    similar_count = int((group["role"] == "similar").sum())
    period = period_label(first, last)
    state = _state(area)
    if state:
        text = f"{area['area_name']} has no value for {measure.title.lower()} in {period} ({state}), so it is not ranked"
    else:
        months = len(pd.date_range(first, last, freq="MS"))
        if measure.frequency == "monthly" and 0 < int(area["periods"]) < months:  # say what the value covers
            period = f"{period} ({int(area['periods'])} of its {months} months have data)"
        text = (f"In {period}, {area['area_name']}'s {measure.title.lower()} was {number(area['value'])} {measure.unit} "
                f"(95% interval {number(area['lower_95'])} to {number(area['upper_95'])}): {area['position']} among "
                f"itself and its {similar_count} most similar CSPs")
    references = []
    for role in ("force", "national"):
        row = _reference(group, role)
        if row is not None:
            references.append(f"{row['area_name']} {number(row['value'])}")
    return text + (f" ({'; '.join(references)})." if references else ".")


def ranked_chart(group: pd.DataFrame, measure: registry.Measure, first: dt.date, last: dt.date) -> ChartPart:
    """Dots with 95% intervals, highest first; the area in orange, its force and England and Wales as lines."""
    csps = group[group["role"].isin(("area", "similar"))].copy()
    valued = csps.dropna(subset=["value"]).sort_values("value", ascending=False)
    missing = csps[csps["value"].isna()]
    table = human_table(group, measure)
    file_name = f"similar_areas_{measure.id}_{group['area_code'].iloc[0]}_{first:%Y-%m}_{last:%Y-%m}.csv"
    summary = position_sentence(group, measure, first, last)
    if len(missing):
        summary += " Not drawn: " + ", ".join(f"{row['area_name']} ({_state(row)})" for _, row in missing.iterrows()) + "."
    if valued.empty:
        return ChartPart(None, summary, table, file_name)
    is_area = (valued["role"] == "area").to_numpy()
    labels = [f"<b>{name}</b>" if chosen else name for name, chosen in zip(valued["area_name"], is_area, strict=True)]
    traces = [dict(
        type="scatter", x=valued["value"].to_numpy(dtype="float64"), y=labels, mode="markers", name="CSP",
        error_x=dict(type="data", symmetric=False, array=(valued["upper_95"] - valued["value"]).to_numpy(dtype="float64"),
                     arrayminus=(valued["value"] - valued["lower_95"]).to_numpy(dtype="float64"), color="#555555",
                     thickness=1.2),
        marker=dict(color=[AREA_COLOUR if a else SIMILAR_COLOUR for a in is_area],
                    size=[14 if a else 9 for a in is_area],
                    symbol=["diamond" if a else "circle" for a in is_area], line=dict(color="#000000", width=1)),
        customdata=valued[["area_code", "area_name", "lower_95", "upper_95"]].to_numpy(),
        hovertemplate="%{customdata[1]}: %{x:.2f} (95% interval %{customdata[2]:.2f} to %{customdata[3]:.2f})"
                      "<extra></extra>",
    )]
    # The force and England and Wales as vertical lines, each named at an end (what add_vline draws;
    # the figure is made once, as in charts).
    layout: dict = {"shapes": [], "annotations": []}
    for role, dash, colour in (("force", "dash", charts.OKABE_ITO[5]), ("national", "dot", charts.OKABE_ITO[7])):
        row = _reference(group, role)
        if row is not None:
            x = float(row["value"])
            layout["shapes"].append(dict(type="line", x0=x, x1=x, xref="x", y0=0, y1=1, yref="y domain",
                                         line=dict(color=colour, dash=dash)))
            layout["annotations"].append(dict(
                showarrow=False, text=f"{row['area_name']}: {number(row['value'])}", x=x, xanchor="center", xref="x",
                yref="y domain", **(dict(y=1, yanchor="bottom") if role == "force" else dict(y=0, yanchor="top"))))
    layout = {key: value for key, value in layout.items() if value}
    area_name = str(group[group["role"] == "area"]["area_name"].iloc[0])
    # Real data only: peer_comparison refuses a group with an illustrative row, so there is no label to add.
    layout = charts._layout(layout, f"{measure.title}: {area_name} and its most similar CSPs, "
                            f"{period_label(first, last)}", "", False)
    layout["yaxis"].update(categoryorder="array", categoryarray=labels[::-1], fixedrange=True)
    layout["xaxis"]["title"]["text"] = measure.unit
    layout.update(height=layout["height"] - 260 + 26 * len(valued), showlegend=False,
                  margin=dict(l=10, r=10, t=layout["margin"]["t"], b=40))  # the top margin fits the wrapped title
    # Unvalidated, as charts' figures (tests/test_chart_build.py checks that Plotly accepts it as it is).
    return ChartPart(go.Figure(data=traces, layout=layout, _validate=False), summary, table, file_name)


def funnel_chart(group: pd.DataFrame, measure: registry.Measure, first: dt.date, last: dt.date) -> ChartPart:
    """The area and its similar CSPs in a funnel around their pooled value (measures.core.comparison's limits)."""
    csps = group[group["role"].isin(("area", "similar"))]
    area_code = str(group["area_code"].iloc[0])
    file_name = f"similar_areas_funnel_{measure.id}_{area_code}_{first:%Y-%m}_{last:%Y-%m}.csv"
    centre = peer_comparison.group_benchmark(group, measure)
    left_out = csps[csps["value"].isna() | ~(csps["denominator"] > 0)]["area_name"].tolist()
    if centre is None:
        return ChartPart(None, "No CSP of the group has a value to compare in this period.",
                         human_table(csps, measure), file_name)
    points = comparison.funnel_points(csps[["area_code", "area_name", "numerator", "denominator", "value"]],
                                      centre, measure.method, measure.polarity)
    # funnel_points words a point against "the force": here the centre is the similar areas' pooled value.
    points["label"] = points["label"].str.replace("the force", "the similar areas' value", regex=False)
    curves = comparison.funnel_curves(centre, measure.method, float(points["denominator"].min()),
                                      float(points["denominator"].max()))
    x_title = "residents" if measure.method == "rate_per_1000" else "denominator"
    fig = charts.funnel_plot(points, curves, centre, f"{measure.title}: funnel plot of the similar areas, "
                             f"{period_label(first, last)}", x_title, measure.unit, selected=area_code,
                             centre_name="similar areas' value")
    within = int((points["position"] == 0).sum())
    outside = points[points["position"] != 0]
    summary = (f"Against the pooled value of the area and its similar CSPs ({centre:.2f} {measure.unit}), {within} of "
               f"{len(points)} lie within the 95% limits")
    summary += ("; " + "; ".join(f"{r.area_name} {r.outcome} ({comparison.POSITION_TEXT[int(r.position)]})"
                                 for r in outside.itertuples()) + ".") if len(outside) else "."
    if left_out:
        summary += f" Not shown: {', '.join(left_out)} (suppressed or without data)."
    table = points[["area_code", "area_name", "numerator", "denominator", "value", "lower_95", "upper_95",
                    "lower_998", "upper_998", "label"]].rename(columns={
                        "area_code": "Code", "area_name": "Area", "numerator": "Count",
                        "denominator": "Residents (mean over the period)" if measure.method == "rate_per_1000"
                        else "Denominator", "value": f"Value ({measure.unit})",
                        "lower_95": "Funnel 95% lower", "upper_95": "Funnel 95% upper",
                        "lower_998": "Funnel 99.8% lower", "upper_998": "Funnel 99.8% upper",
                        "label": "Against the similar areas"})
    return ChartPart(fig, summary, table.round(3), file_name)


def _map_rows(values: pd.DataFrame) -> pd.DataFrame:
    """Every CSP of England and Wales (no data: empty, drawn hatched), with the values where there are some."""
    lookup = config.districts()
    csps = lookup[lookup["csp_code"] != ""].drop_duplicates("csp_code")[["csp_code", "csp_name", "pfa_name"]]
    csps = csps.rename(columns={"csp_code": "area_code", "csp_name": "area_name", "pfa_name": "force_name"})
    combined = [c for c in config.load_force().public_combined if c.code in set(values["area_code"])]
    parts = {p for c in combined for p in c.parts}
    csps = csps[~csps["area_code"].isin(parts)]  # drawn as the combined area they are published in
    csps = pd.concat([csps, pd.DataFrame({"area_code": [c.code for c in combined],
                                          "area_name": [c.name for c in combined]})], ignore_index=True)
    found = values[["area_code", "numerator", "denominator", "value", "lower_95", "upper_95", "suppressed", "periods"]]
    rows = csps.merge(found, on="area_code", how="left")
    rows["suppressed"] = rows["suppressed"].astype("boolean").fillna(False).astype(bool)
    # Counts over the window are not annualised: a CSP whose force has fewer of its periods is not
    # coloured beside the others (it would look low), and says so.
    periods = pd.to_numeric(rows["periods"], errors="coerce")
    full = periods.max()
    rows["partial"] = periods.lt(full).fillna(False).astype(bool)
    rows.loc[rows["partial"], ["value", "lower_95", "upper_95"]] = np.nan
    rows["full_periods"] = full
    return rows


@dataclass(frozen=True)
class NationalMap:
    """The national map of a measure and period with no area outlined, shared by every area's page: its part
    (figure, summary, table) and the CSPs with a value, highest first, for an area's rank."""

    part: ChartPart
    base: charts.MapBase | None = None
    ranked: tuple[str, ...] = ()  # CSP codes with a value, highest first


def national_base(values: pd.DataFrame, measure: registry.Measure, first: dt.date, last: dt.date) -> NationalMap:
    """Every CSP of England and Wales coloured by its value (hatched: no value); no map tiles are fetched."""
    rows = _map_rows(values)
    rows["value_text"] = [
        f"not compared: {int(n)} of {int(f)} periods with data" if partial
        else ("suppressed" if s else "no data") if pd.isna(v) else f"{v:,.2f} {measure.unit}"
        for v, s, partial, n, f in zip(rows["value"], rows["suppressed"], rows["partial"], rows["periods"].fillna(0),
                                       rows["full_periods"].fillna(0), strict=True)]
    rows["interval_text"] = [f"95% interval {number(lo)} to {number(hi)}" if pd.notna(lo) else ""
                             for lo, hi in zip(rows["lower_95"], rows["upper_95"], strict=True)]
    valued = rows.dropna(subset=["value"]).sort_values("value", ascending=False)
    period = period_label(first, last)
    file_name = f"{measure.id}_by_csp_england_and_wales_{first:%Y-%m}_{last:%Y-%m}.csv"
    table = rows.sort_values("area_name")[["area_code", "area_name", "force_name", "numerator", "denominator", "value",
                                           "lower_95", "upper_95", "value_text"]].rename(columns={
        "area_code": "Code", "area_name": "CSP", "force_name": "Force", "numerator": "Count",
        "denominator": "Residents (mean over the period)" if measure.method == "rate_per_1000" else "Denominator",
        "value": f"Value ({measure.unit})", "lower_95": "95% interval, lower", "upper_95": "95% interval, upper",
        "value_text": "In words"}).round(3)
    if valued.empty:
        return NationalMap(ChartPart(None, f"No CSP has data for {measure.title.lower()} in {period}.", table,
                                     file_name))
    forces = values["force_code"].nunique() if "force_code" in values else 0
    top, bottom = valued.iloc[0], valued.iloc[-1]
    summary = (f"{measure.title}, {period}: {len(valued)} of {len(rows)} CSPs of England and Wales have data "
               f"(in {forces} force{'s' if forces != 1 else ''}); the highest is {top['area_name']} "
               f"({number(top['value'])} {measure.unit}) and the lowest {bottom['area_name']} "
               f"({number(bottom['value'])}); on the colour bar ({measure.unit}) darker is lower and yellow higher, and "
               f"CSPs without a value are hatched.")
    if rows["partial"].any():
        summary += (f" {int(rows['partial'].sum())} CSPs whose force has fewer of the period's months are hatched too, "
                    "since a count over fewer months is not comparable.")
    base = charts.csp_map_base(rows, "value", MAP_TOOLTIP, height=520, tolerance=geo.NATIONAL_TOLERANCE,
                               unit=measure.unit)
    return NationalMap(ChartPart(base.figure, summary, table, file_name), base, tuple(valued["area_code"]))


def national_selection(national: NationalMap, selected: str | None) -> ChartPart:
    """The shared national map with `selected` outlined over it (charts.Overlay) and its rank in the summary."""
    if national.base is None or selected is None:
        return national.part
    summary = national.part.summary
    if selected in national.ranked:
        rank = national.ranked.index(selected) + 1
        summary += (f" {national.base.geometry.names[selected]} (outlined) is {peer_comparison.ordinal(rank)} highest "
                    f"of {len(national.ranked)}.")
    return dataclasses.replace(national.part, summary=summary,
                               overlay=charts.map_selection(national.base.geometry, selected))


def national_map(values: pd.DataFrame, measure: registry.Measure, first: dt.date, last: dt.date,
                 selected: str | None = None) -> ChartPart:
    """national_base with `selected` (a CSP code) outlined: the map, its sentence and its table."""
    return national_selection(national_base(values, measure, first, last), selected)
