"""The maps in a real browser, on the public site: no page asks any host but the dashboard's own
(no map tiles, no fonts or scripts from elsewhere), and on a phone every map shows its legend with
its unit."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.conftest import needs_browser

pytestmark = needs_browser

PAGES = ["", "area-profile", "calls-101", "reoffending", "hidden-crimes", "recorded-crime", "measure", "about-data"]
# Each map page and, for each of its maps, the unit that map's colour bar names (the registry measure's,
# or the hexagons').
MAP_UNITS = {
    "reoffending": ["%"],
    "hidden-crimes": ["per 1,000 residents"],
    # the CSPs, the hexagons, and the force's similar-areas section: the national map
    "recorded-crime": ["crimes per 1,000 residents", "crimes per hexagon", "per 1,000 residents"],
    "area-profile": ["per 1,000 residents"],
}


def _settled(page) -> None:
    """The script has run to the end and drawn its title."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=stApp]');"
        " return !!app && app.dataset.testScriptState === 'notRunning'"
        " && !!document.querySelector('[data-testid=stMain] h1'); }", timeout=120_000)
    page.wait_for_timeout(500)


def _scroll_through(page) -> None:
    """Scroll to the bottom in steps, so every chart (and anything it would fetch) is drawn."""
    height = page.evaluate("document.scrollingElement.scrollHeight")
    for y in range(0, height + 800, 800):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(150)
    page.wait_for_timeout(1500)


def test_no_page_asks_any_host_but_the_dashboards_own(server, browser):
    own = urlparse(server).netloc
    foreign: dict[str, set[str]] = {}
    for path in PAGES:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        asked: list[str] = []
        page.on("request", lambda request, asked=asked: asked.append(request.url))
        page.goto(f"{server}/{path}")
        _settled(page)
        _scroll_through(page)
        page.close()
        assert any(urlparse(u).netloc == own for u in asked), path  # the log did see the page's own requests
        # blob: and data: addresses are made inside the page; anything else must be the dashboard's own.
        others = {urlparse(u).netloc for u in asked if urlparse(u).scheme not in ("blob", "data")} - {own}
        if others:
            foreign["/" + path] = others
    assert not foreign, f"pages asked other hosts: {foreign}"


@pytest.mark.parametrize("path", list(MAP_UNITS))
def test_every_map_shows_its_legend_with_its_unit_on_a_phone(server, browser, path):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{server}/{path}")
    _settled(page)
    _scroll_through(page)
    page.wait_for_selector(".js-plotly-plot .colorbar", state="attached", timeout=60_000)
    bars = page.locator(".js-plotly-plot .colorbar")
    titles = []
    for index in range(bars.count()):
        bar = bars.nth(index)
        bar.scroll_into_view_if_needed()
        box = bar.bounding_box()
        assert box is not None and box["width"] > 100, (path, index, box)  # drawn, not squeezed away
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, (path, index, box)  # inside the phone's width
        titles.append((bar.locator(".cbtitle").text_content() or "").strip())
    page.close()
    assert len(titles) == len(MAP_UNITS[path]), (path, titles)  # one colour bar a map
    unmatched = list(titles)
    for unit in MAP_UNITS[path]:  # each map's unit on a colour bar of its own
        match = next((title for title in unmatched if unit in title), None)
        assert match is not None, (path, unit, titles)
        unmatched.remove(match)


# Where a click selects a CSP on a map: the invisible marker of the map's "colour scale" trace that carries
# the CSP's code (charts.csp_map) at its middle, or with `far` the one of its "click area" markers farthest
# from that middle, wherever the map is drawn on the page.
_CSP_POINT = """([selector, code, far]) => {
  const plot = document.querySelector(selector + ' .js-plotly-plot');
  const rendered = plot.querySelectorAll('.scatterlayer .trace');
  const centre = box => [box.x + box.width / 2, box.y + box.height / 2];
  const marker = (trace, index) => centre(rendered[trace].querySelectorAll('path.point')[index].getBoundingClientRect());
  const scale = plot.data.findIndex(d => d.name === 'colour scale');
  const middle = marker(scale, plot.data[scale].customdata.findIndex(c => c[0] === code));
  if (!far) return middle;
  let best = middle, reach = 0;
  plot.data.forEach((d, trace) => {
    if (d.name !== 'click area' || d.customdata[0][0] !== code) return;
    d.customdata.forEach((_, index) => {
      const point = marker(trace, index);
      const distance = Math.hypot(point[0] - middle[0], point[1] - middle[1]);
      if (distance > reach) { best = point; reach = distance; }
    });
  });
  return best;
}"""


def csp_point(page, selector: str, code: str, far: bool = False) -> tuple[float, float]:
    """Where on the screen a click selects this CSP on the map inside `selector` (e.g. ".st-key-csp_map"):
    at its middle, or with `far` at the click marker farthest from it (a click away from the middle)."""
    x, y = page.evaluate(_CSP_POINT, [selector, code, far])
    return float(x), float(y)
