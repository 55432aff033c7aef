"""Readable by everyone (issue 15): axe-core finds no serious or critical WCAG 2.2 AA violation on any page,
in analyst and public mode; at 390 x 844 no page scrolls sideways, no chart title is cut and no legend
covers a plot; the briefing pack reflows at 390 px; the charts label only what helps and say true words;
signals and assurance are SVG icons with words. One analyst and one public server for the module."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from measures import cli
from measures.core import vocabulary
from measures.render import charts
from measures.ui import serve
from tests.conftest import needs_browser, streamlit_server

EXETER = "E22000049"
PUBLIC_PAGES = ["", "area-profile", "calls-101", "reoffending", "hidden-crimes", "recorded-crime", "measure",
                "about-data"]
ANALYST_PAGES = [*PUBLIC_PAGES, "commentary", "update-data"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}


def browser_test(test):
    for mark in needs_browser:
        test = mark(test)
    return test


@pytest.fixture(scope="module")
def servers():
    """{"analyst": url, "public": url}: both modes, started once for the module."""
    with streamlit_server() as analyst, streamlit_server({"MEASURES_PUBLIC": "1"}, serve.public_flags()) as public:
        yield {"analyst": analyst, "public": public}


def settled(page) -> None:
    """The script has run to the end, the page has its title, and the charts have been drawn."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=stApp]');"
        " return !!app && app.dataset.testScriptState === 'notRunning'"
        " && !!document.querySelector('[data-testid=stMain] h1'); }", timeout=120_000)
    page.wait_for_timeout(1500)  # Plotly draws on the frames after the script's last message


def open_at(browser, url: str, viewport: dict[str, int]):
    page = browser.new_page(viewport=viewport)
    page.goto(url)
    settled(page)
    return page


def mode_pages(mode: str) -> list[tuple[str, str]]:
    return [(mode, path) for path in (ANALYST_PAGES if mode == "analyst" else PUBLIC_PAGES)]


@browser_test
@pytest.mark.parametrize(("mode", "path"), mode_pages("analyst") + mode_pages("public"))
def test_axe_finds_no_serious_or_critical_violation(servers, browser, mode, path):
    from axe_playwright_python.sync_playwright import Axe

    page = open_at(browser, f"{servers[mode]}/{path}", {"width": 1400, "height": 1600})
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]})
    chart_text = page.evaluate(CHART_TEXT_CONTRAST)
    page.close()
    serious = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, "\n".join(f"{v['id']} ({v['impact']}): {v['help']}; targets "
                                  f"{[node['target'] for node in v['nodes'][:5]]}" for v in serious)
    # axe does not measure text inside SVG: the charts' own text (ticks, titles, legends, labels) on white.
    faint = [t for t in chart_text if t["contrast"] < 4.5]
    assert not faint, faint[:10]


# Each visible text of a Plotly chart, with its fill's contrast against the white chart background.
CHART_TEXT_CONTRAST = """() => {
  const lum = c => { const v = c.match(/[0-9.]+/g).slice(0, 3).map(x => x / 255)
    .map(x => x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4); return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  return [...document.querySelectorAll('.js-plotly-plot text')]
    .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0 && !t.closest('.hoverlayer')
            && getComputedStyle(t).fill.startsWith('rgb'))
    .map(t => ({text: t.textContent.slice(0, 40), fill: getComputedStyle(t).fill,
                contrast: Math.round(105 / (lum(getComputedStyle(t).fill) + 0.05)) / 100}));
}"""


# A chart's title must lie inside its chart, and a legend must not overlap the plotting area.
CHART_GEOMETRY = """() => [...document.querySelectorAll('.js-plotly-plot')].map(plot => {
  const box = plot.getBoundingClientRect();
  const title = plot.querySelector('.gtitle');
  const legend = plot.querySelector('.legend');
  const area = plot.querySelector('.draglayer .nsewdrag');
  const r = el => { if (!el) return null; const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  return {plot: r(plot), title: r(title), legend: r(legend), area: r(area),
          name: title ? title.textContent : plot.closest('[data-testid]')?.dataset.testid};
})"""


def overlap(a: list[float], b: list[float]) -> float:
    """The area two boxes share, in px²."""
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


@browser_test
@pytest.mark.parametrize(("mode", "path"), mode_pages("public") + [("analyst", "commentary"), ("analyst", "update-data")])
def test_at_390_px_no_page_scrolls_sideways_and_no_chart_is_cut_or_covered(servers, browser, mode, path):
    page = open_at(browser, f"{servers[mode]}/{path}", PHONE)
    page.mouse.wheel(0, 20_000)  # draw the charts further down, too
    page.wait_for_timeout(1500)
    width, inner = page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
    geometry = page.evaluate(CHART_GEOMETRY)
    page.close()
    assert width <= inner + 1, f"/{path} is {width} px wide in a {inner} px window"
    for chart in geometry:
        if chart["title"]:
            left, top, right, _ = chart["title"]
            assert left >= chart["plot"][0] - 1 and right <= chart["plot"][2] + 1 and top >= chart["plot"][1] - 1, chart
        if chart["legend"] and chart["area"]:
            assert overlap(chart["legend"], chart["area"]) == 0, chart


@browser_test
@pytest.mark.parametrize("path", ["update-data", "commentary"])
def test_the_public_site_says_an_analysts_page_does_not_exist(servers, browser, path):
    page = open_at(browser, f"{servers['public']}/{path}", {"width": 1400, "height": 1000})
    text = page.inner_text("[data-testid=stMain]")
    page.close()
    assert "Page not found" in text and "This page does not exist" in text
    assert "Update data" not in text and "Commentary" not in text


@browser_test
def test_no_command_line_is_shown_to_the_public(servers, browser):
    for path in PUBLIC_PAGES:
        page = open_at(browser, f"{servers['public']}/{path}", {"width": 1400, "height": 1600})
        text = page.inner_text("[data-testid=stMain]")
        page.close()
        assert "python -m" not in text and "--area" not in text, path


@browser_test
def test_the_html_pack_reflows_at_390_px(tmp_path, browser):
    out = tmp_path / "exeter.html"
    assert cli.main(["briefing", "--area", EXETER, "--public", "--out", str(out)]) == 0
    page = browser.new_page(viewport=PHONE)
    page.goto(out.as_uri())
    width, inner = page.evaluate("() => [document.scrollingElement.scrollWidth, innerWidth]")
    spine = page.evaluate("() => document.querySelector('svg.spine').getBoundingClientRect().width")
    icons = page.locator("svg.icon").count()
    page.close()
    assert width <= inner + 1, f"the pack is {width} px wide in a {inner} px window"
    assert 300 <= spine <= inner  # the spine chart shrinks to the column, and is still drawn
    assert icons >= 14  # each measure's signal and assurance icons


@browser_test
def test_the_101_targets_table_draws_its_icons_with_words(servers, browser):
    page = open_at(browser, f"{servers['public']}/calls-101", {"width": 1400, "height": 1600})
    table = page.locator("[data-testid=stMarkdown] table").filter(has_text="Assurance").first
    text = table.inner_text()
    icons = table.locator("svg.icon").count()
    page.close()
    assert icons >= 2 * 3  # variation and assurance for each of the three targets
    assert any(word in text for word in vocabulary.ASSURANCE_LABELS.values())


# ------------------------------------------------------------------ the charts and words themselves

def test_icons_are_svg_drawings_and_the_words_need_no_symbol_font():
    for meaning in vocabulary.SIGNAL_LABELS:
        html = vocabulary.signal_html(meaning)
        assert html.startswith("<svg") and 'aria-hidden="true"' in html and vocabulary.signal_label(meaning) in html
        assert not re.search(r"<text", html)  # paths only: no font needed to draw the mark
    for assurance in vocabulary.ASSURANCE_LABELS:
        assert vocabulary.assurance_html(assurance).startswith("<svg")
    markdown = vocabulary.signal_markdown("concern")  # an image Streamlit's Markdown draws, then the words
    assert markdown.startswith("![](data:image/svg+xml;base64,") and markdown.endswith(") **Concern**")
    words = [*vocabulary.SIGNAL_LABELS.values(), *vocabulary.ASSURANCE_LABELS.values()]
    assert all(word.isascii() for word in words), words  # no ✔ ⚠ ✗ ≈ that a browser may show as a box
    # The distinct states get distinct icons.
    assert len({vocabulary.signal_icon(m) for m in ("improvement", "concern", "change", "none")}) == 4
    assert len({vocabulary.assurance_icon(a) for a in ("consistently passes", "consistently fails", "hit and miss")}) == 3


def _funnel_points() -> tuple[pd.DataFrame, pd.DataFrame]:
    names = ["Plymouth", "Exeter", "Torbay", "Cornwall", "East Devon", "Mid Devon", "North Devon", "Torridge"]
    points = pd.DataFrame({
        "area_code": [f"E{i}" for i in range(8)], "area_name": names,
        "denominator": [264_000, 130_000, 139_000, 570_000, 150_000, 82_000, 98_000, 68_000],
        "value": [9.0, 5.1, 7.9, 4.0, 5.2, 4.9, 5.0, 2.1], "position": [2, 0, 1, -2, 0, 0, -1, -2],
        "signal": ["concern", "none", "none", "improvement", "none", "none", "none", "improvement"],
        "outcome": ["worse"] * 8, "label": ["a label"] * 8})
    x = np.geomspace(60_000, 600_000, 20)
    curves = pd.DataFrame({"denominator": x, "upper_95": 5.5, "lower_95": 4.5, "upper_998": 6.0, "lower_998": 4.0})
    return points, curves


def test_funnel_plot_names_only_the_outliers_and_the_selected_area_towards_the_middle():
    points, curves = _funnel_points()
    fig = charts.funnel_plot(points, curves, 5.0, "A rate vs force, Jan 2025 to Dec 2025", "residents (log scale)",
                             "per 1,000 residents", selected="E1")
    csp = next(t for t in fig.data if t.name == "CSP")
    named = {name: text for name, text in zip(points["area_name"], csp.text, strict=True) if text}
    # Beyond the 99.8% limits: Plymouth, Cornwall, Torridge; selected: Exeter (bold). Torbay and North Devon
    # (95% only) and the rest are in the hover and the table, not on the plot.
    assert set(named) == {"Plymouth", "Cornwall", "Torridge", "Exeter"}
    assert named["Exeter"] == "<b>Exeter</b>"
    sides = dict(zip(points["area_name"], csp.textposition, strict=True))
    assert sides["Cornwall"].endswith("left") and sides["Torridge"].endswith("right")  # towards the middle
    assert fig.layout.xaxis.title.text == "residents (log scale)" and fig.layout.yaxis.title.text == "per 1,000 residents"
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y < 0  # under the plot


def test_titles_wrap_to_fit_a_phone():
    title = "Reoffending rate of adult offenders vs force<br>cohort Apr 2024, with a long qualifier"
    wrapped = charts.wrap_title(title + f"<br><sup>{charts.ILLUSTRATIVE_NOTE}</sup>")
    lines = wrapped.split("<br>")
    assert all(len(line) <= charts.TITLE_CHARACTERS for line in lines if not line.startswith("<sup>"))
    assert " ".join(lines[:-1]).split() == title.replace("<br>", " ").split()  # no word lost
    fig = charts.bar_chart(pd.DataFrame({"x": ["a"], "y": [1]}), "x", "y", title, "crimes")
    assert fig.layout.title.text.count("<br>") == len(charts.wrap_title(title).split("<br>")) - 1
    assert fig.layout.margin.t >= 20 * (fig.layout.title.text.count("<br>") + 1)


def test_spine_words_are_true_for_each_rows_polarity():
    table = pd.DataFrame({
        "title": ["Calls answered", "Wait", "Hidden"], "polarity": ["higher_is_better", "lower_is_better", "neutral"],
        "status": ["ok"] * 3, "value": [80.0, 6.0, 2.0], "force_value": [75.0, 5.0, 1.5],
        "csp_min": [70.0, 4.0, 1.0], "csp_q1": [72.0, 4.5, 1.2], "csp_q3": [78.0, 5.5, 1.8], "csp_max": [85.0, 7.0, 2.5],
        "judgement": ["better", "worse", "higher"], "confidence": [0.998, 0.95, 0.998], "area_name": ["Exeter"] * 3,
        "value_text": ["80.0%", "6.00", "2.00"], "value_unit": ["", "minutes", "per 1,000"],
        "interval_text": ["–"] * 3, "force_text": ["75.0%", "5.00", "1.50"], "range_text": ["–"] * 3,
        "comparison_text": ["better"] * 3, "illustrative": [False] * 3})
    fig = charts.spine_chart(table, "Exeter against the force", False)
    words = {(a.y, a.xanchor): a.text for a in fig.layout.annotations}
    assert words[("Calls answered", "left")] == "worse (lower)" and words[("Calls answered", "right")] == "better (higher)"
    assert words[("Wait", "left")] == "worse (higher)" and words[("Wait", "right")] == "better (lower)"
    assert words[("Hidden", "left")] == "lower" and words[("Hidden", "right")] == "higher"
    assert "worse (lower)" not in (fig.layout.xaxis.title.text or "")
    legend = {t.name for t in fig.data if t.showlegend is not False and t.name}
    assert {"better (99.8%)", "worse (95%)", "higher", "similar", "force value", "range of the CSPs"} <= legend
    assert charts.spine_summary(table, "Exeter").startswith("Exeter against the force value on 3 measures: 1 better, "
                                                             "1 worse, 1 higher")
    svg = charts.spine_svg(table, "Exeter")
    assert ">worse (higher)<" in svg and ">better (lower)<" in svg and ">lower<" in svg
    assert "worse / lower" not in svg

