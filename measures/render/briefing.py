"""The briefing pack: one area and period, as a self-contained HTML file or an A4 PDF.

Cover (area, period, data dates, locator map), the spine chart, the findings, one panel
per Plan theme, then sources and methods, the licence and the illustrative-data
statement. Charts are inline SVG drawn by measures.render.charts, so the HTML opens offline and
the PDF (WeasyPrint, from the same HTML) needs no browser.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import duckdb
import pandas as pd

from measures.core import export, findings, peer_comparison, profile, registry, scorecard, vocabulary
from measures.data import commentary, config, db, store
from measures.data.validation import UsageError, parse_month
from measures.render import charts, geo

TEMPLATES = Path(__file__).resolve().parent / "templates"
ATTRIBUTION = "Contains public sector information licensed under the Open Government Licence v3.0."
BOUNDARY_ATTRIBUTION = "Boundaries: contains OS data © Crown copyright and database right."
ILLUSTRATIVE_LABEL = vocabulary.ILLUSTRATIVE_LABEL
SUPPRESSION_NOTE = ("Public version: " + vocabulary.SUPPRESSION_RULE + " No finding is drawn from a suppressed "
                    "figure, and no control chart from a baseline with a suppressed period.")
BENCHMARK_NOTE = ("A CSP is compared with the force's records located in a CSP (the force less its records with no "
                  "CSP), which include the CSP itself; where that figure would reveal a suppressed count, with the "
                  "force's figure for all its records.")
METHODS = [
    "Period values add up the months (or quarterly reoffending cohorts) that start inside the period; where no "
    "reoffending cohort starts inside it (they are published about 18 months on), the latest four cohorts that start "
    "by its end are used, and the pack says which. Proportions "
    "are the period's numerator over its denominator with Wilson score intervals; rates per 1,000 residents are the "
    "period's count over the residents (Census 2021), with exact Poisson limits below 10 events and Byar's "
    "approximation from 10; mean waits use a t-interval from sums of squares.",
    "Comparison with the force (spine chart colours and findings): an area is significantly higher or lower than "
    "the force when its 99.8% interval excludes the force value, and 'significant at 95%' when only its 95% interval "
    "does (the OHID Fingertips method). Better or worse follows each measure's polarity; hidden-crime measures are "
    "neutral (more reports can mean more confidence to report) and are only called higher or lower. " + BENCHMARK_NOTE,
    "Changes for real: an XmR (individuals) control chart of each monthly or quarterly series over its whole history, "
    "with the NHS 'Making Data Count' rules as the NHS-R Community's NHSRplotthedots applies them, in its order (a "
    "point beyond the process limits; 7 points each higher or each lower than the one before; 2 of 3 points beyond "
    "two thirds of the way to a limit; 7 points on one side of the mean), re-baselined at the registry's documented "
    "change points; the signal of the period's last point is the one every page shows. A month with no data is a "
    "gap, never a zero. In the public version a baseline with a suppressed period is not assessed.",
]


@dataclass
class Pack:
    force: config.Force
    area: config.Area
    first: dt.date
    last: dt.date
    public: bool
    rows: list[profile.ProfileRow]
    table: pd.DataFrame
    findings: list[str]
    not_assessed: dict[str, list[str]]
    data_version: str
    generated: dt.datetime
    # "Compared with similar areas" (a CSP only): peer_comparison.peer_panel, or None for no panel.
    similar: peer_comparison.PeerPanel | None = None
    # Analysts' commentaries on each measure (by id) for the area about periods the pack shows, newest first.
    comments: dict[str, list[commentary.Commentary]] = field(default_factory=dict)

    @property
    def period(self) -> str:
        return profile.period_label(self.first, self.last)

    @property
    def any_illustrative(self) -> bool:
        """Whether the pack shows any illustrative figure (a force with none of that data has no such rows)."""
        return any(row.illustrative and row.status != "no data" for row in self.rows)


def load_frames(con: duckdb.DuckDBPyConnection, force_code: str, public: bool) -> dict[str, pd.DataFrame]:
    """Every measure's tidy frame (export.measure_frame, suppressed when public); a table not loaded is empty."""
    frames = {}
    for measure in registry.measures():
        try:
            frames[measure.id] = export.measure_frame(con, measure, force_code, None, None, public)
        except duckdb.CatalogException:
            frames[measure.id] = pd.DataFrame(columns=export.COLUMNS)
    return frames


def choose_period(months: list[dt.date], period_from: dt.date | None, period_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The chosen months, or the latest 12 months with data (12 months ending at --to, or from --from to the latest)."""
    if not months:
        raise UsageError("no measure has any data in this data folder")
    first, last = profile.default_period(months)
    if period_to is not None:
        last = period_to
        first = (pd.Timestamp(period_to) - pd.DateOffset(months=11)).date()
    if period_from is not None:
        first = period_from
        last = period_to or max(months[-1], period_from)
    if first > last:
        raise UsageError(f"the period starts ({first:%Y-%m}) after it ends ({last:%Y-%m})")
    return first, last


def build(frames: dict[str, pd.DataFrame], force: config.Force, area_code: str, first: dt.date, last: dt.date,
          public: bool, data_version: str = "", windows: dict[str, profile.Window] | None = None,
          comments: pd.DataFrame | None = None) -> Pack:
    """The pack's content: profile rows, spine table and findings for one area and period (`windows`:
    the period's profile.windows, when a page has them cached; `comments`: the published commentaries,
    measures.data.commentary.read)."""
    area = force.area_by_code(area_code)
    if area is None or area.area_type == "unassigned":
        codes = ", ".join(a.code for a in force.areas())
        raise UsageError(f"unknown area {area_code[:40]!r}: choose the force or one of its CSPs ({codes})")
    rows = profile.profile(frames, area.code, force.code, first, last, public, windows)
    period = profile.period_label(first, last)
    return Pack(force, area, first, last, public, rows, profile.spine_table(rows, area.name),
                findings.findings(rows, area.name, period), findings.not_assessed(rows), data_version,
                dt.datetime.now().replace(microsecond=0), comments=_comments(rows, area.code, first, last, comments))


def _comments(rows: list[profile.ProfileRow], area_code: str, first: dt.date, last: dt.date,
              comments: pd.DataFrame | None) -> dict[str, list[commentary.Commentary]]:
    """Each measure's commentaries about the periods its value uses (a cohort or rolling year may start
    before the pack's period) up to the period's end."""
    if comments is None:
        return {}
    # The area's commentaries first (most packs have none): each measure's lookup then reads only those.
    comments = comments[comments["area_code"] == area_code]
    written = set(comments["measure_id"])
    found = {}
    for row in rows:
        if row.measure.id not in written:
            continue
        start = min([first, *(pd.Timestamp(p).date() for p in row.periods)])
        if items := commentary.for_window(comments, row.measure.id, area_code, start, last):
            found[row.measure.id] = items
    return found


def _commentary_rows(pack: Pack, measure_id: str, columns: int) -> str:
    """A row under the measure's figures per commentary: labelled, escaped, line breaks kept."""
    return "".join(
        f"<tr class='commentary'><td colspan='{columns}'><b>Commentary</b> · {escape(commentary.label(item))}"
        f"<br>{escape(item.text).replace(chr(10), '<br>')}</td></tr>"
        for item in pack.comments.get(measure_id, []))


# --- HTML -------------------------------------------------------------------------------------

def _data_dates(pack: Pack) -> str:
    lines = []
    for row in pack.rows:
        freq = row.measure.frequency
        if row.periods:
            count = len(row.periods)
            noun = {"quarterly_cohort": "cohort", "rolling_year": "rolling year"}.get(freq, "month")
            first, last = (scorecard.period_label(p, freq) for p in (row.periods[0], row.periods[-1]))
            used = f"{first}{'' if first == last else ' to ' + last} ({count} {noun}{'s' if count != 1 else ''})"
        else:
            used = "no data in this period"
        latest = scorecard.period_label(row.latest_available, freq) if row.latest_available is not None else "–"
        flag = '<span class="illustrative-flag">Illustrative</span>' if row.illustrative else "Official / open data"
        lines.append(f"<tr><td>{escape(row.measure.title)}</td><td>{escape(used)}</td><td>{escape(latest)}</td>"
                     f"<td>{flag}</td></tr>")
    return ("<table class='data-dates'><tr><th>Measure</th><th>Periods used</th><th>Latest for this area</th>"
            "<th>Data</th></tr>" + "".join(lines) + "</table>")


def _statements(pack: Pack) -> str:
    parts = []
    if pack.any_illustrative:
        count = sum(r.illustrative and r.status != "no data" for r in pack.rows)
        parts.append(f'<div class="statement illustrative"><b>{ILLUSTRATIVE_LABEL}.</b> {count} of the '
                     f"{len(pack.rows)} measures (marked Illustrative below, * in the spine chart and 'illustrative' "
                     "in every table and finding) are generated by this project, calibrated to published figures; "
                     "they are not official statistics.</div>")
    if pack.public:
        parts.append(f'<div class="statement public">{escape(SUPPRESSION_NOTE)}</div>')
    return "".join(parts)


def _cover(pack: Pack, features: list[dict]) -> str:
    mode = "Public version (disclosure control applied)" if pack.public else "Analyst version (no suppression)"
    return f"""
<section class="cover">
  <p class="pack-label">{ILLUSTRATIVE_LABEL + ' (some measures)' if pack.any_illustrative else ''}</p>
  <h1>{escape(pack.area.name)}: Police and Crime Plan measures</h1>
  <p class="subtitle">Briefing pack for {escape(pack.period)} · {escape(pack.force.name)}</p>
  <div class="cover-grid">
    <div class="facts">
      <p><b>Area:</b> {escape(pack.area.name)} ({escape(pack.area.code)}{', the whole force' if pack.area.area_type == 'force'
                                                                          else ', Community Safety Partnership'})</p>
      <p><b>Period:</b> {escape(pack.period)}</p>
      <p><b>Compared with:</b> {escape(pack.force.name)} (force value) and its {len(pack.force.csps)} CSPs</p>
      <p><b>Prepared:</b> {pack.generated:%d %B %Y %H:%M} from data version {escape(pack.data_version or 'unknown')}</p>
      <p><b>Edition:</b> {mode}</p>
    </div>
    <div class="map">{charts.locator_svg(features, pack.area.code)}</div>
  </div>
  {_statements(pack)}
  <h3>Data dates</h3>
  {_data_dates(pack)}
  <p class="muted">{ATTRIBUTION} {BOUNDARY_ATTRIBUTION}</p>
</section>"""


def _spine(pack: Pack) -> str:
    return f"""
<section class="spine-section">
  <h2>Every measure at a glance</h2>
  <p>{escape(pack.area.name)}, {escape(pack.period)}: each measure's value against the force value (the vertical
  line) and the range of the CSPs (grey bar; darker between the 25th and 75th percentiles). The circle's colour says
  whether the difference from the force is significant (99.8% or 95% limits), read through the measure's polarity;
  neutral measures are only higher or lower. Rows are drawn with the worse end on the left (lowest on the left for
  neutral measures).{' * = illustrative data.' if pack.any_illustrative else ''}</p>
  {charts.spine_svg(pack.table, pack.area.name, pack.any_illustrative)}
</section>"""


def _findings(pack: Pack) -> str:
    items = "".join(f"<li>{escape(text)}</li>" for text in pack.findings)
    if not items:
        items = "<li>No measure differs significantly from the force or shows a control-chart signal.</li>"
    quiet = []
    if pack.not_assessed["suppressed"]:
        quiet.append("Suppressed (no finding): " + ", ".join(pack.not_assessed["suppressed"]) + ".")
    if pack.not_assessed["no data"]:
        quiet.append("No data in this period (no finding): " + ", ".join(pack.not_assessed["no data"]) + ".")
    return f"""
<section class="findings">
  <h2>Findings</h2>
  <p>One sentence per measure with something to say; every claim is a statistical test (see Sources and methods).
  Measures that are similar to the force and show no signal are not listed.</p>
  <ul>{items}</ul>
  {''.join(f'<p class="muted">{escape(q)}</p>' for q in quiet)}
</section>"""


def _assurance(row: profile.ProfileRow) -> str:
    """The row's assurance key for its icon ("" where the measure has no target: profile.assurance_text's case)."""
    return row.card.assurance if row.card is not None and row.card.target is not None else ""


def _theme_panels(pack: Pack) -> str:
    sections = []
    rows_by_id = {row.measure.id: row for row in pack.rows}
    for theme in registry.THEMES:
        table = pack.table[pack.table["theme"] == theme]
        if table.empty:
            continue
        lines = []
        for record in table.itertuples():
            row = rows_by_id[record.measure_id]
            unit = ("" if record.unit == "%" or record.status != "ok"
                    else f"<br><span class='muted'>{escape(record.value_unit or record.unit)}</span>")
            interval = f"<br><span class='muted'>95%: {escape(record.interval_text)}</span>" if record.status == "ok" else ""
            flag = "<br><span class='illustrative-flag'>illustrative</span>" if record.illustrative else ""
            spark = charts.sparkline_svg(row.sparkline, pack.first, pack.last) if len(row.sparkline) else "no data"
            lines.append(
                f"<tr data-measure='{escape(record.measure_id)}'><td>{escape(record.title)}{flag}</td>"
                f"<td class='num'>{escape(record.value_text)}{unit}{interval}</td>"
                f"<td class='num'>{escape(record.force_text)}</td><td>{escape(record.range_text)}</td>"
                f"<td>{escape(record.comparison_text)}</td><td>{vocabulary.signal_icon(row.signal, 12)} "
                f"{escape(record.signal_text)}<br><span class='muted'>{vocabulary.assurance_icon(_assurance(row), 11)} "
                f"{escape(record.assurance_text)}</span></td><td>{spark}</td></tr>"
                + _commentary_rows(pack, record.measure_id, 7))
        sections.append(f"""
<section class="theme">
  <h3>{escape(theme)}</h3>
  <table><tr><th>Measure</th><th>{escape(pack.area.name)}</th><th>Force</th><th>CSP range</th>
  <th>Against the force</th><th>Signal and assurance (latest)</th><th>Trend (period shaded; gaps: no data or suppressed)</th></tr>
  {''.join(lines)}</table>
</section>""")
    return "<section class='themes'><h2>By Plan theme</h2>" + "".join(sections) + "</section>"


def _similar_panel(pack: Pack) -> str:
    """The area, its similar CSPs, its force and England and Wales: one column per real measure, with intervals."""
    panel = pack.similar
    if panel is None or not panel.groups:
        return ""
    measures = [registry.get(measure_id) for measure_id in panel.groups]
    first = next(iter(panel.groups.values()))
    head = "".join(f"<th>{escape(m.title)}<br><span class='muted'>{escape(m.unit)} (95% interval)</span></th>"
                   for m in measures)
    lines = []
    for index, row in enumerate(first.itertuples()):
        cells = []
        for measure_id in panel.groups:
            cell = panel.groups[measure_id].iloc[index]
            if bool(cell["suppressed"]):
                cells.append("<td class='num'><i>suppressed</i></td>")
            elif pd.isna(cell["value"]):
                cells.append("<td class='num'><i>no data</i></td>")
            else:
                cells.append(f"<td class='num'>{vocabulary.number(cell['value'], '')}<br><span class='muted'>"
                             f"{vocabulary.number(cell['lower_95'], '')} to {vocabulary.number(cell['upper_95'], '')}"
                             "</span></td>")
        rank = "" if pd.isna(row.rank_among_similar) else str(int(row.rank_among_similar))
        role = {"area": "the area", "similar": "similar CSP", "force": "its force", "national": "England and Wales"}[row.role]
        lines.append(f"<tr class='peer-{row.role}'><td>{escape(str(row.area_name))}</td><td>{escape(role)}</td>"
                     f"<td class='num'>{rank}</td>{''.join(cells)}</tr>")
    positions = "".join(f"<li>{escape(m.title)}: {escape(str(panel.groups[m.id]['position'].iloc[0]))}</li>"
                        for m in measures)
    return f"""
<section class="similar">
  <h2>Compared with similar areas</h2>
  <p>{escape(panel.area_name)} against its {int((first['role'] == 'similar').sum())} most similar CSPs of England and
  Wales, its force and England and Wales, {escape(profile.period_label(panel.first, panel.last))}, for the measures
  with real (not illustrative) data for every force. {escape(panel.method_note)}. {escape(panel.national_note)}</p>
  <p>Position of {escape(panel.area_name)} among itself and its similar CSPs (highest value first):</p>
  <ul>{positions}</ul>
  <table class="peer"><tr><th>Area</th><th>Compared as</th><th>Similarity rank</th>{head}</tr>
  {''.join(lines)}</table>
</section>"""


def _sources(pack: Pack) -> str:
    entries = []
    shown = {row.measure.id: row.illustrative and row.status != "no data" for row in pack.rows}  # from the rows
    for measure in registry.measures():
        flag = f" <span class='illustrative-flag'>{ILLUSTRATIVE_LABEL}</span>" if shown.get(measure.id) else ""
        entries.append(
            f"<dt>{escape(measure.title)}{flag}</dt><dd>{escape(measure.definition)} Unit: {escape(measure.unit)}; "
            f"polarity: {escape(measure.polarity.replace('_', ' '))}; method: {escape(measure.method.replace('_', ' '))}."
            f"</dd><dd>Source: {escape(measure.source)}. "
            f"Licence: {escape(registry.licence_text(measure, bool(shown.get(measure.id))))}.</dd>"
            f"<dd>Caveats: {escape(measure.caveats)}</dd>")
    methods = "".join(f"<p>{escape(text)}</p>" for text in METHODS)
    return f"""
<section class="sources">
  <h2>Sources and methods</h2>
  {methods}
  {f'<p>{escape(SUPPRESSION_NOTE)}</p>' if pack.public else ''}
  <dl>{''.join(entries)}</dl>
  <h3>Licence</h3>
  <p>{ATTRIBUTION} {BOUNDARY_ATTRIBUTION} Census 2021 population: Office for National Statistics.</p>
  {_illustrative_note(pack)}
</section>"""


def _illustrative_note(pack: Pack) -> str:
    """What the illustrative data is, where the pack shows any (the rows' flag, as loaded)."""
    if not pack.any_illustrative:
        return ""
    return f"""<h3>Illustrative data</h3>
  <p>Measures marked "{ILLUSTRATIVE_LABEL}" are generated by this project,
  calibrated to published figures, because the force's own 101, reoffending and hidden-crime extracts are not open
  data. Do not quote them as facts about {escape(pack.area.name)}.</p>"""


def render_html(pack: Pack) -> str:
    """The whole pack as one HTML document: inline CSS and SVG, no external address."""
    features = geo.csp_features(tuple(a.code for a in pack.force.csps))
    css = (TEMPLATES / "briefing.css").read_text()
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(pack.area.name)}: Police and Crime Plan measures, {escape(pack.period)}</title>
<style>{css}</style></head>
<body>
{_cover(pack, features)}
{_spine(pack)}
{_findings(pack)}
{_theme_panels(pack)}
{_similar_panel(pack)}
{_sources(pack)}
</body></html>"""


def render_pdf(html: str) -> bytes:
    """The same HTML as an A4 PDF (WeasyPrint; needs the Pango libraries, see the README)."""
    from weasyprint import HTML

    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


def check_out(out: Path) -> None:
    if out.suffix.lower() not in (".pdf", ".html", ".htm"):
        raise UsageError(f"--out {out.name[:60]!r}: give a file ending .pdf or .html")


def write(pack: Pack, out: Path) -> Path:
    """Write the pack as .pdf or .html, by the file's extension."""
    check_out(out)
    html = render_html(pack)
    if out.suffix.lower() == ".pdf":
        out.write_bytes(render_pdf(html))
    else:
        out.write_text(html, encoding="utf-8")
    return out


def briefing(area: str, out: Path, data_dir: Path, period_from: str | None = None, period_to: str | None = None,
             public: bool = False) -> Pack:
    """The CLI's work: load every measure, build the pack for the area and period, write it."""
    check_out(out)
    start, end = parse_month(period_from, "--from"), parse_month(period_to, "--to")
    if start and end and start > end:
        raise UsageError(f"--from {period_from} is after --to {period_to}")
    force_code, _ = export.resolve_area(area, public)
    chosen = config.force_by_code(force_code)
    force = chosen.published() if public else chosen
    con = db.connect(data_dir)
    frames = load_frames(con, force.code, public)
    first, last = choose_period(profile.available_months(frames), start, end)
    pack = build(frames, force, area, first, last, public, store.data_version(data_dir), comments=commentary.read(con))
    pack.similar = peer_comparison.peer_panel(con, pack.area, first, last, public)
    write(pack, out)
    return pack
