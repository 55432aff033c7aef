"""End-to-end: the dashboard in a real browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

from tests.conftest import canvas_is_drawn, needs_browser, open_page

pytestmark = needs_browser


def test_overview_renders_every_measure(server, browser):
    page = open_page(browser, server + "/")
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()
    assert page.locator(".js-plotly-plot").count() >= 10  # one sparkline per measure
    assert page.get_by_text("Reported modern slavery").count() >= 1
    page.close()


def test_recorded_crime_shared_link_shows_plymouth_chart_and_map(server, browser):
    page = open_page(browser, server + "/recorded-crime?area=E22000056")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.get_by_text("Plymouth: crimes by month").count() == 1
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 1
    assert canvas_is_drawn(page)
    page.close()


def test_hostile_address_gives_a_working_page(server, browser):
    page = open_page(browser, server + "/recorded-crime?area=%27%3B%20drop%20table%20x%3B--&from=2025-06&to=2019-01")
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()
    assert page.get_by_text("Devon and Cornwall: crimes by month").count() == 1
    page.close()


